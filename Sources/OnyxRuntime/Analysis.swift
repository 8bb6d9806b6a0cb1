import OnyxIR

/// Shape inference and costs at the model's declared input shapes, folding constants with the
/// reference kernels.
public enum Analysis {
    /// Shapes of every value. Inputs take `inputShapes` where given, else their declared shape with
    /// each symbolic dimension (`batch`) set to 1.
    public static func inferShapes(_ graph: Graph, inputShapes: [String: [Int]] = [:]) -> [Known] {
        var shapes: [ValueID: [Int]] = [:]
        for id in graph.inputs {
            let value = graph.values[id]
            if let given = inputShapes[value.name] {
                shapes[id] = given
            } else if let declared = value.shape {
                shapes[id] = declared.map { $0.value ?? 1 }
            }
        }
        return ShapeInference.infer(graph, inputShapes: shapes) { op, inputs, count in
            try Interpreter.execute(op, inputs, outputCount: count)
        }
    }

    /// Multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul at the given input shapes.
    public static func macs(_ graph: Graph, inputShapes: [String: [Int]] = [:]) -> Int {
        CostModel.macs(graph, inferShapes(graph, inputShapes: inputShapes))
    }
}
