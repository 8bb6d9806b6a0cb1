import OnyxIR
import OnyxKernels

/// Depthwise convolutions and squeeze-and-excitation blocks that write their output as the packed B of
/// the pointwise convolution that alone reads it (`PackedBLayout`): the projections of inverted
/// residual blocks on the small planes, which would otherwise copy their whole input into panels
/// first. The packed value is bigger than its shape says (its last panel is padded): the plan sizes it
/// so, and no other step may read it, so it must not be a graph output.
enum PackedPairs {
    /// The packed values and their layouts. `blocked`: the values written channel-blocked (`BlockedPairs`),
    /// which a depthwise writer may read.
    static func find(_ graph: Graph, blocked: [ValueID: ChannelBlockedLayout]) -> [ValueID: PackedBLayout] {
        var packed: [ValueID: PackedBLayout] = [:]
        for (writer, value, reader) in LayoutPairs.soleReaders(graph) {
            guard writesPacked(writer, graph, blocked: blocked), let parts = PointerKernels.convParts(reader, graph),
                  Convolution.readsPackedInput(parts.geometry) else { continue }
            packed[value] = PackedBLayout(k: parts.geometry.inChannels, n: parts.geometry.inH * parts.geometry.inW)
        }
        return packed
    }

    /// Whether the node's pointer kernel can write its output packed: a depthwise convolution that
    /// `Convolution.writesPackedOutput` allows, or a squeeze-and-excitation block (whose scaling pass
    /// stores each channel's row in the panels) on one image.
    static func writesPacked(_ node: Node, _ graph: Graph, blocked: [ValueID: ChannelBlockedLayout]) -> Bool {
        if case .squeezeExcite = node.op {
            return graph.fixedShape(node.outputs[0]).map { $0.count == 4 && $0[0] == 1 } ?? false
                && graph.values[node.outputs[0]].dtype == .float32
        }
        guard let writer = PointerKernels.convParts(node, graph), let xID = node.inputs[0] else { return false }
        return Convolution.writesPackedOutput(writer.geometry, activation: writer.activation, residual: writer.residual != nil,
                                              blockedInput: blocked[xID] != nil)
    }

    /// Arena bytes each packed value needs.
    static func bytes(_ packed: [ValueID: PackedBLayout]) -> [ValueID: Int] {
        packed.mapValues { $0.count * MemoryLayout<Float>.stride }
    }
}
