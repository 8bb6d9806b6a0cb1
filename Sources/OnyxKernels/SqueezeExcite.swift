/// Squeeze-and-excitation in one pass per image: channel means, two small dense layers, then every
/// plane scaled by its gate: y[c] = x[c] * gate(W2 hidden(W1 mean(x) + b1) + b2)[c].
public final class SqueezeExcite: @unchecked Sendable {
    public let channels: Int
    public let squeezed: Int
    let reduce: Dense
    let expand: Dense
    /// Where the output is written as the packed B of the pointwise convolution that alone reads it (one
    /// image; see `Convolution.readsPackedInput`); nil for NCHW.
    public let packedOutput: PackedBLayout?

    /// - Parameters: w1 [squeezed, channels], w2 [channels, squeezed] (row-major, as 1x1 conv weights are).
    public init(channels: Int, squeezed: Int, w1: [Float], b1: [Float], hidden: KernelActivation,
                w2: [Float], b2: [Float], gate: KernelActivation, packedOutput: PackedBLayout? = nil) {
        precondition(packedOutput == nil || packedOutput!.k == channels, "a packed output's rows are the channels")
        self.channels = channels
        self.squeezed = squeezed
        self.packedOutput = packedOutput
        reduce = Dense(weights: w1, outputs: squeezed, inputs: channels, bias: b1, activation: hidden)
        expand = Dense(weights: w2, outputs: channels, inputs: squeezed, bias: b2, activation: gate)
    }

    public var scratchCount: Int { channels * 2 + squeezed + 16 }

    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, batch: Int, plane: Int, scratch: UnsafeMutablePointer<Float>) {
        let pooled = scratch, hidden = scratch + channels, gate = hidden + squeezed + 8
        let pool = ThreadPool.shared
        // Four phases, each split across the pool: pooling and scaling read every plane (an SE block on
        // 56x56 planes is mostly that), the two dense layers read all the weights.
        let planes = pool.pieces(channels, granularity: Dense.panel, threads: pool.workers)
        let hiddenRanges = pool.pieces(squeezed, granularity: Dense.panel, threads: pool.workers)
        for n in 0 ..< batch {
            let xn = x + n * channels * plane, yn = y + n * channels * plane
            pool.parallelFor(planes.count) { t in
                let r = planes[t]
                Pooling.global(x: xn + r.lowerBound * plane, y: pooled + r.lowerBound, planes: r.count, size: plane, isMax: false)
            }
            pool.parallelFor(hiddenRanges.count) { t in reduce.run(x: pooled, y: hidden, batch: 1, outputs: hiddenRanges[t]) }
            pool.parallelFor(planes.count) { t in
                let r = planes[t]
                expand.run(x: hidden, y: gate, batch: 1, outputs: r)
                if let packed = packedOutput {
                    precondition(batch == 1 && packed.n == plane, "packed output for one image of the planned size")
                    packed.storeRows(r, from: xn, scales: gate, into: yn)
                } else {
                    Elementwise.perPlane(.mul, xn + r.lowerBound * plane, gate + r.lowerBound, yn + r.lowerBound * plane,
                                         planes: r.count, size: plane, scalarFirst: false)
                }
            }
        }
    }
}
