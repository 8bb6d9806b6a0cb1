/// Multiply-accumulates of the compute-bound ops at inferred shapes.
public enum CostModel {
    public static func macs(_ graph: Graph, _ known: [Known]) -> Int {
        var total = 0
        for node in graph.nodes {
            let shapes = node.inputs.map { $0.flatMap { known[$0].shape } }
            let out = node.outputs.first.flatMap { known[$0].shape }
            guard let out else { continue }
            switch node.op {
            case .conv:
                // Each output element sums C/group * kernel taps: the weight's [1...] dims.
                guard let w = shapes[1] else { continue }
                total &+= out.reduce(1, &*) &* w.dropFirst(1).reduce(1, &*)
            case .convTranspose:
                guard let x = shapes[0], let w = shapes[1] else { continue }
                total &+= x.reduce(1, &*) &* w.dropFirst(1).reduce(1, &*)
            case .gemm(let g):
                guard let a = shapes[0], a.count == 2 else { continue }
                total &+= out.reduce(1, &*) &* (g.transA ? a[0] : a[1])
            case .matMul:
                guard let a = shapes[0], let k = a.last else { continue }
                total &+= out.reduce(1, &*) &* k
            case .squeezeExcite:
                // Two 1x1 convolutions on the pooled vector.
                guard let w1 = shapes[1], w1.count >= 2 else { continue }
                total &+= 2 &* out[0] &* w1[0] &* w1[1]
            default:
                break
            }
        }
        return total
    }
}
