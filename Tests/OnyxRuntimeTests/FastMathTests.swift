import Foundation
import OnyxKernels
import Testing

/// The vectorised exp and sigmoid that every SiLU, sigmoid, tanh and softmax kernel uses, against
/// double precision: the kernels' accuracy rests on these bounds.
@Suite struct FastMathTests {
    /// Relative error at most 2e-7 over the float range exp does not clamp, and the clamp's values
    /// past it (e^88.7 is finite: 2^n is added to the exponent bits, where it was multiplied before).
    @Test func expIsAccurateToAFewUnitsInTheLastPlace() {
        let worst = Self.worstError(from: -87.3, to: 88.7, step: 0.0137, lanesApart: 0.0013) { lanes in
            let values = FastMath.exp(lanes)
            return (0 ..< 8).filter { lanes[$0] <= 88.7 }.map { abs(Double(values[$0]) / Foundation.exp(Double(lanes[$0])) - 1) }
        }
        #expect(worst <= 2e-7, "worst relative error \(worst)")
        let edges = FastMath.exp(SIMD8(-200, -87.3, 88.7, 200, 0, 1, -1, 0.5))
        #expect(edges[0] == edges[1] && edges[2] == edges[3] && edges[3].isFinite)
        #expect(edges[4] == 1)
    }

    /// The largest error `errors` reports for vectors of eight inputs `lanesApart` apart, starting every
    /// `step` from `from` to `to`.
    static func worstError(from: Float, to: Float, step: Float, lanesApart: Float, _ errors: (SIMD8<Float>) -> [Double]) -> Double {
        var worst = 0.0
        var x = from
        while x <= to {
            worst = max(worst, errors(SIMD8<Float>((0 ..< 8).map { x + Float($0) * lanesApart })).max() ?? 0)
            x += step
        }
        return worst
    }

    /// Absolute error at most 1e-7, saturating to exactly 0 and 1 far out.
    @Test func sigmoidIsAccurateAndSaturates() {
        let worst = Self.worstError(from: -30, to: 30, step: 0.0093, lanesApart: 0.0011) { lanes in
            let values = FastMath.sigmoid(lanes)
            return (0 ..< 8).map { abs(Double(values[$0]) - 1 / (1 + Foundation.exp(-Double(lanes[$0])))) }
        }
        #expect(worst <= 1e-7, "worst absolute error \(worst)")
        let far = FastMath.sigmoid(SIMD8(-100, 100, -1000, 1000, 0, 0, 0, 0))
        #expect(far[0] < 1e-37 && far[1] == 1 && far[2] < 1e-37 && far[3] == 1 && far[4] == 0.5)
    }

    /// The 16-lane versions (one zmm register each with AVX-512) give the 8-lane ones' values, bit for bit.
    @Test func sixteenLanesMatchEight() {
        var x: Float = -95
        while x < 95 {
            let low = SIMD8<Float>((0 ..< 8).map { x + Float($0) * 0.37 }), high = SIMD8<Float>((0 ..< 8).map { -x * 0.5 + Float($0) * 0.11 })
            let both = SIMD16(lowHalf: low, highHalf: high)
            #expect(FastMath.exp(both) == SIMD16(lowHalf: FastMath.exp(low), highHalf: FastMath.exp(high)))
            #expect(FastMath.sigmoid(both) == SIMD16(lowHalf: FastMath.sigmoid(low), highHalf: FastMath.sigmoid(high)))
            x += 2.9
        }
    }
}
