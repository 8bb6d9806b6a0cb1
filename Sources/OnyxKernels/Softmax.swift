/// Softmax over contiguous rows (a classifier's scores, SSD's per-box class scores): y = exp(x - max) /
/// sum, with `FastMath.exp` eight lanes at a time (relative error at most 2e-7) and a row's last few
/// floats through one more vector. LogSoftmax: y = x - max - ln(sum). `across` takes the axis strided
/// (a segmentation head's class axis, 1 of NCHW), eight positions of the axes after it at a time.
public enum Softmax {
    /// Rows `rows` of `length` floats each, x into y.
    public static func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Range<Int>, length: Int, log: Bool = false) {
        if log { return runLog(x: x, y: y, rows: rows, length: length) }
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

    private static func runLog(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Range<Int>, length: Int) {
        for r in rows {
            let source = x + r * length, out = y + r * length
            var peak = -Float.infinity
            for i in 0 ..< length { peak = max(peak, source[i]) }
            var sum: Float = 0
            var i = 0
            var sums = SIMD8<Float>()
            while i + 8 <= length { sums += FastMath.exp(load(source + i) - peak); i += 8 }
            sum = sums.sum()
            while i < length { sum += FastMath.exp(SIMD8(repeating: source[i] - peak))[0]; i += 1 }
            let shift = peak + FastMath.log(SIMD8(repeating: sum))[0]
            for i in 0 ..< length { out[i] = source[i] - shift }
        }
    }

    /// Softmax (or LogSoftmax) along an axis of `length` whose elements are `inner` floats apart, for the
    /// `outer` blocks in `blocks`: y[o, c, i] from x[o, c, i] over c.
    public static func across(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, blocks: Range<Int>, length: Int, inner: Int,
                              log: Bool) {
        for o in blocks {
            let source = x + o * length * inner, out = y + o * length * inner
            var i = 0
            while i + 8 <= inner {
                var peak = load(source + i)
                for c in 1 ..< length { peak = vmax(peak, load(source + c * inner + i)) }
                var sum = SIMD8<Float>()
                for c in 0 ..< length {
                    let e = FastMath.exp(load(source + c * inner + i) - peak)
                    if !log { store(out + c * inner + i, e) }
                    sum += e
                }
                if log {
                    let shift = peak + FastMath.log(sum)
                    for c in 0 ..< length { store(out + c * inner + i, load(source + c * inner + i) - shift) }
                } else {
                    let scale = 1 / sum
                    for c in 0 ..< length { store(out + c * inner + i, load(out + c * inner + i) * scale) }
                }
                i += 8
            }
            // The last few positions, one at a time, in lane 0.
            while i < inner {
                var peak = source[i]
                for c in 1 ..< length { peak = max(peak, source[c * inner + i]) }
                var sum: Float = 0
                for c in 0 ..< length {
                    let e = FastMath.exp(SIMD8(repeating: source[c * inner + i] - peak))[0]
                    if !log { out[c * inner + i] = e }
                    sum += e
                }
                let shift = peak + FastMath.log(SIMD8(repeating: sum))[0]
                for c in 0 ..< length { out[c * inner + i] = log ? source[c * inner + i] - shift : out[c * inner + i] / sum }
                i += 1
            }
        }
    }
}
