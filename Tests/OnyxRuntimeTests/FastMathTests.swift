import Foundation
import OnyxKernels
import Testing

/// The vectorised exp and sigmoid that every SiLU, sigmoid, tanh and softmax kernel uses, against
/// double precision: the kernels' accuracy rests on these bounds.
@Suite struct FastMathTests {
    /// Relative error at most 2e-7 over the float range exp does not clamp, and the clamp's values
    /// past it (e^88.7 is finite: 2^n is added to the exponent bits, where it was multiplied before).
    @Test func expIsAccurateToAFewUnitsInTheLastPlace() {
        var worst = 0.0
        var x: Float = -87.3
        while x <= 88.7 {
            let lanes = SIMD8<Float>((0 ..< 8).map { x + Float($0) * 0.0013 })
            let values = FastMath.exp(lanes)
            for lane in 0 ..< 8 where lanes[lane] <= 88.7 {
                worst = max(worst, abs(Double(values[lane]) / Foundation.exp(Double(lanes[lane])) - 1))
            }
            x += 0.0137
        }
        #expect(worst <= 2e-7, "worst relative error \(worst)")
        let edges = FastMath.exp(SIMD8(-200, -87.3, 88.7, 200, 0, 1, -1, 0.5))
        #expect(edges[0] == edges[1] && edges[2] == edges[3] && edges[3].isFinite)
        #expect(edges[4] == 1)
    }

    /// Absolute error at most 1e-7, saturating to exactly 0 and 1 far out.
    @Test func sigmoidIsAccurateAndSaturates() {
        var worst = 0.0
        var x: Float = -30
        while x <= 30 {
            let lanes = SIMD8<Float>((0 ..< 8).map { x + Float($0) * 0.0011 })
            let values = FastMath.sigmoid(lanes)
            for lane in 0 ..< 8 { worst = max(worst, abs(Double(values[lane]) - 1 / (1 + Foundation.exp(-Double(lanes[lane]))))) }
            x += 0.0093
        }
        #expect(worst <= 1e-7, "worst absolute error \(worst)")
        let far = FastMath.sigmoid(SIMD8(-100, 100, -1000, 1000, 0, 0, 0, 0))
        #expect(far[0] < 1e-37 && far[1] == 1 && far[2] < 1e-37 && far[3] == 1 && far[4] == 0.5)
    }
}
