/// Softmax over contiguous rows (a classifier's scores, SSD's per-box class scores): y = exp(x - max) /
/// sum, with `FastMath.exp` eight lanes at a time (relative error at most 2e-7) and a row's last few
/// floats through one more vector.
public enum Softmax {
    /// Rows `rows` of `length` floats each, x into y.
    public static func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Range<Int>, length: Int) {
        for r in rows {
            let source = x + r * length, out = y + r * length
            let whole = length / 8 * 8, rest = length - whole
            var tail = SIMD8<Float>(repeating: -.infinity)
            for k in 0 ..< rest { tail[k] = source[whole + k] }
            var peaks = tail
            var i = 0
            while i < whole { peaks = vmax(peaks, load(source + i)); i += 8 }
            let peak = SIMD8<Float>(repeating: peaks.max())
            // exp(-inf) is 0: the tail's unused lanes add nothing to the sum.
            let tailExp = FastMath.exp(tail - peak)
            var sums = rest > 0 ? tailExp : SIMD8<Float>()
            i = 0
            while i < whole {
                let e = FastMath.exp(load(source + i) - peak)
                store(out + i, e)
                sums += e
                i += 8
            }
            let scale = SIMD8<Float>(repeating: 1 / sums.sum())
            i = 0
            while i < whole { store(out + i, load(out + i) * scale); i += 8 }
            let scaledTail = tailExp * scale
            for k in 0 ..< rest { out[whole + k] = scaledTail[k] }
        }
    }
}
