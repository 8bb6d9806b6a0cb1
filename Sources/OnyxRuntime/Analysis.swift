import OnnxFormat
import OnyxIR
import OnyxPlanner

/// Shape inference and costs at the model's declared input shapes, folding constants with the
/// reference kernels.
public enum Analysis {
    /// Shapes of every value. Inputs take `inputShapes` where given, else their declared shape with
    /// each symbolic dimension (`batch`) set to 1.
    public static func inferShapes(_ graph: Graph, inputShapes: [String: [Int]] = [:]) -> [Known] {
        var shapes = declaredShapes(graph)
        for id in graph.inputs { if let given = inputShapes[graph.values[id].name] { shapes[id] = given } }
        return ShapeInference.infer(graph, inputShapes: shapes, fold: fold)
    }

    /// Shapes of every value at the declared input shapes (symbolic dims set to 1), refusing the
    /// first node that cannot run on them or whose output exceeds `limits.maxTensorElements`.
    public static func check(_ graph: Graph, inputShapes: [ValueID: [Int]]? = nil, limits: LoadLimits = .default) throws -> [Known] {
        try ShapeInference.check(graph, inputShapes: inputShapes ?? declaredShapes(graph), maxElements: limits.maxTensorElements, fold: fold)
    }

    /// Each input's declared shape with symbolic dims set to 1 (inputs without a shape are left out).
    static func declaredShapes(_ graph: Graph) -> [ValueID: [Int]] {
        var shapes: [ValueID: [Int]] = [:]
        for id in graph.inputs {
            if let declared = graph.values[id].shape { shapes[id] = declared.map { $0.value ?? 1 } }
        }
        return shapes
    }

    /// Constant folding runs the reference kernels.
    static func fold(_ op: Op, _ inputs: [Tensor?], _ outputCount: Int) throws -> [Tensor] {
        try Interpreter.execute(op, inputs, outputCount: outputCount)
    }

    /// Multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul at the given input shapes.
    public static func macs(_ graph: Graph, inputShapes: [String: [Int]] = [:]) -> Int {
        CostModel.macs(graph, inferShapes(graph, inputShapes: inputShapes))
    }
}

extension Analysis {
    /// The optimizer with the reference kernels for constant folding.
    public static var optimizer: Optimizer {
        Optimizer(evaluate: fold)
    }

    /// Largest constant, in elements, folded for running rather than writing: the weights some zoo files
    /// build with ConstantOfShape (AlexNet's fc6, 38M floats; VGG-19's, 103M) would otherwise be rebuilt
    /// on every run, where folding once costs the same memory. Files written by `convert` keep the
    /// smaller default, so a small file does not become a huge one.
    public static let runtimeFoldingLimit = 1 << 27

    /// The optimizer a session compiles with (see `runtimeFoldingLimit`).
    static var runtimeOptimizer: Optimizer {
        var optimizer = Optimizer(evaluate: fold)
        optimizer.rules = optimizer.rules.map { rule in
            guard var folding = rule as? ConstantFolding else { return rule }
            folding.maxElements = runtimeFoldingLimit
            return folding
        }
        return optimizer
    }

    /// The graph optimised for its declared input shapes (symbolic dims = 1), with the passes that fired
    /// and its memory plan: the one `CompiledModel` runs, with the margins of values written in their
    /// reader's layout (`LayoutPairs`).
    public static func optimized(_ graph: Graph, limits: LoadLimits = .default) throws -> (graph: Graph, fired: [String: Int], plan: MemoryPlan) {
        var shapes: [ValueID: [Int]] = [:]
        for id in graph.inputs {
            guard let declared = graph.values[id].shape else {
                throw Planner.Unplannable(description: "input '\(graph.values[id].name)' has no declared shape")
            }
            shapes[id] = declared.map { $0.value ?? 1 }
        }
        _ = try check(graph, inputShapes: shapes, limits: limits)
        let (optimized, fired) = runtimeOptimizer.optimize(graph, inputShapes: shapes)
        return (optimized, fired, try Planner.plan(optimized, minimumBytes: LayoutPairs(optimized).bytes(optimized)))
    }

    /// Operator histogram, by ONNX name where the op survives as one (a Conv with a fused activation
    /// is still a Conv).
    public static func histogram(_ graph: Graph) -> [String: Int] {
        var ops: [String: Int] = [:]
        for node in graph.nodes { ops[node.op.onnxName, default: 0] += 1 }
        return ops
    }
}
