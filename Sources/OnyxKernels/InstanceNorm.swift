/// InstanceNormalization: each (n, c) plane to y = scale[c] (x - mean) / sqrt(variance + epsilon) +
/// bias[c], the mean and the variance (of the deviations, a second pass, not E[x^2] - mean^2, which
/// cancels badly) summed eight floats at a time, then one multiply-add per float.
public enum InstanceNorm {
    public static func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, scale: [Float], bias: [Float], epsilon: Float,
                           batch: Int, plane: Int) {
        let channels = scale.count
        let pool = ThreadPool.shared
        let ranges = pool.pieces(batch * channels, threads: pool.workers)
        pool.parallelFor(ranges.count) { t in
            for p in ranges[t] {
                let source = x + p * plane, out = y + p * plane
                var i = 0, sums = SIMD8<Float>()
                while i + 8 <= plane { sums += load(source + i); i += 8 }
                var total = sums.sum()
                while i < plane { total += source[i]; i += 1 }
                let mean = total / Float(plane)
                let center = SIMD8<Float>(repeating: mean)
                i = 0
                sums = SIMD8<Float>()
                while i + 8 <= plane { let d = load(source + i) - center; sums = sums.addingProduct(d, d); i += 8 }
                var squares = sums.sum()
                while i < plane { let d = source[i] - mean; squares += d * d; i += 1 }
                let a = scale[p % channels] / (squares / Float(plane) + epsilon).squareRoot()
                let b = bias[p % channels] - mean * a
                let (av, bv) = (SIMD8<Float>(repeating: a), SIMD8<Float>(repeating: b))
                i = 0
                while i + 8 <= plane { store(out + i, bv.addingProduct(load(source + i), av)); i += 8 }
                while i < plane { out[i] = b + source[i] * a; i += 1 }
            }
        }
    }
}
