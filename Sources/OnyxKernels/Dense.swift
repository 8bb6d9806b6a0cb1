/// A fully connected layer for small batches: y[b, i] = activation(bias[i] + sum_p W[i, p] x[b, p]).
///
/// At batch 1 this reads every weight once for two FMAs per 16 floats, so it runs at the speed weights
/// stream from memory. They are packed in panels of 16 outputs, panel-major: panel q holds
/// W[16q ..< 16q + 16, p] for p = 0, 1, ..., so each panel is one sequential stream (rows read side by
/// side are as many streams, more than the prefetcher follows well). Outputs past the last row are
/// zero weights.
public final class Dense: @unchecked Sendable {
    public let outputs: Int
    public let inputs: Int
    public let activation: KernelActivation
    /// Outputs per panel; callers splitting the outputs across threads split on multiples of it.
    public static let panel = 16
    /// Panel-major packed weights: panels * inputs * 16 floats.
    let packed: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>
    let panels: Int

    /// - Parameters:
    ///   - weights: W row-major [outputs, inputs], or [inputs, outputs] when `inputsMajor` (ONNX Gemm
    ///     without transB).
    public init(weights w: [Float], outputs: Int, inputs: Int, inputsMajor: Bool = false, bias b: [Float]?,
                activation: KernelActivation) {
        self.outputs = outputs
        self.inputs = inputs
        self.activation = activation
        let panels = (outputs + Dense.panel - 1) / Dense.panel
        self.panels = panels
        let count = panels * inputs * Dense.panel
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: count)
        packed.initialize(repeating: 0, count: count)
        // Written in order: W[i, p] is w[i * rowStride + p * columnStride].
        let (rowStride, columnStride) = inputsMajor ? (1, outputs) : (inputs, 1)
        w.withUnsafeBufferPointer { w in
            var to = packed
            for q in 0 ..< panels {
                let rows = min(Dense.panel, outputs - q * Dense.panel)
                let first = w.baseAddress! + q * Dense.panel * rowStride
                for p in 0 ..< inputs {
                    for lane in 0 ..< rows { to[lane] = first[lane * rowStride + p * columnStride] }
                    to += Dense.panel
                }
            }
        }
        self.packed = packed
        bias = .allocate(capacity: panels * Dense.panel)
        bias.initialize(repeating: 0, count: panels * Dense.panel)
        if let b { bias.update(from: b, count: outputs) }
    }

    deinit {
        packed.deallocate()
        bias.deallocate()
    }

    /// Computes the output features in `range` (all by default) for every batch row. Ranges need not
    /// fall on panel edges; a panel shared by two ranges is computed by both.
    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, batch: Int, outputs range: Range<Int>? = nil) {
        let range = range ?? 0 ..< outputs
        guard !range.isEmpty else { return }
        let (k, width) = (inputs, Dense.panel)
        var sums = (SIMD8<Float>(), SIMD8<Float>())
        for q in range.lowerBound / width ... (range.upperBound - 1) / width {
            let panel = UnsafePointer(packed + q * k * width)
            let first = q * width
            let lanes = max(range.lowerBound, first) ..< min(range.upperBound, first + width)
            // The batch inside the panel loop: the panel (k * 64 bytes) stays in L2 for later rows.
            for b in 0 ..< batch {
                sums = Dense.panelSums(panel, x + b * k, k)
                let yb = y + b * outputs
                withUnsafeBytes(of: &sums) { raw in
                    let s = raw.assumingMemoryBound(to: Float.self)
                    for i in lanes { yb[i] = s[i - first] + bias[i] }
                }
                activation.apply(yb + lanes.lowerBound, lanes.count)
            }
        }
    }

    /// sum_p panel[p, 0 ..< 16] * x[p]. Four values of p at a time in separate accumulators, so eight
    /// FMA chains are in flight.
    @inline(__always)
    static func panelSums(_ panel: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ k: Int) -> (SIMD8<Float>, SIMD8<Float>) {
        var (a0, b0, a1, b1) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        var (a2, b2, a3, b3) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        var p = 0
        while p + 4 <= k {
            let w = panel + p * 16
            let (x0, x1) = (SIMD8<Float>(repeating: x[p]), SIMD8<Float>(repeating: x[p + 1]))
            let (x2, x3) = (SIMD8<Float>(repeating: x[p + 2]), SIMD8<Float>(repeating: x[p + 3]))
            a0 = a0.addingProduct(load(w), x0); b0 = b0.addingProduct(load(w + 8), x0)
            a1 = a1.addingProduct(load(w + 16), x1); b1 = b1.addingProduct(load(w + 24), x1)
            a2 = a2.addingProduct(load(w + 32), x2); b2 = b2.addingProduct(load(w + 40), x2)
            a3 = a3.addingProduct(load(w + 48), x3); b3 = b3.addingProduct(load(w + 56), x3)
            p += 4
        }
        while p < k {
            let xp = SIMD8<Float>(repeating: x[p])
            a0 = a0.addingProduct(load(panel + p * 16), xp); b0 = b0.addingProduct(load(panel + p * 16 + 8), xp)
            p += 1
        }
        return ((a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3))
    }
}
