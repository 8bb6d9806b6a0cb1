import OnyxIR

/// MobileNetV2 (Sandler et al. 2018, the torchvision layout): a 3x3 stride-2 stem, inverted residual
/// blocks [expansion t, channels c, repeats n, stride s], a 1x1 conv to 1280, pooling and a classifier.
/// Convolutions have no bias; each is followed by BatchNorm, then ReLU6 except the linear bottleneck.
enum MobileNetV2 {
    static func convBNReLU6(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1,
                            groups: Int = 1, index: Int) -> ValueID {
        b.scope("\(index)") { b in
            let c = b.conv2d(x, cin, cout, kernel: kernel, stride: stride, groups: groups, name: "0")
            return b.relu6(b.batchNorm2d(c, cout, name: "1"), name: "2")
        }
    }

    static func invertedResidual(_ b: inout NetworkBuilder, _ x: ValueID, _ inp: Int, _ oup: Int, stride: Int, expansion: Int) -> ValueID {
        let hidden = inp * expansion
        return b.scope("conv") { b in
            var y = x
            var k = 0
            if expansion != 1 {
                y = convBNReLU6(&b, y, inp, hidden, kernel: 1, index: k)
                k += 1
            }
            y = convBNReLU6(&b, y, hidden, hidden, kernel: 3, stride: stride, groups: hidden, index: k)
            y = b.conv2d(y, hidden, oup, kernel: 1, name: "\(k + 1)")
            y = b.batchNorm2d(y, oup, name: "\(k + 2)")
            return stride == 1 && inp == oup ? b.add(x, y, name: "residual") : y
        }
    }

    @Sendable static func build(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        let settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        let features = b.scope("features") { b -> ValueID in
            var x = convBNReLU6(&b, input, 3, 32, kernel: 3, stride: 2, index: 0)
            var channels = 32, index = 1
            for (t, c, n, s) in settings {
                for i in 0 ..< n {
                    let (inp, stride) = (channels, i == 0 ? s : 1)
                    x = b.scope("\(index)") { b in invertedResidual(&b, x, inp, c, stride: stride, expansion: t) }
                    channels = c
                    index += 1
                }
            }
            return convBNReLU6(&b, x, channels, 1280, kernel: 1, index: index)
        }
        let pooled = b.flatten(b.globalAveragePool(features, name: "pool"), name: "flatten")
        b.output(b.scope("classifier") { b in b.linear(pooled, 1280, classes, name: "1") }, name: "output")
    }
}
