/// What `onyx inspect` reports about a model file, computed from the format layer alone.
public struct ModelSummary: Sendable {
    public struct Value: Sendable {
        public var name: String
        public var dtype: String
        /// Each dimension as a number or its symbolic name; nil when the rank is unknown.
        public var shape: [OnnxDimValue]?
    }

    public var irVersion: Int64
    public var producer: String
    public var opsets: [OperatorSetId]
    public var inputs: [Value]
    public var outputs: [Value]
    /// Operator type (with its domain when not the default one) to number of nodes, subgraphs included.
    public var ops: [String: Int]
    public var nodeCount: Int
    /// Elements of all floating-point constant tensors, as PyTorch counts parameters: BatchNormalization's
    /// running mean and variance are statistics and Clip's bounds hyper-parameters, not parameters, and
    /// integer tensors are shape plumbing.
    public var parameters: Int
    /// Bytes of every constant tensor (initializers, Constant and ConstantOfShape outputs).
    public var parameterBytes: Int

    public init(_ model: OnnxModel) {
        let graph = model.graph ?? OnnxGraph()
        irVersion = model.irVersion
        producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        opsets = model.opsetImports
        let initializerNames = Set(graph.initializers.map(\.name))
        // Before IR 4, initializers were also listed as inputs; those are not inputs a user feeds.
        inputs = graph.inputs.filter { !initializerNames.contains($0.name) }.map(Self.value)
        outputs = graph.outputs.map(Self.value)

        var ops: [String: Int] = [:]
        var nodeCount = 0
        func count(_ g: OnnxGraph) {
            for node in g.nodes {
                let key = node.domain.isEmpty || node.domain == "ai.onnx" ? node.opType : "\(node.domain).\(node.opType)"
                ops[key, default: 0] += 1
                nodeCount += 1
                for a in node.attributes {
                    if let sub = a.g { count(sub) }
                    a.graphs.forEach(count)
                }
            }
        }
        count(graph)
        self.ops = ops
        self.nodeCount = nodeCount
        (parameters, parameterBytes) = Self.countParameters(graph)
    }

    private static func value(_ info: OnnxValueInfo) -> Value {
        if case .tensor(let elemType, let shape)? = info.type?.kind {
            return Value(name: info.name, dtype: DataType.name(of: elemType), shape: shape?.map(\.value))
        }
        return Value(name: info.name, dtype: "non-tensor", shape: nil)
    }

    /// Constant tensors: initializers, `Constant` values, and `ConstantOfShape` outputs whose shape is
    /// itself constant (older exports build their weights that way).
    private static func countParameters(_ graph: OnnxGraph) -> (Int, Int) {
        var constants: [String: (type: DataType, count: Int, intValues: [Int64]?)] = [:]
        func record(_ name: String, _ t: OnnxTensor) {
            guard let type = t.dataType, let shape = try? t.checkedShape() else { return }
            var ints: [Int64]?
            if type == .int64, let bytes = try? t.decodedBytes(baseDirectory: nil) { ints = bytes.values(as: Int64.self) }
            constants[name] = (type, shape.reduce(1, *), ints)
        }
        for t in graph.initializers { record(t.name, t) }
        for node in graph.nodes {
            switch node.opType {
            case "Constant":
                if let t = node.attribute("value")?.t, let out = node.outputs.first { record(out, t) }
            case "ConstantOfShape":
                guard let shapeName = node.inputs.first, let dims = constants[shapeName]?.intValues,
                      dims.allSatisfy({ $0 >= 0 }), let out = node.outputs.first else { continue }
                let type = node.attribute("value")?.t?.dataType ?? .float
                constants[out] = (type, dims.reduce(1) { $0 &* Int($1) }, nil)
            default: break
            }
        }
        // Not parameters: BatchNormalization's running statistics and Clip's bounds (hyper-parameters).
        var statistics = Set<String>()
        for node in graph.nodes where node.opType == "BatchNormalization" {
            statistics.formUnion(node.inputs.dropFirst(3).prefix(2))
        }
        for node in graph.nodes where node.opType == "Clip" { statistics.formUnion(node.inputs.dropFirst(1)) }
        var parameters = 0
        var bytes = 0
        for (name, c) in constants {
            bytes += c.count * (c.type.byteSize ?? 0)
            if [.float, .float16, .bfloat16, .double].contains(c.type) && !statistics.contains(name) {
                parameters += c.count
            }
        }
        return (parameters, bytes)
    }
}
