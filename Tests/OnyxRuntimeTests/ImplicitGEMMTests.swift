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
    static let shapes = [
        ConvolutionShape(channels: 3, outChannels: 32, kernel: 3, stride: 2, pad: 1, height: 5, width: 224, threads: 2),
        ConvolutionShape(channels: 3, outChannels: 16, kernel: 3, stride: 2, pad: 0, height: 7, width: 223, threads: 1),
        ConvolutionShape(channels: 3, outChannels: 9, kernel: 7, stride: 2, pad: 3, height: 6, width: 100, threads: 2),
        ConvolutionShape(channels: 16, outChannels: 20, kernel: 3, stride: 1, pad: 1, height: 4, width: 37, threads: 1),
        ConvolutionShape(channels: 8, outChannels: 11, kernel: 3, stride: 1, pad: 1, height: 5, width: 44, threads: 2),
        ConvolutionShape(channels: 5, outChannels: 6, kernel: 3, stride: 1, pad: 0, height: 4, width: 62, threads: 1),
        ConvolutionShape(channels: 4, outChannels: 13, kernel: 5, stride: 1, pad: 2, height: 3, width: 48, threads: 1),
        ConvolutionShape(channels: 6, outChannels: 8, kernel: 3, stride: 1, pad: 1, height: 3, width: 64, threads: 2),
        ConvolutionShape(channels: 2, outChannels: 7, kernel: 3, stride: 2, pad: 1, height: 4, width: 100, threads: 1),
        ConvolutionShape(channels: 4, outChannels: 5, kernel: 3, stride: 1, pad: 1, height: 3, width: 32, threads: 1),
    ]

    @Test(arguments: shapes, [false, true])
    func matchesDoubleSums(shape: ConvolutionShape, wide: Bool) {
        let data = ConvolutionData(shape.geometry, seed: 11)
        expectMatchesDoubleSums(shape, data, wide: wide, cases: [.relu, .siluAfterResidual], notTaken: "is not an implicit GEMM") {
            $0.usesImplicitGEMM
        }
    }
}
