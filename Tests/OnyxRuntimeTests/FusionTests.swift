import Onyx
import Testing

@Suite struct ActivationFusionTests {
    @Test func reluSixAsClipFusesIntoConv() throws {
        var net = TestNet()
        let x = net.input("x", [1, 2, 5, 5])
        net.output(net.node(.clip, [net.conv(x, in: 2, out: 4), net.constant([], [0]), net.constant([], [6])]))
        let (g, _) = try net.optimized()
        guard case .conv(let a) = g.nodes[0].op, g.nodes.count == 1 else { Issue.record("not fused"); return }
        #expect(a.activation == .clip(min: 0, max: 6))
    }

    @Test func twoClipsIntersect() throws {
        var net = TestNet()
        let x = net.input("x", [1, 2, 5, 5])
        let first = net.node(.clip, [net.conv(x, in: 2, out: 2), net.constant([], [-1]), net.constant([], [6])])
        net.output(net.node(.clip, [first, net.constant([], [0]), net.constant([], [4])]))
        let (g, _) = try net.optimized()
        guard case .conv(let a) = g.nodes[0].op, g.nodes.count == 1 else { Issue.record("not fused"); return }
        #expect(a.activation == .clip(min: 0, max: 4))
    }

    @Test func nonConstantClipBoundsBlockFusion() throws {
        var net = TestNet()
        let x = net.input("x", [1, 2, 5, 5])
        let hi = net.input("hi", [])
        net.output(net.node(.clip, [net.conv(x, in: 2, out: 2), nil, hi]))
        let (g, _) = try net.optimized()
        #expect(g.nodes.count == 2)
    }

    @Test func siluIsRecognisedAndFused() throws {
        var net = TestNet()
        let x = net.input("x", [1, 2, 5, 5])
        let c = net.conv(x, in: 2, out: 3)
        net.output(net.node(.binary(.mul), [c, net.node(.unary(.sigmoid), [c])]))
        let (g, fired) = try net.optimized()
        #expect(fired["activation-recognition"] == 1)
        guard case .conv(let a) = g.nodes[0].op, g.nodes.count == 1 else { Issue.record("not fused"); return }
        #expect(a.activation == .unary(.silu))
    }

    @Test func hardSwishFromHardSigmoidTimesX() throws {
        var net = TestNet()
        let x = net.input("x", [1, 2, 5, 5])
        let c = net.conv(x, in: 2, out: 3)
        net.output(net.node(.binary(.mul), [net.node(.unary(.hardSigmoid(alpha: 1.0 / 6, beta: 0.5)), [c]), c]))
        let (g, _) = try net.optimized()
        guard case .conv(let a) = g.nodes[0].op, g.nodes.count == 1 else { Issue.record("not fused"); return }
        #expect(a.activation == .unary(.hardSwish))
    }

    @Test func handWrittenHardSwishIsRecognised() throws {
        // x * relu6(x + 3) / 6, as hand-written PyTorch modules export it.
        var net = TestNet()
        let x = net.input("x", [1, 4, 3, 3])
        let shifted = net.node(.binary(.add), [x, net.constant([], [3])])
        let clipped = net.node(.clip, [shifted, net.constant([], [0]), net.constant([], [6])])
        let product = net.node(.binary(.mul), [x, clipped])
        net.output(net.node(.binary(.div), [product, net.constant([], [6])]))
        let (g, _) = try net.optimized()
        #expect(g.nodes.count == 1 && g.nodes[0].op == .unary(.hardSwish))
    }

    @Test func sigmoidWithAnotherConsumerIsNotRecognised() throws {
        var net = TestNet()
        let x = net.input("x", [1, 2, 3, 3])
        let s = net.node(.unary(.sigmoid), [x])
        net.output(net.node(.binary(.mul), [x, s]))
        net.output(s)
        let (_, fired) = try net.optimized()
        #expect(fired["activation-recognition"] == nil)
    }

    @Test func residualAddAndReluFuseIntoTheConv() throws {
        var net = TestNet()
        let x = net.input("x", [1, 4, 6, 6])
        let c = net.conv(x, in: 4, out: 4)
        net.output(net.node(.unary(.relu), [net.node(.binary(.add), [c, x])]))
        let (g, fired) = try net.optimized()
        #expect(fired["residual-fusion"] == 1 && g.nodes.count == 1 && g.nodes[0].inputs.count == 4)
    }

    @Test func broadcastingAddIsNotAResidual() throws {
        var net = TestNet()
        let x = net.input("x", [1, 4, 6, 6])
        let r = net.input("r", [1, 4, 1, 1])
        net.output(net.node(.binary(.add), [net.conv(x, in: 4, out: 4), r]))
        let (_, fired) = try net.optimized()
        #expect(fired["residual-fusion"] == nil)
    }

    @Test func matMulAndBiasAddBecomeOneGemmWithTheRelu() throws {
        var net = TestNet()
        let x = net.input("x", [3, 5])
        let product = net.node(.matMul, [x, net.constant([5, 4])])
        net.output(net.node(.unary(.relu), [net.node(.binary(.add), [net.constant([1, 4]), product])]))
        let (g, fired) = try net.optimized()
        #expect(fired["matmul-bias-fusion"] == 1 && g.nodes.count == 1)
        #expect(g.nodes.first?.op == .gemm(GemmAttributes(activation: .unary(.relu))))
    }

    @Test func biasAlongRowsIsNotAGemmBias() throws {
        // [3, 1] broadcasts down the rows, not along the outputs: Gemm's C would be [M, 1], which the
        // dense kernel's epilogue does not take.
        var net = TestNet()
        let x = net.input("x", [3, 5])
        net.output(net.node(.binary(.add), [net.node(.matMul, [x, net.constant([5, 4])]), net.constant([3, 1])]))
        let (_, fired) = try net.optimized()
        #expect(fired["matmul-bias-fusion"] == nil)
    }

    @Test func channelShuffleIsRecognised() throws {
        var net = TestNet()
        let x = net.input("x", [1, 6, 4, 4])
        let grouped = net.node(.reshape(allowZero: false), [x, net.graph.addConstant(Tensor(shape: [5], [Int64(1), 2, 3, 4, 4]), name: "s1")])
        let t = net.node(.transpose(permutation: [0, 2, 1, 3, 4]), [grouped])
        net.output(net.node(.reshape(allowZero: false), [t, net.graph.addConstant(Tensor(shape: [4], [Int64(1), 6, 4, 4]), name: "s2")]))
        let (g, _) = try net.optimized()
        #expect(g.nodes.count == 1 && g.nodes[0].op == .channelShuffle(groups: 2))
    }

    @Test func identityIsRemovedAndConstantsFolded() throws {
        var net = TestNet()
        let x = net.input("x", [2, 3])
        let folded = net.node(.binary(.add), [net.constant([3], [1, 2, 3]), net.constant([3], [1, 1, 1])])
        net.output(net.node(.binary(.mul), [net.node(.identity, [x]), folded]))
        let (g, fired) = try net.optimized()
        #expect(g.nodes.count == 1 && fired["constant-folding"] == 1 && fired["identity-elimination"] == 1)
    }
}

@Suite struct PlannerTests {
    @Test func viewsAndInPlaceOpsShareBuffers() throws {
        var net = TestNet()
        let x = net.input("x", [1, 4, 4, 4])
        let c = net.conv(x, in: 4, out: 4)
        let e = net.node(.unary(.exp), [c])  // may overwrite c in place
        let f = net.node(.flatten(axis: 1), [e])  // a view
        net.output(f)
        var g = net.graph
        Analysis.optimizer.annotate(&g, inputShapes: [x: [1, 4, 4, 4]])
        let plan = try Planner.plan(g)
        #expect(plan.steps == 2)
        #expect(plan.buffers.count == 1)
        #expect(plan.arenaBytes == 64 * 4 && plan.naiveBytes == 3 * 64 * 4)
    }

    @Test func concatInputsAreWrittenIntoTheirSlices() throws {
        var net = TestNet()
        let x = net.input("x", [1, 2, 3, 3])
        let a = net.conv(x, in: 2, out: 2), b = net.conv(x, in: 2, out: 3)
        net.output(net.node(.concat(axis: 1), [a, b]))
        var g = net.graph
        Analysis.optimizer.annotate(&g, inputShapes: [x: [1, 2, 3, 3]])
        let plan = try Planner.plan(g)
        #expect(plan.steps == 2)
        #expect(plan.arenaOffset(of: b)! - plan.arenaOffset(of: a)! == 2 * 9 * 4)
        #expect(plan.arenaBytes == 5 * 9 * 4)
    }

    @Test func arenaNeverOverlapsLiveBuffers() throws {
        var net = TestNet()
        var v = net.input("x", [1, 3, 8, 8])
        var skips: [ValueID] = []
        for i in 0 ..< 6 {
            v = net.conv(v, in: i == 0 ? 3 : 4, out: 4)
            skips.append(v)
        }
        for s in skips.dropLast() { v = net.node(.binary(.add), [v, s]) }
        net.output(v)
        var g = net.graph
        Analysis.optimizer.annotate(&g, inputShapes: [g.inputs[0]: [1, 3, 8, 8]])
        let plan = try Planner.plan(g)
        for (i, a) in plan.buffers.enumerated() {
            for b in plan.buffers[(i + 1)...] where a.firstStep <= b.lastStep && b.firstStep <= a.lastStep {
                #expect(a.offset + a.bytes <= b.offset || b.offset + b.bytes <= a.offset)
            }
        }
        #expect(plan.arenaBytes >= plan.lowerBoundBytes && plan.lowerBoundBytes > 0)

        // The separated layout: every buffer on bytes (and 64-byte lines) of its own, views unchanged.
        let separated = plan.separated()
        let spans = separated.buffers.map { ($0.offset, ($0.offset + $0.bytes + 63) / 64 * 64) }.sorted { $0.0 < $1.0 }
        #expect(spans.first?.0 == 0 && spans.allSatisfy { $0.0 % 64 == 0 })
        #expect(zip(spans, spans.dropFirst()).allSatisfy { $0.1 == $1.0 } && separated.arenaBytes == spans.last!.1)
        #expect(separated.arenaBytes >= plan.arenaBytes && separated.placements.keys.sorted() == plan.placements.keys.sorted())
    }
}

@Suite struct CompiledExecutionTests {
    /// The compiled (arena) run must equal the interpreter's on nets that exercise views of inputs,
    /// in-place elementwise ops, split views feeding an in-place concat, and shuffles.
    @Test func arenaRunMatchesTheInterpreter() throws {
        var net = TestNet()
        let x = net.input("x", [1, 8, 6, 6])
        let halves = net.node(.split(axis: 1, outputs: 2), [x], outputs: 2)
        let second = ValueID(halves + 1)
        let branch = net.node(.unary(.relu), [net.conv(second, in: 4, out: 4)])
        let joined = net.node(.concat(axis: 1), [halves, branch])
        let shuffled = net.node(.channelShuffle(groups: 2), [joined])
        let parts = net.node(.split(axis: 1, outputs: 2), [shuffled], outputs: 2)
        let a = net.node(.unary(.exp), [net.conv(parts, in: 4, out: 4)])
        let b = net.node(.binary(.add), [ValueID(parts + 1), net.conv(ValueID(parts + 1), in: 4, out: 4)])
        let flat = net.node(.flatten(axis: 1), [net.node(.concat(axis: 1), [a, b])])
        net.output(flat)
        net.output(net.node(.reshape(allowZero: false), [x, net.graph.addConstant(Tensor(shape: [2], [Int64(8), -1]), name: "s")]))
        let expected = try Session(graph: net.graph, optimize: false).run(net.feeds)
        let actual = try Session(graph: net.graph, optimize: true).run(net.feeds)
        for (e, a) in zip(expected, actual) {
            #expect(e.tensor.shape == a.tensor.shape)
            let error = Float(zip(e.tensor.floats!, a.tensor.floats!).reduce(0) { largest($0, Double(abs($1.0 - $1.1))) })
            let scale = max(1, e.tensor.floats!.map(abs).max()!)
            #expect(error < 1e-5 * scale, "\(e.name)")
        }
    }
}

@Suite struct SliceViewTests {
    /// ShuffleNet's legacy export splits channels with two Slices that feed a Concat directly.
    @Test func channelSlicesFeedingAConcatStayCorrect() throws {
        var net = TestNet()
        let x = net.input("x", [1, 8, 5, 5])
        let c = net.conv(x, in: 8, out: 8)
        func slice(_ start: Int64, _ end: Int64) -> ValueID {
            net.node(.slice, [c, net.graph.addConstant(Tensor(shape: [1], [start]), name: "s\(start)"),
                              net.graph.addConstant(Tensor(shape: [1], [end]), name: "e\(end)"),
                              net.graph.addConstant(Tensor(shape: [1], [Int64(1)]), name: "a\(start)")])
        }
        let first = slice(0, 4), second = slice(4, 8)
        let branch = net.node(.unary(.relu), [net.conv(second, in: 4, out: 4)])
        net.output(net.node(.concat(axis: 1), [first, branch]))
        let expected = try Session(graph: net.graph, optimize: false).run(net.feeds)
        let actual = try Session(graph: net.graph, optimize: true).run(net.feeds)
        let error = Float(zip(expected[0].tensor.floats!, actual[0].tensor.floats!).reduce(0) { largest($0, Double(abs($1.0 - $1.1))) })
        #expect(error < 1e-4)
    }
}

@Suite struct SqueezeExciteTests {
    /// x -> GAP -> 1x1 conv -> ReLU -> 1x1 conv -> HardSigmoid -> Mul(x): MobileNetV3's SE block.
    func seNet(secondPoolConsumer: Bool = false, gate: UnaryFunction = .hardSigmoid(alpha: 1.0 / 6, beta: 0.5)) -> TestNet {
        var net = TestNet()
        let x = net.input("x", [1, 8, 5, 5])
        let pooled = net.node(.globalPool(.average), [x])
        let hidden = net.node(.unary(.relu), [net.conv(pooled, in: 8, out: 2, kernel: 1)])
        let scale = net.node(.unary(gate), [net.conv(hidden, in: 2, out: 8, kernel: 1)])
        net.output(net.node(.binary(.mul), [scale, x]))
        if secondPoolConsumer { net.output(pooled) }
        return net
    }

    @Test func seBlockBecomesOneOp() throws {
        let (g, fired) = try seNet().optimized()
        #expect(fired["squeeze-excite"] == 1)
        #expect(g.nodes.count == 1 && g.nodes[0].op == .squeezeExcite(hidden: .unary(.relu), gate: .unary(.hardSigmoid(alpha: 1.0 / 6, beta: 0.5))))
    }

    @Test func pooledVectorWithAnotherConsumerBlocksIt() throws {
        let (_, fired) = try seNet(secondPoolConsumer: true).optimized()
        #expect(fired["squeeze-excite"] == nil)
    }

    @Test func aGateThatIsNotSigmoidBlocksIt() throws {
        let (_, fired) = try seNet(gate: .tanh).optimized()
        #expect(fired["squeeze-excite"] == nil)
    }
}
