import OnyxIR

/// How far an output is from its reference: `|a - e| <= atol + rtol * |e|` elementwise.
public struct Comparison: Sendable {
    public var maxAbsoluteError: Double
    /// The largest |a - e| / (atol + rtol * |e|): at most 1 when every element passes.
    public var worstRatio: Double
    public var passed: Bool
    public var problem: String?

    public static func compare(_ actual: Tensor, _ expected: Tensor, rtol: Double, atol: Double) -> Comparison {
        guard actual.shape == expected.shape else {
            return Comparison(maxAbsoluteError: .infinity, worstRatio: .infinity, passed: false,
                              problem: "shape \(actual.shape), expected \(expected.shape)")
        }
        guard actual.dtype == expected.dtype else {
            return Comparison(maxAbsoluteError: .infinity, worstRatio: .infinity, passed: false,
                              problem: "type \(actual.dtype), expected \(expected.dtype)")
        }
        if case .string(let a) = actual.storage, case .string(let e) = expected.storage {
            let same = a == e
            return Comparison(maxAbsoluteError: same ? 0 : .infinity, worstRatio: same ? 0 : .infinity, passed: same,
                              problem: same ? nil : "strings differ")
        }
        let a = actual.doubles, e = expected.doubles
        let exact = !actual.dtype.isFloatingPoint
        var maxError = 0.0, worst = 0.0
        for i in 0 ..< a.count {
            if a[i].isNaN || e[i].isNaN {
                if a[i].isNaN != e[i].isNaN { maxError = .infinity; worst = .infinity }
                continue
            }
            if a[i] == e[i] { continue }  // equal infinities included
            let error = Swift.abs(a[i] - e[i])
            maxError = Swift.max(maxError, error)
            worst = Swift.max(worst, exact ? .infinity : error / (atol + rtol * Swift.abs(e[i])))
        }
        return Comparison(maxAbsoluteError: maxError, worstRatio: worst, passed: worst <= 1, problem: nil)
    }
}
