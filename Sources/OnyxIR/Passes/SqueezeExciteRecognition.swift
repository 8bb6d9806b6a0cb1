/// GlobalAveragePool -> 1x1 Conv (+ activation) -> 1x1 Conv (+ sigmoid or hard-sigmoid) -> Mul with
/// the block's input becomes one SqueezeExcite op (runs after activation fusion has put the
/// activations into the convolutions).
/// Preconditions: the pooled vector and both convolutions' outputs have one consumer each and are not
/// graph outputs; the convolutions are 1x1, ungrouped, without residual, with constant float weights;
/// the gate is a sigmoid or hard-sigmoid; the Mul multiplies it with the same tensor that was pooled.
public struct SqueezeExciteRecognition: RewriteRule {
    public let name = "squeeze-excite"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        guard case .binary(.mul) = node.op else { return nil }
        for (x, g) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] {
            guard let x, let g, let (_, expand) = uses.soleProducer(of: g, in: graph),
                  case .conv(let b) = expand.op, let gate = b.activation, isGate(gate), pointwise(expand, b, graph),
                  let hidden = expand.inputs[0], let (_, reduce) = uses.soleProducer(of: hidden, in: graph),
                  case .conv(let a) = reduce.op, pointwise(reduce, a, graph),
                  let pooled = reduce.inputs[0], let (_, pool) = uses.soleProducer(of: pooled, in: graph),
                  case .globalPool(.average) = pool.op, pool.inputs[0] == x,
                  graph.rank(x) == 4 else { continue }
            var builder = PatchBuilder(graph)
            func bias(_ conv: Node, _ count: Int) -> ValueID {
                if conv.inputs.count > 2, let b = conv.inputs[2] { return b }
                return builder.add(Value(name: conv.name + "/zero_bias", constant: Tensor(shape: [count], [Float](repeating: 0, count: count))))
            }
            let w1 = reduce.inputs[1]!, w2 = expand.inputs[1]!
            let b1 = bias(reduce, graph.constant(w1)!.shape[0]), b2 = bias(expand, graph.constant(w2)!.shape[0])
            return builder.patch(replacing: index, with: [
                Node(name: node.name, op: .squeezeExcite(hidden: a.activation, gate: gate), inputs: [x, w1, b1, w2, b2], outputs: node.outputs),
            ])
        }
        return nil
    }

    private func isGate(_ a: Activation) -> Bool {
        switch a {
        case .unary(.sigmoid), .unary(.hardSigmoid): return true
        default: return false
        }
    }

    private func pointwise(_ node: Node, _ a: ConvAttributes, _ graph: Graph) -> Bool {
        guard a.group == 1, node.inputs.count <= 3, let w = graph.constant(node.inputs[1]), w.dtype == .float32,
              w.rank == 4, w.shape[2] == 1, w.shape[3] == 1 else { return false }
        if node.inputs.count > 2, let b = node.inputs[2], graph.constant(b)?.floats == nil { return false }
        return a.window.strides.allSatisfy { $0 == 1 } && a.window.pads.allSatisfy { $0 == 0 }
    }
}
