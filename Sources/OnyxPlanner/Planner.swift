import OnyxIR

/// Builds a `MemoryPlan` for a graph whose values all have fixed shapes and known types.
public enum Planner {
    public struct Unplannable: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The largest single value a plan accepts (16 GiB); larger ones fail planning with a clear error.
    public static let maxBytes = 16 << 30

    /// `minimumBytes`: values that need more room than their shape (a kernel writing them in a padded layout).
    public static func plan(_ graph: Graph, minimumBytes: [ValueID: Int] = [:]) throws -> MemoryPlan {
        let order = Array(graph.nodes.indices)
        var consumersLeft: [ValueID: Int] = [:]
        var lastUse: [ValueID: Int] = [:]
        for (step, index) in order.enumerated() {
            for case let input? in graph.nodes[index].inputs {
                consumersLeft[input, default: 0] += 1
                lastUse[input] = step
            }
        }
        let outputs = Set(graph.outputs)
        let end = order.count

        func bytes(_ id: ValueID) throws -> Int {
            let v = graph.values[id]
            guard let shape = graph.fixedShape(id), let dtype = v.dtype else {
                throw Unplannable(description: "value '\(v.name)' has no fixed shape and type")
            }
            guard dtype != .string else { throw Unplannable(description: "value '\(v.name)' holds strings") }
            guard let count = shape.checkedProduct, count <= maxBytes / dtype.byteSize else {
                throw Unplannable(description: "value '\(v.name)' of shape \(shape) is larger than \(maxBytes) bytes")
            }
            return max(count * dtype.byteSize, minimumBytes[id] ?? 0)
        }

        var buffers: [MemoryPlan.Buffer] = []
        var placements: [ValueID: MemoryPlan.Placement] = [:]
        var launches: [Bool] = []
        var naive = 0

        /// Extends the buffer holding `id` to live until `step`.
        func extend(_ id: ValueID, to step: Int) {
            if let p = placements[id] { buffers[p.buffer].lastStep = max(buffers[p.buffer].lastStep, step) }
        }
        func newBuffer(for id: ValueID, step: Int) throws {
            let size = try bytes(id)
            naive += size
            buffers.append(MemoryPlan.Buffer(bytes: size, firstStep: step, lastStep: outputs.contains(id) ? end : (lastUse[id] ?? step)))
            placements[id] = MemoryPlan.Placement(buffer: buffers.count - 1, offset: 0)
        }
        /// `id` names memory inside `source`'s buffer at `offset` (a view).
        func alias(_ id: ValueID, to source: ValueID, offset: Int, step: Int) throws {
            naive += try bytes(id)
            guard let p = placements[source] else { return }  // views of inputs and constants need no arena
            placements[id] = MemoryPlan.Placement(buffer: p.buffer, offset: p.offset + offset)
            extend(id, to: outputs.contains(id) ? end : (lastUse[id] ?? step))
        }
        func isArena(_ id: ValueID?) -> Bool { id.map { placements[$0] != nil } ?? false }

        // Concat inputs that can be written in place: arena values consumed only by that Concat,
        // along an axis with nothing but 1s before it (so each input is one contiguous block).
        var concatSlot: [ValueID: (concat: ValueID, offset: Int)] = [:]
        for index in order {
            let node = graph.nodes[index]
            guard case .concat(let axis) = node.op, let shape = graph.fixedShape(node.outputs[0]) else { continue }
            let a = axis < 0 ? axis + shape.count : axis
            guard shape[..<a].allSatisfy({ $0 == 1 }), Set(node.inputs.compactMap { $0 }).count == node.inputs.count else { continue }
            var offset = 0
            for case let input? in node.inputs {
                let size = try bytes(input)
                // Only values a kernel writes can be written into a slice (a view or an in-place Concat
                // writes nothing).
                if consumersLeft[input] == 1, !outputs.contains(input), graph.values[input].constant == nil,
                   !graph.inputs.contains(input), graph.nodes.contains(where: { $0.outputs.contains(input) && writesItsOutput($0.op) }) {
                    concatSlot[input] = (node.outputs[0], offset)
                }
                offset += size
            }
        }

        for (step, index) in order.enumerated() {
            let node = graph.nodes[index]
            let input = node.inputs.first ?? nil
            switch node.op {
            // Reshape-family ops have one output; an Identity from Dropout may carry a mask as a second.
            case .reshape, .flatten, .squeeze, .unsqueeze,
                 .identity where node.outputs.count == 1:
                try alias(node.outputs[0], to: input!, offset: 0, step: step)
                launches.append(false)
                continue
            case .split(let axis, _):
                if let input, let shape = graph.fixedShape(input), leadingOnes(shape, axis), isArena(input) {
                    var offset = 0
                    for out in node.outputs {
                        try alias(out, to: input, offset: offset, step: step)
                        offset += try bytes(out)
                    }
                    launches.append(false)
                    continue
                }
            case .slice:
                if let input, isArena(input), let offset = try contiguousSliceOffset(node, graph) {
                    try alias(node.outputs[0], to: input, offset: offset, step: step)
                    launches.append(false)
                    continue
                }
            case .concat:
                if node.inputs.allSatisfy({ $0.map { concatSlot[$0] != nil } ?? false }) {
                    // Every input already sits in its slice: nothing to copy.
                    extend(node.outputs[0], to: outputs.contains(node.outputs[0]) ? end : (lastUse[node.outputs[0]] ?? step))
                    launches.append(false)
                    continue
                }
            default:
                break
            }
            launches.append(true)
            for out in node.outputs where placements[out] == nil {
                if let slot = concatSlot[out] {
                    // Allocate the Concat's output now (its first write is this input) and place `out` in it.
                    if placements[slot.concat] == nil { try newBuffer(for: slot.concat, step: step) }
                    naive += try bytes(out)
                    placements[out] = MemoryPlan.Placement(buffer: placements[slot.concat]!.buffer, offset: slot.offset)
                    continue
                }
                if let reuse = inPlaceCandidate(node, step: step, out: out, graph, lastUse: lastUse, outputs: outputs,
                                                placements: placements, bytes: bytes) {
                    try alias(out, to: reuse, offset: 0, step: step)
                    continue
                }
                try newBuffer(for: out, step: step)
            }
        }

        var plan = MemoryPlan(order: order, launches: launches, buffers: buffers, placements: placements,
                              arenaBytes: 0, lowerBoundBytes: 0, naiveBytes: naive)
        place(&plan, steps: end + 1)
        return plan
    }

    static func isView(_ op: Op) -> Bool {
        switch op {
        case .reshape, .flatten, .squeeze, .unsqueeze, .identity: return true
        default: return false
        }
    }

    /// The byte offset of a Slice's output inside its input, when the output is one contiguous block:
    /// constant bounds, step 1, one axis sliced, and only 1s before that axis (a channel split at batch 1).
    static func contiguousSliceOffset(_ node: Node, _ graph: Graph) throws -> Int? {
        guard let x = node.inputs[0], let shape = graph.fixedShape(x), let outShape = graph.fixedShape(node.outputs[0]),
              let dtype = graph.values[x].dtype else { return nil }
        let differing = (0 ..< shape.count).filter { shape[$0] != outShape[$0] }
        guard differing.count <= 1 else { return nil }
        guard let axis = differing.first else { return 0 }
        guard shape[..<axis].allSatisfy({ $0 == 1 }),
              let starts = graph.constant(node.inputs[1])?.int64s, starts.count == 1 else { return nil }
        if node.inputs.count > 4, let steps = graph.constant(node.inputs[4])?.int64s, steps != [1] { return nil }
        if node.inputs.count > 4, node.inputs[4] != nil, graph.constant(node.inputs[4]) == nil { return nil }
        var start = Int(clamping: starts[0])
        if start < 0 { start += shape[axis] }
        start = min(max(start, 0), shape[axis])
        return start * shape[(axis + 1)...].reduce(1, *) * dtype.byteSize
    }

    static func writesItsOutput(_ op: Op) -> Bool {
        switch op {
        case .split, .slice, .concat: return false  // each may turn out to be a view
        default: return !isView(op)
        }
    }

    static func leadingOnes(_ shape: [Int], _ axis: Int) -> Bool {
        let a = axis < 0 ? axis + shape.count : axis
        return a >= 0 && a < shape.count && shape[..<a].allSatisfy { $0 == 1 }
    }

    /// An input of an elementwise op that dies here, has the output's size and sits at the start of its
    /// own arena buffer: the output may overwrite it.
    static func inPlaceCandidate(_ node: Node, step: Int, out: ValueID, _ graph: Graph, lastUse: [ValueID: Int],
                                 outputs: Set<ValueID>, placements: [ValueID: MemoryPlan.Placement],
                                 bytes: (ValueID) throws -> Int) -> ValueID? {
        let candidates: [ValueID?]
        switch node.op {
        case .unary, .clip, .prelu: candidates = [node.inputs[0]]
        case .binary(let f) where !f.isComparison && !f.isLogical: candidates = node.inputs
        case .conv where node.inputs.count > 3: candidates = []  // a residual is read while the output is written in tiles
        default: return nil
        }
        for case let c? in candidates {
            guard let p = placements[c], p.offset == 0, lastUse[c] == step, !outputs.contains(c),
                  graph.values[c].dtype == graph.values[out].dtype,
                  let a = try? bytes(c), let b = try? bytes(out), a == b else { continue }
            // The buffer must not be shared with a value still live after this step.
            let sharedLater = placements.contains { $0.key != c && $0.value.buffer == p.buffer && (lastUse[$0.key] ?? 0) > step }
            if !sharedLater { return c }
        }
        return nil
    }

    /// Greedy by size: biggest buffers first, each at the lowest offset clear of every placed buffer
    /// whose lifetime overlaps. Also computes the lower bound.
    static func place(_ plan: inout MemoryPlan, steps: Int) {
        var live = [Int](repeating: 0, count: steps + 1)
        for b in plan.buffers { for s in b.firstStep ... min(b.lastStep, steps) { live[s] += b.bytes } }
        plan.lowerBoundBytes = live.max() ?? 0
        let alignment = 64
        var placed: [Int] = []
        for i in plan.buffers.indices.sorted(by: { plan.buffers[$0].bytes > plan.buffers[$1].bytes }) {
            let b = plan.buffers[i]
            let overlapping = placed.map { plan.buffers[$0] }
                .filter { $0.firstStep <= b.lastStep && b.firstStep <= $0.lastStep }
                .sorted { $0.offset < $1.offset }
            var offset = 0
            for o in overlapping {
                if offset + b.bytes <= o.offset { break }
                offset = max(offset, (o.offset + o.bytes + alignment - 1) / alignment * alignment)
            }
            plan.buffers[i].offset = offset
            plan.arenaBytes = max(plan.arenaBytes, offset + b.bytes)
            placed.append(i)
        }
    }
}

extension DType {
    public var byteSize: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .int16, .uint16: return 2
        case .int8, .uint8, .bool: return 1
        case .string: return 8
        }
    }
}
