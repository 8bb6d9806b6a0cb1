/// BatchNormalization with constant parameters becomes a per-channel scale and shift:
/// y = x * a + b with a = scale / sqrt(var + eps), b = bias - mean * a, as Mul and Add by constants
/// shaped [C, 1, ...] for the input's rank. AffineFolding then folds them into a neighbouring Conv or
/// Gemm; what it cannot fold stays as two cheap elementwise ops.
public struct BatchNormDecomposition: RewriteRule {
    public let name = "batchnorm-to-affine"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        guard case .batchNormalization(let epsilon) = node.op, node.outputs.count == 1,
              let x = node.inputs[0], let rank = graph.rank(x), rank >= 2,
              let scale = graph.constant(node.inputs[1])?.floats, let bias = graph.constant(node.inputs[2])?.floats,
              let mean = graph.constant(node.inputs[3])?.floats, let variance = graph.constant(node.inputs[4])?.floats
        else { return nil }
        let c = scale.count
        guard bias.count == c, mean.count == c, variance.count == c else { return nil }
        let a = (0 ..< c).map { scale[$0] / (variance[$0] + epsilon).squareRoot() }
        let b = (0 ..< c).map { bias[$0] - mean[$0] * a[$0] }
        let shape = [c] + [Int](repeating: 1, count: rank - 2)
        var builder = PatchBuilder(graph)
        let aID = builder.add(Value(name: "\(node.name)/scale", constant: Tensor(shape: shape, a)))
        let bID = builder.add(Value(name: "\(node.name)/shift", constant: Tensor(shape: shape, b)))
        let scaled = builder.add(graph.valueLike(node.outputs[0], suffix: "scaled"))
        return builder.patch(replacing: index, with: [
            Node(name: node.name + "/scale", op: .binary(.mul), inputs: [x, aID], outputs: [scaled]),
            Node(name: node.name + "/shift", op: .binary(.add), inputs: [scaled, bID], outputs: node.outputs),
        ])
    }
}
