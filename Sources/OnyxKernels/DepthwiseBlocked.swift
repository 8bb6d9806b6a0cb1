/// Depthwise convolution of small planes (fewer than 16 output columns, or 32 at stride 1: the 28x28,
/// 14x14 and 7x7 layers of the mobile nets), eight channels at a time. The eight input planes are
/// interleaved into one padded buffer where a `SIMD8` holds one pixel of all eight channels, so every
/// tap is one vector FMA at any stride, dilation or kernel size, with no partial vectors at the row
/// ends (which cost more than the arithmetic when a row has 7 outputs). Results are scattered back to
/// the eight NCHW planes, which are contiguous, so a residual's epilogue runs once over all of them;
/// without a residual the activation is applied in registers. When a `BlockedPointwise` step has written
/// the input already interleaved and padded (a blocked pair), the kernel reads it in place
/// (`runPaddedInput`), on planes of any size.
extension Depthwise {
    /// The kernel's size as a type, so the tap loops of 3x3 and 5x5 unroll.
    protocol KernelSize {
        static func height(_ runtime: Int) -> Int
        static func width(_ runtime: Int) -> Int
    }
    enum Kernel3: KernelSize {
        @inline(__always) static func height(_: Int) -> Int { 3 }
        @inline(__always) static func width(_: Int) -> Int { 3 }
    }
    enum Kernel5: KernelSize {
        @inline(__always) static func height(_: Int) -> Int { 5 }
        @inline(__always) static func width(_: Int) -> Int { 5 }
    }
    enum AnyKernel: KernelSize {
        @inline(__always) static func height(_ runtime: Int) -> Int { runtime }
        @inline(__always) static func width(_ runtime: Int) -> Int { runtime }
    }

    /// The 8x8 block of rows `p`, `p + stride`, ... transposed: result k holds element k of each row.
    /// The usual three rounds of two-input shuffles (24 in all): pairs of rows interleaved, then pairs of
    /// pairs, then the 128-bit halves exchanged.
    @inline(__always)
    static func transpose8(_ p: UnsafePointer<Float>, stride: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
                                                                        SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let r = (load(p), load(p + stride), load(p + 2 * stride), load(p + 3 * stride),
                 load(p + 4 * stride), load(p + 5 * stride), load(p + 6 * stride), load(p + 7 * stride))
        return Shuffles.transpose8(r)
    }

    /// Every output pixel of the block, interleaved into `results`; four pixels of a row at once so that four independent FMA
    /// chains hide the FMA latency.
    @inline(__always)
    static func blockedRows<K: KernelSize>(_ g: Convolution.Geometry, _ pw: Int, _ padded: UnsafeMutablePointer<Float>,
                                           _ taps: UnsafeMutablePointer<Float>, _ b: SIMD8<Float>, _ results: UnsafeMutablePointer<Float>, _: K.Type) {
        let (kH, kW) = (K.height(g.kernelH), K.width(g.kernelW))
        let source = UnsafePointer(padded), w = UnsafePointer(taps)
        let (sW, dW, rowStep) = (g.strideW * 8, g.dilationW * 8, g.dilationH * pw * 8)
        for oh in 0 ..< g.outH {
            let top = source + oh * g.strideH * pw * 8
            var ow = 0
            while ow + 4 <= g.outW {
                var (a0, a1, a2, a3) = (b, b, b, b)
                let origin = top + ow * sW
                for kh in 0 ..< kH {
                    let line = origin + kh * rowStep
                    for kw in 0 ..< kW {
                        let tap = load(w + (kh * kW + kw) * 8), at = line + kw * dW
                        a0 = a0.addingProduct(tap, load(at))
                        a1 = a1.addingProduct(tap, load(at + sW))
                        a2 = a2.addingProduct(tap, load(at + 2 * sW))
                        a3 = a3.addingProduct(tap, load(at + 3 * sW))
                    }
                }
                let p = (oh * g.outW + ow) * 8
                store(results + p, a0); store(results + p + 8, a1); store(results + p + 16, a2); store(results + p + 24, a3)
                ow += 4
            }
            while ow < g.outW {
                var a = b
                let origin = top + ow * sW
                for kh in 0 ..< kH {
                    for kw in 0 ..< kW { a = a.addingProduct(load(w + (kh * kW + kw) * 8), load(origin + kh * rowStep + kw * dW)) }
                }
                store(results + (oh * g.outW + ow) * 8, a)
                ow += 1
            }
        }
    }

    /// 3x3 at stride 1 or 2 (the mobile nets' depthwise layers): the nine taps stay in registers, and
    /// four neighbouring outputs share their input loads (per kernel row, 6 loads for 12 FMAs at
    /// stride 1, 9 at stride 2, instead of 12), with the activation applied before the store.
    @inline(__always)
    static func blockedRows3x3<Act: TileActivation>(_ g: Convolution.Geometry, _ pw: Int, _ padded: UnsafeMutablePointer<Float>,
                                                    _ taps: UnsafeMutablePointer<Float>, _ b: SIMD8<Float>,
                                                    _ results: UnsafeMutablePointer<Float>, _ act: Act) {
        let t = (load(taps), load(taps + 8), load(taps + 16), load(taps + 24), load(taps + 32), load(taps + 40),
                 load(taps + 48), load(taps + 56), load(taps + 64))
        let s = g.strideW
        let source = UnsafePointer(padded)
        @inline(__always) func row(_ line: UnsafePointer<Float>, _ t0: SIMD8<Float>, _ t1: SIMD8<Float>, _ t2: SIMD8<Float>,
                                   _ a: inout (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
            @inline(__always) func x(_ column: Int) -> SIMD8<Float> { load(line + column * 8) }
            if s == 1 {
                let (x0, x1, x2, x3, x4, x5) = (x(0), x(1), x(2), x(3), x(4), x(5))
                a.0 = a.0.addingProduct(t0, x0).addingProduct(t1, x1).addingProduct(t2, x2)
                a.1 = a.1.addingProduct(t0, x1).addingProduct(t1, x2).addingProduct(t2, x3)
                a.2 = a.2.addingProduct(t0, x2).addingProduct(t1, x3).addingProduct(t2, x4)
                a.3 = a.3.addingProduct(t0, x3).addingProduct(t1, x4).addingProduct(t2, x5)
            } else {
                let (x0, x1, x2, x3, x4, x5, x6, x7, x8) = (x(0), x(1), x(2), x(3), x(4), x(5), x(6), x(7), x(8))
                a.0 = a.0.addingProduct(t0, x0).addingProduct(t1, x1).addingProduct(t2, x2)
                a.1 = a.1.addingProduct(t0, x2).addingProduct(t1, x3).addingProduct(t2, x4)
                a.2 = a.2.addingProduct(t0, x4).addingProduct(t1, x5).addingProduct(t2, x6)
                a.3 = a.3.addingProduct(t0, x6).addingProduct(t1, x7).addingProduct(t2, x8)
            }
        }
        for oh in 0 ..< g.outH {
            let top = source + oh * g.strideH * pw * 8
            forEachGroupOfFour(g.outW) { ow in
                var a = (b, b, b, b)
                let origin = top + ow * s * 8
                row(origin, t.0, t.1, t.2, &a)
                row(origin + pw * 8, t.3, t.4, t.5, &a)
                row(origin + 2 * pw * 8, t.6, t.7, t.8, &a)
                storeFour(a, results + (oh * g.outW + ow) * 8, act)
            } single: { ow in
                store(results + (oh * g.outW + ow) * 8, act(blockedPixel(top + ow * s * 8, UnsafePointer(taps), pw, size: 3, b)))
            }
        }
    }

    /// 5x5 at stride 1 or 2 (MobileNetV3's and EfficientNet's 5x5 layers), no dilation: four
    /// neighbouring outputs at a time, with the stride a type so that the taps' shared input columns are
    /// loaded once (per kernel row 8 loads for 20 FMAs at stride 1, 11 at stride 2, instead of 20), and
    /// the activation applied before the store. The 25 taps do not fit in registers: each kernel row's
    /// five are loaded as it starts.
    @inline(__always)
    static func blockedRows5x5<S: ColumnStride, Act: TileActivation>(_ g: Convolution.Geometry, _ pw: Int, _ padded: UnsafeMutablePointer<Float>,
                                                                     _ taps: UnsafeMutablePointer<Float>, _ b: SIMD8<Float>,
                                                                     _ results: UnsafeMutablePointer<Float>, _: S.Type, _ act: Act) {
        let s = S.step
        let source = UnsafePointer(padded), w = UnsafePointer(taps)
        for oh in 0 ..< g.outH {
            let top = source + oh * s * pw * 8
            forEachGroupOfFour(g.outW) { ow in
                var a = (b, b, b, b)
                let origin = top + ow * s * 8
                for kh in 0 ..< 5 {
                    let line = origin + kh * pw * 8, rowTaps = w + kh * 40
                    @inline(__always) func x(_ column: Int) -> SIMD8<Float> { load(line + column * 8) }
                    for kw in 0 ..< 5 {
                        let t = load(rowTaps + kw * 8)
                        a.0 = a.0.addingProduct(t, x(kw))
                        a.1 = a.1.addingProduct(t, x(s + kw))
                        a.2 = a.2.addingProduct(t, x(2 * s + kw))
                        a.3 = a.3.addingProduct(t, x(3 * s + kw))
                    }
                }
                storeFour(a, results + (oh * g.outW + ow) * 8, act)
            } single: { ow in
                store(results + (oh * g.outW + ow) * 8, act(blockedPixel(top + ow * s * 8, w, pw, size: 5, b)))
            }
        }
    }

    /// Calls `four(ow)` for groups of four output columns covering a row of `width`, the last group
    /// overlapping the one before when the width is not a multiple of four (its shared pixels are computed
    /// twice and stored twice, the same values), and `single(ow)` per column for rows narrower than four.
    /// The 7x7 planes' last three pixels had run as three single FMA chains of 9 or 25 taps each.
    @inline(__always)
    static func forEachGroupOfFour(_ width: Int, _ four: (Int) -> Void, single: (Int) -> Void) {
        if width < 4 {
            for ow in 0 ..< width { single(ow) }
            return
        }
        var ow = 0
        while ow < width {
            ow = min(ow, width - 4)
            four(ow)
            ow += 4
        }
    }

    /// Four neighbouring output pixels through the activation, at `p` (interleaved). Transparent: with
    /// `@inline(__always)` the compiler left a copy per activation out of line (3x3 at 14x14 8% slower).
    @_transparent
    static func storeFour<Act: TileActivation>(_ a: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>),
                                               _ p: UnsafeMutablePointer<Float>, _ act: Act) {
        store(p, act(a.0)); store(p + 8, act(a.1)); store(p + 16, act(a.2)); store(p + 24, act(a.3))
    }

    /// One output pixel of a size x size window at `origin`, no dilation (a row's last outputs after
    /// the groups of four): one FMA chain, kernel row by kernel row.
    @inline(__always)
    static func blockedPixel(_ origin: UnsafePointer<Float>, _ taps: UnsafePointer<Float>, _ pw: Int, size: Int,
                             _ b: SIMD8<Float>) -> SIMD8<Float> {
        var v = b
        for kh in 0 ..< size {
            for kw in 0 ..< size { v = v.addingProduct(load(taps + (kh * size + kw) * 8), load(origin + kh * pw * 8 + kw * 8)) }
        }
        return v
    }

    /// Rows and columns of the interleaved padded buffer.
    static func blockedSize(_ g: Convolution.Geometry) -> (h: Int, w: Int) {
        (max(g.inH + g.padTop, (g.outH - 1) * g.strideH + (g.kernelH - 1) * g.dilationH + 1),
         max(g.inW + g.padLeft, (g.outW - 1) * g.strideW + (g.kernelW - 1) * g.dilationW + 1))
    }

    /// The layout `blocked8` reads its input in: the producer of a blocked input writes it so.
    static func blockedInputLayout(_ g: Convolution.Geometry) -> ChannelBlockedLayout {
        let (h, w) = blockedSize(g)
        return ChannelBlockedLayout(height: g.inH, width: g.inW, paddedHeight: h, paddedWidth: w, top: g.padTop, left: g.padLeft)
    }

    /// Scratch of `runPaddedInput`: the taps and the results, no padded copy.
    /// (Both scratches' results have a panel's width of pixels more, zero for a packed output's edge.)
    static func paddedInputScratchCount(_ g: Convolution.Geometry) -> Int {
        8 * (g.kernelH * g.kernelW + g.outH * g.outW + SGEMM.panelWidth)
    }

    static func blockedScratchCount(_ g: Convolution.Geometry) -> Int {
        let (h, w) = blockedSize(g)
        return 8 * (h * w + g.kernelH * g.kernelW + g.outH * g.outW + SGEMM.panelWidth)
    }

    /// Zeroes the pixels after the plane in `results`, which a packed output's edge pieces store as their
    /// columns past the plane (the kernels never write them).
    static func clearPackedTail(_ g: Convolution.Geometry, _ results: UnsafeMutablePointer<Float>) {
        (results + 8 * g.outH * g.outW).update(repeating: 0, count: 8 * SGEMM.panelWidth)
    }

    /// Small planes, and 5x5 and larger kernels at any size (their 25 taps per pixel outweigh the
    /// transposes; the per-plane path runs them as untiled loops with a partial vector per row).
    /// Also stride-1 planes under 32 wide, where the per-plane path's scalar row edges cost most (MobileNetV2's
    /// 192@28x28: 130 to 123 µs); at stride 2 the interleaving cost more than it saved (135 to 185 µs).
    static func usesBlocked(_ g: Convolution.Geometry) -> Bool { g.outW < 16 || g.kernelW >= 5 || (g.strideW == 1 && g.outW < 32) }

    /// Walks the interior of the interleaved padded buffer pixel by pixel, row by row (a division per
    /// pixel would cost more than the copy).
    struct PaddedCursor {
        var at: UnsafeMutablePointer<Float>
        var column = 0
        let rowEnd: Int, rowSkip: Int
        init(base: UnsafeMutablePointer<Float>, rowEnd: Int, rowSkip: Int) { (at, self.rowEnd, self.rowSkip) = (base, rowEnd, rowSkip) }

        @inline(__always) mutating func next() -> UnsafeMutablePointer<Float> {
            let here = at
            at += 8
            column += 1
            if column == rowEnd { column = 0; at += rowSkip }
            return here
        }
    }

    /// Channels `first ..< first + 8` of image `n`. `padded` must hold zeros outside the interior (it
    /// is zeroed once per call of `run`; each block rewrites only the interior).
    static func blocked8(_ g: Convolution.Geometry, n: Int, first c: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                         bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                         activation: KernelActivation, padded: UnsafeMutablePointer<Float>, taps: UnsafeMutablePointer<Float>,
                         results: UnsafeMutablePointer<Float>, inputIsPadded: Bool = false, packedOutput: PackedBLayout? = nil) {
        let (_, pw) = blockedSize(g)
        let inPlane = g.inH * g.inW, outPlane = g.outH * g.outW, kk = g.kernelH * g.kernelW
        let input = x + (n * g.inChannels + c) * inPlane
        // Pixel p of the eight planes goes to row p / inW, column p % inW of the padded buffer: eight
        // pixels at a time through an 8x8 transpose, the rest lane by lane (unless the producer wrote it
        // there: `inputIsPadded`, `padded` is then the input's block).
        var cursor = PaddedCursor(base: padded + (g.padTop * pw + g.padLeft) * 8, rowEnd: g.inW, rowSkip: (pw - g.inW) * 8)
        var p = inputIsPadded ? inPlane : 0
        while p + 8 <= inPlane {
            let t = transpose8(input + p, stride: inPlane)
            store(cursor.next(), t.0); store(cursor.next(), t.1); store(cursor.next(), t.2); store(cursor.next(), t.3)
            store(cursor.next(), t.4); store(cursor.next(), t.5); store(cursor.next(), t.6); store(cursor.next(), t.7)
            p += 8
        }
        while p < inPlane {
            let d = cursor.next()
            for lane in 0 ..< 8 { d[lane] = input[lane * inPlane + p] }
            p += 1
        }
        // Tap t of the eight channels as one vector.
        let w = weights + c * kk
        for t in 0 ..< kk {
            store(taps + t * 8, SIMD8(w[t], w[kk + t], w[2 * kk + t], w[3 * kk + t], w[4 * kk + t], w[5 * kk + t], w[6 * kk + t], w[7 * kk + t]))
        }
        let b = load(bias + c)
        let out = y + (n * g.outChannels + c) * outPlane
        // 3x3 and 5x5, stride 1 or 2, no dilation, no residual: the activation goes in registers (one copy of
        // the loops per common activation, as in the GEMM).
        var activated = false
        let plain = g.strideH == g.strideW && (g.strideW == 1 || g.strideW == 2) && g.dilationH == 1 && g.dilationW == 1
        let square = g.kernelH == g.kernelW ? g.kernelH : 0
        if plain && (square == 3 || square == 5) {
            @inline(__always) func rows<Act: TileActivation>(_ act: Act) {
                if square == 3 {
                    blockedRows3x3(g, pw, padded, taps, b, results, act)
                } else if g.strideW == 1 {
                    blockedRows5x5(g, pw, padded, taps, b, results, Stride1.self, act)
                } else {
                    blockedRows5x5(g, pw, padded, taps, b, results, Stride2.self, act)
                }
            }
            // SiLU and the rarer activations are left to the pass over the output, as the GEMM keeps them
            // out of its registers (`TileActivation.inRegisters`): in the 5x5 loop SiLU's sigmoid spilled
            // the accumulators (EfficientNet-B0 2% slower), and in the 3x3 loop the pass was faster too
            // (with the same change to the ring and the blocked pointwise kernels, EfficientNet-B0 7% faster).
            activated = residual == nil
            switch residual == nil ? activation : .none {
            case .none: rows(NoActivation())
            case .relu: rows(ReluActivation())
            case .clip(let lo, let hi): rows(ClipActivation(lo: lo, hi: hi))
            case .hardSwish: rows(HardSwishActivation())
            default:
                rows(NoActivation())
                activated = false
            }
        } else {
            switch (g.kernelH, g.kernelW) {
            case (3, 3): blockedRows(g, pw, padded, taps, b, results, Kernel3.self)
            case (5, 5): blockedRows(g, pw, padded, taps, b, results, Kernel5.self)
            default: blockedRows(g, pw, padded, taps, b, results, AnyKernel.self)
            }
        }
        if let packed = packedOutput {
            // Channels c ..< c + 8 are rows of the GEMM's B. The activation was applied in registers (see
            // `Convolution.writesPackedOutput`); `results` is zero past the plane (see `clearPackedTail`).
            precondition(activated && n == 0, "packed output needs the activation in registers and one image")
            packed.storeEightRows(c, from: results, into: y)
            return
        }
        p = 0
        while p + 8 <= outPlane {
            let t = transpose8(UnsafePointer(results) + p * 8, stride: 8)
            store(out + p, t.0); store(out + outPlane + p, t.1); store(out + 2 * outPlane + p, t.2); store(out + 3 * outPlane + p, t.3)
            store(out + 4 * outPlane + p, t.4); store(out + 5 * outPlane + p, t.5); store(out + 6 * outPlane + p, t.6); store(out + 7 * outPlane + p, t.7)
            p += 8
        }
        while p < outPlane {
            for lane in 0 ..< 8 { out[lane * outPlane + p] = results[p * 8 + lane] }
            p += 1
        }
        if !activated { finish(out, residual.map { $0 + (n * g.outChannels + c) * outPlane }, 8 * outPlane, activation) }
    }
}
