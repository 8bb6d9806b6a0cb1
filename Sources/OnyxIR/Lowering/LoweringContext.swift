import OnnxFormat

/// What an op's lowering sees: the ONNX node, its opset, typed attribute access with spec defaults,
/// and the means to turn attribute values into constant inputs (the IR's single form).
public struct LoweringContext {
    public let node: OnnxNode
    public let opset: Int64
    var graph: Graph
    /// The node's inputs as IR values (nil for an omitted optional input).
    public var inputs: [ValueID?]
    let baseDirectory: String?

    public var label: String { "node '\(node.name)' (\(node.opType))" }

    func error(_ message: String) -> OnnxError { OnnxError("\(label): \(message)") }

    private func attribute(_ name: String, _ expected: AttributeType) throws -> OnnxAttribute? {
        guard let a = node.attribute(name) else { return nil }
        // Old exporters sometimes omit `type`; infer it from the populated field.
        let type = a.typeCode == 0 ? inferredType(a) : a.type
        guard type == expected else {
            throw error("attribute '\(name)' should be \(expected) but is \(type.map(\.description) ?? "type \(a.typeCode)")")
        }
        return a
    }

    private func inferredType(_ a: OnnxAttribute) -> AttributeType? {
        if !a.ints.isEmpty { return .ints }
        if !a.floats.isEmpty { return .floats }
        if !a.strings.isEmpty { return .strings }
        if a.t != nil { return .tensor }
        if a.g != nil { return .graph }
        if !a.s.isEmpty { return .string }
        return nil
    }

    public func has(_ name: String) -> Bool { node.attribute(name) != nil }

    public func int(_ name: String, _ fallback: Int) throws -> Int {
        try attribute(name, .int).map { try checkedInt($0.i, name) } ?? fallback
    }
    public func requiredInt(_ name: String) throws -> Int {
        guard let a = try attribute(name, .int) else { throw error("missing required attribute '\(name)'") }
        return try checkedInt(a.i, name)
    }
    public func float(_ name: String, _ fallback: Float) throws -> Float {
        try attribute(name, .float)?.f ?? fallback
    }
    public func string(_ name: String, _ fallback: String) throws -> String {
        try attribute(name, .string)?.stringValue ?? fallback
    }
    public func ints(_ name: String) throws -> [Int]? {
        try attribute(name, .ints).map { try $0.ints.map { try checkedInt($0, name) } }
    }
    public func floats(_ name: String) throws -> [Float]? {
        try attribute(name, .floats)?.floats
    }
    public func tensor(_ name: String) throws -> Tensor? {
        guard let a = try attribute(name, .tensor), let t = a.t else { return nil }
        do { return try Tensor(onnx: t, baseDirectory: baseDirectory) } catch let e as OnnxError {
            throw error("attribute '\(name)': \(e.message)")
        }
    }

    private func checkedInt(_ v: Int64, _ name: String) throws -> Int {
        guard abs(v) < Int64(1) << 40 || v == Int64.max || v == Int64.min else {
            throw error("attribute '\(name)' value \(v) is out of range")
        }
        return Int(clamping: v)
    }

    /// Enumerated string attribute.
    public func choice<E: RawRepresentable>(_ name: String, _ fallback: E) throws -> E where E.RawValue == String {
        guard let text = try attribute(name, .string)?.stringValue else { return fallback }
        guard let value = E(rawValue: text) else { throw error("attribute '\(name)' has unsupported value '\(text)'") }
        return value
    }

    /// Adds a constant and returns its value id (for attributes that later opsets take as inputs).
    public mutating func constant(_ tensor: Tensor, suffix: String) -> ValueID {
        graph.addConstant(tensor, name: "\(node.name.isEmpty ? node.opType : node.name)/\(suffix)")
    }

    public func input(_ index: Int) -> ValueID? { index < inputs.count ? inputs[index] : nil }

    /// The constant tensor behind input `index`, if it is one.
    public func constantInput(_ index: Int) -> Tensor? {
        input(index).flatMap { graph.values[$0].constant }
    }

    public func requireInputs(_ range: ClosedRange<Int>) throws {
        let present = inputs.count
        guard range.contains(present) else {
            throw error("expects \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)") inputs, got \(present)")
        }
        guard inputs.first.map({ $0 != nil }) ?? true else { throw error("the first input is missing") }
    }
}
