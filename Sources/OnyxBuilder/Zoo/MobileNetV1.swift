import OnyxIR

/// MobileNetV1 (Howard et al. 2017): a 3x3 stride-2 conv-BN-ReLU stem to 32 channels, 13 depthwise
/// separable blocks (depthwise 3x3 conv-BN-ReLU, pointwise 1x1 conv-BN-ReLU), average pooling over the
/// final 7x7 map, and a fully connected classifier.
enum MobileNetV1 {
    static func convBNReLU(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, kernel: Int, stride: Int,
                           groups: Int = 1, name: String) -> ValueID {
        b.scope(name) { b in
            b.relu(b.batchNorm2d(b.conv2d(x, cin, cout, kernel: kernel, stride: stride, groups: groups, name: "conv"), cout, name: "bn"), name: "relu")
        }
    }

    @Sendable static func build(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        // (output channels, stride) of each depthwise separable block.
        let blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
                      (1024, 2), (1024, 1)]
        let features = b.scope("features") { b -> ValueID in
            var x = convBNReLU(&b, input, 3, 32, kernel: 3, stride: 2, name: "0")
            var channels = 32
            for (i, (out, stride)) in blocks.enumerated() {
                let cin = channels
                x = b.scope("\(i + 1)") { b in
                    let d = convBNReLU(&b, x, cin, cin, kernel: 3, stride: stride, groups: cin, name: "depthwise")
                    return convBNReLU(&b, d, cin, out, kernel: 1, stride: 1, name: "pointwise")
                }
                channels = out
            }
            return x
        }
        let pooled = b.flatten(b.globalAveragePool(features, name: "pool"), name: "flatten")
        b.output(b.linear(pooled, 1024, classes, name: "classifier"), name: "output")
    }
}
