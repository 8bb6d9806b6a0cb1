/// Recognises activations that exporters spell as several ops:
///   x * sigmoid(x)                        -> SiLU
///   x * tanh(softplus(x))                 -> Mish (below opset 18)
///   x * HardSigmoid(x; 1/6, 1/2)          -> HardSwish (PyTorch's Hardswish below opset 14)
///   x * clip(x + 3, 0, 6) / 6 (any order) -> HardSwish (hand-written h-swish modules)
/// Preconditions: the inner ops' outputs have only this consumer and are not graph outputs, and they
/// apply to the same x.
public struct ActivationRecognition: RewriteRule {
    public let name = "activation-recognition"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        switch node.op {
        case .binary(.mul):
            for (x, other) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] {
                guard let x, let other, let (_, inner) = uses.soleProducer(of: other, in: graph) else { continue }
                if let f = gate(inner, x: x, graph, uses) { return replace(index, node, x: x, with: f, graph) }
                // x * (clip(x + 3, 0, 6) / 6)
                if case .binary(.div) = inner.op, isConstant(graph, inner.inputs[1], 6),
                   let clipped = inner.inputs[0], isRelu6OfXPlus3(clipped, x: x, graph, uses) {
                    return replace(index, node, x: x, with: .hardSwish, graph)
                }
            }
            // (x * clip(x + 3, 0, 6)) * (1/6)
            if isConstant(graph, node.inputs[1], 1.0 / 6), let product = node.inputs[0],
               let x = hardSwishNumerator(product, graph, uses) {
                return replace(index, node, x: x, with: .hardSwish, graph)
            }
        case .binary(.div):
            // (x * clip(x + 3, 0, 6)) / 6
            if isConstant(graph, node.inputs[1], 6), let product = node.inputs[0],
               let x = hardSwishNumerator(product, graph, uses) {
                return replace(index, node, x: x, with: .hardSwish, graph)
            }
        default:
            break
        }
        return nil
    }

    /// The activation f such that `inner` computes g(x) with x * g(x) = f(x).
    private func gate(_ inner: Node, x: ValueID, _ graph: Graph, _ uses: GraphIndex) -> UnaryFunction? {
        if case .unary(.tanh) = inner.op, let s = inner.inputs.first ?? nil, let (_, softplus) = uses.soleProducer(of: s, in: graph),
           softplus.op == .unary(.softplus), softplus.inputs.first == x {
            return .mish
        }
        guard inner.inputs.first == x else { return nil }
        switch inner.op {
        case .unary(.sigmoid): return .silu
        case .unary(.hardSigmoid(let alpha, let beta)) where abs(alpha - 1.0 / 6) < 1e-6 && abs(beta - 0.5) < 1e-6:
            return .hardSwish
        default: return nil
        }
    }

    /// For v = x * clip(x + 3, 0, 6) (sole consumer), returns x.
    private func hardSwishNumerator(_ v: ValueID, _ graph: Graph, _ uses: GraphIndex) -> ValueID? {
        guard let (_, product) = uses.soleProducer(of: v, in: graph), case .binary(.mul) = product.op else { return nil }
        for (x, clipped) in [(product.inputs[0], product.inputs[1]), (product.inputs[1], product.inputs[0])] {
            if let x, let clipped, isRelu6OfXPlus3(clipped, x: x, graph, uses) { return x }
        }
        return nil
    }

    /// Whether v = clip(x + 3, 0, 6) (or relu6 spelled as Clip with constant bounds), sole consumers.
    private func isRelu6OfXPlus3(_ v: ValueID, x: ValueID, _ graph: Graph, _ uses: GraphIndex) -> Bool {
        guard let (_, clip) = uses.soleProducer(of: v, in: graph), case .clip = clip.op,
              clip.inputs.count == 3, isConstant(graph, clip.inputs[1], 0), isConstant(graph, clip.inputs[2], 6),
              let shifted = clip.inputs[0], let (_, add) = uses.soleProducer(of: shifted, in: graph),
              case .binary(.add) = add.op else { return false }
        return (add.inputs[0] == x && isConstant(graph, add.inputs[1], 3)) || (add.inputs[1] == x && isConstant(graph, add.inputs[0], 3))
    }

    private func isConstant(_ graph: Graph, _ id: ValueID?, _ value: Float) -> Bool {
        guard let t = graph.constant(id), t.count == 1, let v = t.floats?.first else { return false }
        return abs(v - value) <= 1e-6 * max(1, abs(value))
    }

    private func replace(_ index: Int, _ node: Node, x: ValueID, with f: UnaryFunction, _ graph: Graph) -> Patch {
        // Only when the product has x's shape (no broadcasting hidden in the Mul).
        PatchBuilder(graph).patch(replacing: index, with: [Node(name: node.name, op: .unary(f), inputs: [x], outputs: node.outputs)])
    }
}
