import OnnxFormat
import OnyxIR
import Synchronization

/// A loaded model, ready to run. Immutable after creation, so one session may be run from many
/// threads at once: each `run` keeps its values to itself.
public final class Session: Sendable {
    /// The lowered graph, as imported.
    public let graph: Graph
    public let optimize: Bool
    /// Bounds on what loading and running may allocate (`maxTensorElements` applies at run too).
    public let limits: LoadLimits
    /// Whether a model compiled with more than one thread also gets the separated arena layout, which
    /// its runs use while it is faster (see `LayoutChoice`); false saves that arena's memory.
    public let separatedArena: Bool
    /// The graph specialised, optimised and planned for each set of input shapes seen so far (nil when
    /// it could not be planned, e.g. a shape that depends on data: then it is interpreted).
    private let compiled = Locked<[[[Int]]: CompiledModel?]>([:])

    /// A graph input as the caller must feed it.
    public struct Input: Sendable {
        public var name: String
        public var dtype: DType?
        public var shape: [Dim]?
    }

    /// - Parameter optimize: run the optimizer (constant folding, BatchNorm folding, fusion) for each
    ///   new set of input shapes; false runs the graph exactly as imported.
    public init(graph: Graph, optimize: Bool = true, limits: LoadLimits = .default, separatedArena: Bool = true) {
        self.graph = graph
        self.optimize = optimize
        self.limits = limits
        self.separatedArena = separatedArena
    }

    /// Reads, validates and lowers a model file. When every input's shape is fixed, every node is also
    /// checked against its input shapes here; a model with symbolic dims (`batch`) is checked at each
    /// new set of shapes it runs at, since some graphs only work at some sizes. Errors name the file.
    public convenience init(path: String, optimize: Bool = true, limits: LoadLimits = .default, separatedArena: Bool = true) throws {
        let model = try OnnxFile.readModel(path: path, limits: limits)
        do {
            let graph = try Importer.importModel(model, baseDirectory: OnnxFile.directory(of: path))
            if graph.inputs.allSatisfy({ graph.fixedShape($0) != nil }) { _ = try Analysis.check(graph, limits: limits) }
            self.init(graph: graph, optimize: optimize, limits: limits, separatedArena: separatedArena)
        } catch let error as OnnxError {
            throw error.prefixed(path)
        }
    }

    public var inputs: [Input] {
        graph.inputs.map { Input(name: graph.values[$0].name, dtype: graph.values[$0].dtype, shape: graph.values[$0].shape) }
    }
    public var outputNames: [String] { graph.outputs.map { graph.values[$0].name } }

    /// Runs the model. Returns the outputs in graph order, with their names.
    public func run(_ feeds: [String: Tensor]) throws -> [(name: String, tensor: Tensor)] {
        var values = [Tensor?](repeating: nil, count: graph.values.count)
        try bind(feeds, into: &values)
        let inputs = graph.inputs.map { values[$0]! }
        return try Shapes.$maxElements.withValue(limits.maxTensorElements) {
            if optimize, let model = try compiledModel(for: inputs.map(\.shape)) {
                return try model.run(inputs)
            }
            return try interpret(graph, values)
        }
    }

    /// Specialises, optimises, plans and packs the model for these input shapes now rather than at the
    /// first `run` with them, so that the first request is served at full speed. Throws, naming the node,
    /// when a node cannot run at these shapes.
    public func prepare(_ shapes: [String: [Int]]) throws {
        guard optimize else { return }
        let ordered = try graph.inputs.map { id in
            let name = graph.values[id].name
            guard let shape = shapes[name] else { throw OnnxError("missing input '\(name)'") }
            return shape
        }
        try Shapes.$maxElements.withValue(limits.maxTensorElements) { _ = try compiledModel(for: ordered) }
    }

    /// Runs `graph` node by node on the reference kernels, each value in its own array.
    private func interpret(_ graph: Graph, _ bound: [Tensor?]) throws -> [(name: String, tensor: Tensor)] {
        var values = bound
        values += [Tensor?](repeating: nil, count: graph.values.count - values.count)
        for (id, value) in graph.values.enumerated() where value.constant != nil { values[id] = value.constant }

        // Free each value after its last use so peak memory follows the live set.
        var remainingUses = [Int](repeating: 0, count: graph.values.count)
        for node in graph.nodes { for case let id? in node.inputs { remainingUses[id] += 1 } }
        for id in graph.outputs { remainingUses[id] += 1 }

        for node in graph.nodes {
            let args = node.inputs.map { $0.flatMap { values[$0] } }
            let results: [Tensor]
            do {
                results = try Interpreter.execute(node.op, args, outputCount: node.outputs.count)
            } catch let error as KernelError {
                throw OnnxError("\(graph.label(node)): \(error.message)")
            }
            guard results.count >= node.outputs.count else {
                throw OnnxError("\(graph.label(node)): produced \(results.count) outputs, expected \(node.outputs.count)")
            }
            for (id, tensor) in zip(node.outputs, results) { values[id] = tensor }
            for case let id? in node.inputs {
                remainingUses[id] -= 1
                if remainingUses[id] == 0 && graph.values[id].constant == nil { values[id] = nil }
            }
        }
        return try graph.outputs.map { id in
            guard let t = values[id] else { throw OnnxError("output '\(graph.values[id].name)' was not computed") }
            return (graph.values[id].name, t)
        }
    }

    /// Runs `runs` times and returns the median milliseconds of each kernel launch with its op, output
    /// shape, the kernel that runs it ("fast", "fast, writes blocked", "reference", ...), and its MACs (nil
    /// when the model runs interpreted). Medians, not means: on a shared machine a few disturbed runs would
    /// otherwise move every step.
    public func profile(_ feeds: [String: Tensor], runs: Int) throws -> [(op: String, shape: [Int], kernel: String, macs: Int, ms: Double)]? {
        var values = [Tensor?](repeating: nil, count: graph.values.count)
        try bind(feeds, into: &values)
        let inputs = graph.inputs.map { values[$0]! }
        guard optimize, let model = try compiledModel(for: inputs.map(\.shape)) else { return nil }
        let descriptions = model.stepDescriptions
        var samples = [[Double]](repeating: [], count: descriptions.count)
        for _ in 0 ..< max(1, runs) {
            var times = [Double](repeating: 0, count: descriptions.count)
            _ = try times.withUnsafeMutableBufferPointer { try model.run(inputs, profile: $0.baseAddress!) }
            for (step, ms) in times.enumerated() { samples[step].append(ms) }
        }
        return zip(descriptions, samples).map { description, times in
            (description.op, description.shape, description.kernel, description.macs, times.sorted()[times.count / 2])
        }
    }

    /// The compiled model for these input shapes, built on first use. Throws, naming the node, when
    /// a node cannot run at these shapes; nil means "interpret" (a shape depends on data).
    func compiledModel(for shapes: [[Int]]) throws -> CompiledModel? {
        if let cached = compiled.withLock({ $0[shapes] }) { return cached }
        let inputShapes = Dictionary(uniqueKeysWithValues: zip(graph.inputs, shapes))
        _ = try Analysis.check(graph, inputShapes: inputShapes, limits: limits)
        let optimized = Analysis.runtimeOptimizer.optimize(graph, inputShapes: inputShapes).graph
        let model = try? CompiledModel(graph: optimized, separatedLayout: separatedArena)
        compiled.withLock { $0[shapes] = model }
        return model
    }

    /// Checks every feed against the declared inputs: names, element types, ranks, fixed dims, and
    /// that a symbolic dim (`batch`) has one size across inputs.
    private func bind(_ feeds: [String: Tensor], into values: inout [Tensor?]) throws {
        let expected = Set(graph.inputs.map { graph.values[$0].name })
        for name in feeds.keys.sorted() where !expected.contains(name) {
            throw OnnxError("unknown input '\(name)'; the model's inputs are: \(graph.inputs.map { graph.values[$0].name }.joined(separator: ", "))")
        }
        var symbols: [String: Int] = [:]
        for id in graph.inputs {
            let declared = graph.values[id]
            guard let tensor = feeds[declared.name] else { throw OnnxError("missing input '\(declared.name)'") }
            if let dtype = declared.dtype, dtype != tensor.dtype {
                throw OnnxError("input '\(declared.name)': expected \(dtype), got \(tensor.dtype)")
            }
            if let shape = declared.shape {
                let text = "[" + shape.map(\.description).joined(separator: ", ") + "]"
                guard shape.count == tensor.rank else {
                    throw OnnxError("input '\(declared.name)': expected shape \(text), got \(tensor.shape)")
                }
                for (dim, size) in zip(shape, tensor.shape) {
                    switch dim {
                    case .fixed(let v) where v != size:
                        throw OnnxError("input '\(declared.name)': expected shape \(text), got \(tensor.shape)")
                    case .symbol(let s):
                        if let bound = symbols[s], bound != size {
                            throw OnnxError("input '\(declared.name)': dimension '\(s)' is \(size) here but \(bound) in another input")
                        }
                        symbols[s] = size
                    default: break
                    }
                }
            }
            values[id] = tensor
        }
    }
}
