import Foundation
@testable import OnyxKernels
import Testing

/// Dense convolutions in six-pixel tiles (`PixelTiles`), with both panel widths whatever this build
/// targets (16 output channels of SIMD8, 32 of SIMD16), against sums in double precision. Output planes
/// whose pixel count leaves a last tile of 1 to 5 pixels and tiles that span two output rows; output
/// channels leaving last panels of 1 to 5; 2x2, 3x3, 5x5 and 7x7 kernels at strides 1, 2 and 3, with
/// padding (a padded copy) and without (the input read in place); two images; one or two threads; ReLU
/// and ReLU6 in registers, SiLU after a residual.
@Suite struct PixelTilesTests {
    struct Shape: Sendable, CustomStringConvertible {
        var channels: Int, outChannels: Int, kernel: Int, stride: Int, pad: Int, height: Int, width: Int, threads: Int
        var description: String { "\(channels)->\(outChannels) \(kernel)x\(kernel)/\(stride) pad \(pad) at \(height)x\(width), \(threads) threads" }
    }

    static let shapes = [
        Shape(channels: 40, outChannels: 37, kernel: 3, stride: 2, pad: 1, height: 25, width: 25, threads: 2),
        Shape(channels: 34, outChannels: 18, kernel: 5, stride: 1, pad: 2, height: 13, width: 11, threads: 1),
        Shape(channels: 33, outChannels: 9, kernel: 7, stride: 3, pad: 3, height: 37, width: 40, threads: 2),
        Shape(channels: 64, outChannels: 24, kernel: 3, stride: 2, pad: 0, height: 25, width: 33, threads: 1),
        Shape(channels: 64, outChannels: 17, kernel: 3, stride: 2, pad: 1, height: 31, width: 20, threads: 2),
        Shape(channels: 72, outChannels: 32, kernel: 2, stride: 2, pad: 0, height: 26, width: 30, threads: 1),
    ]

    @Test(arguments: shapes, [false, true])
    func matchesDoubleSums(shape: Shape, wide: Bool) {
        let (c, m, k, s, pad) = (shape.channels, shape.outChannels, shape.kernel, shape.stride, shape.pad)
        let (h, w, batch) = (shape.height, shape.width, 2)
        let outH = (h + 2 * pad - k) / s + 1, outW = (w + 2 * pad - k) / s + 1
        let g = Convolution.Geometry(batch: batch, inChannels: c, inH: h, inW: w, outChannels: m, outH: outH, outW: outW,
                                     kernelH: k, kernelW: k, strideH: s, strideW: s, dilationH: 1, dilationW: 1,
                                     padTop: pad, padLeft: pad, groups: 1)
        var values = TestValues(seed: 23)
        let x = values(batch * c * h * w), weights = values(m * c * k * k).map { $0 / 8 }
        let bias = values(m)
        let outCount = batch * m * outH * outW
        let residual = values(outCount)
        let cases: [(KernelActivation, Bool, (Double) -> Double)] = [
            (.relu, false, { max($0, 0) }), (.clip(0, 6), false, { min(max($0, 0), 6) }), (.silu, true, { $0 / (1 + exp(-$0)) }),
        ]
        let sums = referenceConvolution(g, x: x, weights: weights, bias: bias, residual: nil)
        for (activation, withResidual, expected) in cases {
            let conv = Convolution(g, weights: weights, bias: bias, activation: activation, threads: shape.threads, wideTiles: wide)
            #expect(conv.pixelTiles != nil, "\(shape) is not in pixel tiles")
            var y = [Float](repeating: .nan, count: outCount)
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
            var worst: Double = 0
            for (at, sum) in sums.enumerated() {
                worst = largest(worst, abs(expected(sum + (withResidual ? Double(residual[at]) : 0)) - Double(y[at])))
            }
            #expect(worst < 1e-4, "\(shape), \(activation): largest difference \(worst)")
        }
    }
}
