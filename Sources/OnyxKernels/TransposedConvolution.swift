/// ConvTranspose in NCHW (FPN and segmentation heads' learned upsampling) as a GEMM and a scatter:
/// per group, columns [Cout/g * kH * kW, H * W] = W^T [Cout/g * kH * kW, Cin/g] x X [Cin/g, H * W], the
/// weights packed once; then each column row (m, kh, kw) is added into output plane m, input pixel
/// (ih, iw) landing at (ih * sH - padTop + kh * dH, iw * sW - padLeft + kw * dW), over the bias.
public final class TransposedConvolution: @unchecked Sendable {
    /// The same fields as a convolution's: in* the transposed convolution's input, out* its output,
    /// pads those taken off the full output.
    public typealias Geometry = Convolution.Geometry

    public let geometry: Geometry
    let packed: [SGEMM.PackedA]
    let bias: [Float]
    let threads: Int

    /// - Parameters: weights [Cin, Cout/groups, kH, kW]; bias [Cout] or nil.
    public init(_ g: Geometry, weights w: [Float], bias b: [Float]?, threads: Int = ThreadPool.shared.workers) {
        geometry = g
        self.threads = max(1, threads)
        bias = b ?? [Float](repeating: 0, count: g.outChannels)
        // A[m, k] = W[group * Cin/g + k, m] with m = (mLocal, kh, kw): rows 1 apart, columns M apart.
        let m = g.groupOut * g.kernelH * g.kernelW
        packed = w.withUnsafeBufferPointer { w in
            (0 ..< g.groups).map { group in
                SGEMM.PackedA(m: m, k: g.groupIn, a: w.baseAddress! + group * g.groupIn * m, rowStride: 1, colStride: m)
            }
        }
    }

    /// Rows of a group's column matrix.
    var columnRows: Int { geometry.groupOut * geometry.kernelH * geometry.kernelW }
    var columnsCount: Int { columnRows * geometry.inH * geometry.inW }
    var perThreadScratch: Int { SGEMM.scratchCount(k: geometry.groupIn, n: geometry.inH * geometry.inW) }

    /// Floats of scratch: one group's column matrix, then the GEMM's per-thread panels.
    public var scratchCount: Int { columnsCount + threads * perThreadScratch }

    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let g = geometry
        let pool = ThreadPool.shared
        let inPlane = g.inH * g.inW, outPlane = g.outH * g.outW
        let columns = scratch, gemmScratch = scratch + columnsCount
        let pixelRanges = pool.pieces(inPlane, granularity: SGEMM.panelWidth, threads: threads)
        let channelRanges = pool.pieces(g.groupOut, threads: threads)
        for n in 0 ..< g.batch {
            for group in 0 ..< g.groups {
                let input = x + (n * g.inChannels + group * g.groupIn) * inPlane
                pool.parallelFor(pixelRanges.count, slots: threads) { t, slot in
                    SGEMM.multiply(self.packed[group], b: input, ldb: inPlane, n: inPlane, c: columns, ldc: inPlane,
                                   epilogue: SGEMM.Epilogue(), scratch: gemmScratch + slot * self.perThreadScratch, columns: pixelRanges[t])
                }
                let output = y + (n * g.outChannels + group * g.groupOut) * outPlane
                pool.parallelFor(channelRanges.count) { t in
                    for m in channelRanges[t] {
                        let plane = output + m * outPlane
                        plane.update(repeating: self.bias[group * g.groupOut + m], count: outPlane)
                        self.scatter(UnsafePointer(columns + m * g.kernelH * g.kernelW * inPlane), into: plane)
                    }
                }
            }
        }
    }

    /// Adds one output channel's kH * kW column rows into its plane.
    private func scatter(_ rows: UnsafePointer<Float>, into plane: UnsafeMutablePointer<Float>) {
        let g = geometry
        for kh in 0 ..< g.kernelH {
            for kw in 0 ..< g.kernelW {
                let row = rows + (kh * g.kernelW + kw) * g.inH * g.inW
                // Input columns whose output column ow = iw * sW + shift lies in [0, outW).
                let shift = kw * g.dilationW - g.padLeft
                let first = max(0, (-shift + g.strideW - 1) / g.strideW)
                let end = min(g.inW, (g.outW - 1 - shift) / g.strideW + 1)
                guard first < end, g.outW - 1 - shift >= 0 else { continue }
                for ih in 0 ..< g.inH {
                    let oh = ih * g.strideH - g.padTop + kh * g.dilationH
                    guard oh >= 0 && oh < g.outH else { continue }
                    let source = row + ih * g.inW, target = plane + oh * g.outW + shift
                    if g.strideW == 1 {
                        var iw = first
                        while iw + 8 <= end { store(target + iw, load(target + iw) + load(source + iw)); iw += 8 }
                        while iw < end { target[iw] += source[iw]; iw += 1 }
                    } else {
                        for iw in first ..< end { target[iw * g.strideW] += source[iw] }
                    }
                }
            }
        }
    }
}
