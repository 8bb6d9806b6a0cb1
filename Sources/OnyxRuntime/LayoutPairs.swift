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

    /// The candidates of both kinds: a node's single output that one other node alone reads, as that
    /// node's first input, and that is not a graph output (its layout is then private to the two).
    static func soleReaders(_ graph: Graph) -> [(writer: Node, value: ValueID, reader: Node)] {
        var readers: [ValueID: [Int]] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for case let input? in node.inputs { readers[input, default: []].append(index) }
        }
        let outputs = Set(graph.outputs)
        return graph.nodes.compactMap { writer in
            guard let value = writer.outputs.first, writer.outputs.count == 1, !outputs.contains(value),
                  let consumers = readers[value], consumers.count == 1, graph.nodes[consumers[0]].inputs.first == value else { return nil }
            return (writer, value, graph.nodes[consumers[0]])
        }
    }
}
