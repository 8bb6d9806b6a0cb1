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

/// AveragePool or MaxPool whose window is the whole plane (Keras and TF exports' 7x7 average before the
/// classifier) is global pooling: one pass per plane instead of a window loop.
/// Preconditions: a fixed input shape; the window equals the spatial sizes, with no padding and no dilation.
public struct WholePlanePool: RewriteRule {
    public let name = "whole-plane-pool"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        guard case .pool(let a) = node.op, a.kind != .lp, node.outputs.count == 1, let x = node.inputs[0],
              let shape = graph.fixedShape(x), shape.count >= 3 else { return nil }
        let spatial = Array(shape.dropFirst(2))
        let (output, pads) = a.window.resolve(input: spatial, ceilMode: a.ceilMode)
        guard a.window.fits(spatial: spatial.count), a.window.kernel == spatial, a.window.dilations.allSatisfy({ $0 == 1 }),
              pads.allSatisfy({ $0 == 0 }), output.allSatisfy({ $0 == 1 }) else { return nil }
        return PatchBuilder(graph).patch(replacing: index, with: [
            Node(name: node.name, op: .globalPool(a.kind), inputs: [x], outputs: node.outputs),
        ])
    }
}
