/// ReduceMean (or ReduceMax) over exactly the spatial axes of an NCHW tensor is global pooling, which
/// has a fast kernel; without keepdims a Reshape (a view) drops the two 1s.
/// Preconditions: rank 4 with a fixed shape, constant axes {2, 3}.
public struct ReduceToPool: RewriteRule {
    public let name = "reduce-to-global-pool"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        guard case .reduce(let f, let keepDims, _) = node.op, f == .mean || f == .max,
              let x = node.inputs[0], let shape = graph.fixedShape(x), shape.count == 4,
              node.inputs.count > 1, let axes = graph.constant(node.inputs[1])?.int64s,
              Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3] else { return nil }
        let kind: PoolKind = f == .mean ? .average : .max
        if keepDims {
            return PatchBuilder(graph).patch(replacing: index, with: [
                Node(name: node.name, op: .globalPool(kind), inputs: [x], outputs: node.outputs),
            ])
        }
        var builder = PatchBuilder(graph)
        let pooled = builder.add(Value(name: graph.values[node.outputs[0]].name + "/pooled", dtype: graph.values[x].dtype,
                                       shape: [.fixed(shape[0]), .fixed(shape[1]), .fixed(1), .fixed(1)]))
        let target = builder.add(Value(name: node.name + "/shape", constant: Tensor(shape: [2], [Int64(shape[0]), Int64(shape[1])])))
        return builder.patch(replacing: index, with: [
            Node(name: node.name, op: .globalPool(kind), inputs: [x], outputs: [pooled]),
            Node(name: node.name + "/flatten", op: .reshape(allowZero: false), inputs: [pooled, target], outputs: node.outputs),
        ])
    }
}
