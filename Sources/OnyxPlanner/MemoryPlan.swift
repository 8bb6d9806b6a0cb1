import Foundation
import OnyxIR

/// Where every intermediate value lives during one run, as data you can print.
///
/// Values are grouped into buffers: a view (Reshape, Flatten, Squeeze, Unsqueeze, Identity, a Split or
/// Slice that takes a contiguous block) shares its source's buffer; an elementwise op may write over an
/// input that dies at that step; a Concat's inputs are written straight into their slices of its
/// output. Each buffer lives from the first step that writes it to the last that reads it, and buffers
/// whose lifetimes overlap never share bytes in the arena.
public struct MemoryPlan: Sendable {
    public struct Buffer: Sendable {
        public var bytes: Int
        public var firstStep: Int
        public var lastStep: Int
        public var offset: Int = 0
    }

    /// Where a value's bytes are: `buffer` (nil for graph inputs and constants) and the byte offset in it.
    public struct Placement: Sendable {
        public var buffer: Int
        public var offset: Int
    }

    /// Node indices in execution order.
    public var order: [Int]
    /// For each step, whether it launches a kernel (false for views, which only name memory).
    public var launches: [Bool]
    public var buffers: [Buffer]
    public var placements: [ValueID: Placement]
    /// Bytes of the arena: the end of the highest-placed buffer.
    public var arenaBytes: Int
    /// The most bytes simultaneously live in this order: no placement can do better.
    public var lowerBoundBytes: Int
    /// Every value in its own buffer.
    public var naiveBytes: Int

    public var steps: Int { launches.filter { $0 }.count }

    /// The arena offset of a value's first byte.
    public func arenaOffset(of value: ValueID) -> Int? {
        placements[value].map { buffers[$0.buffer].offset + $0.offset }
    }

    /// The same buffers, each at bytes of its own (64-byte aligned), in the order they are placed in:
    /// no two share a cache line. Costs memory; see `CompiledModel`'s layouts for when it pays.
    public func separated() -> MemoryPlan {
        var plan = self
        var end = 0
        for i in plan.buffers.indices.sorted(by: { (buffers[$0].offset, $0) < (buffers[$1].offset, $1) }) {
            plan.buffers[i].offset = end
            end = (end + plan.buffers[i].bytes + 63) / 64 * 64
        }
        plan.arenaBytes = end
        return plan
    }

    public var summary: String {
        let mb = { (b: Int) in String(format: "%.2f MB", Double(b) / 1_000_000) }
        return "\(steps) steps, arena \(mb(arenaBytes)), lower bound \(mb(lowerBoundBytes)), naive \(mb(naiveBytes))"
    }
}
