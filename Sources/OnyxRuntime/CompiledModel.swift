import OnnxFormat
import OnyxIR
import OnyxPlanner
import Dispatch
import Synchronization
import OnyxKernels

/// A graph specialised to one set of input shapes, optimised, planned, and bound to kernels.
///
/// Every intermediate lives in one arena laid out by the `MemoryPlan`; steps with a pointer kernel
/// read and write it directly, the rest run their reference kernel and copy. Arenas are pooled, so
/// concurrent runs each get their own and a serial caller reuses one without allocating. With more than
/// one thread the steps are also bound to a separated arena, and runs use whichever `LayoutChoice` finds
/// faster on this host.
final class CompiledModel: Sendable {
    let graph: Graph
    let plan: MemoryPlan
    /// The plan's layout, then (with more than one thread) the separated one.
    private let layouts: [Layout]
    private let choice: Locked<LayoutChoice>

    /// Where a value's elements are during a run.
    enum Location: Sendable {
        case arena(offset: Int)
        case constant(Tensor)
    }

    struct Step: Sendable {
        var node: Node
        var kernel: (any PointerKernel)?
    }

    /// The steps bound to one arrangement of the arena.
    struct Layout: Sendable {
        let locations: [ValueID: Location]
        let steps: [Step]
        /// The arena's layout: the plan's buffers, then the graph inputs (copied in at the start of a
        /// run), then the scratch that kernels such as im2col need.
        let inputOffsets: [Int]
        let arenaBytes: Int
        let arenas = Locked<[Arena]>([])
    }

    /// How many values a pointwise convolution writes channel-blocked for its depthwise reader (`BlockedPairs`).
    let blockedValues: Int
    /// How many values a depthwise convolution or squeeze-and-excitation block writes as its pointwise
    /// reader's packed B (`PackedPairs`).
    let packedValues: Int

    /// - Parameter separatedLayout: with more than one thread, also bind the separated layout.
    init(graph: Graph, separatedLayout: Bool = true) throws {
        var pairs = LayoutPairs(graph)
        let plan = try Planner.plan(graph, minimumBytes: pairs.bytes(graph))
        self.graph = graph
        self.plan = plan
        var shared = try Self.bind(graph, plan, pairs)
        // A blocked or packed value is only right if both its writer and its reader run their pointer
        // kernels (the `find`s check the same conditions; this guards against the two drifting apart).
        if Self.pairedEnds(shared.steps) != 2 * pairs.count {
            (pairs.blocked, pairs.packed) = ([:], [:])
            shared = try Self.bind(graph, plan, pairs)
        }
        blockedValues = pairs.blocked.count
        packedValues = pairs.packed.count
        layouts = separatedLayout && ThreadPool.shared.workers > 1
            ? [shared, try Self.bind(graph, plan.separated(), pairs, reusing: shared.steps, separateScratch: true)] : [shared]
        choice = Locked(LayoutChoice(layouts: layouts.count))
    }

    /// The writers and readers of blocked and packed values among the steps' kernels.
    private static func pairedEnds(_ steps: [Step]) -> Int {
        steps.reduce(0) { count, step in
            if step.kernel is BlockedPointwiseStep { return count + 1 }
            if let se = (step.kernel as? SqueezeExciteStep)?.se { return count + (se.packedOutput != nil ? 1 : 0) }
            guard let conv = (step.kernel as? ConvStep)?.conv else { return count }
            return count + [conv.blockedInput, conv.packedInput, conv.packedOutput != nil].filter { $0 }.count
        }
    }

    /// The steps bound to `plan`'s arena. The separated layout passes the plan's layout's steps as
    /// `reusing`, whose packed weights its kernels share, and gives each step scratch of its own.
    private static func bind(_ graph: Graph, _ plan: MemoryPlan, _ pairs: LayoutPairs,
                             reusing: [Step]? = nil, separateScratch: Bool = false) throws -> Layout {
        var end = plan.arenaBytes
        var inputOffsets: [Int] = []
        var locations: [ValueID: Location] = [:]
        for id in graph.inputs {
            end = (end + 63) / 64 * 64
            inputOffsets.append(end)
            locations[id] = .arena(offset: end)
            guard let shape = graph.fixedShape(id), let dtype = graph.values[id].dtype, dtype != .string else {
                throw Planner.Unplannable(description: "input '\(graph.values[id].name)' has no fixed shape")
            }
            end += shape.reduce(1, *) * dtype.byteSize
        }
        for (id, value) in graph.values.enumerated() {
            if let c = value.constant { locations[id] = .constant(c) }
            if let offset = plan.arenaOffset(of: id) { locations[id] = .arena(offset: offset) }
        }
        // Views of inputs and constants have no bytes of their own: they are where their source is.
        for (step, index) in plan.order.enumerated() where !plan.launches[step] {
            let node = graph.nodes[index]
            for out in node.outputs where locations[out] == nil {
                if let source = node.inputs.first ?? nil, let l = locations[source] { locations[out] = l }
            }
        }
        var offsets: [ValueID: Int] = [:]
        for (id, l) in locations { if case .arena(let o) = l { offsets[id] = o } }
        let scratch = (end + 63) / 64 * 64
        var scratchBytes = 0
        // With `separateScratch`, each step's scratch is its own, so its lines keep their threads from run to
        // run. (One region for all, as in the plan's layout, cost SqueezeNet at two threads in the far state
        // 0.98-1.02 of onnxruntime's time against 0.82-0.86; one per size of scratch, shared by a net's
        // repeated blocks, 0.91-0.93, and ResNet-50 0.93-0.97 against 0.89.)
        let steps = plan.order.enumerated().filter { plan.launches[$0.offset] }.enumerated().map { i, launch in
            let node = graph.nodes[launch.element]
            let at = separateScratch ? scratch + scratchBytes : scratch
            let kernel = PointerKernels.make(node, graph, offsets, scratch: at, blocked: pairs.blocked, packed: pairs.packed, reusing: reusing?[i].kernel)
            let bytes = (kernel?.scratchCount ?? 0) * 4
            scratchBytes = separateScratch ? scratchBytes + (bytes + 63) / 64 * 64 : max(scratchBytes, bytes)
            return Step(node: node, kernel: kernel)
        }
        return Layout(locations: locations, steps: steps, inputOffsets: inputOffsets, arenaBytes: scratch + scratchBytes)
    }

    /// One line per launching step for profiles: op, output shape, which kernel runs it (`PointerKernel.label`,
    /// or "reference"), MACs.
    var stepDescriptions: [(op: String, shape: [Int], kernel: String, macs: Int)] {
        let known = graph.values.map { v -> Known in v.constant.map(Known.constant) ?? (v.shape.map { .tensor(v.dtype, $0.compactMap(\.value)) } ?? .unknown) }
        return layouts[0].steps.map { step in
            var single = Graph()
            single.values = graph.values
            single.nodes = [step.node]
            return (step.node.op.onnxName, graph.fixedShape(step.node.outputs[0]) ?? [], step.kernel?.label ?? "reference",
                    CostModel.macs(single, known))
        }
    }

    /// How many launching steps run a pointer kernel (the rest use reference kernels).
    var fastSteps: Int { layouts[0].steps.filter { $0.kernel != nil }.count }
    /// The ops of the steps left on reference kernels.
    var referenceOps: [String] { layouts[0].steps.filter { $0.kernel == nil }.map { $0.node.op.onnxName } }

    /// `layout`: the index in `layouts` to run on (tests); by default `LayoutChoice`'s, timed for it when
    /// there is a choice.
    func run(_ inputs: [Tensor], profile: UnsafeMutablePointer<Double>? = nil, layout chosen: Int? = nil) throws -> [(name: String, tensor: Tensor)] {
        let timed = chosen == nil && layouts.count > 1
        let start = timed ? DispatchTime.now().uptimeNanoseconds : 0
        let index = timed ? choice.withLock { $0.next(now: Double(start) / 1e9) } : chosen ?? 0
        defer {
            if timed {
                let end = DispatchTime.now().uptimeNanoseconds
                choice.withLock { $0.record(index, ms: Double(end - start) / 1e6, now: Double(end) / 1e9) }
            }
        }
        let layout = layouts[index]
        let arena = layout.arenas.withLock { $0.popLast() } ?? Arena(bytes: layout.arenaBytes)
        defer { layout.arenas.withLock { $0.append(arena) } }
        for (tensor, offset) in zip(inputs, layout.inputOffsets) { RawTensor.write(tensor, to: arena.base + offset) }
        let context = ExecutionContext(arena: arena.base)
        for (i, step) in layout.steps.enumerated() {
            let start = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            defer { if let profile { profile[i] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 } }
            do {
                if let kernel = step.kernel {
                    try kernel.run(context)
                } else {
                    try runReference(step.node, layout.locations, context)
                }
            } catch let error as KernelError {
                throw OnnxError("\(graph.label(step.node)): \(error.message)")
            }
        }
        return graph.outputs.map { (graph.values[$0].name, tensor($0, layout.locations, context)) }
    }

    /// How many arena layouts runs choose between (see `LayoutChoice`).
    var layoutCount: Int { layouts.count }

    private func tensor(_ id: ValueID, _ locations: [ValueID: Location], _ context: ExecutionContext) -> Tensor {
        let shape = graph.fixedShape(id)!
        switch locations[id]! {
        case .constant(let t): return t.reshaped(shape)
        case .arena(let offset): return RawTensor.read(context.arena + offset, dtype: graph.values[id].dtype!, shape: shape)
        }
    }

    private func runReference(_ node: Node, _ locations: [ValueID: Location], _ context: ExecutionContext) throws {
        let args = node.inputs.map { $0.map { tensor($0, locations, context) } }
        let results = try Interpreter.execute(node.op, args, outputCount: node.outputs.count)
        for (id, result) in zip(node.outputs, results) {
            guard case .arena(let offset) = locations[id]! else { continue }
            guard result.shape == graph.fixedShape(id), result.dtype == graph.values[id].dtype else {
                throw KernelError("produced \(result.description) where the plan expected \(graph.values[id].dtype.map { "\($0)" } ?? "?")\(graph.fixedShape(id) ?? [])")
            }
            RawTensor.write(result, to: context.arena + offset)
        }
    }
}

/// What a pointer kernel sees during one run.
struct ExecutionContext {
    let arena: UnsafeMutableRawPointer
}

/// A kernel bound at compile time to its operands' locations.
protocol PointerKernel: Sendable {
    func run(_ context: ExecutionContext) throws
    /// Floats of scratch the kernel uses (at the arena's scratch offset).
    var scratchCount: Int { get }
    /// How profiles name it.
    var label: String { get }
}

extension PointerKernel {
    var scratchCount: Int { 0 }
    var label: String { "fast" }
}
