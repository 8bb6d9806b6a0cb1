import OnyxIR

/// SqueezeNet 1.0 and 1.1 (Iandola et al. 2016, the torchvision layout): convolutions with bias, ReLU, Fire
/// modules, ceil-mode max pooling, and a 1x1 convolution classifier with global average pooling.
enum SqueezeNet {
    static func fire(_ b: inout NetworkBuilder, _ x: ValueID, _ inplanes: Int, _ squeeze: Int, _ expand1: Int, _ expand3: Int) -> ValueID {
        let s = b.relu(b.conv2d(x, inplanes, squeeze, kernel: 1, bias: true, name: "squeeze"), name: "squeeze_activation")
        let e1 = b.relu(b.conv2d(s, squeeze, expand1, kernel: 1, bias: true, name: "expand1x1"), name: "expand1x1_activation")
        let e3 = b.relu(b.conv2d(s, squeeze, expand3, kernel: 3, bias: true, name: "expand3x3"), name: "expand3x3_activation")
        return b.concat([e1, e3], name: "cat")
    }

    /// Fire modules as (input, squeeze, expand 1x1, expand 3x3); nil is a 3x3 stride-2 max pool.
    typealias Plan = [(Int, Int, Int, Int)?]

    @Sendable static func v1_0(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let plan: Plan = [(96, 16, 64, 64), (128, 16, 64, 64), (128, 32, 128, 128), nil, (256, 32, 128, 128),
                          (256, 48, 192, 192), (384, 48, 192, 192), (384, 64, 256, 256), nil, (512, 64, 256, 256)]
        build(&b, stem: (96, 7), plan: plan, classes: classes, height: height, width: width)
    }

    @Sendable static func v1_1(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let plan: Plan = [(64, 16, 64, 64), (128, 16, 64, 64), nil, (128, 32, 128, 128), (256, 32, 128, 128), nil,
                          (256, 48, 192, 192), (384, 48, 192, 192), (384, 64, 256, 256), (512, 64, 256, 256)]
        build(&b, stem: (64, 3), plan: plan, classes: classes, height: height, width: width)
    }

    /// A stride-2 stem conv (channels, kernel), a max pool, the plan, then the conv classifier.
    static func build(_ b: inout NetworkBuilder, stem: (channels: Int, kernel: Int), plan: Plan, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        let features = b.scope("features") { b -> ValueID in
            var x = b.relu(b.conv2d(input, 3, stem.channels, kernel: stem.kernel, stride: 2, padding: 0, bias: true, name: "0"), name: "1")
            x = b.maxPool2d(x, kernel: 3, stride: 2, ceilMode: true, name: "2")
            for (i, f) in plan.enumerated() {
                if let (inplanes, squeeze, e1, e3) = f {
                    x = b.scope("\(i + 3)") { b in fire(&b, x, inplanes, squeeze, e1, e3) }
                } else {
                    x = b.maxPool2d(x, kernel: 3, stride: 2, ceilMode: true, name: "\(i + 3)")
                }
            }
            return x
        }
        let logits = b.scope("classifier") { b -> ValueID in
            let c = b.relu(b.conv2d(features, 512, classes, kernel: 1, bias: true, name: "1"), name: "2")
            return b.globalAveragePool(c, name: "3")
        }
        b.output(b.flatten(logits, name: "flatten"), name: "output")
    }
}
