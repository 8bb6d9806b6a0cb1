import CPUHints

/// 2-D max and average pooling in NCHW, and global average/max pooling.
public enum Pooling {
    public struct Geometry: Sendable {
        public var planes: Int, inH: Int, inW: Int, outH: Int, outW: Int
        public var kernelH: Int, kernelW: Int, strideH: Int, strideW: Int
        public var dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
        public var isMax: Bool, countIncludePad: Bool

        public init(planes: Int, inH: Int, inW: Int, outH: Int, outW: Int, kernelH: Int, kernelW: Int,
                    strideH: Int, strideW: Int, dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                    padBottom: Int, padRight: Int, isMax: Bool, countIncludePad: Bool) {
            (self.planes, self.inH, self.inW, self.outH, self.outW) = (planes, inH, inW, outH, outW)
            (self.kernelH, self.kernelW, self.strideH, self.strideW) = (kernelH, kernelW, strideH, strideW)
            (self.dilationH, self.dilationW) = (dilationH, dilationW)
            (self.padTop, self.padLeft, self.padBottom, self.padRight) = (padTop, padLeft, padBottom, padRight)
            (self.isMax, self.countIncludePad) = (isMax, countIncludePad)
        }
    }

    /// Width and height of the padded plane, with room for the last SIMD chunk's over-read.
    static func paddedSize(_ g: Geometry) -> (h: Int, w: Int) {
        let chunks = (g.outW + 7) / 8
        // Room for the separable pass, which reduces whole vectors of columns (see `poolPlane`).
        let w = max(g.inW + g.padLeft, (chunks * 8 - 1) * g.strideW + (g.kernelW - 1) * g.dilationW + 1) + 32
        let h = max(g.inH + g.padTop, (g.outH - 1) * g.strideH + (g.kernelH - 1) * g.dilationH + 1)
        return (h, w)
    }

    /// Floats of scratch per thread.
    public static func scratchCount(_ g: Geometry) -> Int {
        let (h, w) = paddedSize(g)
        return h * w + g.outH + g.outW + 8 + g.outH * w + 40
    }

    /// Pools `planes` (a sub-range, for threads). Each plane is copied into a padded plane (-inf for max,
    /// 0 for average) so the window loops need no bounds checks; an average is multiplied by the
    /// reciprocals of the row's and the column's tap counts (the count is separable). A division per
    /// output (a vector of them, and one at a time past a row's last whole vector) was most of a 3x3
    /// stride-1 average pool on 192@28; the product of reciprocals differs from the quotient by an ulp
    /// or two.
    /// With `wide`, 3x3 stride-2 rows of at least 16 outputs are pooled 16 at a time (see
    /// `poolThreeByThreeStrideTwo`).
    public static func run(_ g: Geometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, planes: Range<Int>,
                           scratch: UnsafeMutablePointer<Float>, wide: Bool = SGEMM.wideTiles) {
        let (ph, pw) = paddedSize(g)
        let padded = scratch
        let rowScale = scratch + ph * pw, columnScale = rowScale + g.outH
        let line = columnScale + g.outW + 8
        let fill: Float = g.isMax ? -.infinity : 0
        if !g.isMax {
            func scales(_ out: Int, _ stride: Int, _ pad: Int, _ kernel: Int, _ dilation: Int, _ size: Int, _ padEnd: Int,
                        _ into: UnsafeMutablePointer<Float>) {
                for o in 0 ..< out {
                    var n = 0
                    for k in 0 ..< kernel {
                        let i = o * stride - pad + k * dilation
                        if g.countIncludePad ? i < size + padEnd : (i >= 0 && i < size) { n += 1 }
                    }
                    into[o] = 1 / Float(max(n, 1))
                }
            }
            scales(g.outH, g.strideH, g.padTop, g.kernelH, g.dilationH, g.inH, g.padBottom, rowScale)
            scales(g.outW, g.strideW, g.padLeft, g.kernelW, g.dilationW, g.inW, g.padRight, columnScale)
        }
        // Without padding, and with every window inside the input (e.g. SqueezeNet's ceil-mode pools),
        // the plane is read in place instead of being copied into the padded buffer.
        let inPlace = g.padTop == 0 && g.padLeft == 0 && (g.outH - 1) * g.strideH + (g.kernelH - 1) * g.dilationH < g.inH
            && (g.outW - 1) * g.strideW + (g.kernelW - 1) * g.dilationW < g.inW
        // So is a 3x3 stride-2 max pool padded by one at the top and left (ResNet's and ShuffleNet's, 112 to 56):
        // `poolThreeByThreeStrideTwo` repeats the edge row or column for the padding's, which leaves every
        // maximum unchanged. The copy into the padded plane was half of ResNet-50's pool.
        let clamped = !inPlace && g.isMax && isThreeByThreeStrideTwo(g) && g.padTop <= 1 && g.padLeft <= 1
            && 2 * (g.outW - 1) - g.padLeft + 2 < g.inW && 2 * (g.outH - 1) - g.padTop < g.inH
        // The margins, once: each plane's copy overwrites only the inside.
        if !inPlace && !clamped { padded.update(repeating: fill, count: ph * pw) }
        for p in planes {
            let plane = x + p * g.inH * g.inW
            let source: UnsafePointer<Float>, rowStride: Int, columns: Int, rows: Int
            if inPlace || clamped {
                (source, rowStride, columns, rows) = (plane, g.inW, g.inW, g.inH)
            } else {
                for ih in 0 ..< g.inH { copyFloats(padded + (ih + g.padTop) * pw + g.padLeft, from: plane + ih * g.inW, count: g.inW) }
                (source, rowStride, columns, rows) = (UnsafePointer(padded), pw, pw, ph)
            }
            let out = y + p * g.outH * g.outW
            // The reduction and the stride as types: the tap loop then has no branch.
            if Self.isThreeByThreeStrideTwo(g) {
                // The padding is in the source unless the plane is read clamped (max only).
                @inline(__always) func pool<R: Reduction>(_ reduction: R.Type, top: Int, left: Int) {
                    if wide && g.outW >= 16 {
                        poolThreeByThreeStrideTwo(g, source, rowStride, columns, rows: rows, top: top, left: left, out, reduction,
                                                  SIMD16<Float>.self)
                    } else {
                        poolThreeByThreeStrideTwo(g, source, rowStride, columns, rows: rows, top: top, left: left, out, reduction,
                                                  SIMD8<Float>.self)
                    }
                }
                if g.isMax {
                    pool(MaxReduction.self, top: clamped ? g.padTop : 0, left: clamped ? g.padLeft : 0)
                } else {
                    pool(SumReduction.self, top: 0, left: 0)
                }
            } else {
                // The reduction, the stride and a square window's size as types: the tap loops then have no
                // branch, and fixed windows unroll (see `taps`).
                @inline(__always) func plane<R: Reduction, S: Depthwise.ColumnStride>(_ r: R.Type, _ s: S.Type) {
                    switch g.kernelH == g.kernelW ? g.kernelH : 0 {
                    case 2: poolPlane(g, source, rowStride, columns, out, line, r, s, Window2.self)
                    case 3: poolPlane(g, source, rowStride, columns, out, line, r, s, Window3.self)
                    case 5: poolPlane(g, source, rowStride, columns, out, line, r, s, Window5.self)
                    default: poolPlane(g, source, rowStride, columns, out, line, r, s, AnyWindow.self)
                    }
                }
                switch (g.isMax, g.strideW) {
                case (true, 1): plane(MaxReduction.self, Depthwise.Stride1.self)
                case (true, 2): plane(MaxReduction.self, Depthwise.Stride2.self)
                case (true, _): plane(MaxReduction.self, Depthwise.AnyStride.self)
                case (false, 1): plane(SumReduction.self, Depthwise.Stride1.self)
                case (false, 2): plane(SumReduction.self, Depthwise.Stride2.self)
                case (false, _): plane(SumReduction.self, Depthwise.AnyStride.self)
                }
            }
            if !g.isMax {
                for oh in 0 ..< g.outH {
                    let row = out + oh * g.outW, rows = SIMD8<Float>(repeating: rowScale[oh])
                    var i = 0
                    while i + 8 <= g.outW { store(row + i, load(row + i) * (rows * load(columnScale + i))); i += 8 }
                    while i < g.outW { row[i] *= rowScale[oh] * columnScale[i]; i += 1 }
                }
            }
        }
    }

    protocol Reduction {
        static var identity: Float { get }
        static func combine<V: SIMD>(_ a: V, _ b: V) -> V where V.Scalar == Float
        static func combine(_ a: Float, _ b: Float) -> Float
    }
    enum MaxReduction: Reduction {
        static var identity: Float { -.infinity }
        @inline(__always) static func combine<V: SIMD>(_ a: V, _ b: V) -> V where V.Scalar == Float { vmax(a, b) }
        @inline(__always) static func combine(_ a: Float, _ b: Float) -> Float { max(a, b) }
    }
    enum SumReduction: Reduction {
        static var identity: Float { 0 }
        @inline(__always) static func combine<V: SIMD>(_ a: V, _ b: V) -> V where V.Scalar == Float { a + b }
        @inline(__always) static func combine(_ a: Float, _ b: Float) -> Float { a + b }
    }

    /// One padded plane, separably: first, for every output row, the kH input rows are reduced column by
    /// column into a row of `lines` (stride 1, whole vectors); then each chunk of 8 outputs reduces its
    /// kW taps of its row at the pooling stride. k*k taps per output become k + k * stride / 8 vector
    /// operations. The passes are apart so that the second's unaligned loads do not wait on the first's
    /// stores (done row by row, forwarding stalled them: SqueezeNet's pools took twice onnxruntime's time).
    static func poolPlane<R: Reduction, S: Depthwise.ColumnStride, W: PoolWindow>(_ g: Geometry, _ source: UnsafePointer<Float>, _ pw: Int,
                                                                                  _ columns: Int, _ out: UnsafeMutablePointer<Float>,
                                                                                  _ lines: UnsafeMutablePointer<Float>,
                                                                                  _: R.Type, _: S.Type, _: W.Type) {
        var tail = SIMD8<Float>()
        // Columns of a line the outputs read (whole vectors; lines have room for the rounding).
        // Within `columns` (the padded width, or the input's when read in place, whose last vectors
        // must not pass the row); columns of a line past it are never used by a kept output.
        let span = min(columns, ((g.outW + 7) / 8 * 8 - 1) * S.stride(g.strideW) + (g.kernelW - 1) * g.dilationW + 16)
        for oh in 0 ..< g.outH {
            let top = source + oh * g.strideH * pw, line = lines + oh * pw
            let rowStep = g.dilationH * pw
            @inline(__always) func vertical(_ i: Int) {
                store(line + i, taps(g.kernelH, R.self, W.self) { kh in load(top + (kh &* rowStep &+ i)) })
            }
            var i = 0
            while i + 8 <= span { vertical(i); i += 8 }
            if i < span {
                if span >= 8 {
                    vertical(span - 8)  // overlaps the previous vector
                } else {
                    for c in i ..< span {
                        var v = top[c]
                        for kh in 1 ..< g.kernelH { v = R.combine(v, top[kh * g.dilationH * pw + c]) }
                        line[c] = v
                    }
                }
            }
        }
        for oh in 0 ..< g.outH {
            let line = lines + oh * pw
            let row = out + oh * g.outW
            var ow = 0
            while ow < g.outW {
                let start = UnsafePointer(line) + ow * S.stride(g.strideW), d = g.dilationW
                let acc: SIMD8<Float>
                if W.self == Window2.self && S.step == 2 && d == 1 {
                    // 2x2 at stride 2 (VGG's, YOLO's): a window's two columns are the even and the odd lanes of
                    // one pair of vectors, two loads and four shuffles where two stride-2 taps took four loads.
                    let (evens, odds) = SIMD8.evensAndOdds(load(start).opaque, load(start + 8).opaque)
                    acc = R.combine(evens, odds)
                } else {
                    acc = taps(g.kernelW, R.self, W.self) { kw in S.load8(start + kw &* d, g.strideW) }
                }
                if ow + 8 <= g.outW {
                    store(row + ow, acc)
                } else {
                    withUnsafeMutablePointer(to: &tail) { t in
                        t.withMemoryRebound(to: Float.self, capacity: 8) { f in
                            store(f, acc)
                            (row + ow).update(from: f, count: g.outW - ow)
                        }
                    }
                }
                ow += 8
            }
        }
    }

    /// The reduction of `tap(0) ..< tap(count)`, where `W` fixes the count for the common windows (2x2,
    /// 3x3 and 5x5: VGG's and YOLO's, Inception's, YOLO's SPPF), so that the loop unrolls. A loop with a
    /// runtime bound, its index checked for overflow, kept one tap in flight: YOLO's 5x5 stride-1 pool on
    /// 128@40x40 took 0.475 ms against onnxruntime's 0.189.
    @inline(__always)
    static func taps<R: Reduction, W: PoolWindow>(_ count: Int, _: R.Type, _: W.Type, _ tap: (Int) -> SIMD8<Float>) -> SIMD8<Float> {
        var acc = tap(0)
        for k in 1 ..< W.size(count) { acc = R.combine(acc, tap(k)) }
        return acc
    }

    /// A window's size as a type: fixed for the common ones, so their tap loops unroll.
    protocol PoolWindow { static func size(_ runtime: Int) -> Int }
    enum Window2: PoolWindow { @inline(__always) static func size(_: Int) -> Int { 2 } }
    enum Window3: PoolWindow { @inline(__always) static func size(_: Int) -> Int { 3 } }
    enum Window5: PoolWindow { @inline(__always) static func size(_: Int) -> Int { 5 } }
    enum AnyWindow: PoolWindow { @inline(__always) static func size(_ runtime: Int) -> Int { runtime } }

    /// 3x3 windows at stride 2, no dilation, at least 8 outputs a row: the pools of SqueezeNet, ResNet,
    /// ShuffleNet and most stems.
    static func isThreeByThreeStrideTwo(_ g: Geometry) -> Bool {
        g.kernelH == 3 && g.kernelW == 3 && g.strideH == 2 && g.strideW == 2 && g.dilationH == 1 && g.dilationW == 1 && g.outW >= 8
    }

    /// One plane of 3x3 windows at stride 2, all in registers, V.lanes (n) outputs at a time. n outputs of
    /// a row read input columns c ..< c + 2n + 1 (c = 2ow - left): the three rows are reduced into columns
    /// first, as vectors a (columns c ..< c + n), b (the next n) and next (from c + 2n, the next chunk's a).
    /// Output j then reduces a row's columns 2j, 2j + 1 and 2j + 2 (from c): the even lanes of (a, b),
    /// their odd lanes, and the even lanes shifted by one with next's first. A row whose width is not a
    /// multiple of n ends with a chunk that overlaps the previous one; where the n floats of next would
    /// pass the row's end, only its first is read. Two reduced vectors per chunk of outputs, against four
    /// loaded and shuffled ones through a buffer. With `top` or `left` 1 (max only), a window's row or
    /// column in the padding repeats the first one (`rows` rows exist; a last window past the bottom
    /// repeats the last row). 16 lanes (AVX-512, rows of at least 16 outputs) against 8: SqueezeNet's
    /// 55x55 pool 0.112-0.129 to 0.094 ms, its 27x27 0.055-0.058 to 0.046 ms.
    @inline(__always)
    static func poolThreeByThreeStrideTwo<R: Reduction, V: PoolVector>(_ g: Geometry, _ source: UnsafePointer<Float>, _ pw: Int,
                                                                       _ columns: Int, rows: Int, top: Int, left: Int,
                                                                       _ out: UnsafeMutablePointer<Float>, _: R.Type, _: V.Type) {
        let n = V.lanes
        for oh in 0 ..< g.outH {
            let first = 2 * oh - top
            let row0 = source + max(first, 0) * pw
            let row1 = source + min(max(first + 1, 0), rows - 1) * pw
            let row2 = source + min(first + 2, rows - 1) * pw
            // Opaque (`PoolVector.opaque`): otherwise LLVM saw that the shuffles below use half of each
            // reduced vector and rebuilt them from narrow loads, inserts and blends (perf annotate showed
            // `vmovsd` and `vinsertps` from memory); with the barrier, two `vshufps` and two `vpermpd`
            // split a pair into evens and odds. 64@111 to 55 (SqueezeNet's first pool) 0.315 -> 0.268 ms,
            // 128@55 0.184 -> 0.157 ms (one-layer models with the bench's input copy, in one process,
            // alternating run by run).
            @inline(__always) func columnsAt(_ i: Int) -> V {
                R.combine(R.combine(V.load(row0 + i), V.load(row1 + i)), V.load(row2 + i)).opaque
            }
            let row = out + oh * g.outW
            var ow = 0
            // The previous chunk's next, when it was read whole (`isCarried`). A flag beside a plain vector: as
            // an Optional the vector went through general registers lane by lane, some 20 instructions per
            // eight outputs.
            var carried = V(), isCarried = false
            while ow < g.outW {
                if ow + n > g.outW {
                    ow = g.outW - n
                    isCarried = false
                }
                let c = 2 * ow - left
                // Column -1, in the left padding: column 0 again.
                let a = c < 0 ? columnsAt(0).repeatingFirst() : isCarried ? carried : columnsAt(c)
                let b = columnsAt(c + n)
                let whole = c + 3 * n <= columns
                let next = whole ? columnsAt(c + 2 * n) : V(repeating: R.combine(R.combine(row0[c + 2 * n], row1[c + 2 * n]), row2[c + 2 * n]))
                let (evens, odds) = V.evensAndOdds(a, b)
                R.combine(R.combine(evens, odds), evens.shifted(then: next)).store(row + ow)
                ow += n
                carried = next
                isCarried = whole
            }
        }
    }

    /// Mean (or max) of each of `planes` contiguous planes of `size` floats.
    public static func global(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, planes: Int, size: Int, isMax: Bool) {
        for p in 0 ..< planes {
            let src = x + p * size
            var i = 0
            if isMax {
                var m = SIMD8<Float>(repeating: -.infinity)
                while i + 8 <= size { m = vmax(m, load(src + i)); i += 8 }
                var r = m.max()
                while i < size { r = max(r, src[i]); i += 1 }
                y[p] = r
            } else {
                var s = SIMD8<Float>()
                while i + 8 <= size { s += load(src + i); i += 8 }
                var r = s.sum()
                while i < size { r += src[i]; i += 1 }
                y[p] = r / Float(size)
            }
        }
    }
}

/// Elementwise arithmetic on float32 with the broadcasts CNNs use.
public enum Elementwise {
    /// `prelu`: a where a >= 0, else a * b (b the slope).
    public enum Operation: Sendable { case add, sub, mul, div, max, min, prelu }

    @inline(__always)
    static func combine(_ op: Operation, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        switch op {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        case .max: return vmax(a, b)
        case .min: return vmin(a, b)
        case .prelu: return vmax(a, SIMD8(repeating: 0)) + b * vmin(a, SIMD8(repeating: 0))
        }
    }

    @inline(__always)
    static func combine(_ op: Operation, _ a: Float, _ b: Float) -> Float {
        switch op {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        case .max: return Swift.max(a, b)
        case .min: return Swift.min(a, b)
        case .prelu: return a < 0 ? a * b : a
        }
    }

    /// y = a op b, all `count` long.
    public static func same(_ op: Operation, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count { store(y + i, combine(op, load(a + i), load(b + i))); i += 8 }
        while i < count { y[i] = combine(op, a[i], b[i]); i += 1 }
    }

    /// y[p, i] = a[p, i] op b[p] over `planes` planes of `size` (a per-channel scale or shift, SE gating);
    /// with `scalarFirst`, y = b[p] op a[p, i].
    public static func perPlane(_ op: Operation, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                planes: Int, size: Int, scalarFirst: Bool) {
        for p in 0 ..< planes {
            let s = b[p], v = SIMD8<Float>(repeating: s)
            let src = a + p * size, dst = y + p * size
            var i = 0
            if scalarFirst {
                while i + 8 <= size { store(dst + i, combine(op, v, load(src + i))); i += 8 }
                while i < size { dst[i] = combine(op, s, src[i]); i += 1 }
            } else {
                while i + 8 <= size { store(dst + i, combine(op, load(src + i), v)); i += 8 }
                while i < size { dst[i] = combine(op, src[i], s); i += 1 }
            }
        }
    }
}

/// The lane shuffles of `Pooling.poolThreeByThreeStrideTwo`, for each vector width it runs at.
protocol PoolVector: TileVector, SIMD where Scalar == Float {
    /// The even lanes of (a, b) as one vector, and the odd lanes.
    static func evensAndOdds(_ a: Self, _ b: Self) -> (Self, Self)
    /// Lanes 1 ..< lanes, then next's first.
    func shifted(then next: Self) -> Self
    /// Lane 0 twice, then lanes 1 ..< lanes - 1.
    func repeatingFirst() -> Self
    /// The vector unchanged, through a barrier the compiler cannot see into (`onyx_opaque8`), so that it
    /// stays whole (see `poolThreeByThreeStrideTwo`). 16 lanes have no barrier: the AVX-512 build was not
    /// measured here.
    var opaque: Self { get }
}

extension SIMD8: PoolVector where Scalar == Float {
    @inline(__always) var opaque: Self { onyx_opaque8(self) }
    @inline(__always) static func evensAndOdds(_ a: Self, _ b: Self) -> (Self, Self) {
        (SIMD8(a[0], a[2], a[4], a[6], b[0], b[2], b[4], b[6]), SIMD8(a[1], a[3], a[5], a[7], b[1], b[3], b[5], b[7]))
    }
    @inline(__always) func shifted(then next: Self) -> Self {
        SIMD8(self[1], self[2], self[3], self[4], self[5], self[6], self[7], next[0])
    }
    @inline(__always) func repeatingFirst() -> Self {
        SIMD8(self[0], self[0], self[1], self[2], self[3], self[4], self[5], self[6])
    }
}

extension SIMD16: PoolVector where Scalar == Float {
    @inline(__always) var opaque: Self { self }
    @inline(__always) static func evensAndOdds(_ a: Self, _ b: Self) -> (Self, Self) {
        (SIMD16(a[0], a[2], a[4], a[6], a[8], a[10], a[12], a[14], b[0], b[2], b[4], b[6], b[8], b[10], b[12], b[14]),
         SIMD16(a[1], a[3], a[5], a[7], a[9], a[11], a[13], a[15], b[1], b[3], b[5], b[7], b[9], b[11], b[13], b[15]))
    }
    @inline(__always) func shifted(then next: Self) -> Self {
        SIMD16(self[1], self[2], self[3], self[4], self[5], self[6], self[7], self[8], self[9], self[10], self[11], self[12],
               self[13], self[14], self[15], next[0])
    }
    @inline(__always) func repeatingFirst() -> Self {
        SIMD16(self[0], self[0], self[1], self[2], self[3], self[4], self[5], self[6], self[7], self[8], self[9], self[10],
               self[11], self[12], self[13], self[14])
    }
}
