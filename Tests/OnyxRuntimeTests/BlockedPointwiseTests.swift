import Foundation
@testable import OnyxKernels
import Testing

/// The blocked pointwise kernel alone, with both tiles whatever this build targets (the 6x16 of SIMD8 and
/// the 6x32 of SIMD16 that AVX-512 builds use), against sums in double precision written into the blocked
/// layout, margins included. Output channels fill whole panels of 32, end in one block (8, 40, 72), two
/// (16, 48) or three (24, 120); pixel counts leave last tiles of 1-5 pixels; k = 4 with 2115 pixels takes
/// several chunks; two threads split small planes by panels and large ones by pixels. ReLU6 is applied in
/// registers, SiLU by a pass over each chunk's rows.
@Suite struct BlockedPointwiseTests {
    @Test(arguments: [(3, 8, 5, 7, 1), (16, 16, 7, 7, 1), (9, 24, 6, 5, 2), (20, 40, 14, 14, 1), (33, 48, 3, 4, 2),
                      (12, 72, 9, 11, 1), (5, 96, 7, 7, 2), (4, 120, 45, 47, 2), (17, 64, 8, 8, 1)], [false, true])
    func matchesDoubleSums(shape: (k: Int, m: Int, height: Int, width: Int, threads: Int), wide: Bool) {
        let (k, m, height, width, threads) = shape
        var values = TestValues(seed: 5)
        let pixels = height * width
        let x = values(k * pixels), weights = values(m * k)
        let bias = values(m)
        // Margins on every side, unequal.
        let layout = ChannelBlockedLayout(height: height, width: width, paddedHeight: height + 3, paddedWidth: width + 2, top: 1, left: 2)
        for activation in [KernelActivation.clip(0, 6), .silu] {
            let conv = BlockedPointwise(inChannels: k, outChannels: m, layout: layout, weights: weights, bias: bias,
                                        activation: activation, threads: threads, wideTiles: wide)
            var y = [Float](repeating: .nan, count: layout.count(channels: m))
            var scratch = [Float](repeating: .nan, count: conv.scratchCount)
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    scratch.withUnsafeMutableBufferPointer { conv.run(x: x.baseAddress!, y: y.baseAddress!, scratch: $0.baseAddress!) }
                }
            }
            var worst: Double = 0
            for block in 0 ..< m / 8 {
                for row in 0 ..< layout.paddedHeight {
                    for column in 0 ..< layout.paddedWidth {
                        let (h, w) = (row - layout.top, column - layout.left)
                        for lane in 0 ..< 8 {
                            let channel = block * 8 + lane
                            var expected: Double = 0
                            if h >= 0, h < height, w >= 0, w < width {
                                var sum = Double(bias[channel])
                                for p in 0 ..< k { sum += Double(weights[channel * k + p]) * Double(x[p * pixels + h * width + w]) }
                                expected = activation == .silu ? sum / (1 + exp(-sum)) : min(max(sum, 0), 6)
                            }
                            let actual = y[block * layout.blockStride + (row * layout.paddedWidth + column) * 8 + lane]
                            worst = largest(worst, abs(expected - Double(actual)))
                        }
                    }
                }
            }
            #expect(worst < 1e-4, "\(activation): largest difference \(worst)")
        }
    }
}
