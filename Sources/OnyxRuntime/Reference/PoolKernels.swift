import Foundation
import OnyxIR

/// Max, average and Lp pooling over any number of spatial axes; global pooling; LRN.
enum PoolKernels {
    static func pool(_ x: Tensor, _ attributes: PoolAttributes, wantIndices: Bool) throws -> [Tensor] {
        guard x.dtype != .bool && x.dtype != .string else { throw KernelError("X must be numeric, got \(x.dtype)") }
        let xs = x.doubles
        let spatial = x.rank - 2
        let window = attributes.window
        guard spatial >= 1, window.fits(spatial: spatial) else {
            throw KernelError("kernel_shape \(window.kernel), strides, dilations and pads do not match X \(x.shape)")
        }
        let inSizes = Array(x.shape.dropFirst(2))
        let (outSizes, pads) = window.resolve(input: inSizes, ceilMode: attributes.ceilMode)
        guard outSizes.allSatisfy({ $0 > 0 }) else { throw KernelError("the kernel is larger than the padded input \(x.shape)") }
        _ = try Shapes.checkedCount(Array(x.shape.prefix(2)) + outSizes)
        let planes = x.shape[0] * x.shape[1]
        let inPlane = inSizes.reduce(1, *), outPlane = outSizes.reduce(1, *)
        let inStrides = Shapes.strides(inSizes)
        // MaxPool's indices with storage_order=1 count in column-major order within each plane.
        var columnStrides = [Int](repeating: 1, count: spatial)
        for a in 1 ..< max(spatial, 1) { columnStrides[a] = columnStrides[a - 1] * inSizes[a - 1] }
        let kernelCount = window.kernel.reduce(1, *)
        var y = [Double](repeating: 0, count: planes * outPlane)
        var indices = [Int64](repeating: 0, count: wantIndices ? planes * outPlane : 0)
        var outPos = [Int](repeating: 0, count: spatial)
        var kPos = [Int](repeating: 0, count: spatial)
        for o in 0 ..< outPlane {
            var rest = o
            for a in stride(from: spatial - 1, through: 0, by: -1) { outPos[a] = rest % outSizes[a]; rest /= outSizes[a] }
            // Offsets of the window's valid taps, and how many taps the average divides by.
            var taps: [Int] = []
            var columnTaps: [Int] = []
            var padded = 0
            for k in 0 ..< kernelCount {
                var r = k
                for a in stride(from: spatial - 1, through: 0, by: -1) { kPos[a] = r % window.kernel[a]; r /= window.kernel[a] }
                var offset = 0, columnOffset = 0, inside = true, inPadded = true
                for a in 0 ..< spatial {
                    let p = outPos[a] * window.strides[a] - pads[a] + kPos[a] * window.dilations[a]
                    if p < 0 || p >= inSizes[a] { inside = false }
                    if p >= inSizes[a] + pads[a + spatial] { inPadded = false }
                    offset += p * inStrides[a]
                    columnOffset += p * columnStrides[a]
                }
                if inPadded { padded += 1 }
                if inside { taps.append(offset); columnTaps.append(columnOffset) }
            }
            for plane in 0 ..< planes {
                let base = plane * inPlane
                var result: Double
                switch attributes.kind {
                case .max:
                    result = -Double.infinity
                    var best = -1
                    for (k, t) in taps.enumerated() where xs[base + t] > result || best < 0 {
                        result = xs[base + t]
                        best = k
                    }
                    if wantIndices && best >= 0 {
                        let within = attributes.columnMajorIndices ? columnTaps[best] : taps[best]
                        indices[plane * outPlane + o] = Int64(base + within)
                    }
                case .average:
                    var sum = 0.0
                    for t in taps { sum += xs[base + t] }
                    let divisor = attributes.countIncludePad ? padded : taps.count
                    result = divisor > 0 ? sum / Double(divisor) : 0
                case .lp:
                    var sum = 0.0
                    for t in taps { sum += Foundation.pow(Swift.abs(xs[base + t]), Double(attributes.p)) }
                    result = Foundation.pow(sum, 1 / Double(attributes.p))
                }
                y[plane * outPlane + o] = result
            }
        }
        let shape = Array(x.shape.prefix(2)) + outSizes
        var outputs = [try ElementwiseKernels.cast(Tensor(shape: shape, y), to: x.dtype)]
        if wantIndices { outputs.append(Tensor(shape: shape, indices)) }
        return outputs
    }

    static func globalPool(_ x: Tensor, _ kind: PoolKind) throws -> Tensor {
        let xs = try x.requireFloat32("X")
        guard x.rank >= 2 else { throw KernelError("X must have at least 2 dimensions, got \(x.shape)") }
        let planes = x.shape[0] * x.shape[1]
        let size = x.shape.dropFirst(2).reduce(1, *)
        var y = [Float](repeating: 0, count: planes)
        for p in 0 ..< planes {
            let slice = xs[p * size ..< (p + 1) * size]
            if kind == .max {
                y[p] = slice.reduce(-Float.infinity) { $0 > $1 || $1 != $1 ? ($1 != $1 ? $1 : $0) : $1 }
            } else {
                var sum: Double = 0
                for v in slice { sum += Double(v) }
                y[p] = Float(sum / Double(size))
            }
        }
        return Tensor(shape: Array(x.shape.prefix(2)) + [Int](repeating: 1, count: x.rank - 2), y)
    }

    /// y = x / (bias + alpha / size * sum of x² over the `size` neighbouring channels) ^ beta.
    static func lrn(_ x: Tensor, size: Int, alpha: Float, beta: Float, bias: Float) throws -> Tensor {
        let xs = try x.requireFloat32("X")
        guard x.rank >= 3 else { throw KernelError("X must have at least 3 dimensions, got \(x.shape)") }
        let (n, c) = (x.shape[0], x.shape[1])
        let inner = x.shape.dropFirst(2).reduce(1, *)
        let before = (size - 1) / 2, after = size - 1 - before
        var y = [Float](repeating: 0, count: xs.count)
        for b in 0 ..< n {
            for ch in 0 ..< c {
                let lo = max(0, ch - before), hi = min(c - 1, ch + after)
                for i in 0 ..< inner {
                    var sum: Float = 0
                    for k in lo ... hi { let v = xs[(b * c + k) * inner + i]; sum += v * v }
                    let index = (b * c + ch) * inner + i
                    y[index] = xs[index] / Foundation.pow(bias + alpha / Float(size) * sum, beta)
                }
            }
        }
        return Tensor(shape: x.shape, y)
    }
}
