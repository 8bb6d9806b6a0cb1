/// The standard optimization pipeline: annotate shapes, then apply the rewrite rules to a fixed point.
///
/// With `inputShapes` the graph is specialised to them (every shape fixed, Shape ops folded). Without,
/// it stays valid for any size of its symbolic dims: shapes are inferred twice, with symbolic dims set
/// to 1 and to 2, and only dimensions that agree count as fixed.
public struct Optimizer {
    public var evaluate: ShapeInference.Fold
    public var rules: [any RewriteRule]

    public init(evaluate: @escaping ShapeInference.Fold) {
        self.evaluate = evaluate
        rules = [
            ConstantFolding(evaluate: evaluate),
            IdentityElimination(),
            BatchNormDecomposition(),
            AffineFolding(),
            AffineIntoFollowingConv(),
            ActivationRecognition(),
            ResidualFusion(),
            MatMulBiasFusion(),
            ActivationFusion(),
            ChannelShuffleRecognition(),
            ReduceToPool(),
            WholePlanePool(),
            SqueezeExciteRecognition(),
        ]
    }

    public func optimize(_ graph: Graph, inputShapes: [ValueID: [Int]]? = nil) -> (graph: Graph, fired: [String: Int]) {
        var annotated = graph
        annotate(&annotated, inputShapes: inputShapes)
        var (result, fired) = PassManager(rules: rules).run(annotated)
        annotate(&result, inputShapes: inputShapes)
        return (result, fired)
    }

    /// Writes inferred dtypes and shapes into the graph's values.
    public func annotate(_ graph: inout Graph, inputShapes: [ValueID: [Int]]?) {
        func declared(_ symbol: Int) -> [ValueID: [Int]] {
            var shapes: [ValueID: [Int]] = [:]
            for id in graph.inputs {
                if let given = inputShapes?[id] { shapes[id] = given } else if let d = graph.values[id].shape {
                    shapes[id] = d.map { $0.value ?? symbol }
                }
            }
            return shapes
        }
        let first = ShapeInference.infer(graph, inputShapes: declared(1), fold: evaluate)
        let dynamic = inputShapes == nil && graph.inputs.contains { graph.values[$0].shape?.contains { $0.value == nil } ?? true }
        let second = dynamic ? ShapeInference.infer(graph, inputShapes: declared(2), fold: evaluate) : first
        for id in graph.values.indices where graph.values[id].constant == nil {
            if let dtype = first[id].dtype { graph.values[id].dtype = dtype }
            guard let a = first[id].shape, let b = second[id].shape, a.count == b.count else { continue }
            graph.values[id].shape = zip(a, b).enumerated().map { i, pair in
                pair.0 == pair.1 ? .fixed(pair.0) : (graph.values[id].shape.flatMap { $0.count == a.count ? $0[i] : nil } ?? .symbol("?"))
            }
        }
    }
}
