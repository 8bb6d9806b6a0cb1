import CPUHints

/// Elementwise functions of one tensor that are not fused activations (`KernelActivation` holds those):
/// the arithmetic and exponential families CNN graphs also carry, eight floats at a time.
public enum UnaryKernel: Sendable, Equatable {
    case sqrt, abs, neg, reciprocal, exp, log, sign
    /// Rounding down, up, and to the nearest with ties to even.
    case floor, ceil, round
    /// The error function (GELU's exact form, x (1 + erf(x / sqrt 2)) / 2).
    case erf
    /// x^2 and x^3: Pow by those constant exponents (SSD's L2 norm squares).
    case square, cube
    /// x if x >= 0, else alpha (e^x - 1)
    case elu(Float)
    /// gamma (x if x > 0, else alpha (e^x - 1))
    case selu(Float, Float)
    /// max(0, x) + min(0, alpha (e^(x / alpha) - 1))
    case celu(Float)
    /// ln(1 + e^x)
    case softplus
    /// x / (1 + |x|)
    case softsign
    /// x tanh(ln(1 + e^x))
    case mish
    /// x^e for a constant e: e^(e ln|x|), signed for odd integer e, NaN for negative x and fractional e.
    case power(Float)

    /// y = f(x) over `count` floats (y may be x).
    public func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        // One loop per function (the switch outside it), so each inlines its vector code.
        @inline(__always) func loop(_ f: (SIMD8<Float>) -> SIMD8<Float>) {
            while i + 8 <= count { store(y + i, f(load(x + i))); i += 8 }
        }
        switch self {
        case .sqrt: loop { onyx_sqrt8($0) }
        case .abs: loop { UnaryKernel.abs.vector($0) }
        case .neg: loop { -$0 }
        case .reciprocal: loop { 1 / $0 }
        case .exp: loop { Self.exp($0) }
        case .log: loop { Self.log($0) }
        case .sign: loop { UnaryKernel.sign.vector($0) }
        case .floor: loop { $0.rounded(.down) }
        case .ceil: loop { $0.rounded(.up) }
        case .round: loop { $0.rounded(.toNearestOrEven) }
        case .erf: loop { Self.erf($0) }
        case .square: loop { $0 * $0 }
        case .cube: loop { $0 * $0 * $0 }
        case .elu(let alpha): loop { UnaryKernel.elu(alpha).vector($0) }
        case .selu(let alpha, let gamma): loop { UnaryKernel.selu(alpha, gamma).vector($0) }
        case .celu(let alpha): loop { UnaryKernel.celu(alpha).vector($0) }
        case .softplus: loop { Self.softplus($0) }
        case .softsign: loop { UnaryKernel.softsign.vector($0) }
        case .mish: loop { Self.mish($0) }
        case .power(let e):
            let power = Power(e)
            loop { power($0) }
        }
        let rest = count - i
        if rest > 0 {
            var tail = SIMD8<Float>(repeating: 1)
            for k in 0 ..< rest { tail[k] = x[i + k] }
            tail = vector(tail)
            for k in 0 ..< rest { y[i + k] = tail[k] }
        }
    }

    @inline(__always) @usableFromInline
    func vector(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let zero = SIMD8<Float>(repeating: 0)
        switch self {
        case .sqrt: return onyx_sqrt8(x)
        case .abs: return unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
        case .neg: return -x
        case .square: return x * x
        case .cube: return x * x * x
        case .reciprocal: return 1 / x
        case .exp: return Self.exp(x)
        case .log: return Self.log(x)
        case .sign:
            // 1, -1, 0 (keeping zero's sign) or NaN: x's sign bit on 1 where x != 0.
            return x.replacing(with: Self.withSign(SIMD8(repeating: 1), of: x), where: x .!= zero)
        case .floor: return x.rounded(.down)
        case .ceil: return x.rounded(.up)
        case .round: return x.rounded(.toNearestOrEven)
        case .erf: return Self.erf(x)
        case .elu(let alpha): return vmax(x, zero) + alpha * (FastMath.exp(vmin(x, zero)) - 1)
        case .selu(let alpha, let gamma): return gamma * (vmax(x, zero) + alpha * (FastMath.exp(vmin(x, zero)) - 1))
        case .celu(let alpha): return vmax(x, zero) + vmin(zero, alpha * (FastMath.exp(x / alpha) - 1))
        case .softplus: return Self.softplus(x)
        case .softsign: return x / (1 + UnaryKernel.abs.vector(x))
        case .mish: return Self.mish(x)
        case .power(let e): return Power(e)(x)
        }
    }

    /// e^x, infinite past the largest float's logarithm (`FastMath.exp` clamps its argument there).
    @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        FastMath.exp(x).replacing(with: .infinity, where: x .> 88.72284)
    }

    /// ln x with IEEE's special values: -inf at 0, NaN below it, inf at inf. Subnormals are scaled by
    /// 2^23 into normal floats first (`FastMath.log` reads the exponent bits).
    @inline(__always)
    static func log(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let tiny = x .< Float.leastNormalMagnitude
        let shift = SIMD8<Float>(repeating: 0).replacing(with: 23 * 0.6931471805599453, where: tiny)
        var r = FastMath.log(x.replacing(with: x * 8_388_608, where: tiny)) - shift
        r.replace(with: -.infinity, where: x .== 0)
        r.replace(with: .infinity, where: x .== .infinity)
        r.replace(with: .nan, where: x .< 0 .| x .!= x)
        return r
    }

    /// x^e = e^(e ln|x|), with the sign and the special values of C's pow: x^0 = 1 (even NaN^0), 0^e = 0
    /// for e > 0 and inf for e < 0, (-inf)^e = inf for e > 0 and 0 for e < 0 (each signed by x when e is
    /// an odd integer), NaN for a finite negative x and a fractional e; results past float's range are
    /// inf or 0. What depends on e alone is worked out once, not per vector.
    struct Power {
        let e: Float, isInteger: Bool, isOdd: Bool

        init(_ e: Float) {
            self.e = e
            isInteger = e.rounded() == e
            isOdd = isInteger && Swift.abs(e.truncatingRemainder(dividingBy: 2)) == 1
        }

        @inline(__always)
        func callAsFunction(_ x: SIMD8<Float>) -> SIMD8<Float> {
            if e == 0 { return SIMD8(repeating: 1) }
            if e == 0.5 {
                // A square root, but pow's: +0 at -0 (adding +0 clears the sign) and inf at -inf.
                return (onyx_sqrt8(x) + 0).replacing(with: .infinity, where: x .== -.infinity)
            }
            let magnitude = UnaryKernel.abs.vector(x)
            let exponent = UnaryKernel.log(magnitude) * e
            var r = FastMath.exp(exponent)
            r.replace(with: .infinity, where: exponent .> 88.72284)
            r.replace(with: 0, where: exponent .< -87.3)
            // 0 and infinity, which the logarithm above does not cover.
            r.replace(with: e > 0 ? 0 : .infinity, where: magnitude .== 0)
            r.replace(with: e > 0 ? .infinity : 0, where: magnitude .== .infinity)
            if isOdd {
                r = UnaryKernel.withSign(r, of: x)
            } else if !isInteger {
                r.replace(with: .nan, where: x .< 0 .& (x .!= -.infinity))
            }
            r.replace(with: .nan, where: x .!= x)
            return r
        }
    }

    /// `magnitude` (non-negative or zero-signed) with the sign bit of `x`.
    @inline(__always)
    static func withSign(_ magnitude: SIMD8<Float>, of x: SIMD8<Float>) -> SIMD8<Float> {
        let sign = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
        return unsafeBitCast(unsafeBitCast(magnitude, to: SIMD8<UInt32>.self) | sign, to: SIMD8<Float>.self)
    }

    /// erf x: below |x| = 0.5 its Maclaurin series, 2/sqrt(pi) (x - x^3/3 + x^5/10 - x^7/42 + x^9/216
    /// - x^11/1320) (next term under 2e-8); above, Abramowitz and Stegun's 7.1.26,
    /// 1 - (a1 t + ... + a5 t^5) e^(-x^2) with t = 1 / (1 + p|x|) (absolute error under 1.5e-7), signed.
    @inline(__always)
    static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let a = UnaryKernel.abs.vector(x), x2 = x * x
        var series = SIMD8<Float>(repeating: -1.0 / 1320)
        for c: Float in [1.0 / 216, -1.0 / 42, 1.0 / 10, -1.0 / 3, 1] { series = SIMD8(repeating: c).addingProduct(series, x2) }
        series *= x * 1.1283791670955126
        let t = 1 / SIMD8<Float>(repeating: 1).addingProduct(a, SIMD8(repeating: 0.3275911))
        var p = SIMD8<Float>(repeating: 1.061405429)
        for c: Float in [-1.453152027, 1.421413741, -0.284496736, 0.254829592] { p = SIMD8(repeating: c).addingProduct(p, t) }
        let tail = 1 - p * t * FastMath.exp(-vmin(x2, SIMD8(repeating: 88)))
        return series.replacing(with: withSign(tail, of: x), where: a .>= 0.5)
    }

    /// x tanh(ln(1 + e^x)) = x n / (n + 2) with n = e^x (e^x + 2), since tanh(ln u) = (u^2 - 1) / (u^2 + 1)
    /// and u = 1 + e^x. Past x = 20 the fraction is 1 in float32, and e^x is capped there so n stays finite.
    @inline(__always) @usableFromInline
    static func mish(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let e = FastMath.exp(vmin(x, SIMD8(repeating: 20)))
        let n = e * (e + 2)
        return x * n / (n + 2)
    }

    /// ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|): the logarithm's argument stays in (1, 2].
    @inline(__always) @usableFromInline
    static func softplus(_ x: SIMD8<Float>) -> SIMD8<Float> {
        vmax(x, SIMD8(repeating: 0)) + FastMath.logNear1To2(1 + FastMath.exp(-UnaryKernel.abs.vector(x)))
    }
}

extension FastMath {
    /// ln(v) for v in [1, 2]: v = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(t) with
    /// t = (m - 1) / (m + 1), |t| <= 0.1716, by its series to t^11 (next term below 1e-10 relative).
    @inline(__always)
    static func logNear1To2(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let halve = v .> 1.41421356
        let m = v.replacing(with: v * 0.5, where: halve)
        let e = SIMD8<Float>(repeating: 0).replacing(with: 1, where: halve)
        let t = (m - 1) / (m + 1), t2 = t * t
        var p = SIMD8<Float>(repeating: 2.0 / 11)
        p = SIMD8(repeating: 2.0 / 9).addingProduct(p, t2)
        p = SIMD8(repeating: 2.0 / 7).addingProduct(p, t2)
        p = SIMD8(repeating: 2.0 / 5).addingProduct(p, t2)
        p = SIMD8(repeating: 2.0 / 3).addingProduct(p, t2)
        p = SIMD8(repeating: 2).addingProduct(p, t2)
        return (p * t).addingProduct(e, SIMD8(repeating: 0.6931471805599453))
    }
}
