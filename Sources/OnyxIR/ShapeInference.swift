import OnnxFormat

/// What shape inference knows about a value at given input shapes.
public enum Known: Sendable, Equatable {
    /// A constant (a weight, or folded: e.g. the Shape -> Gather -> Concat chains of older exports).
    case constant(Tensor)
    case tensor(DType?, [Int])
    case unknown

    public var shape: [Int]? {
        switch self {
        case .constant(let t): return t.shape
        case .tensor(_, let s): return s
        case .unknown: return nil
        }
    }
    public var dtype: DType? {
        switch self {
        case .constant(let t): return t.dtype
        case .tensor(let d, _): return d
        case .unknown: return nil
        }
    }
    public var constant: Tensor? { if case .constant(let t) = self { return t } else { return nil } }
}

/// Static shape inference over the IR at concrete input shapes. Nodes whose inputs are all constant
/// are folded by `fold` (the runtime's kernels) when their output stays small, so shape-computation
/// chains become constants; every other node gets its output shapes from its op's shape rule.
public enum ShapeInference {
    public typealias Fold = (Op, [Tensor?], Int) throws -> [Tensor]

    /// Largest output (elements) computed at inference time; bigger constant outputs only get shapes.
    public static let foldLimit = 1 << 16

    /// Shapes of every value; a node whose inputs cannot work gets unknown outputs. For rewriting
    /// passes, which must not fail on a graph that `check` has accepted.
    public static func infer(_ graph: Graph, inputShapes: [ValueID: [Int]], fold: Fold) -> [Known] {
        run(graph, inputShapes: inputShapes, fold: fold, maxElements: nil) { (_: Node, _: InvalidShape) throws(Never) in }
    }

    /// Shapes of every value, refusing the first node whose known inputs cannot work or whose output
    /// would hold more than `maxElements`: the error names the node.
    public static func check(_ graph: Graph, inputShapes: [ValueID: [Int]], maxElements: Int, fold: Fold) throws -> [Known] {
        try run(graph, inputShapes: inputShapes, fold: fold, maxElements: maxElements) { (node: Node, invalid: InvalidShape) throws(OnnxError) in
            throw OnnxError("\(graph.label(node)): \(invalid.message)")
        }
    }

    /// Infers node by node; a node that cannot work goes to `onInvalid` (which may throw) and keeps
    /// unknown outputs.
    private static func run<Failure: Error>(_ graph: Graph, inputShapes: [ValueID: [Int]], fold: Fold, maxElements: Int?,
                                            onInvalid: (Node, InvalidShape) throws(Failure) -> Void) throws(Failure) -> [Known] {
        var known = graph.values.map { v -> Known in v.constant.map(Known.constant) ?? .unknown }
        for id in graph.inputs {
            if let shape = inputShapes[id] { known[id] = .tensor(graph.values[id].dtype, shape) }
        }
        for node in graph.nodes {
            let inputs = node.inputs.map { $0.map { known[$0] } }
            do {
                let outputs = try infer(node.op, inputs, outputCount: node.outputs.count, fold: fold)
                for (id, k) in zip(node.outputs, outputs) {
                    if let limit = maxElements, let shape = k.shape, let count = shape.checkedProduct, count > limit {
                        throw InvalidShape("output shape \(shape) has \(count) elements, over the limit of \(limit)")
                    }
                    known[id] = k
                }
            } catch {
                try onInvalid(node, error as? InvalidShape ?? InvalidShape("\(error)"))
            }
        }
        return known
    }

    /// A node's outputs. Constant inputs are folded by running the op when the outputs are known to
    /// be small (so a hostile ConstantOfShape is never computed just to be measured).
    static func infer(_ op: Op, _ inputs: [Known?], outputCount: Int, fold: Fold) throws -> [Known] {
        let unknown = [Known](repeating: .unknown, count: outputCount)
        if case .shape(let start, let end) = op, let shape = inputs.first??.shape {
            return [.constant(shapeTensor(shape, start: start, end: end))]
        }
        let shapes: [[Int]?]
        do {
            shapes = try outputShapes(op, inputs, outputCount: outputCount)
        } catch is Unknown {
            return unknown
        }
        guard shapes.allSatisfy({ $0 == nil || $0!.checkedExtent != nil }) else {
            throw InvalidShape("output shape \(shapes.compactMap { $0 }.first { $0.checkedExtent == nil }!) is invalid")
        }
        let present = inputs.compactMap { $0 }
        let small = shapes.count == outputCount && shapes.allSatisfy { ($0?.checkedProduct ?? Int.max) <= foldLimit }
        if small, !present.isEmpty, present.allSatisfy({ $0.constant != nil }),
           let results = try? fold(op, inputs.map { $0?.constant }, outputCount), results.count >= outputCount {
            return results.prefix(outputCount).map(Known.constant)
        }
        let dtype = outputType(op, inputs)
        return (0 ..< outputCount).map { i in
            guard i < shapes.count, let shape = shapes[i] else { return .unknown }
            // MaxPool's second output holds int64 indices; Dropout's (an Identity here) a bool mask.
            if case .pool = op, i == 1 { return .tensor(.int64, shape) }
            if case .identity = op, i == 1 { return .tensor(.bool, shape) }
            return .tensor(dtype, shape)
        }
    }

    /// The value of `Shape(start, end)` for a tensor of `shape`.
    public static func shapeTensor(_ shape: [Int], start: Int, end: Int?) -> Tensor {
        let r = shape.count
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + r : v, 0), r) }
        let s = clamp(start), e = clamp(end ?? r)
        let dims = s < e ? shape[s ..< e].map(Int64.init) : []
        return Tensor(shape: [dims.count], dims)
    }

    static func outputType(_ op: Op, _ inputs: [Known?]) -> DType? {
        switch op {
        case .binary(let f) where f.isComparison || f.isLogical: return .bool
        case .shape, .argMax, .argMin: return .int64
        case .cast(let to): return to
        case .constantOfShape(let value): return value.dtype
        case .where: return inputs.count > 1 ? inputs[1]?.dtype : nil
        default: return inputs.first??.dtype
        }
    }
}
