/// Dense convolutions at stride 1 or 2 (every net's stem, small dense 3x3 layers) as a GEMM whose B is
/// read straight from a zero-padded copy of the input, with no column matrix.
///
/// With the input padded to rows of Wp = outW + kW - 1, the column matrix's row for tap (c, kh, kw) and
/// output pixel (y, x) is padded[c][y + kh][x + kw]: for a tile's 16 or 32 pixels of one output row, as
/// many consecutive floats of one padded row, which the tile loads in place. At stride 2 the padded rows
/// are split into their even and odd columns as they are copied, so a tap's pixels are again consecutive
/// (kw even: the even plane at x + kw / 2; odd: the odd plane). The column matrix went out to L3 and
/// back (144 x 3025 floats, 1.7 MiB, for SqueezeNet's 55x55 Fire; 147 x 12544 for ResNet's 7x7 stem);
/// the padded input stays in L2 and the rows a tile reads in L1. Measured against im2col: SqueezeNet's
/// Fire 3x3 about 0.8 to 0.74 ms in the model; stems, standalone: 3->16 3x3 stride 2 with h-swish at
/// 224 385 to 286 µs, 3->32 413 to 371 µs, ResNet's 7x7 6.3 to 3.2 ms (an earlier banded im2col for
/// k <= 64, which this replaces, was the 385 and 413).
extension SGEMM {
    /// The 6-row tile of two vectors V (6x16 of SIMD8, 6x32 of SIMD16) at output pixels x ..< x + 2 * lanes
    /// of row y, over k = channels * kH * kW taps: `input`
    /// points at the padded input's column x of the row output row y starts at, channels `plane` apart,
    /// rows `rowStride` apart; at stride 2 odd columns are in a phase plane `phase` on (see
    /// `runImplicit`). Epilogue as in `multiply`: in registers when the activation allows, else a pass
    /// over the stored tile. The residual's rows are `ldc` apart, as the output's.
    @inline(__always)
    static func implicitTile<V: TileVector, K: Depthwise.KernelSize, S: Depthwise.ColumnStride, Act: TileActivation>(
        a: UnsafePointer<Float>, input: UnsafePointer<Float>, channels: Int, plane: Int, phase: Int, rowStride: Int, kernelH: Int,
        kernelW: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, epilogue: Epilogue, residualOffset: Int, ldr: Int,
        height: Int, _: V.Type, _: K.Type, _: S.Type, _ act: Act
    ) {
        let (kH, kW) = (K.height(kernelH), K.width(kernelW))
        var sums: TileSums<V> = Act.inRegisters ? startingSums(bias: epilogue.bias.map { $0 + rows }, height: height) : zeroSums()
        // A last panel of at most four rows (64 output channels: 10 panels of 6, one of 4) skips the
        // FMAs of A's padding rows, as `tile` does.
        @inline(__always) func sweep(_ rowsOfA: Int) {
            var ap = a
            for channel in 0 ..< channels {
                var row = input + channel * plane
                for _ in 0 ..< kH {
                    for kw in 0 ..< kW {
                        let at = row + (kw % S.step) * phase + kw / S.step
                        let (b0, b1) = (V.load(at), V.load(at + V.lanes))
                        if rowsOfA == 4 { accumulate4(&sums, ap, b0, b1) } else { accumulate(&sums, ap, b0, b1) }
                        ap += mr
                    }
                    row += rowStride
                }
            }
        }
        if height <= 4 { sweep(4) } else { sweep(mr) }
        if Act.inRegisters {
            storeTile(sums, c: c, ldc: ldc, height: height, residual: epilogue.residual.map { $0 + residualOffset }, act)
        } else {
            storeTile(sums, c: c, ldc: ldc, height: height, NoActivation())
            finishTile(c: c, ldc: ldc, rows: rows, epilogue: epilogue, residualOffset: residualOffset, ldr: ldr, height: height,
                       columns: 2 * V.lanes, act)
        }
    }
}

extension SGEMM {
    /// `implicitTile` for 8 pixels (a row's last few): six accumulators, the epilogue in registers.
    @inline(__always)
    static func implicitTile8<K: Depthwise.KernelSize, S: Depthwise.ColumnStride, Act: TileActivation>(
        a: UnsafePointer<Float>, input: UnsafePointer<Float>, channels: Int, plane: Int, phase: Int, rowStride: Int, kernelH: Int,
        kernelW: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, epilogue: Epilogue, residualOffset: Int, height: Int,
        _: K.Type, _: S.Type, _ act: Act
    ) {
        let (kH, kW) = (K.height(kernelH), K.width(kernelW))
        var sums = zeroHalfAccumulators
        var ap = a
        for channel in 0 ..< channels {
            var row = input + channel * plane
            for _ in 0 ..< kH {
                for kw in 0 ..< kW {
                    accumulate8(&sums, ap, load(row + (kw % S.step) * phase + kw / S.step))
                    ap += mr
                }
                row += rowStride
            }
        }
        @inline(__always) func finish(_ r: Int, _ v: SIMD8<Float>) {
            guard r < height else { return }
            var v = v + SIMD8(repeating: epilogue.bias?[rows + r] ?? 0)
            if let res = epilogue.residual { v += load(res + residualOffset + r * ldc) }
            store(c + r * ldc, act(v))
        }
        finish(0, sums.0); finish(1, sums.1); finish(2, sums.2); finish(3, sums.3); finish(4, sums.4); finish(5, sums.5)
    }
}

extension Convolution {
    /// Stride 1 or 2 (the same both ways), no dilation, one group, at least 16 output columns (a tile's
    /// width), a kernel larger than 1x1 and at most 32 input channels. With more channels a tile's B
    /// hops between as many planes, one cache line per step, and im2col's packed panels win: ResNet-50's
    /// 3x3 stride 2 on 128 channels took 10% longer this way, its 1x1 stride-2 downsampling (for which
    /// im2col is a strided copy) 60% longer.
    var usesImplicitGEMM: Bool {
        let g = geometry
        return !g.isPointwise && !g.isDepthwise && winograd == nil && g.groups == 1 && g.dilationH == 1 && g.dilationW == 1
            && g.outW >= SGEMM.nr && g.strideH == g.strideW && (g.strideW == 1 || g.strideW == 2)
            && g.kernelH * g.kernelW > 1 && g.inChannels <= 32
    }

    /// The padded input, per channel: at stride 1 one plane of h rows by w columns; at stride 2 the
    /// padded rows split into their even and odd columns, two planes of h rows by w columns (so a tap's
    /// pixels at stride 2 are consecutive floats of one plane). Every tap of every output lands
    /// inside; 8 columns of slack take the split's rounding.
    var implicitPadded: (h: Int, w: Int) {
        let g = geometry
        let width = (g.outW - 1) * g.strideW + g.kernelW
        return ((g.outH - 1) * g.strideH + g.kernelH, (width + g.strideW - 1) / g.strideW + 8)
    }

    /// Scratch: the padded input planes.
    var implicitScratchCount: Int {
        let (h, w) = implicitPadded
        return geometry.inChannels * geometry.strideW * h * w
    }

    func runImplicit(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                     scratch: UnsafeMutablePointer<Float>) {
        let g = geometry
        let pool = ThreadPool.shared
        let outPlane = g.outH * g.outW
        // Output rows in contiguous ranges, one per thread.
        let ranges = pool.pieces(g.outH, threads: threads)
        for n in 0 ..< g.batch {
            // The copy split by input rows too: serial, it was a fifth of the stem's time on two threads.
            let input = x + n * g.inChannels * g.inH * g.inW
            let copied = implicitCopiedRows
            let copyRanges = pool.pieces(copied, granularity: 4, threads: threads)
            pool.parallelFor(copyRanges.count) { t in
                self.fillImplicitPadded(input, into: scratch, rows: copyRanges[t])
            }
            let offset = n * g.outChannels * outPlane
            let epilogue = SGEMM.Epilogue(bias: bias, residual: residual.map { $0 + offset }, activation: activation)
            pool.parallelFor(ranges.count) { t in
                let out = y + offset
                // 3x3 kernels get a copy of the loops per common activation, applied in registers.
                @inline(__always) func threeByThree<S: Depthwise.ColumnStride>(_ stride: S.Type) {
                    let k = Depthwise.Kernel3.self
                    switch self.activation {
                    case .none: self.implicitRows(ranges[t], scratch, out, epilogue, k, stride, NoActivation())
                    case .relu: self.implicitRows(ranges[t], scratch, out, epilogue, k, stride, ReluActivation())
                    case .clip(let lo, let hi):
                        self.implicitRows(ranges[t], scratch, out, epilogue, k, stride, ClipActivation(lo: lo, hi: hi))
                    case .hardSwish: self.implicitRows(ranges[t], scratch, out, epilogue, k, stride, HardSwishActivation())
                    default: self.implicitRows(ranges[t], scratch, out, epilogue, k, stride, AnyActivation(activation: self.activation))
                    }
                }
                switch (g.kernelH, g.kernelW, g.strideW) {
                case (3, 3, 1): threeByThree(Depthwise.Stride1.self)
                case (3, 3, _): threeByThree(Depthwise.Stride2.self)
                case (_, _, 1):
                    self.implicitRows(ranges[t], scratch, out, epilogue, Depthwise.AnyKernel.self, Depthwise.Stride1.self,
                                      AnyActivation(activation: self.activation))
                default:
                    self.implicitRows(ranges[t], scratch, out, epilogue, Depthwise.AnyKernel.self, Depthwise.Stride2.self,
                                      AnyActivation(activation: self.activation))
                }
            }
        }
    }

    /// Input rows the padded planes hold.
    var implicitCopiedRows: Int { max(0, min(geometry.inH, implicitPadded.h - geometry.padTop)) }

    /// Writes input rows `part` (of `implicitCopiedRows`) of one image's padded input (see
    /// `implicitPadded`) for every channel: every float of those rows, zeros included, since the scratch
    /// is shared with other steps. The part that starts at row 0 also zeroes the padding rows above, the
    /// part that ends at the last row those below. Input rows and columns past the frame are never read
    /// (the frame ends with the last tap of the last output).
    private func fillImplicitPadded(_ input: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>, rows part: Range<Int>) {
        let g = geometry
        let (ph, pw) = implicitPadded
        let s = g.strideW
        let rows = implicitCopiedRows
        // Input columns copied, and where each phase's data starts and ends in its row.
        let columns = max(0, min(g.inW, (pw - 8) * s - g.padLeft))
        let p = g.padLeft
        // Padded column j = iw + p lands in phase j % s at j / s: even input columns (iw = 2m) at
        // (p % 2, m + p / 2), odd ones at ((p + 1) % 2, m + (p + 1) / 2).
        let evenPhase = p % s, evenStart = s == 1 ? p : p / 2
        let oddPhase = (p + 1) % 2, oddStart = (p + 1) / 2
        let evenCount = s == 1 ? columns : (columns + 1) / 2, oddCount = columns / 2
        for c in 0 ..< g.inChannels {
            for f in 0 ..< s {
                let planeStart = padded + (c * s + f) * ph * pw
                if part.lowerBound == 0 { planeStart.update(repeating: 0, count: g.padTop * pw) }
                if part.upperBound == rows { (planeStart + (g.padTop + rows) * pw).update(repeating: 0, count: (ph - g.padTop - rows) * pw) }
            }
            for ih in part {
                let source = input + (c * g.inH + ih) * g.inW
                @inline(__always) func row(_ phase: Int) -> UnsafeMutablePointer<Float> { padded + ((c * s + phase) * ph + ih + g.padTop) * pw }
                @inline(__always) func clear(_ phase: Int, _ start: Int, _ count: Int) {
                    let r = row(phase)
                    r.update(repeating: 0, count: start)
                    (r + start + count).update(repeating: 0, count: pw - start - count)
                }
                if s == 1 {
                    clear(0, evenStart, columns)
                    copyFloats(row(0) + evenStart, from: source, count: columns)
                } else {
                    clear(evenPhase, evenStart, evenCount)
                    clear(oddPhase, oddStart, oddCount)
                    Depthwise.deinterleave(source, columns, even: row(evenPhase) + evenStart, odd: row(oddPhase) + oddStart)
                }
            }
        }
    }

    /// Output rows `rows` of one image: for each row and each panel of six output channels, tiles of 32
    /// pixels (6x32 of SIMD16, see `wideImplicitTiles`, on rows at least 32 wide) or else 16; a
    /// row whose width is not a multiple of the tile ends with a tile of 8, 16 or 32 overlapping the
    /// previous one (it recomputes the same values: a convolution's output never shares its inputs'
    /// buffers). The stems' 112-wide rows: three tiles of 32 and one of 16; SqueezeNet's 111: the same,
    /// the last overlapping by one. The wide tile broadcasts each weight once for twice the pixels:
    /// EfficientNet-B0's stem alone (3->32 at stride 2, SiLU) 0.476 to 0.424 ms, with ReLU 0.506 to
    /// 0.396 (in one process, alternating run by run).
    private func implicitRows<K: Depthwise.KernelSize, S: Depthwise.ColumnStride, Act: TileActivation>(
        _ rows: Range<Int>, _ padded: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ epilogue: SGEMM.Epilogue,
        _: K.Type, _: S.Type, _ act: Act
    ) {
        let g = geometry
        let (ph, pw) = implicitPadded
        let (plane, phase) = (S.step * ph * pw, ph * pw)
        let outPlane = g.outH * g.outW
        let a = packed[0]
        let k = a.k
        let wide = wideImplicitTiles && g.outW >= 32
        let width = wide ? 32 : 16
        let (fullTiles, rest) = g.outW.quotientAndRemainder(dividingBy: width)
        // Panel by panel, each over all the rows: a panel writes its six output planes as six streams.
        // Row by row, every row wrote all the planes (64 streams for a stem), and under another tenant's
        // cache traffic (`hog.py`) SqueezeNet ran 1.5-1.9% slower (0.3-0.5% calm; in one process,
        // alternating run by run). The padded input, which each panel reads again, stays in L2.
        for i0 in stride(from: 0, to: g.outChannels, by: SGEMM.mr) {
            let height = min(SGEMM.mr, g.outChannels - i0)
            let ap = UnsafePointer(a.data + (i0 / SGEMM.mr) * SGEMM.mr * k)
            for oy in rows {
                let line = UnsafePointer(padded + oy * S.step * pw)
                @inline(__always) func tile<V: TileVector>(_ ox: Int, _: V.Type) {
                    let at = oy * g.outW + ox
                    SGEMM.implicitTile(a: ap, input: line + ox, channels: g.inChannels, plane: plane, phase: phase, rowStride: pw,
                                       kernelH: g.kernelH, kernelW: g.kernelW, c: out + i0 * outPlane + at, ldc: outPlane, rows: i0,
                                       epilogue: epilogue, residualOffset: i0 * outPlane + at, ldr: outPlane, height: height,
                                       V.self, K.self, S.self, act)
                }
                if wide {
                    for t in 0 ..< fullTiles { tile(t * 32, SIMD16<Float>.self) }
                } else {
                    for t in 0 ..< fullTiles { tile(t * 16, SIMD8<Float>.self) }
                }
                if rest > 16 {
                    tile(g.outW - 32, SIMD16<Float>.self)
                } else if rest > 8 {
                    tile(g.outW - 16, SIMD8<Float>.self)
                } else if rest > 0 {
                    let at = oy * g.outW + g.outW - 8
                    SGEMM.implicitTile8(a: ap, input: line + g.outW - 8, channels: g.inChannels, plane: plane, phase: phase, rowStride: pw,
                                        kernelH: g.kernelH, kernelW: g.kernelW, c: out + i0 * outPlane + at, ldc: outPlane, rows: i0,
                                        epilogue: epilogue, residualOffset: i0 * outPlane + at, height: height, K.self, S.self, act)
                }
            }
        }
    }
}
