import Foundation
import OnyxIR

/// BatchNormalization (inference), InstanceNormalization, Softmax, LogSoftmax.
enum NormalizationKernels {
    /// y = (x - mean) / sqrt(var + epsilon) * scale + bias, per channel (axis 1).
    static func batchNormalization(_ x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, epsilon: Float) throws -> Tensor {
        let xs = try x.requireFloat32("X")
        let s = try scale.requireFloat32("scale"), b = try bias.requireFloat32("B")
        let m = try mean.requireFloat32("mean"), v = try variance.requireFloat32("var")
        guard x.rank >= 2 else { throw KernelError("X must have at least 2 dimensions, got \(x.shape)") }
        let c = x.shape[1]
        guard [s.count, b.count, m.count, v.count].allSatisfy({ $0 == c }) else {
            throw KernelError("scale, B, mean and var must have \(c) values (one per channel)")
        }
        let inner = x.shape.dropFirst(2).reduce(1, *)
        var y = [Float](repeating: 0, count: xs.count)
        for i in 0 ..< xs.count {
            let ch = (i / inner) % c
            y[i] = (xs[i] - m[ch]) / (v[ch] + epsilon).squareRoot() * s[ch] + b[ch]
        }
        return Tensor(shape: x.shape, y)
    }

    static func instanceNormalization(_ x: Tensor, scale: Tensor, bias: Tensor, epsilon: Float) throws -> Tensor {
        let xs = try x.requireFloat32("X"), s = try scale.requireFloat32("scale"), b = try bias.requireFloat32("B")
        guard x.rank >= 3 else { throw KernelError("X must have at least 3 dimensions, got \(x.shape)") }
        let c = x.shape[1]
        guard s.count == c, b.count == c else { throw KernelError("scale and B must have \(c) values") }
        let inner = x.shape.dropFirst(2).reduce(1, *)
        var y = [Float](repeating: 0, count: xs.count)
        for plane in 0 ..< x.shape[0] * c {
            let range = plane * inner ..< (plane + 1) * inner
            var mean: Double = 0
            for i in range { mean += Double(xs[i]) }
            mean /= Double(inner)
            var variance: Double = 0
            for i in range { variance += (Double(xs[i]) - mean) * (Double(xs[i]) - mean) }
            variance /= Double(inner)
            let ch = plane % c
            let factor = Double(s[ch]) / (variance + Double(epsilon)).squareRoot()
            for i in range { y[i] = Float((Double(xs[i]) - mean) * factor + Double(b[ch])) }
        }
        return Tensor(shape: x.shape, y)
    }

    /// Softmax along `axis`; with `coerceTo2D` (opset < 13) over all axes from `axis` on.
    static func softmax(_ x: Tensor, axis: Int, coerceTo2D: Bool, log: Bool) throws -> Tensor {
        guard x.dtype.isFloatingPoint else { throw KernelError("input must be floating point, got \(x.dtype)") }
        let values = x.doubles
        let a = try Shapes.axis(axis, rank: x.rank)
        let length: Int, inner: Int
        if coerceTo2D {
            length = x.shape[a...].reduce(1, *)
            inner = 1
        } else {
            length = x.rank == 0 ? 1 : x.shape[a]
            inner = x.shape[(a + 1)...].reduce(1, *)
        }
        let outer = length * inner == 0 ? 0 : values.count / (length * inner)
        var y = [Double](repeating: 0, count: values.count)
        for o in 0 ..< outer {
            for i in 0 ..< inner {
                let base = o * length * inner + i
                var peak = -Double.infinity
                for k in 0 ..< length { peak = Swift.max(peak, values[base + k * inner]) }
                var sum: Double = 0
                for k in 0 ..< length { sum += Foundation.exp(values[base + k * inner] - peak) }
                for k in 0 ..< length {
                    let shifted = values[base + k * inner] - peak
                    y[base + k * inner] = log ? shifted - Foundation.log(sum) : Foundation.exp(shifted) / sum
                }
            }
        }
        return try ElementwiseKernels.cast(Tensor(shape: x.shape, y), to: x.dtype)
    }
}
