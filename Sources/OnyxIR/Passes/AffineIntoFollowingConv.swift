/// Folds a per-channel affine op into the Conv that consumes it, by rewriting the Conv's weights:
///   W * (x * a) = (W a) x, scaling input channel c of every filter by a[c] (always legal: a padded zero
///   stays zero);
///   W * (x + s) = W x + sum over c, kh, kw of W[m, c, kh, kw] s[c], moved into the bias (only legal without
///   padding, where no window reads a padded zero that would have needed the shift).
/// Preconditions: the affine op's output has this Conv as its only consumer and is not a graph output;
/// the Conv's weights (and bias) are constant float32 and it has no residual; the constant is per-channel
/// over the Conv's input channels.
public struct AffineIntoFollowingConv: RewriteRule {
    public let name = "affine-into-following-conv"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let conv = graph.nodes[index]
        guard case .conv(let a) = conv.op, conv.inputs.count <= 3, let input = conv.inputs[0],
              let (_, affine) = uses.soleProducer(of: input, in: graph), case .binary(let f) = affine.op,
              [.mul, .div, .add, .sub].contains(f),
              let w = graph.constant(conv.inputs[1]), w.dtype == .float32, w.rank >= 3, var weights = w.floats else { return nil }
        let bias = conv.inputs.count > 2 ? conv.inputs[2] : nil
        if bias != nil && graph.constant(bias)?.floats == nil { return nil }
        let (m, perGroup) = (w.shape[0], w.shape[1])
        let channels = perGroup * a.group
        let taps = w.shape.dropFirst(2).reduce(1, *)
        // The data operand and the per-channel constant (on the right for Sub and Div).
        var candidates = [(affine.inputs[0], affine.inputs[1])]
        if f == .mul || f == .add { candidates.append((affine.inputs[1], affine.inputs[0])) }
        for (data, constantID) in candidates {
            guard let data, let constant = graph.constant(constantID), graph.constant(data) == nil,
                  let values = constant.perChannel(channels: channels, rank: w.rank) else { continue }
            var newBias = graph.constant(bias)?.floats ?? [Float](repeating: 0, count: m)
            guard newBias.count == m else { return nil }
            let outPerGroup = m / a.group
            switch f {
            case .mul, .div:
                for o in 0 ..< m {
                    for cl in 0 ..< perGroup {
                        let c = (o / outPerGroup) * perGroup + cl
                        let scale = f == .mul ? values[c] : 1 / values[c]
                        for t in 0 ..< taps { weights[(o * perGroup + cl) * taps + t] *= scale }
                    }
                }
            default:
                let unpadded = a.window.autoPad == .valid || (a.window.autoPad == .notSet && a.window.pads.allSatisfy { $0 == 0 })
                guard unpadded else { return nil }
                for o in 0 ..< m {
                    var shift: Float = 0
                    for cl in 0 ..< perGroup {
                        let c = (o / outPerGroup) * perGroup + cl
                        let s = f == .add ? values[c] : -values[c]
                        for t in 0 ..< taps { shift += weights[(o * perGroup + cl) * taps + t] * s }
                    }
                    newBias[o] += shift
                }
            }
            var builder = PatchBuilder(graph)
            let wID = builder.add(Value(name: graph.values[conv.inputs[1]!].name + "/folded", constant: Tensor(shape: w.shape, weights)))
            let bID = builder.add(Value(name: conv.name + "/bias", constant: Tensor(shape: [m], newBias)))
            var fused = conv
            fused.inputs = [data, wID, bID]
            return builder.patch(replacing: index, with: [fused])
        }
        return nil
    }
}
