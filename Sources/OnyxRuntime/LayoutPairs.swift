import OnyxIR
import OnyxKernels

/// The values a producer writes in its consumer's layout (`BlockedPairs`, `PackedPairs`), and the arena
/// bytes they need, which the plan takes as their minimum sizes.
struct LayoutPairs {
    var blocked: [ValueID: ChannelBlockedLayout]
    var packed: [ValueID: PackedBLayout]

    init(_ graph: Graph) {
        blocked = BlockedPairs.find(graph)
        packed = PackedPairs.find(graph, blocked: blocked)
    }

    var count: Int { blocked.count + packed.count }

    func bytes(_ graph: Graph) -> [ValueID: Int] {
        BlockedPairs.bytes(blocked, graph).merging(PackedPairs.bytes(packed)) { max($0, $1) }
    }
}
