import CPUHints

/// Dense convolutions that Winograd does not take, with many input channels (ResNet's 3x3 stride-2
/// layers) or on small planes (YOLO's and SSD's heads), as the GEMM the other way round: C^T (pixels x output channels) = X^T W^T, X^T never written.
///
/// A tile is six output pixels by a panel of output channels, two vectors wide (16, or 32 with AVX-512).
/// Each step of k = (input channel, kernel row, kernel column) broadcasts the six pixels' taps, scalars
/// read where they lie in a zero-padded copy of the input (at any stride: a broadcast needs no
/// neighbours), against one row of the panel's weights, packed once. The im2col path wrote a column
/// matrix of k x pixels floats (3.6 MB for 128 channels at 28x28, past L2) and copied it again into
/// packed panels. Tiles go in bands whose input rows stay in L2 while every panel of weights passes
/// over them. Each tile's sums are pixels by channels; they are stored transposed, six floats into
/// each of the panel's output planes, little next to k >= 256 steps of twelve FMAs.
///
/// Against im2col, in one process alternating run by run (`onyx bench --variants 2`, AVX2): 128->128 at
/// 56x56 stride 2 3.24 to 2.89 ms at one thread, 1.80 to 1.70 at two; 256->256 at 28x28 3.14 to 2.95
/// and 2.32 to 1.92; ResNet-50 at one thread 0.5-1.5% faster (three runs), at two even. Not for 7x7
/// outputs (512->512 stride 2: 3.7 to 4.2 ms), nor 1x1 stride-2 layers (k of 256 to 1024: ResNet-50
/// 6-9% slower with them), which stay with im2col.
struct PixelTiles {
    let geometry: Convolution.Geometry
    /// Output channels per panel: two vectors of the tile.
    let panelWidth: Int
    /// W^T in panels: panel j, step p (p = (c * kH + kh) * kW + kw) holds W[j w ..< j w + w, p] at
    /// panels + (j * k + p) * w, zero past the last output channel.
    let panels: UnsafeMutablePointer<Float>
    /// The bias, zero-padded to whole panels.
    let bias: UnsafeMutablePointer<Float>

    static let tilePixels = SGEMM.mr

    /// Whether this form serves a convolution: one group, no dilation, a kernel larger than 1x1, and
    /// - more input channels than the implicit GEMM takes, with at least 256 steps of k (the transposed
    ///   store small next to a tile's FMAs) and 128 output pixels (see above); or
    /// - such channels on a smaller plane, with weights of at most 2 MiB: im2col's GEMM then has too few
    ///   columns to fill its tiles. (64->96 at 7x7, stride 2: 0.100 to 0.074 ms; 96->160 at 5x5 0.134 to
    ///   0.095. ResNet-50's 512->512 at 7x7, 9 MiB of weights streamed for every band of 9 tiles, stays:
    ///   3.9 against 4.2 ms.)
    /// - few input channels but at least 64 steps of k, where the implicit GEMM's row tiles would be
    ///   narrow: rows under 16 outputs (im2col's then), or under 32 at stride 2, where every row ends in a
    ///   tile of 8 or an overlapping one. (YOLO's 24->32 at 20x20, stride 2: 0.127 to 0.093 ms; 32->32
    ///   5x5 at 14x14 0.263 to 0.128; 24->24 at 10x10 0.048 to 0.030. The implicit GEMM keeps stride-1
    ///   rows of 16 and more, 12->12 at 40x40 0.060 against 0.084, and 3-channel stems, k = 27: 0.011
    ///   against 0.014.)
    /// Each measured in one process, alternating run by run, one thread; two threads gain alike.
    static func applies(_ g: Convolution.Geometry) -> Bool {
        guard g.groups == 1 && g.dilationH == 1 && g.dilationW == 1 && g.kernelH * g.kernelW > 1 else { return false }
        let k = g.inChannels * g.kernelH * g.kernelW
        if g.inChannels > 32 {
            return g.outH * g.outW >= 128 ? k >= 256 : g.outChannels * k * 4 <= 2 << 20
        }
        return k >= 64 && (g.outW < SGEMM.nr || g.strideW == 2 && g.outW < 32)
    }

    init(_ g: Convolution.Geometry, weights w: UnsafePointer<Float>, bias b: [Float]?, wideTiles: Bool) {
        geometry = g
        panelWidth = wideTiles ? 32 : 16
        let k = g.inChannels * g.kernelH * g.kernelW
        let count = (g.outChannels + panelWidth - 1) / panelWidth
        panels = .allocate(capacity: count * panelWidth * k)
        panels.initialize(repeating: 0, count: count * panelWidth * k)
        for m in 0 ..< g.outChannels {
            let panel = panels + (m / panelWidth) * panelWidth * k + m % panelWidth
            for p in 0 ..< k { panel[p * panelWidth] = w[m * k + p] }
        }
        bias = .allocate(capacity: count * panelWidth)
        bias.initialize(repeating: 0, count: count * panelWidth)
        if let b { bias.update(from: b, count: g.outChannels) }
    }

    func deallocate() {
        panels.deallocate()
        bias.deallocate()
    }

    /// The padded input's planes: every tap of every output inside, rows `width` floats long. Without
    /// padding the input is read where it is.
    var padded: (height: Int, width: Int) {
        let g = geometry
        if !needsPaddedCopy { return (g.inH, g.inW) }
        return ((g.outH - 1) * g.strideH + g.kernelH, (g.outW - 1) * g.strideW + g.kernelW)
    }
    var needsPaddedCopy: Bool { geometry.padTop != 0 || geometry.padLeft != 0 }

    /// Floats of shared scratch: the padded input of one image.
    var scratchCount: Int { needsPaddedCopy ? geometry.inChannels * padded.height * padded.width : 0 }

    func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, activation: KernelActivation,
             threads: Int, scratch: UnsafeMutablePointer<Float>) {
        let g = geometry
        let pool = ThreadPool.shared
        let outPlane = g.outH * g.outW
        let tiles = (outPlane + Self.tilePixels - 1) / Self.tilePixels
        let ranges = pool.pieces(tiles, threads: threads)
        for n in 0 ..< g.batch {
            var input = x + n * g.inChannels * g.inH * g.inW
            if needsPaddedCopy {
                let from = input
                let channelRanges = pool.pieces(g.inChannels, threads: threads)
                pool.parallelFor(channelRanges.count) { t in self.fillPadded(from, into: scratch, channels: channelRanges[t]) }
                input = UnsafePointer(scratch)
            }
            let offset = n * g.outChannels * outPlane
            let out = y + offset, res = residual.map { $0 + offset }
            pool.parallelFor(ranges.count) { t in
                switch (g.kernelH, g.kernelW, activation) {
                case (3, 3, .none): self.run(ranges[t], input, out, res, Depthwise.Kernel3.self, NoActivation(), activation)
                case (3, 3, .relu): self.run(ranges[t], input, out, res, Depthwise.Kernel3.self, ReluActivation(), activation)
                case (3, 3, .clip(let lo, let hi)):
                    self.run(ranges[t], input, out, res, Depthwise.Kernel3.self, ClipActivation(lo: lo, hi: hi), activation)
                case (3, 3, _):
                    self.run(ranges[t], input, out, res, Depthwise.Kernel3.self, AnyActivation(activation: activation), activation)
                default: self.run(ranges[t], input, out, res, Depthwise.AnyKernel.self, AnyActivation(activation: activation), activation)
                }
            }
        }
    }

    /// Channels `channels` of the padded input: zeros around the image, which starts at row padTop,
    /// column padLeft of each plane.
    private func fillPadded(_ input: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>, channels: Range<Int>) {
        let g = geometry
        let (ph, pw) = self.padded
        let columns = max(0, min(g.inW, pw - g.padLeft))
        for c in channels {
            for r in 0 ..< ph {
                let row = padded + (c * ph + r) * pw
                let ih = r - g.padTop
                guard ih >= 0 && ih < g.inH else { row.update(repeating: 0, count: pw); continue }
                row.update(repeating: 0, count: g.padLeft)
                copyFloats(row + g.padLeft, from: input + (c * g.inH + ih) * g.inW, count: columns)
                (row + g.padLeft + columns).update(repeating: 0, count: pw - g.padLeft - columns)
            }
        }
    }

    /// Tiles `tiles` (six pixels each, in row-major order over the output plane) for every panel, in
    /// bands of tiles whose input rows stay in L2 while each panel of weights passes over them.
    @inline(__always)
    private func run<K: Depthwise.KernelSize, Act: TileActivation>(
        _ tiles: Range<Int>, _ input: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
        _: K.Type, _ act: Act, _ activation: KernelActivation
    ) {
        if panelWidth == 32 {
            run(tiles, input, out, residual, K.self, SIMD16<Float>.self, act, activation)
        } else {
            run(tiles, input, out, residual, K.self, SIMD8<Float>.self, act, activation)
        }
    }

    private func run<K: Depthwise.KernelSize, V: TileVector, Act: TileActivation>(
        _ tiles: Range<Int>, _ input: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
        _: K.Type, _: V.Type, _ act: Act, _ activation: KernelActivation
    ) {
        let g = geometry
        let (ph, pw) = padded
        let outPlane = g.outH * g.outW
        let k = g.inChannels * g.kernelH * g.kernelW
        let nr = 2 * V.lanes
        let panelCount = (g.outChannels + nr - 1) / nr
        // Bands of equal size, at least 8 tiles, so that no band is a sliver for which every panel of
        // weights is read again.
        let most = max(8, Self.bandTiles(g, paddedWidth: pw))
        let bands = (tiles.count + most - 1) / most
        let band = (tiles.count + bands - 1) / max(bands, 1)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: band * Self.tilePixels) { bases in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.tilePixels * nr) { stored in
                var first = tiles.lowerBound
                while first < tiles.upperBound {
                    let last = min(tiles.upperBound, first + band)
                    // Where each pixel's first tap is; a tile's pixels past the plane repeat its last one.
                    for t in first ..< last {
                        for i in 0 ..< Self.tilePixels {
                            let q = min(t * Self.tilePixels + i, outPlane - 1)
                            let (oy, ox) = q.quotientAndRemainder(dividingBy: g.outW)
                            bases[(t - first) * Self.tilePixels + i] = oy * g.strideH * pw + ox * g.strideW
                        }
                    }
                    for j in 0 ..< panelCount {
                        let w = UnsafePointer(panels + j * nr * k)
                        let m0 = j * nr, channels = min(nr, g.outChannels - m0)
                        for t in first ..< last {
                            let q0 = t * Self.tilePixels
                            let height = min(Self.tilePixels, outPlane - q0)
                            let b = bases.baseAddress! + (t - first) * Self.tilePixels
                            var s: SGEMM.TileSums<V> = Self.tileSums(
                                input, (b[0], b[1], b[2], b[3], b[4], b[5]), w, channels: g.inChannels, plane: ph * pw, rowStride: pw,
                                kernelH: g.kernelH, kernelW: g.kernelW, height: height, K.self)
                            let b0 = V.load(bias + m0), b1 = V.load(bias + m0 + V.lanes)
                            s = (s.0 + b0, s.1 + b1, s.2 + b0, s.3 + b1, s.4 + b0, s.5 + b1,
                                 s.6 + b0, s.7 + b1, s.8 + b0, s.9 + b1, s.10 + b0, s.11 + b1)
                            if residual == nil {
                                s = (s.0.activated(act), s.1.activated(act), s.2.activated(act), s.3.activated(act),
                                     s.4.activated(act), s.5.activated(act), s.6.activated(act), s.7.activated(act),
                                     s.8.activated(act), s.9.activated(act), s.10.activated(act), s.11.activated(act))
                            }
                            let buffer = stored.baseAddress!
                            s.0.store(buffer); s.1.store(buffer + V.lanes)
                            s.2.store(buffer + nr); s.3.store(buffer + nr + V.lanes)
                            s.4.store(buffer + 2 * nr); s.5.store(buffer + 2 * nr + V.lanes)
                            s.6.store(buffer + 3 * nr); s.7.store(buffer + 3 * nr + V.lanes)
                            s.8.store(buffer + 4 * nr); s.9.store(buffer + 4 * nr + V.lanes)
                            s.10.store(buffer + 5 * nr); s.11.store(buffer + 5 * nr + V.lanes)
                            // Transposed: pixel i's channel l to plane m0 + l.
                            for l in 0 ..< channels {
                                let plane = out + (m0 + l) * outPlane + q0
                                for i in 0 ..< height { plane[i] = buffer[i * nr + l] }
                                if let residual {
                                    Depthwise.finish(plane, residual + (m0 + l) * outPlane + q0, height, activation)
                                }
                            }
                        }
                    }
                    first = last
                }
            }
        }
    }

    /// Tiles per band: a band's input rows of every channel in about 256 KiB (half of L2).
    static func bandTiles(_ g: Convolution.Geometry, paddedWidth pw: Int) -> Int {
        let rowBytes = g.inChannels * pw * 4
        let rows = max(1, (256 << 10) / max(rowBytes, 1))
        // Output rows whose taps span `rows` input rows.
        let outputRows = max(1, (rows - g.kernelH) / g.strideH + 1)
        return outputRows * g.outW / tilePixels
    }

    /// One tile's sums: pixel i (input offset `base.i`) in vectors 2i and 2i + 1.
    @inline(__always)
    static func tileSums<V: TileVector, K: Depthwise.KernelSize>(
        _ input: UnsafePointer<Float>, _ base: (Int, Int, Int, Int, Int, Int), _ w: UnsafePointer<Float>, channels: Int, plane: Int,
        rowStride: Int, kernelH: Int, kernelW: Int, height: Int, _: K.Type
    ) -> SGEMM.TileSums<V> {
        let (kH, kW) = (K.height(kernelH), K.width(kernelW))
        let p0 = input + base.0, p1 = input + base.1, p2 = input + base.2, p3 = input + base.3, p4 = input + base.4, p5 = input + base.5
        var s: SGEMM.TileSums<V> = SGEMM.zeroSums()
        var wp = w
        let nr = 2 * V.lanes
        @inline(__always) func sweep(_ pixels: Int) {
            var row = 0
            for _ in 0 ..< channels {
                var r = row
                // The rows under the tile two channels ahead: their lines are a plane apart, a stride the
                // hardware prefetchers did not follow (256->256 at 28x28, stride 2: 4.95 to 4.31 ms).
                var ahead = row + 2 * plane
                for _ in 0 ..< kH {
                    onyx_prefetch(p0 + ahead)
                    onyx_prefetch(p5 + ahead)
                    ahead += rowStride
                }
                for _ in 0 ..< kH {
                    for kw in 0 ..< kW {
                        let o = r + kw
                        let b0 = V.load(wp), b1 = V.load(wp + V.lanes)
                        var x = V(repeating: p0[o])
                        s.0 = s.0.addingProduct(x, b0); s.1 = s.1.addingProduct(x, b1)
                        x = V(repeating: p1[o])
                        s.2 = s.2.addingProduct(x, b0); s.3 = s.3.addingProduct(x, b1)
                        x = V(repeating: p2[o])
                        s.4 = s.4.addingProduct(x, b0); s.5 = s.5.addingProduct(x, b1)
                        x = V(repeating: p3[o])
                        s.6 = s.6.addingProduct(x, b0); s.7 = s.7.addingProduct(x, b1)
                        if pixels > 4 {
                            x = V(repeating: p4[o])
                            s.8 = s.8.addingProduct(x, b0); s.9 = s.9.addingProduct(x, b1)
                            x = V(repeating: p5[o])
                            s.10 = s.10.addingProduct(x, b0); s.11 = s.11.addingProduct(x, b1)
                        }
                        wp += nr
                    }
                    r += rowStride
                }
                row += plane
            }
        }
        if height <= 4 { sweep(4) } else { sweep(6) }
        return s
    }
}
