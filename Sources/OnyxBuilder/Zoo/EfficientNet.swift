import OnyxIR

/// EfficientNet-B0 (Tan & Le 2019, the torchvision layout): MBConv blocks (1x1 expansion, depthwise
/// conv, squeeze-and-excitation to a quarter of the block's input width, linear 1x1 projection) with
/// SiLU, a residual where the shape allows; stochastic depth and dropout are identities at inference.
enum EfficientNet {
    /// (expansion, kernel, stride, input, output, layers) per stage of B0.
    static let b0: [(expand: Int, kernel: Int, stride: Int, input: Int, output: Int, layers: Int)] = [
        (1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
        (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1),
    ]

    static func mbconv(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, expand: Int, kernel: Int, stride: Int) -> ValueID {
        b.scope("block") { b -> ValueID in
            let expanded = cin * expand
            var y = x
            var k = 0
            if expand != 1 {
                y = b.scope("\(k)") { b in b.convBN(y, cin, expanded, kernel: 1, activation: .silu) }
                k += 1
            }
            y = b.scope("\(k)") { b in b.convBN(y, expanded, expanded, kernel: kernel, stride: stride, groups: expanded, activation: .silu) }
            k += 1
            y = b.scope("\(k)") { b in b.squeezeExcite(y, channels: expanded, reduced: max(1, cin / 4), hidden: .silu) }
            k += 1
            return b.scope("\(k)") { b in b.convBN(y, expanded, cout, kernel: 1, activation: nil) }
        }
    }

    @Sendable static func buildB0(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        let features = b.scope("features") { b -> ValueID in
            var x = b.scope("0") { b in b.convBN(input, 3, 32, kernel: 3, stride: 2, activation: .silu) }
            for (s, stage) in b0.enumerated() {
                x = b.scope("\(s + 1)") { b -> ValueID in
                    var y = x
                    for i in 0 ..< stage.layers {
                        let cin = i == 0 ? stage.input : stage.output, stride = i == 0 ? stage.stride : 1
                        y = b.scope("\(i)") { b -> ValueID in
                            let z = mbconv(&b, y, cin, stage.output, expand: stage.expand, kernel: stage.kernel, stride: stride)
                            return stride == 1 && cin == stage.output ? b.add(z, y, name: "residual") : z
                        }
                    }
                    return y
                }
            }
            return b.scope("8") { b in b.convBN(x, 320, 1280, kernel: 1, activation: .silu) }
        }
        let pooled = b.flatten(b.globalAveragePool(features, name: "avgpool"), name: "flatten")
        b.output(b.scope("classifier") { b in b.linear(pooled, 1280, classes, name: "1") }, name: "output")
    }
}
