/// Activations a kernel applies in its epilogue. A value, mirrored from the IR's `Activation`.
public enum KernelActivation: Sendable, Equatable {
    case none
    case relu
    case clip(Float, Float)
    case leakyRelu(Float)
    /// max(0, min(1, alpha * x + beta))
    case hardSigmoid(Float, Float)
    /// x * max(0, min(1, x / 6 + 1/2))
    case hardSwish
    case sigmoid
    /// x * sigmoid(x)
    case silu
    case tanh
    /// The exponential family (`UnaryKernel` computes them): x if x >= 0, else alpha (e^x - 1); gamma
    /// times that (SELU); max(0, x) + min(0, alpha (e^(x / alpha) - 1)) (CELU); ln(1 + e^x).
    case elu(Float)
    case selu(Float, Float)
    case celu(Float)
    case softplus
    /// x if x > alpha, else 0
    case thresholdedRelu(Float)
    /// x tanh(ln(1 + e^x)) (YOLOv4)
    case mish

    /// Applies the activation to `count` floats in place, eight at a time; the last partial group goes
    /// through a small buffer as one more vector (a scalar transcendental per element would cost a whole
    /// vector each).
    @inlinable
    public func apply(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        // One loop per activation, so each inlines its vector code.
        switch self {
        case .none: return
        case .relu: while i + 8 <= count { store(p + i, vmax(load(p + i), SIMD8(repeating: 0))); i += 8 }
        // 16 lanes where they are single instructions (AVX-512): the sigmoid's division and exp are a
        // quarter faster per float there (see `FastMath.sigmoid`).
        case .silu:
            if SGEMM.wideTiles {
                while i + 16 <= count { let x = load16(p + i); store16(p + i, x * FastMath.sigmoid(x)); i += 16 }
            }
            while i + 8 <= count { let x = load(p + i); store(p + i, x * FastMath.sigmoid(x)); i += 8 }
        case .sigmoid:
            if SGEMM.wideTiles {
                while i + 16 <= count { store16(p + i, FastMath.sigmoid(load16(p + i))); i += 16 }
            }
            while i + 8 <= count { store(p + i, FastMath.sigmoid(load(p + i))); i += 8 }
        case .hardSwish: while i + 8 <= count { let x = load(p + i); store(p + i, x * Self.unitClamp(x * (1.0 / 6) + 0.5)); i += 8 }
        case .clip(let lo, let hi):
            let (l, h) = (SIMD8<Float>(repeating: lo), SIMD8<Float>(repeating: hi))
            while i + 8 <= count { store(p + i, vmin(vmax(load(p + i), l), h)); i += 8 }
        case .hardSigmoid(let a, let b):
            let (av, bv) = (SIMD8<Float>(repeating: a), SIMD8<Float>(repeating: b))
            while i + 8 <= count { store(p + i, Self.unitClamp(bv.addingProduct(load(p + i), av))); i += 8 }
        // The rest (leaky ReLU, tanh) go through `vector`, which the compiler keeps out of line.
        default: while i + 8 <= count { store(p + i, vector(load(p + i))); i += 8 }
        }
        let rest = count - i
        if rest > 0 {
            var tail = SIMD8<Float>()
            for k in 0 ..< rest { tail[k] = p[i + k] }
            tail = vector(tail)
            for k in 0 ..< rest { p[i + k] = tail[k] }
        }
    }

    @inlinable @inline(__always)
    public func vector(_ x: SIMD8<Float>) -> SIMD8<Float> {
        switch self {
        case .none: return x
        case .relu: return vmax(x, SIMD8(repeating: 0))
        case .clip(let lo, let hi): return vmin(vmax(x, SIMD8(repeating: lo)), SIMD8(repeating: hi))
        case .leakyRelu(let a): return x.replacing(with: x * a, where: x .< 0)
        case .hardSigmoid(let a, let b): return Self.unitClamp(x * a + b)
        case .hardSwish: return x * Self.unitClamp(x * (1.0 / 6) + 0.5)
        case .sigmoid: return FastMath.sigmoid(x)
        case .silu: return x * FastMath.sigmoid(x)
        case .tanh: return FastMath.sigmoid(x * 2) * 2 - 1
        case .elu(let alpha): return UnaryKernel.elu(alpha).vector(x)
        case .selu(let alpha, let gamma): return UnaryKernel.selu(alpha, gamma).vector(x)
        case .celu(let alpha): return UnaryKernel.celu(alpha).vector(x)
        case .softplus: return UnaryKernel.softplus(x)
        case .thresholdedRelu(let alpha): return x.replacing(with: 0, where: x .<= alpha)
        case .mish: return UnaryKernel.mish(x)
        }
    }

    @inlinable
    public func scalar(_ x: Float) -> Float {
        switch self {
        case .none: return x
        case .relu: return max(x, 0)
        case .clip(let lo, let hi): return min(max(x, lo), hi)
        case .leakyRelu(let a): return x >= 0 ? x : a * x
        case .hardSigmoid(let a, let b): return max(0, min(1, a * x + b))
        case .hardSwish: return x * max(0, min(1, x / 6 + 0.5))
        case .sigmoid: return FastMath.sigmoid(x)
        case .silu: return x * FastMath.sigmoid(x)
        case .tanh: return 2 * FastMath.sigmoid(2 * x) - 1
        default: return vector(SIMD8(repeating: x))[0]
        }
    }

    @inlinable @inline(__always) static func unitClamp(_ v: SIMD8<Float>) -> SIMD8<Float> {
        vmin(vmax(v, SIMD8(repeating: 0)), SIMD8(repeating: 1))
    }
}

@inlinable @inline(__always)
func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
@inlinable @inline(__always)
func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
@inlinable @inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }
@inlinable @inline(__always)
func load16(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }
@inlinable @inline(__always)
func store(_ p: UnsafeMutablePointer<Float>, _ v: SIMD8<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self) }
@inlinable @inline(__always)
func store16(_ p: UnsafeMutablePointer<Float>, _ v: SIMD16<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self) }

/// Vectorised transcendental functions accurate to a few ulp in float32.
public enum FastMath {
    /// e^x: x = n ln2 + r with |r| <= ln2/2, e^r by a degree-5 polynomial in fused multiply-adds
    /// (`p * r + c` is never fused by the compiler; `addingProduct` is), 2^n added to its exponent bits.
    /// The coefficients are fitted for relative error on that interval (at most 1.9e-7 over the float
    /// range, measured against double precision; the Taylor polynomial of degree 6 used before: 2.5e-7).
    /// SiLU layers are bound by the FMA ports, and this takes two of the eleven SiLU had there.
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> { exponential(x) }

    /// e^x on 16 lanes: with AVX-512, one zmm instruction per step (see `sigmoid`).
    @_transparent
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> { exponential(x) }

    @inlinable @inline(__always)
    public static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(repeating: 1) / (exp(-x) + 1)
    }

    /// The sigmoid on 16 lanes. Its division is what a SiLU pass waits on (perf puts the samples on the
    /// instruction after `vdivps`); on Zen 4 a zmm division and the zmm steps of `exp` take 0.13 ms for
    /// 144x56x56 floats where the ymm code takes 0.18 (in one process, alternating run by run; a Newton
    /// reciprocal instead of the division was slower both ways, the FMA ports being nearly as busy).
    @_transparent
    public static func sigmoid(_ x: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(repeating: 1) / (exp(-x) + 1)
    }

    /// The body of both `exp`s, specialised by them: written for any width so the steps stay one copy.
    @_transparent @usableFromInline
    static func exponential<V: SIMD>(_ x: V) -> V where V.Scalar == Float, V.MaskStorage.Scalar == Int32 {
        let clamped = vmin(vmax(x, V(repeating: -87.3)), V(repeating: 88.7))
        // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer in float arithmetic; the sum's
        // low mantissa bits then hold that integer. (SIMD `rounded` and Int conversions go lane by lane.)
        let shifter = V(repeating: 12582912)
        let shifted = shifter.addingProduct(clamped, V(repeating: 1.44269504088896341))
        let n = shifted - shifter
        // r = x - n ln2, in two parts for precision (Cody-Waite).
        var r = clamped.addingProduct(n, V(repeating: -0.693145751953125))
        r = r.addingProduct(n, V(repeating: -1.428606765330187045e-06))
        var p = V(repeating: 0.04189793020486832).addingProduct(V(repeating: 0.008290313184261322), r)
        p = V(repeating: 0.1666763573884964).addingProduct(p, r)
        p = V(repeating: 0.4999915063381195).addingProduct(p, r)
        p = V(repeating: 0.9999997019767761).addingProduct(p, r)
        p = V(repeating: 1).addingProduct(p, r)
        // p is in [0.7, 1.42] and n in [-126, 128], so the sum stays a normal float's exponent.
        typealias Bits = V.MaskStorage
        let exponent = (unsafeBitCast(shifted, to: Bits.self) &- Bits(repeating: 0x4B40_0000)) &<< Bits(repeating: 23)
        return unsafeBitCast(unsafeBitCast(p, to: Bits.self) &+ exponent, to: V.self)
    }

    @inlinable
    public static func sigmoid(_ x: Float) -> Float { 1 / (1 + _exp(-x)) }

    @inlinable static func _exp(_ x: Float) -> Float { exp(SIMD8(repeating: x))[0] }
}

/// Lane-wise max and min (a NaN in `a` is kept, one in `b` ignored). The standard library's
/// `pointwiseMax`/`pointwiseMin` on floating-point SIMD types are not vectorised (perf showed them as
/// out-of-line generic calls), and `replacing(with:where:)` became vmaxps alone but, in a clamp
/// (max then min) or a chain, a compare, a mask rebuilt lane by lane and a blend. Written per lane, the
/// select is recognised as vmaxps/vminps in every context tried.
@inlinable @inline(__always)
func vmax<V: SIMD>(_ a: V, _ b: V) -> V where V.Scalar == Float {
    var r = a
    for i in 0 ..< V.scalarCount { r[i] = b[i] > a[i] ? b[i] : a[i] }
    return r
}
@inlinable @inline(__always)
func vmin<V: SIMD>(_ a: V, _ b: V) -> V where V.Scalar == Float {
    var r = a
    for i in 0 ..< V.scalarCount { r[i] = b[i] < a[i] ? b[i] : a[i] }
    return r
}

/// Copies `count` floats (`to` and `from` apart) in vectors, inline: the rows of padded planes and ring
/// slots, tens of floats each, which `update(from:count:)` hands to memmove, a call per row that cost
/// more than the copy. From eight floats on, the last vector overlaps the one before it.
@inlinable @inline(__always)
func copyFloats(_ to: UnsafeMutablePointer<Float>, from: UnsafePointer<Float>, count: Int) {
    guard count >= 8 else {
        for i in 0 ..< count { to[i] = from[i] }
        return
    }
    var i = 0
    while i + 8 <= count {
        store(to + i, load(from + i))
        i += 8
    }
    if i < count { store(to + count - 8, load(from + count - 8)) }
}
