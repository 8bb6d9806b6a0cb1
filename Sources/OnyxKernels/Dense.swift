/// A fully connected layer for small batches: y[b, i] = activation(bias[i] + sum_p W[i, p] x[b, p]),
/// with W row-major [outputs, inputs]. Four rows at a time share each load of x.
public final class Dense: @unchecked Sendable {
    public let outputs: Int
    public let inputs: Int
    public let activation: KernelActivation
    let weights: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>

    public init(weights w: [Float], outputs: Int, inputs: Int, bias b: [Float]?, activation: KernelActivation) {
        self.outputs = outputs
        self.inputs = inputs
        self.activation = activation
        weights = .allocate(capacity: w.count)
        weights.initialize(from: w, count: w.count)
        bias = .allocate(capacity: outputs)
        bias.initialize(from: b ?? [Float](repeating: 0, count: outputs), count: outputs)
    }

    deinit {
        weights.deallocate()
        bias.deallocate()
    }

    /// Computes the output features in `range` (all by default) for every batch row.
    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, batch: Int, outputs range: Range<Int>? = nil) {
        let k = inputs
        let range = range ?? 0 ..< outputs
        for b in 0 ..< batch {
            let xb = x + b * k, yb = y + b * outputs
            var i = range.lowerBound
            while i + 4 <= range.upperBound {
                let w0 = weights + i * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var p = 0
                while p + 8 <= k {
                    let v = load(xb + p)
                    a0 = a0.addingProduct(load(w0 + p), v)
                    a1 = a1.addingProduct(load(w1 + p), v)
                    a2 = a2.addingProduct(load(w2 + p), v)
                    a3 = a3.addingProduct(load(w3 + p), v)
                    p += 8
                }
                var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
                while p < k {
                    s0 += w0[p] * xb[p]; s1 += w1[p] * xb[p]; s2 += w2[p] * xb[p]; s3 += w3[p] * xb[p]
                    p += 1
                }
                yb[i] = s0 + bias[i]; yb[i + 1] = s1 + bias[i + 1]; yb[i + 2] = s2 + bias[i + 2]; yb[i + 3] = s3 + bias[i + 3]
                i += 4
            }
            while i < range.upperBound {
                var s: Float = 0
                for p in 0 ..< k { s += weights[i * k + p] * xb[p] }
                yb[i] = s + bias[i]
                i += 1
            }
            activation.apply(yb + range.lowerBound, range.count)
        }
    }
}
