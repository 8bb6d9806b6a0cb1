import OnyxIR

/// DenseNet-121 (Huang et al. 2017, the torchvision layout): dense blocks where each layer
/// (BN-ReLU-1x1 conv to 4k, BN-ReLU-3x3 conv to k = 32) sees the concatenation of all earlier
/// outputs, and transitions (BN-ReLU-1x1 conv halving the channels, 2x2 average pool).
enum DenseNet {
    static let growth = 32
    static let bottleneck = 4

    static func denseLayer(_ b: inout NetworkBuilder, _ x: ValueID, _ channels: Int) -> ValueID {
        var y = b.relu(b.batchNorm2d(x, channels, name: "norm1"), name: "relu1")
        y = b.conv2d(y, channels, bottleneck * growth, kernel: 1, name: "conv1")
        y = b.relu(b.batchNorm2d(y, bottleneck * growth, name: "norm2"), name: "relu2")
        return b.conv2d(y, bottleneck * growth, growth, kernel: 3, name: "conv2")
    }

    static func transition(_ b: inout NetworkBuilder, _ x: ValueID, _ channels: Int) -> ValueID {
        let y = b.relu(b.batchNorm2d(x, channels, name: "norm"), name: "relu")
        return b.avgPool2d(b.conv2d(y, channels, channels / 2, kernel: 1, name: "conv"), kernel: 2, stride: 2, name: "pool")
    }

    @Sendable static func build121(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        var channels = 64
        let features = b.scope("features") { b -> ValueID in
            var x = b.relu(b.batchNorm2d(b.conv2d(input, 3, channels, kernel: 7, stride: 2, name: "conv0"), channels, name: "norm0"), name: "relu0")
            x = b.maxPool2d(x, kernel: 3, stride: 2, padding: 1, name: "pool0")
            for (i, layers) in [6, 12, 24, 16].enumerated() {
                x = b.scope("denseblock\(i + 1)") { b -> ValueID in
                    var all = x
                    for layer in 0 ..< layers {
                        let new = b.scope("denselayer\(layer + 1)") { b in denseLayer(&b, all, channels) }
                        all = b.concat([all, new], name: "denselayer\(layer + 1).cat")
                        channels += growth
                    }
                    return all
                }
                if i < 3 {
                    x = b.scope("transition\(i + 1)") { b in transition(&b, x, channels) }
                    channels /= 2
                }
            }
            return b.batchNorm2d(x, channels, name: "norm5")
        }
        let pooled = b.flatten(b.globalAveragePool(b.relu(features, name: "relu"), name: "avgpool"), name: "flatten")
        b.output(b.linear(pooled, channels, classes, name: "classifier"), name: "output")
    }
}
