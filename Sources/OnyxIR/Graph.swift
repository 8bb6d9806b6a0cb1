/// Index of a value in `Graph.values`.
public typealias ValueID = Int

/// One SSA value: produced by exactly one node, a graph input, or a constant.
public struct Value: Sendable, Equatable {
    public var name: String
    /// Set for weights and folded constants.
    public var constant: Tensor?
    /// Element type and shape when known (declared by the model or inferred).
    public var dtype: DType?
    public var shape: [Dim]?

    public init(name: String, constant: Tensor? = nil, dtype: DType? = nil, shape: [Dim]? = nil) {
        self.name = name
        self.constant = constant
        self.dtype = constant?.dtype ?? dtype
        self.shape = constant.map { $0.shape.map(Dim.fixed) } ?? shape
    }
}

/// A dimension: a number, or a name (`batch`) fixed only when the model is run.
public enum Dim: Sendable, Equatable, Hashable, CustomStringConvertible {
    case fixed(Int)
    case symbol(String)

    public var value: Int? { if case .fixed(let v) = self { return v } else { return nil } }
    public var description: String {
        switch self {
        case .fixed(let v): return String(v)
        case .symbol(let s): return s
        }
    }
}

/// One operator application. Inputs are optional where ONNX allows an input to be omitted.
public struct Node: Sendable, Equatable {
    public var name: String
    public var op: Op
    public var inputs: [ValueID?]
    public var outputs: [ValueID]

    public init(name: String, op: Op, inputs: [ValueID?], outputs: [ValueID]) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// The IR hub: what the importer and the builder produce, and what passes, the runtime and the
/// exporter consume. Nodes are kept in a topological order.
public struct Graph: Sendable, Equatable {
    public var values: [Value] = []
    public var nodes: [Node] = []
    public var inputs: [ValueID] = []
    public var outputs: [ValueID] = []
    /// The default-domain opset the graph was imported from (the exporter writes at least this).
    public var opset: Int64 = 13

    public init() {}

    public mutating func addValue(_ value: Value) -> ValueID {
        values.append(value)
        return values.count - 1
    }

    public mutating func addConstant(_ tensor: Tensor, name: String) -> ValueID {
        addValue(Value(name: name, constant: tensor))
    }

    /// A readable label for messages: `node 'conv1' (Conv)`.
    public func label(_ node: Node) -> String { "node '\(node.name)' (\(node.op.onnxName))" }
}
