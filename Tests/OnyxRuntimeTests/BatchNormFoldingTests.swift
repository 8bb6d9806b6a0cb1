import Onyx
import Testing

@Suite struct BatchNormFoldingTests {
    @Test func convBatchNormReluBecomesOneConv() throws {
        var net = TestNet()
        let x = net.input("x", [1, 3, 8, 8])
        let y = net.node(.unary(.relu), [net.batchNorm(net.conv(x, in: 3, out: 4), channels: 4)])
        net.output(y)
        let (g, fired) = try net.optimized()
        #expect(g.nodes.count == 1)
        #expect(fired["batchnorm-to-affine"] == 1 && fired["affine-into-conv"] == 2 && fired["activation-fusion"] == 1)
        guard case .conv(let a) = g.nodes[0].op else { Issue.record("expected a conv"); return }
        #expect(a.activation == .unary(.relu))
    }

    @Test func convWithoutBiasGetsOne() throws {
        var net = TestNet()
        let x = net.input("x", [1, 2, 5, 5])
        net.output(net.batchNorm(net.conv(x, in: 2, out: 3, bias: false), channels: 3))
        let (g, _) = try net.optimized()
        #expect(g.nodes.count == 1 && g.nodes[0].inputs.count == 3)
    }

    @Test func gemmFollowedByPerColumnMulAndAdd() throws {
        var net = TestNet()
        let x = net.input("x", [2, 6])
        let w = net.constant([5, 6]), c = net.constant([5])
        let y = net.node(.gemm(GemmAttributes(transB: true)), [x, w, c])
        let scaled = net.node(.binary(.mul), [y, net.constant([5])])
        net.output(net.node(.binary(.sub), [scaled, net.constant([1, 5])]))
        let (g, fired) = try net.optimized()
        #expect(g.nodes.count == 1 && fired["affine-into-conv"] == 2)
    }

    @Test func batchNormAfterANonConvStaysAsElementwise() throws {
        var net = TestNet()
        let x = net.input("x", [1, 3, 4, 4])
        net.output(net.batchNorm(net.node(.unary(.relu), [x]), channels: 3))
        let (g, _) = try net.optimized()
        #expect(g.count("BatchNormalization") == 0)
        #expect(g.count("Mul") == 1 && g.count("Add") == 1)
    }

    @Test func sharedConvOutputBlocksFolding() throws {
        var net = TestNet()
        let x = net.input("x", [1, 3, 6, 6])
        let c = net.conv(x, in: 3, out: 3)
        let bn = net.batchNorm(c, channels: 3)
        net.output(net.node(.binary(.add), [bn, c]))  // the conv output has a second consumer
        let (g, fired) = try net.optimized()
        #expect(fired["affine-into-conv"] == nil)
        #expect(g.count("Conv") == 1)
    }

    @Test func convOutputThatIsAGraphOutputBlocksFolding() throws {
        var net = TestNet()
        let x = net.input("x", [1, 3, 6, 6])
        let c = net.conv(x, in: 3, out: 3)
        net.output(c)
        net.output(net.batchNorm(c, channels: 3))
        let (_, fired) = try net.optimized()
        #expect(fired["affine-into-conv"] == nil)
    }

    @Test func nonConstantWeightsBlockFolding() throws {
        var net = TestNet()
        let x = net.input("x", [1, 2, 4, 4])
        let w = net.input("w", [2, 2, 1, 1])
        let window = Window(kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: .notSet)
        let c = net.node(.conv(ConvAttributes(window: window, group: 1, kernelFromWeights: false)), [x, w])
        net.output(net.node(.binary(.mul), [c, net.constant([2, 1, 1])]))
        let (_, fired) = try net.optimized()
        #expect(fired["affine-into-conv"] == nil)
    }

    @Test func constantThatIsNotPerChannelBlocksFolding() throws {
        var net = TestNet()
        let x = net.input("x", [1, 2, 4, 4])
        let c = net.conv(x, in: 2, out: 2)
        net.output(net.node(.binary(.add), [c, net.constant([1, 1, 4, 4])]))  // varies over space
        let (_, fired) = try net.optimized()
        #expect(fired["affine-into-conv"] == nil)
    }
}
