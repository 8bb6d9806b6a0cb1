import OnnxFormat

/// Writes an IR graph as a standard ONNX model at `opset` (13 or newer). What only the IR has is
/// spelled in standard operators: a fused activation or residual becomes the nodes after the Conv or
/// Gemm, SiLU becomes Sigmoid and Mul, ChannelShuffle becomes Reshape, Transpose, Reshape.
public struct Exporter {
    public var opset: Int64
    public var producerName = "onyx"
    public var producerVersion = "0.1"
    /// Also write a value info (type and shape) for every intermediate value whose shape is known.
    public var intermediateValueInfo = false

    public init(opset: Int64) { self.opset = opset }

    /// The export state: unique names, nodes and initializers written so far.
    struct Writer {
        var graph: OnnxGraph = OnnxGraph()
        var names: [ValueID: String] = [:]
        var used: Set<String> = []
        var counter = 0

        mutating func unique(_ base: String) -> String {
            var name = base.isEmpty ? "v" : base
            while used.contains(name) { counter += 1; name = "\(base)_\(counter)" }
            used.insert(name)
            return name
        }

        mutating func constant(_ tensor: Tensor, _ base: String) -> String {
            let name = unique(base)
            graph.initializers.append(tensor.onnx(name: name))
            return name
        }

        mutating func fresh(_ base: String) -> String { unique(base) }

        mutating func add(_ op: String, _ inputs: [String], _ outputs: [String], _ attributes: [OnnxAttribute] = [], name: String = "") {
            graph.nodes.append(OnnxNode(op, name: name, inputs: inputs, outputs: outputs, attributes: attributes))
        }
    }

    public func export(_ ir: Graph) throws -> OnnxModel {
        var w = Writer()
        // Names: graph inputs and outputs keep theirs; others are made unique.
        for id in ir.inputs + ir.outputs where w.names[id] == nil { w.names[id] = w.unique(ir.values[id].name) }
        func name(_ id: ValueID) -> String {
            if let n = w.names[id] { return n }
            let n = ir.values[id].constant != nil ? w.constant(ir.values[id].constant!, ir.values[id].name) : w.unique(ir.values[id].name)
            w.names[id] = n
            return n
        }
        for id in ir.inputs { w.graph.inputs.append(valueInfo(w.names[id]!, ir.values[id])) }
        for node in ir.nodes {
            let inputs = node.inputs.map { $0.map(name) ?? "" }
            let outputs = node.outputs.map(name)
            try exportNode(node, inputs, outputs, ir, &w)
        }
        if intermediateValueInfo {
            let boundary = Set(ir.inputs + ir.outputs)
            for node in ir.nodes {
                for id in node.outputs where !boundary.contains(id) && ir.values[id].dtype != nil && ir.fixedShape(id) != nil {
                    if let name = w.names[id] { w.graph.valueInfo.append(valueInfo(name, ir.values[id])) }
                }
            }
        }
        for id in ir.outputs {
            if let c = ir.values[id].constant, !w.graph.initializers.contains(where: { $0.name == w.names[id] }) {
                w.graph.initializers.append(c.onnx(name: w.names[id]!))
            }
            w.graph.outputs.append(valueInfo(w.names[id]!, ir.values[id]))
        }
        w.graph.name = "onyx"
        var model = OnnxModel()
        model.irVersion = opset >= 21 ? 10 : (opset >= 19 ? 9 : 8)
        model.opsetImports = [OperatorSetId(version: opset)]
        model.producerName = producerName
        model.producerVersion = producerVersion
        model.graph = w.graph
        return model
    }

    func valueInfo(_ name: String, _ value: Value) -> OnnxValueInfo {
        let shape = value.shape?.map { d -> OnnxDimValue in
            switch d {
            case .fixed(let v): return .value(Int64(v))
            case .symbol(let s): return s == "?" ? .unknown : .param(s)
            }
        }
        return OnnxValueInfo(name: name, type: OnnxType.tensor((value.dtype ?? .float32).onnx, shape))
    }
}
