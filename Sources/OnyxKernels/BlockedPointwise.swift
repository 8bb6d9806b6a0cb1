/// Where a tensor of channel-blocked pixels lives: channels in blocks of 8, each block a padded plane of
/// `paddedHeight x paddedWidth` pixels of 8 floats (one per channel of the block), the image at row
/// `top`, column `left`, zeros around it. This is the buffer the blocked depthwise kernel reads
/// (`Depthwise.blockedSize`): a pointwise convolution that writes it there saves the depthwise its
/// transpose of eight planes into pixels, and its padded copy.
public struct ChannelBlockedLayout: Sendable, Equatable {
    public var height: Int, width: Int
    public var paddedHeight: Int, paddedWidth: Int
    public var top: Int, left: Int

    /// Floats from one block of 8 channels to the next.
    public var blockStride: Int { paddedHeight * paddedWidth * 8 }
    /// Floats the tensor takes with `channels` channels (a multiple of 8).
    public func count(channels: Int) -> Int { channels / 8 * blockStride }
    /// Where pixel q (row-major in the image) of a block starts.
    @inline(__always) func offset(pixel q: Int) -> Int { ((q / width + top) * paddedWidth + q % width + left) * 8 }
}

/// Pointwise convolution whose output is channel-blocked (`ChannelBlockedLayout`), from NCHW input:
/// the GEMM the other way round, C^T (pixels x channels) = X^T W^T. A tile is six pixels by a panel of
/// output channels, two vectors wide (the GEMM's `TileVector`: 6x16 of SIMD8, or 6x32 of SIMD16 when
/// compiled for AVX-512): each step of k broadcasts six neighbouring pixels of input channel k (packed
/// per chunk of pixels, as the GEMM packs B) against the panel's weights (packed once, as W^T panels),
/// and each pixel's sums are stored eight channels at a time into their blocks. Bias and the cheap
/// activations are applied in registers, SiLU and the rarer ones in a pass per chunk (`activate`); there
/// is no residual (the expansions it serves have none).
public final class BlockedPointwise: @unchecked Sendable {
    public let inChannels: Int, outChannels: Int
    public let layout: ChannelBlockedLayout
    public let activation: KernelActivation
    public let threads: Int
    /// W^T in panels of `panelWidth` output channels (the last zero-padded): panel j, step p holds
    /// W[w j ..< w j + w, p] at panels + (j * k + p) * w.
    let panels: UnsafeMutablePointer<Float>
    /// The bias, zero-padded to whole panels.
    let bias: UnsafeMutablePointer<Float>
    /// `layout.offset(pixel:)` of every pixel (a division per stored pixel cost 5% at k = 16).
    let offsets: UnsafeMutablePointer<Int>

    static let tileRows = SGEMM.mr
    /// Output channels per panel: two vectors of the tile (`SGEMM.panelWidth` unless a test asks for the other).
    let panelWidth: Int

    /// - Parameters: weights [M, C] (a 1x1 kernel); M a multiple of 8. `wideTiles`: the 6x32 tile of SIMD16
    ///   rather than the 6x16 of SIMD8 (by default where compiled for). It wins at every k measured: in one
    ///   process, alternating run by run, MobileNetV2 2.5%, MobileNetV3-Large 1.2%, EfficientNet-B0 1.1%
    ///   faster with it also for k < 64 (k = 16 to 40). An earlier measurement had it 4-10% slower for
    ///   k = 16 and 24, while SIMD16's halves were stored through out-of-line calls (see `storeEights`).
    public init(inChannels: Int, outChannels: Int, layout: ChannelBlockedLayout, weights: [Float], bias b: [Float]?,
                activation: KernelActivation, threads: Int = ThreadPool.shared.workers, wideTiles: Bool? = nil) {
        precondition(outChannels % 8 == 0 && weights.count == inChannels * outChannels)
        (self.inChannels, self.outChannels, self.layout, self.activation) = (inChannels, outChannels, layout, activation)
        self.threads = max(1, threads)
        panelWidth = wideTiles ?? SGEMM.wideTiles ? 32 : 16
        let panelCount = (outChannels + panelWidth - 1) / panelWidth
        panels = .allocate(capacity: panelCount * panelWidth * inChannels)
        panels.initialize(repeating: 0, count: panelCount * panelWidth * inChannels)
        for m in 0 ..< outChannels {
            for p in 0 ..< inChannels {
                panels[((m / panelWidth) * inChannels + p) * panelWidth + m % panelWidth] = weights[m * inChannels + p]
            }
        }
        bias = .allocate(capacity: panelCount * panelWidth)
        bias.initialize(repeating: 0, count: panelCount * panelWidth)
        if let b { bias.update(from: b, count: outChannels) }
        offsets = .allocate(capacity: layout.height * layout.width)
        for q in 0 ..< layout.height * layout.width { offsets[q] = layout.offset(pixel: q) }
    }

    deinit {
        panels.deallocate()
        bias.deallocate()
        offsets.deallocate()
    }

    var pixels: Int { layout.height * layout.width }
    var panelCount: Int { (outChannels + panelWidth - 1) / panelWidth }

    /// Pixels packed at once: 64 KiB of them (L2), whole tiles.
    var chunkCapacity: Int { max(Self.tileRows, 16384 / max(inChannels, 1) / Self.tileRows * Self.tileRows) }
    /// Floats of scratch per thread: a chunk of pixels, packed.
    var perThreadScratch: Int { (chunkCapacity + Self.tileRows) * inChannels }
    public var scratchCount: Int { threads * perThreadScratch }

    /// y (the blocked layout, margins included) from x (C planes of H x W).
    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let pool = ThreadPool.shared
        // Pixels split across threads in whole tiles; on small planes the output channels (each thread then
        // reads only its share of the weights), as the GEMM does.
        let splitChannels = threads > 1 && pixels < 64 * threads
        let ranges = splitChannels ? pool.pieces(panelCount, threads: threads)
                                   : pool.pieces(pixels, granularity: Self.tileRows, threads: threads)
        // Each piece also zeroes the margins of its share of the blocks (nothing else writes them).
        let (blocks, pieces) = (outChannels / 8, ranges.count)
        pool.parallelFor(pieces, slots: threads) { t, slot in
            let packed = scratch + slot * self.perThreadScratch
            if splitChannels {
                self.run(x: x, y: y, pixels: 0 ..< self.pixels, panels: ranges[t], packed: packed)
            } else {
                self.run(x: x, y: y, pixels: ranges[t], panels: 0 ..< self.panelCount, packed: packed)
            }
            self.clearMargins(y, blocks: blocks * t / pieces ..< blocks * (t + 1) / pieces)
        }
    }

    func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, pixels: Range<Int>, panels: Range<Int>,
             packed: UnsafeMutablePointer<Float>) {
        switch activation {
        case .none: run(x, y, pixels, panels, packed, NoActivation())
        case .relu: run(x, y, pixels, panels, packed, ReluActivation())
        case .clip(let lo, let hi): run(x, y, pixels, panels, packed, ClipActivation(lo: lo, hi: hi))
        case .hardSwish: run(x, y, pixels, panels, packed, HardSwishActivation())
        // SiLU and the rarer ones as a pass over each chunk's output (see `activate`).
        default: run(x, y, pixels, panels, packed, NoActivation(), then: activation)
        }
    }

    func run<Act: TileActivation>(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ pixels: Range<Int>,
                                  _ panelRange: Range<Int>, _ packed: UnsafeMutablePointer<Float>, _ act: Act,
                                  then pass: KernelActivation = .none) {
        if panelWidth == 32 {
            run(x, y, pixels, panelRange, packed, SIMD16<Float>.self, act, pass)
        } else {
            run(x, y, pixels, panelRange, packed, SIMD8<Float>.self, act, pass)
        }
    }

    /// Pixels in chunks, packed once per chunk (64 KiB, in L2 while every panel reads them); within a
    /// chunk, panel by panel, six pixels at a time.
    func run<V: TileVector, Act: TileActivation>(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ pixels: Range<Int>,
                                                 _ panelRange: Range<Int>, _ packed: UnsafeMutablePointer<Float>,
                                                 _: V.Type, _ act: Act, _ pass: KernelActivation) {
        let k = inChannels, n = self.pixels, mr = Self.tileRows, width = 2 * V.lanes
        let chunk = min(pixels.count, chunkCapacity)
        let blockStride = layout.blockStride
        var start = pixels.lowerBound
        while start < pixels.upperBound {
            let end = min(pixels.upperBound, start + chunk)
            // The chunk's pixels packed six at a time, k-major (for p: six values), the last tile padded
            // with zeros: the tiles then read one stream instead of k rows of the input (7x7 planes, whose
            // input outgrows L1 next to a panel of weights, were 20% slower read in place).
            let tiles = (end - start + mr - 1) / mr
            for tile in 0 ..< tiles {
                let first = start + tile * mr, count = min(mr, end - first), to = packed + tile * mr * k
                if count == mr {
                    for p in 0 ..< k {
                        let from = UnsafeRawPointer(x + p * n + first), into = UnsafeMutableRawPointer(to + p * mr)
                        into.storeBytes(of: from.loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
                        (into + 16).storeBytes(of: (from + 16).loadUnaligned(as: SIMD2<Float>.self), as: SIMD2<Float>.self)
                    }
                } else {
                    for p in 0 ..< k {
                        for r in 0 ..< mr { to[p * mr + r] = r < count ? x[p * n + first + r] : 0 }
                    }
                }
            }
            for j in panelRange {
                let w = UnsafePointer(panels + j * k * width)
                let b0 = V.load(bias + j * width), b1 = V.load(bias + j * width + V.lanes)
                let out = y + j * (width / 8) * blockStride
                // Blocks of 8 channels in this panel: fewer in a last one (72, 120, 144, 184 channels in panels of 32).
                let blocks = min(width, outChannels - j * width) / 8
                var q = start
                while q < end {
                    let height = min(mr, end - q)
                    let ap = UnsafePointer(packed + (q - start) * k)
                    if blocks == 1 {
                        // A last panel of one block (72, 200 channels): vectors of eight, whatever V is (Zen 4
                        // runs a 16-lane FMA as two 8-lane ones).
                        let b8 = SIMD8<Float>.load(bias + j * width)
                        let h = SGEMM.vectorSums(k: k, a: ap, b: w, bStride: width, from: (b8, b8, b8, b8, b8, b8))
                        let o = offsets + q
                        h.0.activated(act).store(out + o[0])
                        if height > 1 { h.1.activated(act).store(out + o[1]) }
                        if height > 2 { h.2.activated(act).store(out + o[2]) }
                        if height > 3 { h.3.activated(act).store(out + o[3]) }
                        if height > 4 { h.4.activated(act).store(out + o[4]) }
                        if height > 5 { h.5.activated(act).store(out + o[5]) }
                        q += mr
                        continue
                    }
                    var s: SGEMM.TileSums<V>
                    if blocks * 8 <= V.lanes {
                        // A last panel of one vector's channels (144, 240 channels in panels of 32): half the FMAs.
                        let h = SGEMM.vectorSums(k: k, a: ap, b: w, bStride: width, from: (b0, b0, b0, b0, b0, b0))
                        s = (h.0, b1, h.1, b1, h.2, b1, h.3, b1, h.4, b1, h.5, b1)
                    } else {
                        s = SGEMM.tileSums(k: k, a: ap, b: w, bStride: width, height: height,
                                           from: (b0, b1, b0, b1, b0, b1, b0, b1, b0, b1, b0, b1))
                    }
                    let o = offsets + q
                    storeBlockedPixel(out, blockStride, blocks, o[0], s.0, s.1, act)
                    if height > 1 { storeBlockedPixel(out, blockStride, blocks, o[1], s.2, s.3, act) }
                    if height > 2 { storeBlockedPixel(out, blockStride, blocks, o[2], s.4, s.5, act) }
                    if height > 3 { storeBlockedPixel(out, blockStride, blocks, o[3], s.6, s.7, act) }
                    if height > 4 { storeBlockedPixel(out, blockStride, blocks, o[4], s.8, s.9, act) }
                    if height > 5 { storeBlockedPixel(out, blockStride, blocks, o[5], s.10, s.11, act) }
                    q += mr
                }
            }
            if pass != .none { activate(y, start ..< end, panelRange, pass) }
            start = end
        }
    }

    /// `activation` on the given pixels of the given panels' blocks, one image row at a time (a row's
    /// pixels are contiguous in a block), while the chunk is in cache. For SiLU this beat its sigmoid on
    /// the tile's sums in registers: EfficientNet-B0's 16->96 expansion at 112x112 among others (the
    /// whole model 6% faster with the ring's and the blocked depthwise's SiLU also made passes).
    func activate(_ y: UnsafeMutablePointer<Float>, _ pixels: Range<Int>, _ panelRange: Range<Int>, _ activation: KernelActivation) {
        let blockStride = layout.blockStride, width = layout.width
        let blocks = panelRange.lowerBound * panelWidth / 8 ..< min(panelRange.upperBound * panelWidth, outChannels) / 8
        for block in blocks {
            let base = y + block * blockStride
            var q = pixels.lowerBound
            while q < pixels.upperBound {
                let rowEnd = min(pixels.upperBound, (q / width + 1) * width)
                activation.apply(base + offsets[q], (rowEnd - q) * 8)
                q = rowEnd
            }
        }
    }

    /// Zeros the margins of every block (the buffer is shared with other tensors between runs).
    func clearMargins(_ y: UnsafeMutablePointer<Float>, blocks: Range<Int>) {
        let l = layout
        guard l.paddedHeight != l.height || l.paddedWidth != l.width else { return }
        for block in blocks {
            let base = y + block * l.blockStride
            for row in 0 ..< l.paddedHeight {
                let line = base + row * l.paddedWidth * 8
                if row < l.top || row >= l.top + l.height {
                    line.update(repeating: 0, count: l.paddedWidth * 8)
                } else {
                    line.update(repeating: 0, count: l.left * 8)
                    (line + (l.left + l.width) * 8).update(repeating: 0, count: (l.paddedWidth - l.left - l.width) * 8)
                }
            }
        }
    }
}

/// One pixel's channels of a panel (two vectors, `blocks` blocks of 8 of them valid) into their blocks,
/// `blockStride` apart from `out`. Transparent (and outside the class, where the attribute is allowed): as
/// a local function the compiler left it out of line for some activations, a call per pixel with the
/// twelve sums spilled around it.
@_transparent
func storeBlockedPixel<V: TileVector, Act: TileActivation>(_ out: UnsafeMutablePointer<Float>, _ blockStride: Int, _ blocks: Int,
                                                           _ at: Int, _ lo: V, _ hi: V, _ act: Act) {
    let perVector = V.lanes / 8
    lo.activated(act).storeEights(out + at, stride: blockStride, count: min(blocks, perVector))
    if blocks > perVector {
        hi.activated(act).storeEights(out + at + perVector * blockStride, stride: blockStride, count: blocks - perVector)
    }
}
