import Foundation
@testable import OnyxKernels

/// A dense convolution (one group, square kernel and stride, the same padding on every side) in double
/// precision, plus bias and an optional residual, before any activation: output element
/// ((n * m + o) * outH + oy) * outW + ox of `x` [batch, c, h, w] and `weights` [m, c, k, k].
func referenceConvolution(_ g: Convolution.Geometry, x: [Float], weights: [Float], bias: [Float], residual: [Float]?) -> [Double] {
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
                    let at = ((n * m + o) * g.outH + oy) * g.outW + ox
                    out[at] = sum + Double(residual?[at] ?? 0)
                }
            }
        }
    }
    return out
}
