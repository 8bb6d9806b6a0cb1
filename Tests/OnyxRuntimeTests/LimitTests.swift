import Onyx
import Testing

/// Limits given through the library API bound what a session computes, at compile and at run.
@Suite struct LimitTests {
    func expandNet() -> TestNet {
        var net = TestNet()
        let x = net.input("x", [1, 4])
        net.output(net.node(.expand, [x, net.graph.addConstant(Tensor(shape: [2], [Int64(100), 4]), name: "shape")]))
        return net
    }

    @Test func theElementLimitRefusesLargeOutputsNamingTheNode() throws {
        let net = expandNet()
        #expect(try Session(graph: net.graph).run(net.feeds)[0].tensor.shape == [100, 4])
        var limits = LoadLimits()
        limits.maxTensorElements = 300
        for optimize in [true, false] {
            let session = Session(graph: net.graph, optimize: optimize, limits: limits)
            #expect(throws: OnnxError.self) { try session.run(net.feeds) }
            do { _ = try session.run(net.feeds) } catch let error as OnnxError {
                #expect(error.message.hasSuffix("(Expand): output shape [100, 4] has 400 elements, over the limit of 300"))
            }
        }
    }

    @Test func inconsistentShapesFailBeforeAnyKernelRuns() throws {
        var net = TestNet()
        let x = net.input("x", [1, 4, 6, 6])
        net.output(net.node(.conv(ConvAttributes(window: Window(kernel: [], strides: [], dilations: [], pads: [], autoPad: .notSet),
                                                 group: 1, kernelFromWeights: true)), [x, net.constant([8, 3, 3, 3])]))
        let error = #expect(throws: OnnxError.self) { try Session(graph: net.graph).run(net.feeds) }
        #expect(error?.message.hasSuffix("(Conv): X has 4 channels but W [8, 3, 3, 3] with group 1 expects 3") == true)
    }

    @Test func prepareCompilesAheadAndChecksTheShapesGiven() throws {
        let net = expandNet()
        var limits = LoadLimits()
        limits.maxTensorElements = 300
        let session = Session(graph: net.graph, limits: limits)
        let tooLarge = #expect(throws: OnnxError.self) { try session.prepare(["x": [1, 4]]) }
        #expect(tooLarge?.message.hasSuffix("(Expand): output shape [100, 4] has 400 elements, over the limit of 300") == true)
        let missing = #expect(throws: OnnxError.self) { try session.prepare([:]) }
        #expect(missing?.message == "missing input 'x'")
        let fine = Session(graph: net.graph)
        try fine.prepare(["x": [1, 4]])
        #expect(try fine.run(net.feeds)[0].tensor.shape == [100, 4])
    }
}
