import Foundation
@testable import OnyxKernels
import Testing

/// A dense convolution to test a kernel on: one group, square kernel and stride, the same padding on
/// every side, two images.
struct ConvolutionShape: Sendable, CustomStringConvertible {
    var channels: Int, outChannels: Int, kernel: Int, stride: Int, pad: Int, height: Int, width: Int, threads: Int
    var description: String { "\(channels)->\(outChannels) \(kernel)x\(kernel)/\(stride) pad \(pad) at \(height)x\(width), \(threads) threads" }

    var geometry: Convolution.Geometry {
        let (k, s) = (kernel, stride)
        return Convolution.Geometry(batch: 2, inChannels: channels, inH: height, inW: width, outChannels: outChannels,
                                    outH: (height + 2 * pad - k) / s + 1, outW: (width + 2 * pad - k) / s + 1,
                                    kernelH: k, kernelW: k, strideH: s, strideW: s, dilationH: 1, dilationW: 1,
                                    padTop: pad, padLeft: pad, groups: 1)
    }
}

/// Inputs, weights, bias and a residual from `TestValues(seed:)`, the weights scaled by `weightScale`.
struct ConvolutionData {
    let geometry: Convolution.Geometry
    let x: [Float], weights: [Float], bias: [Float], residual: [Float]
    /// The reference sums without the residual (see `referenceConvolution`).
    let sums: [Double]

    init(_ g: Convolution.Geometry, seed: UInt64, weightScale: Float = 1) {
        geometry = g
        var values = TestValues(seed: seed)
        x = values(g.batch * g.inChannels * g.inH * g.inW)
        weights = values(g.outChannels * g.inChannels * g.kernelH * g.kernelW).map { $0 * weightScale }
        bias = values(g.outChannels)
        residual = values(g.batch * g.outChannels * g.outH * g.outW)
        sums = referenceConvolution(g, x: x, weights: weights, bias: bias)
    }

    /// `conv`'s output, over NaN-filled output and scratch (so an element never written shows).
    func output(of conv: Convolution, withResidual: Bool) -> [Float] {
        var y = [Float](repeating: .nan, count: residual.count)
        var scratch = [Float](repeating: .nan, count: conv.scratchCount)
        x.withUnsafeBufferPointer { x in
            residual.withUnsafeBufferPointer { r in
                y.withUnsafeMutableBufferPointer { y in
                    scratch.withUnsafeMutableBufferPointer {
                        conv.run(x: x.baseAddress!, y: y.baseAddress!, residual: withResidual ? r.baseAddress! : nil, scratch: $0.baseAddress!)
                    }
                }
            }
        }
        return y
    }

    /// The largest difference of `y` from `activation(sums + residual)` (NaN counts as infinite).
    func largestDifference(_ y: [Float], withResidual: Bool, _ activation: (Double) -> Double) -> Double {
        var worst: Double = 0
        for (at, sum) in sums.enumerated() {
            worst = largest(worst, abs(activation(sum + (withResidual ? Double(residual[at]) : 0)) - Double(y[at])))
        }
        return worst
    }
}

/// An activation to test a kernel with, its double-precision form, and whether the residual is added first.
struct ActivationCase: Sendable {
    var activation: KernelActivation, withResidual: Bool, expected: @Sendable (Double) -> Double
    static let relu = ActivationCase(activation: .relu, withResidual: false, expected: { max($0, 0) })
    static let relu6 = ActivationCase(activation: .clip(0, 6), withResidual: false, expected: { min(max($0, 0), 6) })
    static let siluAfterResidual = ActivationCase(activation: .silu, withResidual: true, expected: { $0 / (1 + exp(-$0)) })
}

/// Runs `data` through a `Convolution` of `shape` for each case, expecting the kernel under test to take
/// it (`taken`, else `notTaken` is reported) and the output to match the reference within 1e-4.
func expectMatchesDoubleSums(_ shape: ConvolutionShape, _ data: ConvolutionData, wide: Bool, cases: [ActivationCase],
                             notTaken: String, taken: (Convolution) -> Bool) {
    for c in cases {
        let conv = Convolution(shape.geometry, weights: data.weights, bias: data.bias, activation: c.activation, threads: shape.threads,
                               wideTiles: wide)
        #expect(taken(conv), "\(shape) \(notTaken)")
        let worst = data.largestDifference(data.output(of: conv, withResidual: c.withResidual), withResidual: c.withResidual, c.expected)
        #expect(worst < 1e-4, "\(shape), \(c.activation): largest difference \(worst)")
    }
}

/// The convolution in double precision plus bias: output element ((n * m + o) * outH + oy) * outW + ox
/// of `x` [batch, c, h, w] and `weights` [m, c, k, k].
func referenceConvolution(_ g: Convolution.Geometry, x: [Float], weights: [Float], bias: [Float]) -> [Double] {
    let (c, m, h, w) = (g.inChannels, g.outChannels, g.inH, g.inW)
    let (k, s, pad) = (g.kernelH, g.strideH, g.padTop)
    var out = [Double](repeating: 0, count: g.batch * m * g.outH * g.outW)
    for n in 0 ..< g.batch {
        for o in 0 ..< m {
            for oy in 0 ..< g.outH {
                for ox in 0 ..< g.outW {
                    var sum = Double(bias[o])
                    for i in 0 ..< c {
                        for ky in 0 ..< k {
                            let iy = oy * s - pad + ky
                            guard iy >= 0, iy < h else { continue }
                            for kx in 0 ..< k {
                                let ix = ox * s - pad + kx
                                guard ix >= 0, ix < w else { continue }
                                sum += Double(weights[((o * c + i) * k + ky) * k + kx]) * Double(x[((n * c + i) * h + iy) * w + ix])
                            }
                        }
                    }
                    out[((n * m + o) * g.outH + oy) * g.outW + ox] = sum
                }
            }
        }
    }
    return out
}
