@testable import OnyxKernels
import Testing

/// The transposes the Winograd transforms and the blocked and packed paths share (`Shuffles`), lane by
/// lane, on distinct values so that any misplaced element shows.
@Suite struct ShuffleTests {
    /// Vector v of `vectors(n)` holds 8v, 8v + 1, ..., 8v + 7.
    func vectors(_ n: Int) -> [SIMD8<Float>] {
        (0 ..< n).map { (v: Int) -> SIMD8<Float> in SIMD8<Float>((0 ..< 8).map { (lane: Int) -> Float in Float(8 * v + lane) }) }
    }

    @Test func transpose8PutsElementKOfEachRowInResultK() {
        let r = vectors(8)
        let t = Shuffles.transpose8((r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]))
        let results = [t.0, t.1, t.2, t.3, t.4, t.5, t.6, t.7]
        for k in 0 ..< 8 {
            let expected = SIMD8<Float>((0 ..< 8).map { (row: Int) -> Float in Float(8 * row + k) })
            #expect(results[k] == expected, "result \(k)")
        }
    }

    @Test func interleave4TakesOneLaneOfEachVectorInTurn() {
        let c = vectors(4)
        let y = Shuffles.interleave4((c[0], c[1], c[2], c[3]))
        let flat: [Float] = [y.0, y.1, y.2, y.3].flatMap { v in (0 ..< 8).map { v[$0] } }
        // Float i of the result is lane i / 4 of vector i % 4.
        let expected: [Float] = (0 ..< 32).map { (i: Int) -> Float in Float(8 * (i % 4) + i / 4) }
        #expect(flat == expected)
    }

    @Test func deinterleave4TakesEveryFourthFloatAndUndoesInterleave4() {
        let v = vectors(4)
        let x = Shuffles.deinterleave4((v[0], v[1], v[2], v[3]))
        let results = [x.0, x.1, x.2, x.3]
        for s in 0 ..< 4 {
            let expected = SIMD8<Float>((0 ..< 8).map { (lane: Int) -> Float in Float(4 * lane + s) })
            #expect(results[s] == expected, "result \(s)")
        }
        let back = Shuffles.interleave4(x)
        let roundTrip: [SIMD8<Float>] = [back.0, back.1, back.2, back.3]
        #expect(roundTrip == v)
    }
}
