import Foundation
@testable import OnyxKernels
import Testing

/// Dense convolutions in six-pixel tiles (`PixelTiles`), with both panel widths whatever this build
/// targets (16 output channels of SIMD8, 32 of SIMD16), against sums in double precision. Output planes
/// whose pixel count leaves a last tile of 1 to 5 pixels and tiles that span two output rows; output
/// channels leaving last panels of 1 to 5; 2x2, 3x3, 5x5 and 7x7 kernels at strides 1, 2 and 3, with
/// padding (a padded copy) and without (the input read in place); small planes of few and of many input channels; two images; one or two threads; ReLU
/// and ReLU6 in registers, SiLU after a residual.
@Suite struct PixelTilesTests {
    static let shapes = [
        ConvolutionShape(channels: 40, outChannels: 37, kernel: 3, stride: 2, pad: 1, height: 25, width: 25, threads: 2),
        ConvolutionShape(channels: 34, outChannels: 18, kernel: 5, stride: 1, pad: 2, height: 13, width: 11, threads: 1),
        ConvolutionShape(channels: 33, outChannels: 9, kernel: 7, stride: 3, pad: 3, height: 37, width: 40, threads: 2),
        ConvolutionShape(channels: 64, outChannels: 24, kernel: 3, stride: 2, pad: 0, height: 25, width: 33, threads: 1),
        ConvolutionShape(channels: 64, outChannels: 17, kernel: 3, stride: 2, pad: 1, height: 31, width: 20, threads: 2),
        ConvolutionShape(channels: 72, outChannels: 32, kernel: 2, stride: 2, pad: 0, height: 26, width: 30, threads: 1),
        // Small planes: many input channels on 5x5 outputs; few on rows under 32 at stride 2, under 16 at stride 1.
        ConvolutionShape(channels: 48, outChannels: 64, kernel: 3, stride: 2, pad: 1, height: 10, width: 9, threads: 2),
        ConvolutionShape(channels: 24, outChannels: 32, kernel: 3, stride: 2, pad: 1, height: 40, width: 39, threads: 2),
        ConvolutionShape(channels: 16, outChannels: 21, kernel: 3, stride: 1, pad: 1, height: 9, width: 12, threads: 1),
    ]

    @Test(arguments: shapes, [false, true])
    func matchesDoubleSums(shape: ConvolutionShape, wide: Bool) {
        let data = ConvolutionData(shape.geometry, seed: 23, weightScale: 1 / 8)
        expectMatchesDoubleSums(shape, data, wide: wide, cases: [.relu, .relu6, .siluAfterResidual], notTaken: "is not in pixel tiles") {
            $0.pixelTiles != nil
        }
    }
}
