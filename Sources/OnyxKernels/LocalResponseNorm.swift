/// LRN across channels (AlexNet, GoogLeNet): y = x / (bias + alpha / size * sum of x^2 over the channels
/// c - (size - 1) / 2 ... c + size / 2)^beta, eight pixels at a time, the power as e^(-beta ln d).
public struct LocalResponseNorm: Sendable {
    public let size: Int, alpha: Float, beta: Float, bias: Float

    public init(size: Int, alpha: Float, beta: Float, bias: Float) {
        (self.size, self.alpha, self.beta, self.bias) = (size, alpha, beta, bias)
    }

    /// `batch` images of `channels` planes of `plane` floats.
    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, batch: Int, channels: Int, plane: Int, threads: Int) {
        let pool = ThreadPool.shared
        let ranges = pool.pieces(batch * channels, threads: threads)
        let before = (size - 1) / 2, after = size - 1 - before
        let scale = SIMD8<Float>(repeating: alpha / Float(size)), shift = SIMD8<Float>(repeating: bias)
        let power = SIMD8<Float>(repeating: -beta)
        pool.parallelFor(ranges.count) { t in
            for p in ranges[t] {
                let (n, c) = p.quotientAndRemainder(dividingBy: channels)
                let first = max(0, c - before), last = min(channels - 1, c + after)
                let image = x + n * channels * plane
                @inline(__always) func normalised(_ i: Int, _ v: SIMD8<Float>, _ sum: SIMD8<Float>) {
                    let d = shift.addingProduct(scale, sum)
                    store(y + p * plane + i, v * FastMath.exp(power * FastMath.log(d)))
                }
                var i = 0
                while i + 8 <= plane {
                    var sum = SIMD8<Float>()
                    for k in first ... last { let w = load(image + k * plane + i); sum = sum.addingProduct(w, w) }
                    normalised(i, load(x + p * plane + i), sum)
                    i += 8
                }
                if i < plane {
                    // The last few pixels through a vector padded with ones.
                    var sum = SIMD8<Float>(), v = SIMD8<Float>(repeating: 1)
                    for k in first ... last {
                        var w = SIMD8<Float>()
                        for j in 0 ..< plane - i { w[j] = image[k * plane + i + j] }
                        sum = sum.addingProduct(w, w)
                    }
                    for j in 0 ..< plane - i { v[j] = x[p * plane + i + j] }
                    let d = shift.addingProduct(scale, sum)
                    let r = v * FastMath.exp(power * FastMath.log(d))
                    for j in 0 ..< plane - i { y[p * plane + i + j] = r[j] }
                }
            }
        }
    }
}

extension FastMath {
    /// ln(v) for positive normal floats: v = m 2^e with m in [1, 2), ln v = ln m + e ln 2 (`logNear1To2`).
    @inline(__always)
    static func log(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let bits = unsafeBitCast(v, to: SIMD8<Int32>.self)
        let exponent = SIMD8<Float>((bits &>> 23) &- 127)
        let mantissa = unsafeBitCast((bits & 0x007F_FFFF) | 0x3F80_0000, to: SIMD8<Float>.self)
        return logNear1To2(mantissa).addingProduct(exponent, SIMD8(repeating: 0.6931471805599453))
    }
}
