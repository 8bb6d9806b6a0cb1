import Foundation
@testable import OnyxKernels
import Testing

/// The implicit GEMM alone (dense convolutions read from a padded copy of the input), with both tiles
/// whatever this build targets: the 6x16 of SIMD8 and the 6x32 of SIMD16 that AVX-512 builds use on rows
/// of at least 32 outputs. Against sums in double precision. Row widths end in every kind of last tile:
/// none (32, 64), 8 (35, 37), 16 (44, 48, 112 at stride 2) and 32 (50, 60, 111), each overlapping the one
/// before; strides 1 and 2, 3x3, 5x5 and 7x7, output channels leaving last panels of 2 to 5 rows, two
/// images, one or two threads, with a residual and without; ReLU in registers, SiLU in a pass over
/// each stored tile.
@Suite struct ImplicitGEMMTests {
    struct Shape: Sendable, CustomStringConvertible {
        var channels: Int, outChannels: Int, kernel: Int, stride: Int, pad: Int, height: Int, width: Int, threads: Int
        var description: String { "\(channels)->\(outChannels) \(kernel)x\(kernel)/\(stride) pad \(pad) at \(height)x\(width), \(threads) threads" }
    }

    static let shapes = [
        Shape(channels: 3, outChannels: 32, kernel: 3, stride: 2, pad: 1, height: 5, width: 224, threads: 2),
        Shape(channels: 3, outChannels: 16, kernel: 3, stride: 2, pad: 0, height: 7, width: 223, threads: 1),
        Shape(channels: 3, outChannels: 9, kernel: 7, stride: 2, pad: 3, height: 6, width: 100, threads: 2),
        Shape(channels: 16, outChannels: 20, kernel: 3, stride: 1, pad: 1, height: 4, width: 37, threads: 1),
        Shape(channels: 8, outChannels: 11, kernel: 3, stride: 1, pad: 1, height: 5, width: 44, threads: 2),
        Shape(channels: 5, outChannels: 6, kernel: 3, stride: 1, pad: 0, height: 4, width: 62, threads: 1),
        Shape(channels: 4, outChannels: 13, kernel: 5, stride: 1, pad: 2, height: 3, width: 48, threads: 1),
        Shape(channels: 6, outChannels: 8, kernel: 3, stride: 1, pad: 1, height: 3, width: 64, threads: 2),
        Shape(channels: 2, outChannels: 7, kernel: 3, stride: 2, pad: 1, height: 4, width: 100, threads: 1),
        Shape(channels: 4, outChannels: 5, kernel: 3, stride: 1, pad: 1, height: 3, width: 32, threads: 1),
    ]

    @Test(arguments: shapes, [false, true])
    func matchesDoubleSums(shape: Shape, wide: Bool) {
        let (c, m, k, s, pad) = (shape.channels, shape.outChannels, shape.kernel, shape.stride, shape.pad)
        let (h, w, batch) = (shape.height, shape.width, 2)
        let outH = (h + 2 * pad - k) / s + 1, outW = (w + 2 * pad - k) / s + 1
        let g = Convolution.Geometry(batch: batch, inChannels: c, inH: h, inW: w, outChannels: m, outH: outH, outW: outW,
                                     kernelH: k, kernelW: k, strideH: s, strideW: s, dilationH: 1, dilationW: 1,
                                     padTop: pad, padLeft: pad, groups: 1)
        var values = TestValues(seed: 11)
        let x = values(batch * c * h * w), weights = values(m * c * k * k)
        let bias = values(m)
        let outCount = batch * m * outH * outW
        let residual = values(outCount)
        for (activation, withResidual) in [(KernelActivation.relu, false), (.silu, true)] {
            let conv = Convolution(g, weights: weights, bias: bias, activation: activation, threads: shape.threads, wideTiles: wide)
            #expect(conv.usesImplicitGEMM, "\(shape) is not an implicit GEMM")
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
            let sums = referenceConvolution(g, x: x, weights: weights, bias: bias, residual: withResidual ? residual : nil)
            var worst: Double = 0
            for (at, sum) in sums.enumerated() {
                let expected = activation == .silu ? sum / (1 + exp(-sum)) : max(sum, 0)
                worst = largest(worst, abs(expected - Double(y[at])))
            }
            #expect(worst < 1e-4, "\(shape), \(activation): largest difference \(worst)")
        }
    }
}
