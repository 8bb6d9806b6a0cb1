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

@Suite struct AffineIntoFollowingConvTests {
    func net(_ f: BinaryFunction, padded: Bool, groups: Int = 1) -> TestNet {
        var net = TestNet()
        let x = net.input("x", [1, 4, 6, 6])
        let shifted = net.node(.binary(f), [x, net.constant([4, 1, 1], [0.5, 1.5, -2, 3])])
        let w = net.constant([6, 4 / groups, 3, 3]), b = net.constant([6])
        let pad = padded ? 1 : 0
        let window = Window(kernel: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [pad, pad, pad, pad], autoPad: .notSet)
        net.output(net.node(.conv(ConvAttributes(window: window, group: groups, kernelFromWeights: false)), [shifted, w, b]))
        return net
    }

    @Test(arguments: [BinaryFunction.mul, .div])
    func scaleBeforeAConvFoldsEvenWithPadding(f: BinaryFunction) throws {
        let (g, fired) = try net(f, padded: true).optimized()
        #expect(fired["affine-into-following-conv"] == 1 && g.nodes.count == 1)
    }

    @Test(arguments: [BinaryFunction.add, .sub])
    func shiftBeforeAnUnpaddedConvFolds(f: BinaryFunction) throws {
        let (g, fired) = try net(f, padded: false).optimized()
        #expect(fired["affine-into-following-conv"] == 1 && g.nodes.count == 1)
    }

    @Test func shiftBeforeAPaddedConvIsNotFolded() throws {
        let (g, fired) = try net(.add, padded: true).optimized()
        #expect(fired["affine-into-following-conv"] == nil && g.nodes.count == 2)
    }

    @Test func groupedConvFoldsPerGroupChannels() throws {
        let (_, fired) = try net(.mul, padded: true, groups: 2).optimized()
        #expect(fired["affine-into-following-conv"] == 1)
    }

    @Test func affineWithAnotherConsumerIsNotFolded() throws {
        var n = net(.mul, padded: true)
        n.output(n.graph.nodes[0].outputs[0])
        let (_, fired) = try n.optimized()
        #expect(fired["affine-into-following-conv"] == nil)
    }
}
