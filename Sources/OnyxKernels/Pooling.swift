/// 2-D max and average pooling in NCHW, and global average/max pooling.
public enum Pooling {
    public struct Geometry: Sendable {
        public var planes: Int, inH: Int, inW: Int, outH: Int, outW: Int
        public var kernelH: Int, kernelW: Int, strideH: Int, strideW: Int
        public var dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
        public var isMax: Bool, countIncludePad: Bool

        public init(planes: Int, inH: Int, inW: Int, outH: Int, outW: Int, kernelH: Int, kernelW: Int,
                    strideH: Int, strideW: Int, dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
                    padBottom: Int, padRight: Int, isMax: Bool, countIncludePad: Bool) {
            (self.planes, self.inH, self.inW, self.outH, self.outW) = (planes, inH, inW, outH, outW)
            (self.kernelH, self.kernelW, self.strideH, self.strideW) = (kernelH, kernelW, strideH, strideW)
            (self.dilationH, self.dilationW) = (dilationH, dilationW)
            (self.padTop, self.padLeft, self.padBottom, self.padRight) = (padTop, padLeft, padBottom, padRight)
            (self.isMax, self.countIncludePad) = (isMax, countIncludePad)
        }
    }

    public static func run(_ g: Geometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        for p in 0 ..< g.planes {
            let plane = x + p * g.inH * g.inW
            let out = y + p * g.outH * g.outW
            for oh in 0 ..< g.outH {
                let h0 = oh * g.strideH - g.padTop
                for ow in 0 ..< g.outW {
                    let w0 = ow * g.strideW - g.padLeft
                    var acc: Float = g.isMax ? -.infinity : 0
                    var taps = 0, padded = 0
                    for kh in 0 ..< g.kernelH {
                        let ih = h0 + kh * g.dilationH
                        for kw in 0 ..< g.kernelW {
                            let iw = w0 + kw * g.dilationW
                            if ih < g.inH + g.padBottom && iw < g.inW + g.padRight { padded += 1 }
                            guard ih >= 0 && ih < g.inH && iw >= 0 && iw < g.inW else { continue }
                            let v = plane[ih * g.inW + iw]
                            if g.isMax { if v > acc || v != v { acc = v } } else { acc += v }
                            taps += 1
                        }
                    }
                    if !g.isMax { acc = acc / Float(max(1, g.countIncludePad ? padded : taps)) }
                    out[oh * g.outW + ow] = acc
                }
            }
        }
    }

    /// Mean (or max) of each of `planes` contiguous planes of `size` floats.
    public static func global(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, planes: Int, size: Int, isMax: Bool) {
        for p in 0 ..< planes {
            let src = x + p * size
            var i = 0
            if isMax {
                var m = SIMD8<Float>(repeating: -.infinity)
                while i + 8 <= size { m = pointwiseMax(m, load(src + i)); i += 8 }
                var r = m.max()
                while i < size { r = max(r, src[i]); i += 1 }
                y[p] = r
            } else {
                var s = SIMD8<Float>()
                while i + 8 <= size { s += load(src + i); i += 8 }
                var r = s.sum()
                while i < size { r += src[i]; i += 1 }
                y[p] = r / Float(size)
            }
        }
    }
}

/// Elementwise arithmetic on float32 with the broadcasts CNNs use.
public enum Elementwise {
    public enum Operation: Sendable { case add, sub, mul, div }

    @inline(__always)
    static func combine(_ op: Operation, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        switch op {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        }
    }

    @inline(__always)
    static func combine(_ op: Operation, _ a: Float, _ b: Float) -> Float {
        switch op {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        }
    }

    /// y = a op b, all `count` long.
    public static func same(_ op: Operation, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count { store(y + i, combine(op, load(a + i), load(b + i))); i += 8 }
        while i < count { y[i] = combine(op, a[i], b[i]); i += 1 }
    }

    /// y[p, i] = a[p, i] op b[p] over `planes` planes of `size` (a per-channel scale or shift, SE gating);
    /// with `scalarFirst`, y = b[p] op a[p, i].
    public static func perPlane(_ op: Operation, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                planes: Int, size: Int, scalarFirst: Bool) {
        for p in 0 ..< planes {
            let s = b[p], v = SIMD8<Float>(repeating: s)
            let src = a + p * size, dst = y + p * size
            var i = 0
            if scalarFirst {
                while i + 8 <= size { store(dst + i, combine(op, v, load(src + i))); i += 8 }
                while i < size { dst[i] = combine(op, s, src[i]); i += 1 }
            } else {
                while i + 8 <= size { store(dst + i, combine(op, load(src + i), v)); i += 8 }
                while i < size { dst[i] = combine(op, src[i], s); i += 1 }
            }
        }
    }
}
