/// 2-D convolution in NCHW, chosen by shape:
/// - pointwise (1x1, stride 1, no padding): a GEMM straight on the input planes, no copy;
/// - depthwise (one input and one output channel per group): a direct kernel;
/// - everything else: im2col into scratch, then a GEMM per group.
/// Bias, residual and activation are applied as each output tile is stored.
public final class Convolution: @unchecked Sendable {
    public struct Geometry: Sendable, Equatable {
        public var batch: Int, inChannels: Int, inH: Int, inW: Int
        public var outChannels: Int, outH: Int, outW: Int
        public var kernelH: Int, kernelW: Int, strideH: Int, strideW: Int
        public var dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int
        public var groups: Int

        public init(batch: Int, inChannels: Int, inH: Int, inW: Int, outChannels: Int, outH: Int, outW: Int,
                    kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, dilationH: Int, dilationW: Int,
                    padTop: Int, padLeft: Int, groups: Int) {
            (self.batch, self.inChannels, self.inH, self.inW) = (batch, inChannels, inH, inW)
            (self.outChannels, self.outH, self.outW) = (outChannels, outH, outW)
            (self.kernelH, self.kernelW, self.strideH, self.strideW) = (kernelH, kernelW, strideH, strideW)
            (self.dilationH, self.dilationW, self.padTop, self.padLeft, self.groups) = (dilationH, dilationW, padTop, padLeft, groups)
        }

        var groupIn: Int { inChannels / groups }
        var groupOut: Int { outChannels / groups }
        var isPointwise: Bool {
            kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0
        }
        var isDepthwise: Bool { groupIn == 1 && groupOut == 1 }
    }

    public let geometry: Geometry
    public let activation: KernelActivation
    let packed: [SGEMM.PackedA]
    let weights: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>

    /// - Parameters: weights [M, C/groups, kH, kW]; bias [M] or nil.
    public init(_ g: Geometry, weights w: [Float], bias b: [Float]?, activation: KernelActivation) {
        geometry = g
        self.activation = activation
        weights = .allocate(capacity: w.count)
        weights.initialize(from: w, count: w.count)
        bias = .allocate(capacity: g.outChannels)
        bias.initialize(from: b ?? [Float](repeating: 0, count: g.outChannels), count: g.outChannels)
        let k = g.groupIn * g.kernelH * g.kernelW
        packed = g.isDepthwise ? [] : (0 ..< g.groups).map { group in
            SGEMM.PackedA(m: g.groupOut, k: k, a: w.withUnsafeBufferPointer { $0.baseAddress! } + group * g.groupOut * k,
                          rowStride: k, colStride: 1)
        }
    }

    deinit {
        weights.deallocate()
        bias.deallocate()
    }

    /// Floats of scratch `run` needs.
    public var scratchCount: Int {
        let g = geometry
        if g.isDepthwise { return 0 }
        let k = g.groupIn * g.kernelH * g.kernelW
        return (g.isPointwise ? 0 : k * g.outH * g.outW) + SGEMM.scratchCount(k: k)
    }

    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                    scratch: UnsafeMutablePointer<Float>) {
        let g = geometry
        if g.isDepthwise {
            Depthwise.run(g, x: x, weights: weights, bias: bias, y: y, residual: residual, activation: activation)
            return
        }
        let inPlane = g.inH * g.inW, outPlane = g.outH * g.outW
        let k = g.groupIn * g.kernelH * g.kernelW
        let columns = g.isPointwise ? scratch : scratch
        let gemmScratch = g.isPointwise ? scratch : scratch + k * outPlane
        for n in 0 ..< g.batch {
            for group in 0 ..< g.groups {
                let input = x + (n * g.inChannels + group * g.groupIn) * inPlane
                let b: UnsafePointer<Float>
                if g.isPointwise {
                    b = input
                } else {
                    Self.im2col(g, input, into: columns)
                    b = UnsafePointer(columns)
                }
                let offset = (n * g.outChannels + group * g.groupOut) * outPlane
                let epilogue = SGEMM.Epilogue(bias: bias + group * g.groupOut, residual: residual.map { $0 + offset },
                                              activation: activation)
                SGEMM.multiply(packed[group], b: b, ldb: outPlane, n: outPlane, c: y + offset, ldc: outPlane,
                               epilogue: epilogue, scratch: gemmScratch)
            }
        }
    }

    /// Rows (c, kh, kw), columns (oh, ow): the input pixel each tap reads, 0 in the padding.
    static func im2col(_ g: Geometry, _ x: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>) {
        let outPlane = g.outH * g.outW
        var row = 0
        for c in 0 ..< g.groupIn {
            let plane = x + c * g.inH * g.inW
            for kh in 0 ..< g.kernelH {
                for kw in 0 ..< g.kernelW {
                    let dst = col + row * outPlane
                    let offset = kw * g.dilationW - g.padLeft
                    // Output columns whose input column lies inside the image.
                    let owStart = offset >= 0 ? 0 : min(g.outW, (-offset + g.strideW - 1) / g.strideW)
                    let owEnd = g.inW - offset <= 0 ? 0 : min(g.outW, (g.inW - offset + g.strideW - 1) / g.strideW)
                    for oh in 0 ..< g.outH {
                        let ih = oh * g.strideH - g.padTop + kh * g.dilationH
                        let out = dst + oh * g.outW
                        if ih < 0 || ih >= g.inH || owStart >= owEnd {
                            out.update(repeating: 0, count: g.outW)
                            continue
                        }
                        let src = plane + ih * g.inW + offset
                        if owStart > 0 { out.update(repeating: 0, count: owStart) }
                        if g.strideW == 1 {
                            (out + owStart).update(from: src + owStart, count: owEnd - owStart)
                        } else {
                            for ow in owStart ..< owEnd { out[ow] = src[ow * g.strideW] }
                        }
                        if owEnd < g.outW { (out + owEnd).update(repeating: 0, count: g.outW - owEnd) }
                    }
                    row += 1
                }
            }
        }
    }
}

/// Depthwise convolution, one channel at a time: each output row accumulates the kernel's taps in
/// SIMD8 registers over the columns whose taps are all inside the image (stride 1), scalar elsewhere.
enum Depthwise {
    static func run(_ g: Convolution.Geometry, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                    bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                    activation: KernelActivation) {
        let (kH, kW) = (g.kernelH, g.kernelW)
        // Columns where every kw tap is inside: ow*s - pad + kw*d in [0, inW) for all kw.
        let lastTap = (kW - 1) * g.dilationW
        let interiorStart = min(g.outW, max(0, (g.padLeft + g.strideW - 1) / g.strideW))
        let interiorEnd = max(interiorStart, min(g.outW, g.inW - lastTap + g.padLeft > 0 ? (g.inW - lastTap + g.padLeft - 1) / g.strideW + 1 : 0))
        for n in 0 ..< g.batch {
            for c in 0 ..< g.inChannels {
                let plane = x + (n * g.inChannels + c) * g.inH * g.inW
                let w = weights + c * kH * kW
                let out = y + (n * g.outChannels + c) * g.outH * g.outW
                let b = bias[c]
                for oh in 0 ..< g.outH {
                    let row = out + oh * g.outW
                    let ihBase = oh * g.strideH - g.padTop
                    @inline(__always) func scalar(_ ow: Int) -> Float {
                        var acc = b
                        for kh in 0 ..< kH {
                            let ih = ihBase + kh * g.dilationH
                            if ih < 0 || ih >= g.inH { continue }
                            for kw in 0 ..< kW {
                                let iw = ow * g.strideW - g.padLeft + kw * g.dilationW
                                if iw >= 0 && iw < g.inW { acc += w[kh * kW + kw] * plane[ih * g.inW + iw] }
                            }
                        }
                        return acc
                    }
                    var ow = 0
                    while ow < interiorStart { row[ow] = scalar(ow); ow += 1 }
                    if g.strideW == 1 {
                        while ow + 8 <= interiorEnd {
                            var acc = SIMD8<Float>(repeating: b)
                            for kh in 0 ..< kH {
                                let ih = ihBase + kh * g.dilationH
                                if ih < 0 || ih >= g.inH { continue }
                                let src = plane + ih * g.inW + ow - g.padLeft
                                for kw in 0 ..< kW {
                                    acc = acc.addingProduct(SIMD8(repeating: w[kh * kW + kw]), load(src + kw * g.dilationW))
                                }
                            }
                            store(row + ow, acc)
                            ow += 8
                        }
                    }
                    while ow < g.outW { row[ow] = scalar(ow); ow += 1 }
                    if let residual {
                        let r = residual + (n * g.outChannels + c) * g.outH * g.outW + oh * g.outW
                        for i in 0 ..< g.outW { row[i] += r[i] }
                    }
                    activation.apply(row, g.outW)
                }
            }
        }
    }
}
