import CPUHints

/// Depthwise 3x3 on planes of 16 or more output columns at stride 2, or 32 at stride 1 (MobileNetV2's
/// 96@112 and 144@56, MobileNetV3's 64@112, EfficientNet's 96@112; smaller planes go to the blocked
/// path), one channel plane at a time, with no scalar edges.
///
/// Every input row is first copied into a ring of rows in L1 with zero margins, so columns outside the
/// image read zeros and every output is in a full vector. At stride 1 output column x reads row
/// columns x - padLeft + kw. At stride 2 (padding 1) it reads 2x - 1, 2x and 2x + 1: the row is split
/// as it is copied into its odd and even columns, O[i] = row[2i + 1] and E[i] = row[2i], and the taps
/// are plain loads of O[x - 1], E[x], O[x] (with padding 0, as TensorFlow's SAME pads: E[x], O[x],
/// E[x + 1]).
/// - Stride 2 used to deinterleave per tap: two shuffles per tap and eight outputs. Splitting each row
///   once took 96@112 from 291 µs to 243 µs, 64@112 from 184 µs to 160 µs. (A 5x5 kernel this way was
///   slower than the blocked path: its 25 taps do not fit in registers.)
/// - Stride 1 used to read the image rows in place, with scalar code for the outputs whose taps
///   reach past a row's ends: two per row, as long as seven vectors of 8. Copying the rows took
///   MobileNetV2's 144@56 from 274 µs to 235 µs.
///
/// - At stride 1 two output rows are computed at once (`rowPair`): they share two of their three input
///   rows, so 12 loads serve two vectors instead of 18. Measured in one process, alternating run by run:
///   144@56 0.49 -> 0.41 ms, 32@112 with SiLU 0.67 -> 0.58 ms; MobileNetV2 and EfficientNet-B0 2% faster.
///
/// A row is copied two rows before it is read, so the unaligned loads of it do not wait on the stores
/// that wrote it (a load spanning two stores still in the store buffer cannot be forwarded and stalls).
extension Depthwise {
    /// Zeros before each ring row (column -1 is read for x = 0 with padding 1).
    static let ringMargin = 8
    static let ringSlots = 8

    /// Floats per ring row (E or O at stride 2): margin, the output columns rounded up to whole vectors
    /// (or the row if longer), and a vector for the taps past them; a multiple of 8, so the rows'
    /// stores are aligned (unaligned, the split rows cost 15% more).
    static func ringWidth(_ g: Convolution.Geometry) -> Int {
        ringMargin + (max(g.outW, (g.inW + g.strideW - 1) / g.strideW) + 7) / 8 * 8 + 8
    }

    /// 3x3 at stride 1 or 2 (the same both ways) with at least 32 or 16 output columns, padding 0 or 1
    /// at the top and left, no dilation.
    static func usesRing(_ g: Convolution.Geometry) -> Bool {
        g.kernelH == 3 && g.kernelW == 3 && g.strideH == g.strideW && g.dilationW == 1 && g.dilationH == 1
            && g.padLeft <= 1 && g.padTop <= 1 && (g.strideW == 2 ? g.outW >= 16 : g.strideW == 1 && g.outW >= 32)
    }

    /// Scratch: the ring (both halves of every slot), a zero row, and a vector for a partial last chunk.
    static func ringCount(_ g: Convolution.Geometry) -> Int { (ringSlots + 1) * 2 * ringWidth(g) + 8 }

    /// Zeroes the ring; each plane then rewrites only the columns that hold data, so margins stay zero.
    static func clearRing(_ g: Convolution.Geometry, _ ring: UnsafeMutablePointer<Float>) {
        ring.update(repeating: 0, count: ringCount(g))
    }

    /// One channel: `out` (outH x outW) from `plane` (inH x inW), with the residual (the channel's plane)
    /// applied in registers, and the activation too where it is cheap (`TileActivation.inRegisters`).
    /// The stride and the activation are types, so each pair gets its own loop (one copy per common
    /// activation, as in the GEMM). SiLU and the rarer activations are a pass over the finished plane
    /// while it is in cache: in registers SiLU cost more than the convolution (144@56 0.44 -> 0.34 ms,
    /// 32@112 0.38 -> 0.28 ms with the pass in 16 lanes, 0.39 and 0.31 with it in 8; in one process,
    /// alternating run by run).
    static func ringPlane(_ g: Convolution.Geometry, _ plane: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: Float,
                          _ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?, _ activation: KernelActivation,
                          ring: UnsafeMutablePointer<Float>) {
        if g.strideW == 1 {
            ringPlane(g, plane, w, bias, out, residual, activation, ring, Stride1.self)
        } else {
            ringPlane(g, plane, w, bias, out, residual, activation, ring, Stride2.self)
        }
    }

    static func ringPlane<S: ColumnStride>(_ g: Convolution.Geometry, _ plane: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                           _ bias: Float, _ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                                           _ activation: KernelActivation, _ ring: UnsafeMutablePointer<Float>, _: S.Type) {
        switch activation {
        case .none: ringPlane(g, plane, w, bias, out, residual, ring, S.self, NoActivation())
        case .relu: ringPlane(g, plane, w, bias, out, residual, ring, S.self, ReluActivation())
        case .clip(let lo, let hi):
            ringPlane(g, plane, w, bias, out, residual, ring, S.self, ClipActivation(lo: lo, hi: hi))
        case .hardSwish: ringPlane(g, plane, w, bias, out, residual, ring, S.self, HardSwishActivation())
        default:
            ringPlane(g, plane, w, bias, out, residual, ring, S.self, NoActivation())
            activation.apply(out, g.outH * g.outW)
        }
    }

    static func ringPlane<S: ColumnStride, Act: TileActivation>(_ g: Convolution.Geometry, _ plane: UnsafePointer<Float>,
                                                                _ w: UnsafePointer<Float>, _ bias: Float, _ out: UnsafeMutablePointer<Float>,
                                                                _ residual: UnsafePointer<Float>?, _ ring: UnsafeMutablePointer<Float>,
                                                                _: S.Type, _ act: Act) {
        let (width, stride) = (ringWidth(g), S.step)
        let zeroRow = UnsafePointer(ring + ringSlots * 2 * width + ringMargin)
        let partial = ring + (ringSlots + 1) * 2 * width
        // Input row r in the ring (at stride 2 its E, with O at + width); rows outside the image read the zero row.
        @inline(__always) func slot(_ r: Int) -> UnsafeMutablePointer<Float> {
            let offset: Int = (r & (ringSlots - 1)) &* (2 &* width) &+ ringMargin
            return ring + offset
        }
        @inline(__always) func line(_ r: Int) -> UnsafePointer<Float> { r >= 0 && r < g.inH ? UnsafePointer(slot(r)) : zeroRow }
        // The taps stay in registers.
        let t = (SIMD8<Float>(repeating: w[0]), SIMD8<Float>(repeating: w[1]), SIMD8<Float>(repeating: w[2]),
                 SIMD8<Float>(repeating: w[3]), SIMD8<Float>(repeating: w[4]), SIMD8<Float>(repeating: w[5]),
                 SIMD8<Float>(repeating: w[6]), SIMD8<Float>(repeating: w[7]), SIMD8<Float>(repeating: w[8]))
        let b = SIMD8<Float>(repeating: bias)
        // The three taps of a kernel row read a[x], b[x] and a[x + 2 / stride] for two pointers per row:
        // stride 1: a = row - padLeft, b = a + 1;
        // stride 2, padding 1: a = O - 1 (so a[x] = O[x - 1]), b = E;
        // stride 2, padding 0: a = E, b = O.
        // Constant offsets from two pointers per row keep the loop's pointers in registers.
        let (aOffset, bOffset) = stride == 1 ? (-g.padLeft, 1 - g.padLeft) : g.padLeft == 1 ? (width - 1, 0) : (0, width)
        @inline(__always) func pointers(_ r: UnsafePointer<Float>) -> (UnsafePointer<Float>, UnsafePointer<Float>) {
            (r + aOffset, r + bOffset)
        }
        let third = stride == 1 ? 2 : 1
        @inline(__always) func taps(_ p: (UnsafePointer<Float>, UnsafePointer<Float>), _ x: Int,
                                    _ t0: SIMD8<Float>, _ t1: SIMD8<Float>, _ t2: SIMD8<Float>) -> SIMD8<Float> {
            (t0 * load(p.0 + x)).addingProduct(t1, load(p.1 + x)).addingProduct(t2, load(p.0 + x + third))
        }
        var prepared = 0
        var y = 0
        while y < g.outH {
            let top = stride * y - g.padTop
            // At stride 1, two output rows at once where neither is the plane's last (see `rowPair`).
            let pair = stride == 1 && y + 2 < g.outH
            defer { y += pair ? 2 : 1 }
            // Copy rows up to two past the last these output rows read.
            while prepared < min(g.inH, top + (pair ? 6 : 5)) {
                let source = plane + prepared * g.inW
                if stride == 1 {
                    copyFloats(slot(prepared), from: source, count: g.inW)
                } else {
                    deinterleave(source, g.inW, even: slot(prepared), odd: slot(prepared) + width)
                }
                prepared += 1
            }
            let (r0, r1, r2) = (pointers(line(top)), pointers(line(top + 1)), pointers(line(top + 2)))
            let row = out + y * g.outW
            // One FMA chain per kernel row, so the rows' chains overlap.
            @inline(__always) func outputs(_ x: Int) -> SIMD8<Float> {
                b + taps(r0, x, t.0, t.1, t.2) + taps(r1, x, t.3, t.4, t.5) + taps(r2, x, t.6, t.7, t.8)
            }
            if pair {
                rowPair(g.outW, r0.0, r1.0, r2.0, pointers(line(top + 3)).0, t, b, row, residual.map { $0 + y * g.outW }, act)
                continue
            }
            var x = 0
            if stride == 1 && y + 1 < g.outH {
                // Not the plane's last row: every vector is stored whole, with no test per vector (stride 1
                // alone: 144@56 0.373 -> 0.351 ms, 32@112 0.271 -> 0.259; at stride 2 it was 1-2% slower).
                while x < g.outW {
                    var sum = outputs(x)
                    if let residual { sum += load(residual + y * g.outW + x) }
                    store(row + x, act(sum))
                    x += 8
                }
                continue
            }
            while x < g.outW {
                var sum = outputs(x)
                // A vector past the row's end lands on the next row's start, written later; past the
                // plane's end it would land on another channel's plane (and read past its residual).
                if x + 8 <= g.outW || y + 1 < g.outH {
                    if let residual { sum += load(residual + y * g.outW + x) }
                    store(row + x, act(sum))
                } else {
                    let count = g.outW - x
                    if let residual { for i in 0 ..< count { sum[i] += residual[y * g.outW + x + i] } }
                    store(partial, act(sum))
                    for i in 0 ..< count { row[x + i] = partial[i] }
                }
                x += 8
            }
        }
    }

    /// Output rows y and y + 1 at stride 1 (`out` at row y; neither is the plane's last), from input rows
    /// `r0` to `r3`, each pointing at its column -padLeft: the two rows share their loads of input rows
    /// r1 and r2, 12 loads for two vectors instead of 18. A row's last vector runs past its end into the
    /// next row's start: the last vectors are done first, so those of row y + 1 then overwrite what row
    /// y spilled there (row y + 1's spill lands on a row written later).
    ///
    /// Each load passes through `onyx_opaque8`. Left to itself, LLVM saw that the three loads of a row
    /// overlap (x, x + 1, x + 2) and rebuilt some of them from the others with inserts and shuffles,
    /// which left too few registers for the taps: they were reloaded from the stack, and loaded rows
    /// stored there, in every iteration. Each output is now one chain of FMAs starting from the bias.
    /// Measured in one process, alternating run by run: 144@56 0.373 -> 0.360 ms and 32@112
    /// 0.289 -> 0.274 ms (with the bench's input copy).
    @_transparent
    static func rowPair<Act: TileActivation>(_ width: Int, _ r0: UnsafePointer<Float>, _ r1: UnsafePointer<Float>,
                                             _ r2: UnsafePointer<Float>, _ r3: UnsafePointer<Float>,
                                             _ t: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
                                                   SIMD8<Float>, SIMD8<Float>, SIMD8<Float>),
                                             _ b: SIMD8<Float>, _ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?, _ act: Act) {
        @inline(__always) func three(_ p: UnsafePointer<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
            (onyx_opaque8(load(p)), onyx_opaque8(load(p + 1)), onyx_opaque8(load(p + 2)))
        }
        @inline(__always) func plus(_ sum: SIMD8<Float>, _ v: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>), _ t0: SIMD8<Float>,
                                    _ t1: SIMD8<Float>, _ t2: SIMD8<Float>) -> SIMD8<Float> {
            sum.addingProduct(t0, v.0).addingProduct(t1, v.1).addingProduct(t2, v.2)
        }
        @inline(__always) func vectors(_ x: Int) {
            var upper = plus(b, three(r0 + x), t.0, t.1, t.2)
            let i1 = three(r1 + x)
            upper = plus(upper, i1, t.3, t.4, t.5)
            var lower = plus(b, i1, t.0, t.1, t.2)
            let i2 = three(r2 + x)
            upper = plus(upper, i2, t.6, t.7, t.8)
            lower = plus(lower, i2, t.3, t.4, t.5)
            lower = plus(lower, three(r3 + x), t.6, t.7, t.8)
            if let residual {
                upper += load(residual + x)
                lower += load(residual + width + x)
            }
            store(out + x, act(upper))
            store(out + width + x, act(lower))
        }
        let last = (width - 1) / 8 * 8
        if last + 8 > width { vectors(last) }
        var x = 0
        while x < last { vectors(x); x += 8 }
        if last + 8 == width { vectors(last) }
    }

    /// e[i] = row[2i] for i < (n + 1) / 2 and o[i] = row[2i + 1] for i < n / 2. Sixteen columns at a
    /// time; the last whole block overlaps the previous one rather than going scalar (its values are
    /// the same).
    @inline(__always)
    static func deinterleave(_ row: UnsafePointer<Float>, _ n: Int, even e: UnsafeMutablePointer<Float>, odd o: UnsafeMutablePointer<Float>) {
        @inline(__always) func block(_ i: Int) {
            let v = load16(row + 2 * i)
            store(e + i, v.evenHalf)
            store(o + i, v.oddHalf)
        }
        let blocks = n / 16
        for b in 0 ..< blocks { block(8 * b) }
        var done = 16 * blocks
        if done < n && n >= 16 {
            // A block starting at an even column and ending at or before n.
            block((n - 16) / 2)
            done = (n - 16) / 2 * 2 + 16
        }
        while done < n {
            if done & 1 == 0 { e[done >> 1] = row[done] } else { o[done >> 1] = row[done] }
            done += 1
        }
    }
}
