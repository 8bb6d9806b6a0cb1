import CPUHints

/// The two-input shuffles of AVX's transposes, as element picks LLVM turns into single unpack, shuffle
/// and 128-bit permute instructions, and the transposes built of them.
///
/// Each round's results pass through `onyx_opaque8`. Left to itself, LLVM merges the rounds into
/// one shuffle per output element (or narrows the arithmetic that fed them to the lanes each store
/// uses) and lowers that into long chains of inserts and blends: Winograd F(4x4)'s output transform
/// had some 180 shuffles and 200 128-bit operations for its 16 stores, the 8x8 transpose of a packed
/// B panel 132 shuffles for two transposes.
enum Shuffles {
    /// (a0, b0, a1, b1 | a4, b4, a5, b5): vunpcklps.
    @inline(__always) static func pairsLow(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5])
    }
    /// (a2, b2, a3, b3 | a6, b6, a7, b7): vunpckhps.
    @inline(__always) static func pairsHigh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7])
    }
    /// (a0, a1, b0, b1 | a4, a5, b4, b5): vunpcklpd (or vshufps).
    @inline(__always) static func quadsLow(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5])
    }
    /// (a2, a3, b2, b3 | a6, a7, b6, b7): vunpckhpd.
    @inline(__always) static func quadsHigh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7])
    }
    /// The low 128-bit halves of a and b: vinsertf128 or vperm2f128.
    @inline(__always) static func lows(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { SIMD8(lowHalf: a.lowHalf, highHalf: b.lowHalf) }
    /// The high 128-bit halves of a and b: vperm2f128.
    @inline(__always) static func highs(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { SIMD8(lowHalf: a.highHalf, highHalf: b.highHalf) }

    typealias Four = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
    typealias Eight = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    /// Rows r.0 ..< r.7 transposed: result k holds element k of each row (24 shuffles).
    @inline(__always) static func transpose8(_ r: Eight) -> Eight {
        let o = onyx_opaque8
        let t = (o(pairsLow(r.0, r.1)), o(pairsHigh(r.0, r.1)), o(pairsLow(r.2, r.3)), o(pairsHigh(r.2, r.3)),
                 o(pairsLow(r.4, r.5)), o(pairsHigh(r.4, r.5)), o(pairsLow(r.6, r.7)), o(pairsHigh(r.6, r.7)))
        let u = (o(quadsLow(t.0, t.2)), o(quadsHigh(t.0, t.2)), o(quadsLow(t.1, t.3)), o(quadsHigh(t.1, t.3)),
                 o(quadsLow(t.4, t.6)), o(quadsHigh(t.4, t.6)), o(quadsLow(t.5, t.7)), o(quadsHigh(t.5, t.7)))
        return (lows(u.0, u.4), lows(u.1, u.5), lows(u.2, u.6), lows(u.3, u.7), highs(u.0, u.4), highs(u.1, u.5), highs(u.2, u.6), highs(u.3, u.7))
    }

    /// Four vectors interleaved element by element: (c0[0], c1[0], c2[0], c3[0], c0[1], ...), 32 floats
    /// as four vectors (12 shuffles). Lane k of c0 ..< c3 is one 4-wide group of the result.
    @inline(__always) static func interleave4(_ c: Four) -> Four {
        let o = onyx_opaque8
        let (c0, c1, c2, c3) = (o(c.0), o(c.1), o(c.2), o(c.3))
        let t = (o(pairsLow(c0, c1)), o(pairsHigh(c0, c1)), o(pairsLow(c2, c3)), o(pairsHigh(c2, c3)))
        // u.0: groups 0 | 4, u.1: 1 | 5, u.2: 2 | 6, u.3: 3 | 7.
        let u = (o(quadsLow(t.0, t.2)), o(quadsHigh(t.0, t.2)), o(quadsLow(t.1, t.3)), o(quadsHigh(t.1, t.3)))
        return (lows(u.0, u.1), lows(u.2, u.3), highs(u.0, u.1), highs(u.2, u.3))
    }

    /// `interleave4` undone: from 32 floats in four vectors, every fourth float, starting at 0, 1, 2 and
    /// 3 (12 shuffles).
    @inline(__always) static func deinterleave4(_ v: Four) -> Four {
        let o = onyx_opaque8
        // a.0: groups 0 | 4, a.1: 1 | 5, a.2: 2 | 6, a.3: 3 | 7; then a 4x4 transpose in each half.
        let a = (o(lows(v.0, v.2)), o(highs(v.0, v.2)), o(lows(v.1, v.3)), o(highs(v.1, v.3)))
        let t = (o(pairsLow(a.0, a.1)), o(pairsHigh(a.0, a.1)), o(pairsLow(a.2, a.3)), o(pairsHigh(a.2, a.3)))
        return (quadsLow(t.0, t.2), quadsHigh(t.0, t.2), quadsLow(t.1, t.3), quadsHigh(t.1, t.3))
    }
}
