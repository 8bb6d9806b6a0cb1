/// Dense stride-1 convolutions (SqueezeNet's Fire 3x3 on 16 and 32 channels) as a GEMM whose B is
/// read straight from a zero-padded copy of the input, with no column matrix.
///
/// With the input padded to rows of Wp = outW + kW - 1, the column matrix's row for tap (c, kh, kw) and
/// output pixel (y, x) is padded[c][y + kh][x + kw]: for 16 pixels of one output row, 16 consecutive
/// floats of one padded row. The 6x16 tile loads them in place, so the matrix (144 x 3025 floats,
/// 1.7 MiB, for SqueezeNet's 55x55 Fire) is never written out to L3 and read back; the padded input
/// (208 KiB there) stays in L2 and the three rows a tile reads in L1.
extension SGEMM {
    /// The 6x16 tile at output pixels x ..< x + 16 of row y, over k = channels * kH * kW taps: `input`
    /// points at padded[0][y][x], planes `plane` apart, rows `rowStride` apart. Epilogue as in `tile`.
    @inline(__always)
    static func implicitTile<K: Depthwise.KernelSize, Act: TileActivation>(
        a: UnsafePointer<Float>, input: UnsafePointer<Float>, channels: Int, plane: Int, rowStride: Int, kernelH: Int, kernelW: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int?, epilogue: Epilogue, residualOffset: Int, ldr: Int, height: Int,
        _: K.Type, _ act: Act
    ) {
        let (kH, kW) = (K.height(kernelH), K.width(kernelW))
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        var ap = a
        for channel in 0 ..< channels {
            var row = input + channel * plane
            for _ in 0 ..< kH {
                for kw in 0 ..< kW {
                    let b0 = load(row + kw), b1 = load(row + kw + 8)
                    var x = SIMD8<Float>(repeating: ap[0])
                    c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
                    x = SIMD8<Float>(repeating: ap[1])
                    c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
                    x = SIMD8<Float>(repeating: ap[2])
                    c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
                    x = SIMD8<Float>(repeating: ap[3])
                    c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
                    x = SIMD8<Float>(repeating: ap[4])
                    c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
                    x = SIMD8<Float>(repeating: ap[5])
                    c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
                    ap += mr
                }
                row += rowStride
            }
        }
        storeTile((c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51), c: c, ldc: ldc, rows: rows, epilogue: epilogue,
                  residualOffset: residualOffset, ldr: ldr, height: height, act)
    }
}

extension SGEMM {
    /// `implicitTile` for 8 pixels (a row's last few): six accumulators, the epilogue in registers.
    @inline(__always)
    static func implicitTile8<K: Depthwise.KernelSize, Act: TileActivation>(
        a: UnsafePointer<Float>, input: UnsafePointer<Float>, channels: Int, plane: Int, rowStride: Int, kernelH: Int, kernelW: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, epilogue: Epilogue, residualOffset: Int, height: Int, _: K.Type, _ act: Act
    ) {
        let (kH, kW) = (K.height(kernelH), K.width(kernelW))
        var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>(), c4 = SIMD8<Float>(), c5 = SIMD8<Float>()
        var ap = a
        for channel in 0 ..< channels {
            var row = input + channel * plane
            for _ in 0 ..< kH {
                for kw in 0 ..< kW {
                    let b0 = load(row + kw)
                    c0 = c0.addingProduct(SIMD8(repeating: ap[0]), b0); c1 = c1.addingProduct(SIMD8(repeating: ap[1]), b0)
                    c2 = c2.addingProduct(SIMD8(repeating: ap[2]), b0); c3 = c3.addingProduct(SIMD8(repeating: ap[3]), b0)
                    c4 = c4.addingProduct(SIMD8(repeating: ap[4]), b0); c5 = c5.addingProduct(SIMD8(repeating: ap[5]), b0)
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
        finish(0, c0); finish(1, c1); finish(2, c2); finish(3, c3); finish(4, c4); finish(5, c5)
    }
}

extension Convolution {
    /// Stride 1, no dilation, one group, at least 16 output columns (a tile's width), and k above the
    /// banded path's 64.
    var usesImplicitGEMM: Bool {
        let g = geometry
        return !g.isPointwise && !g.isDepthwise && winograd == nil && bandRows == nil && g.groups == 1
            && g.strideH == 1 && g.strideW == 1 && g.dilationH == 1 && g.dilationW == 1 && g.outW >= SGEMM.nr
    }

    /// Rows and columns of the padded input: every tap of every output pixel lands inside.
    var implicitPadded: (h: Int, w: Int) { (geometry.outH + geometry.kernelH - 1, geometry.outW + geometry.kernelW - 1) }

    /// Scratch: the padded input planes.
    var implicitScratchCount: Int {
        let (h, w) = implicitPadded
        return geometry.inChannels * h * w
    }

    func runImplicit(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                     scratch: UnsafeMutablePointer<Float>) {
        let g = geometry
        let (ph, pw) = implicitPadded
        let padded = scratch
        let pool = ThreadPool.shared
        let outPlane = g.outH * g.outW
        padded.update(repeating: 0, count: g.inChannels * ph * pw)
        // Output rows in contiguous ranges, one per thread.
        let ranges = Array(pool.chunks(g.outH).prefix(threads))
        for n in 0 ..< g.batch {
            // Input rows and columns past the padded frame are never read (the frame ends with the last
            // tap of the last output); the border inside it stays zero.
            let input = x + n * g.inChannels * g.inH * g.inW
            let (rows, columns) = (min(g.inH, ph - g.padTop), min(g.inW, pw - g.padLeft))
            for c in 0 ..< g.inChannels where columns > 0 {
                for ih in 0 ..< max(rows, 0) {
                    (padded + (c * ph + ih + g.padTop) * pw + g.padLeft).update(from: input + (c * g.inH + ih) * g.inW, count: columns)
                }
            }
            let offset = n * g.outChannels * outPlane
            let epilogue = SGEMM.Epilogue(bias: bias, residual: residual.map { $0 + offset }, activation: activation)
            pool.parallelFor(ranges.count) { t in
                switch (g.kernelH, g.kernelW, self.activation) {
                case (3, 3, .none): self.implicitRows(ranges[t], padded, y + offset, epilogue, Depthwise.Kernel3.self, NoActivation())
                case (3, 3, .relu): self.implicitRows(ranges[t], padded, y + offset, epilogue, Depthwise.Kernel3.self, ReluActivation())
                case (3, 3, _):
                    self.implicitRows(ranges[t], padded, y + offset, epilogue, Depthwise.Kernel3.self,
                                      AnyActivation(activation: self.activation))
                default:
                    self.implicitRows(ranges[t], padded, y + offset, epilogue, Depthwise.AnyKernel.self,
                                      AnyActivation(activation: self.activation))
                }
            }
        }
    }

    /// Output rows `rows` of one image: for each row and each panel of six output channels, tiles of 16
    /// pixels; a row whose width is not a multiple of 16 ends with a tile of 8 or 16 overlapping the
    /// previous one (it recomputes the same values: a convolution's output never shares its inputs'
    /// buffers). SqueezeNet's 55-wide rows: 3 tiles of 16 and one of 8, 56 columns computed.
    private func implicitRows<K: Depthwise.KernelSize, Act: TileActivation>(
        _ rows: Range<Int>, _ padded: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ epilogue: SGEMM.Epilogue,
        _: K.Type, _ act: Act
    ) {
        let g = geometry
        let (ph, pw) = implicitPadded
        let outPlane = g.outH * g.outW
        let a = packed[0]
        let k = a.k
        let (fullTiles, rest) = g.outW.quotientAndRemainder(dividingBy: SGEMM.nr)
        for oy in rows {
            var i0 = 0
            while i0 < g.outChannels {
                let height = min(SGEMM.mr, g.outChannels - i0)
                let ap = UnsafePointer(a.data + (i0 / SGEMM.mr) * SGEMM.mr * k)
                let line = UnsafePointer(padded + oy * pw)
                @inline(__always) func tile16(_ ox: Int) {
                    let at = oy * g.outW + ox
                    SGEMM.implicitTile(a: ap, input: line + ox, channels: g.inChannels, plane: ph * pw, rowStride: pw,
                                       kernelH: g.kernelH, kernelW: g.kernelW, c: out + i0 * outPlane + at, ldc: outPlane, rows: i0,
                                       epilogue: epilogue, residualOffset: i0 * outPlane + at, ldr: outPlane, height: height, K.self, act)
                }
                for tile in 0 ..< fullTiles { tile16(tile * SGEMM.nr) }
                if rest > 8 {
                    tile16(g.outW - SGEMM.nr)
                } else if rest > 0 {
                    let at = oy * g.outW + g.outW - 8
                    SGEMM.implicitTile8(a: ap, input: line + g.outW - 8, channels: g.inChannels, plane: ph * pw, rowStride: pw,
                                        kernelH: g.kernelH, kernelW: g.kernelW, c: out + i0 * outPlane + at, ldc: outPlane, rows: i0,
                                        epilogue: epilogue, residualOffset: i0 * outPlane + at, height: height, K.self, act)
                }
                i0 += SGEMM.mr
            }
        }
    }
}
