/// Depthwise 3x3 at stride 2 on planes of 16 or more output columns (MobileNetV2's 96@112 and 144@56,
/// MobileNetV3's 64@112, EfficientNet's 96@112), one channel plane at a time.
///
/// With padding 1, output column x reads input columns 2x - 1, 2x and 2x + 1. Split once into its odd
/// and even columns, O[i] = row[2i + 1] and E[i] = row[2i], an input row serves all three taps with
/// plain loads: O[x - 1], E[x], O[x] (with padding 0, as TensorFlow's SAME pads: E[x], O[x], E[x + 1]). Deinterleaving per tap (the general path) costs two shuffles per
/// tap and eight outputs; here each input row is split once, for the two output rows that read it.
/// 96@112 went from 275 µs to 236 µs, 64@112 from 184 µs to 160 µs. (A 5x5 kernel this way was
/// slower than the blocked path: 25 taps do not fit in registers.)
///
/// The split rows live in a ring of eight slots, in L1. A row is split two rows before it is read, so
/// the unaligned loads of O[x - 1] do not wait on the stores that wrote it (a load spanning two stores
/// still in the store buffer cannot be forwarded and stalls). Each split row has zero margins, so
/// columns outside the row read zeros and there are no scalar edges.
extension Depthwise {
    /// Zeros before each split row (O[-1] is read for x = 0 with padding 1).
    static let ringMargin = 8
    static let ringSlots = 8

    /// Floats per split row (E or O) in the ring: margin, the output columns rounded up to whole
    /// vectors, and room past them.
    static func ringWidth(_ g: Convolution.Geometry) -> Int {
        ringMargin + max((g.outW + 7) / 8 * 8, (g.inW + 1) / 2) + 8
    }

    /// 3x3, stride 2 both ways, padding 0 or 1 at the top and left, no dilation, at least 16 output columns.
    static func usesStrideTwoRing(_ g: Convolution.Geometry) -> Bool {
        g.kernelH == 3 && g.kernelW == 3 && g.strideW == 2 && g.strideH == 2 && g.dilationW == 1 && g.dilationH == 1
            && g.padLeft <= 1 && g.padTop <= 1 && g.outW >= 16
    }

    /// Scratch: the ring (both halves of every slot), a zero row, and a vector for a partial last chunk.
    static func strideTwoRingCount(_ g: Convolution.Geometry) -> Int { (ringSlots + 1) * 2 * ringWidth(g) + 8 }

    /// Zeroes the ring; each plane then rewrites only the columns that hold data, so margins stay zero.
    static func clearRing(_ g: Convolution.Geometry, _ ring: UnsafeMutablePointer<Float>) {
        ring.update(repeating: 0, count: strideTwoRingCount(g))
    }

    /// One channel: `out` (outH x outW) from `plane` (inH x inW), before the residual and activation.
    static func strideTwoPlane(_ g: Convolution.Geometry, _ plane: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                               _ bias: Float, _ out: UnsafeMutablePointer<Float>, ring: UnsafeMutablePointer<Float>) {
        let width = ringWidth(g)
        let zeroRow = UnsafePointer(ring + ringSlots * 2 * width + ringMargin)
        let partial = ring + (ringSlots + 1) * 2 * width
        // E of input row r, with O at + width; rows outside the image read the zero row.
        @inline(__always) func slot(_ r: Int) -> UnsafeMutablePointer<Float> {
            let offset: Int = (r & (ringSlots - 1)) &* (2 &* width) &+ ringMargin
            return ring + offset
        }
        @inline(__always) func split(_ r: Int) -> UnsafePointer<Float> { r >= 0 && r < g.inH ? UnsafePointer(slot(r)) : zeroRow }
        // The taps stay in registers.
        let t = (SIMD8<Float>(repeating: w[0]), SIMD8<Float>(repeating: w[1]), SIMD8<Float>(repeating: w[2]),
                 SIMD8<Float>(repeating: w[3]), SIMD8<Float>(repeating: w[4]), SIMD8<Float>(repeating: w[5]),
                 SIMD8<Float>(repeating: w[6]), SIMD8<Float>(repeating: w[7]), SIMD8<Float>(repeating: w[8]))
        let b = SIMD8<Float>(repeating: bias)
        // Where the taps of a kernel row read, from E[x]: O[x - 1], E[x], O[x] or E[x], O[x], E[x + 1].
        let offsets = g.padLeft == 1 ? (width - 1, 0, width) : (0, width, 1)
        @inline(__always) func taps(_ e: UnsafePointer<Float>, _ t0: SIMD8<Float>, _ t1: SIMD8<Float>, _ t2: SIMD8<Float>) -> SIMD8<Float> {
            (t0 * load(e + offsets.0)).addingProduct(t1, load(e + offsets.1)).addingProduct(t2, load(e + offsets.2))
        }
        var prepared = 0
        for y in 0 ..< g.outH {
            let top = 2 * y - g.padTop
            // Split rows up to two past the last this output row reads.
            while prepared < min(g.inH, top + 5) {
                deinterleave(plane + prepared * g.inW, g.inW, into: slot(prepared), width)
                prepared += 1
            }
            let (r0, r1, r2) = (split(top), split(top + 1), split(top + 2))
            let row = out + y * g.outW
            var x = 0
            while x < g.outW {
                // One FMA chain per kernel row, so the rows' chains overlap.
                let sum = b + taps(r0 + x, t.0, t.1, t.2) + taps(r1 + x, t.3, t.4, t.5) + taps(r2 + x, t.6, t.7, t.8)
                if x + 8 <= g.outW {
                    store(row + x, sum)
                } else {
                    store(partial, sum)
                    (row + x).update(from: partial, count: g.outW - x)
                }
                x += 8
            }
        }
    }

    /// E[i] = row[2i] for i < (n + 1) / 2 and O[i] = row[2i + 1] for i < n / 2, with O at e + width.
    /// Sixteen columns at a time; the last whole block overlaps the previous one rather than going
    /// scalar (its values are the same).
    @inline(__always)
    static func deinterleave(_ row: UnsafePointer<Float>, _ n: Int, into e: UnsafeMutablePointer<Float>, _ width: Int) {
        let o = e + width
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
