/// Semantic checks on a decoded model, so later stages can trust what they read: a graph exists,
/// versions are supported, every tensor's data matches its shape and type, sizes stay within limits.
struct ModelValidator {
    var limits: LoadLimits
    var baseDirectory: String

    func validate(_ model: OnnxModel) throws {
        guard model.irVersion > 0 else { throw OnnxError("the model has no IR version") }
        guard model.irVersion <= OnnxFile.maxIRVersion else {
            throw OnnxError("IR version \(model.irVersion) is newer than the newest supported (\(OnnxFile.maxIRVersion))")
        }
        guard let graph = model.graph else { throw OnnxError("the model has no graph") }
        for opset in model.opsetImports where opset.domain == "" || opset.domain == "ai.onnx" {
            guard opset.version >= 1 else { throw OnnxError("opset version \(opset.version) is invalid") }
            guard opset.version <= OnnxFile.maxOpsetVersion else {
                throw OnnxError("opset \(opset.version) is newer than the newest supported (\(OnnxFile.maxOpsetVersion))")
            }
        }
        if model.irVersion >= 3 && model.defaultOpsetVersion == nil && graph.nodes.contains(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }) {
            throw OnnxError("the model imports no version of the default opset (ai.onnx)")
        }
        var budget = Budget(limits: limits)
        try check(graph, budget: &budget)
        for function in model.functions {
            for node in function.nodes { try check(node, budget: &budget) }
        }
    }

    /// Running totals across the whole model, including subgraphs.
    struct Budget {
        var limits: LoadLimits
        var nodes = 0
        var tensorBytes = 0
    }

    private func check(_ graph: OnnxGraph, budget: inout Budget) throws {
        for tensor in graph.initializers { try check(tensor, budget: &budget) }
        for node in graph.nodes { try check(node, budget: &budget) }
    }

    private func check(_ node: OnnxNode, budget: inout Budget) throws {
        budget.nodes += 1
        guard budget.nodes <= limits.maxNodes else {
            throw OnnxError("the model has more than \(limits.maxNodes) nodes")
        }
        for attribute in node.attributes {
            do {
                if let t = attribute.t { try check(t, budget: &budget) }
                for t in attribute.tensors { try check(t, budget: &budget) }
                if let g = attribute.g { try check(g, budget: &budget) }
                for g in attribute.graphs { try check(g, budget: &budget) }
            } catch let error as OnnxError {
                throw error.prefixed("node '\(node.name)' (\(node.opType)) attribute '\(attribute.name)'")
            }
        }
    }

    private func check(_ tensor: OnnxTensor, budget: inout Budget) throws {
        guard let type = tensor.dataType else {
            throw OnnxError("\(tensor.label): unknown data type \(tensor.dataTypeCode)")
        }
        let bytes: Int
        if type == .string {
            bytes = try tensor.decodedStrings().reduce(0) { $0 + $1.count }
        } else if type.byteSize == nil {
            throw OnnxError("\(tensor.label): data type \(type) is not supported")
        } else if tensor.isExternal {
            // Reading checks the path, the file's length and the declared length against the shape.
            bytes = try tensor.decodedBytes(baseDirectory: baseDirectory, limits: limits).byteCount
        } else {
            bytes = try tensor.decodedBytes(baseDirectory: nil, limits: limits).byteCount
        }
        budget.tensorBytes += bytes
        guard budget.tensorBytes <= limits.maxTensorBytes else {
            throw OnnxError("the model's tensors exceed the limit of \(limits.maxTensorBytes) bytes")
        }
    }
}
