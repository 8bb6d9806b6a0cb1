import OnyxIR
import OnyxKernels

/// Pointwise convolutions that write their output channel-blocked, straight into the padded buffer of
/// the depthwise convolution that alone reads it: the expansion and depthwise layers of inverted
/// residual blocks (MobileNetV2/V3, EfficientNet). The depthwise kernel then skips transposing its eight
/// input planes into pixels and padding them: MobileNetV2's 192@28 from 97 to 69 µs, 576@14 from 83 to
/// 60 (one thread, in the model), while the blocked pointwise kernel keeps pace with the GEMM.
/// The blocked value is bigger than its shape says (margins included): the plan sizes it so, and no
/// other step may read it, so it must not be a graph output.
enum BlockedPairs {
    /// Fewer pixels than this and the pair does not pay: on 7x7 planes the blocked pointwise kernel is
    /// 9-14 µs slower than the GEMM (its weights outgrow L2, read once per tile of six pixels), about
    /// what the depthwise layer saves (MobileNetV2's 960@7: 41 to 31 µs).
    static let minimumPixels = 100

    /// The blocked values and their layouts.
    static func find(_ graph: Graph) -> [ValueID: ChannelBlockedLayout] {
        var blocked: [ValueID: ChannelBlockedLayout] = [:]
        for (producer, value, consumer) in LayoutPairs.soleReaders(graph) {
            guard let writer = PointerKernels.convParts(producer, graph), writer.residual == nil, isBlockable(writer.geometry),
                  let xID = producer.inputs[0], graph.values[xID].constant == nil,
                  let reader = PointerKernels.convParts(consumer, graph), Convolution.acceptsBlockedInput(reader.geometry)
            else { continue }
            blocked[value] = Convolution.blockedInputLayout(reader.geometry)
        }
        return blocked
    }

    /// A pointwise convolution of one image whose output channels fill blocks of 8, on a plane big
    /// enough for the blocked kernel to pay.
    static func isBlockable(_ g: Convolution.Geometry) -> Bool {
        g.isPointwise && g.groups == 1 && g.batch == 1 && g.outChannels % 8 == 0 && g.outH * g.outW >= minimumPixels
    }

    /// Arena bytes each blocked value needs (its margins make it bigger than its shape).
    static func bytes(_ blocked: [ValueID: ChannelBlockedLayout], _ graph: Graph) -> [ValueID: Int] {
        Dictionary(uniqueKeysWithValues: blocked.map { id, layout in
            (id, layout.count(channels: graph.fixedShape(id)![1]) * MemoryLayout<Float>.stride)
        })
    }
}
