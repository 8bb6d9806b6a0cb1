/// ArgMax and ArgMin along an axis whose elements are `inner` floats apart (a segmentation head's class
/// map: the axis is 1 of NCHW), eight positions at a time: the best value and its index kept per lane,
/// replaced where a later value is greater (or equal, with `selectLast`), as the reference kernel does.
public enum ArgExtremum {
    /// `length` is at least 1.
    public static func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Int64>, outer: Int, length: Int, inner: Int,
                           isMax: Bool, selectLast: Bool) {
        for o in 0 ..< outer {
            let source = x + o * length * inner, out = y + o * inner
            @inline(__always) func better(_ v: SIMD8<Float>, _ best: SIMD8<Float>) -> SIMDMask<SIMD8<Int32>> {
                switch (isMax, selectLast) {
                case (true, false): v .> best
                case (true, true): v .>= best
                case (false, false): v .< best
                case (false, true): v .<= best
                }
            }
            var i = 0
            while i + 8 <= inner {
                var best = load(source + i), index = SIMD8<Int32>()
                for k in 1 ..< length {
                    let v = load(source + k * inner + i)
                    let mask = better(v, best)
                    best.replace(with: v, where: mask)
                    index.replace(with: Int32(k), where: mask)
                }
                for lane in 0 ..< 8 { out[i + lane] = Int64(index[lane]) }
                i += 8
            }
            while i < inner {
                var best = 0
                for k in 1 ..< length {
                    let v = source[k * inner + i], b = source[best * inner + i]
                    let wins = isMax ? (v > b || (selectLast && v == b)) : (v < b || (selectLast && v == b))
                    if wins { best = k }
                }
                out[i] = Int64(best)
                i += 1
            }
        }
    }
}
