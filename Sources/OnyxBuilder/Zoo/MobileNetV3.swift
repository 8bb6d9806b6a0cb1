import OnyxIR

/// MobileNetV3 (Howard et al. 2019, the torchvision layout): inverted residual blocks with optional
/// squeeze-and-excitation (squeeze width = expanded / 4 rounded to a multiple of 8) and ReLU or
/// h-swish, a 1x1 conv to 6x the last width, pooling, and a two-layer classifier with h-swish.
enum MobileNetV3 {
    /// (input, kernel, expanded, output, SE, h-swish, stride) per block.
    typealias Block = (input: Int, kernel: Int, expanded: Int, output: Int, se: Bool, hardSwish: Bool, stride: Int)

    static let large: [Block] = [
        (16, 3, 16, 16, false, false, 1), (16, 3, 64, 24, false, false, 2), (24, 3, 72, 24, false, false, 1),
        (24, 5, 72, 40, true, false, 2), (40, 5, 120, 40, true, false, 1), (40, 5, 120, 40, true, false, 1),
        (40, 3, 240, 80, false, true, 2), (80, 3, 200, 80, false, true, 1), (80, 3, 184, 80, false, true, 1),
        (80, 3, 184, 80, false, true, 1), (80, 3, 480, 112, true, true, 1), (112, 3, 672, 112, true, true, 1),
        (112, 5, 672, 160, true, true, 2), (160, 5, 960, 160, true, true, 1), (160, 5, 960, 160, true, true, 1),
    ]

    static let small: [Block] = [
        (16, 3, 16, 16, true, false, 2), (16, 3, 72, 24, false, false, 2), (24, 3, 88, 24, false, false, 1),
        (24, 5, 96, 40, true, true, 2), (40, 5, 240, 40, true, true, 1), (40, 5, 240, 40, true, true, 1),
        (40, 5, 120, 48, true, true, 1), (48, 5, 144, 48, true, true, 1), (48, 5, 288, 96, true, true, 2),
        (96, 5, 576, 96, true, true, 1), (96, 5, 576, 96, true, true, 1),
    ]

    /// v rounded to the nearest multiple of 8, at least 8 and no less than 90% of v.
    static func divisible(_ v: Int) -> Int {
        var rounded = max(8, (v + 4) / 8 * 8)
        if Double(rounded) < 0.9 * Double(v) { rounded += 8 }
        return rounded
    }

    static func act(_ b: inout NetworkBuilder, _ x: ValueID, hardSwish: Bool, name: String) -> ValueID {
        hardSwish ? b.activation(x, .hardSwish, name: name) : b.relu(x, name: name)
    }

    static func convBNAct(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1,
                          groups: Int = 1, hardSwish: Bool?, index: Int) -> ValueID {
        b.scope("\(index)") { b in
            let y = b.batchNorm2d(b.conv2d(x, cin, cout, kernel: kernel, stride: stride, groups: groups, name: "0"), cout, epsilon: 0.001, name: "1")
            return hardSwish.map { act(&b, y, hardSwish: $0, name: "2") } ?? y
        }
    }

    static func squeezeExcite(_ b: inout NetworkBuilder, _ x: ValueID, _ channels: Int) -> ValueID {
        b.squeezeExcite(x, channels: channels, reduced: divisible(channels / 4), gate: .hardSigmoid(alpha: 1.0 / 6, beta: 0.5))
    }

    static func block(_ b: inout NetworkBuilder, _ x: ValueID, _ c: Block) -> ValueID {
        b.scope("block") { b -> ValueID in
            var y = x
            var k = 0
            if c.expanded != c.input {
                y = convBNAct(&b, y, c.input, c.expanded, kernel: 1, hardSwish: c.hardSwish, index: k)
                k += 1
            }
            y = convBNAct(&b, y, c.expanded, c.expanded, kernel: c.kernel, stride: c.stride, groups: c.expanded, hardSwish: c.hardSwish, index: k)
            k += 1
            if c.se {
                let z = y
                y = b.scope("\(k)") { b in squeezeExcite(&b, z, c.expanded) }
                k += 1
            }
            y = convBNAct(&b, y, c.expanded, c.output, kernel: 1, hardSwish: nil, index: k)
            return c.stride == 1 && c.input == c.output ? b.add(x, y, name: "residual") : y
        }
    }

    static func build(_ b: inout NetworkBuilder, _ blocks: [Block], lastChannel: Int, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        let lastConv = 6 * blocks.last!.output
        let features = b.scope("features") { b -> ValueID in
            var x = convBNAct(&b, input, 3, 16, kernel: 3, stride: 2, hardSwish: true, index: 0)
            for (i, c) in blocks.enumerated() {
                x = b.scope("\(i + 1)") { b in block(&b, x, c) }
            }
            return convBNAct(&b, x, blocks.last!.output, lastConv, kernel: 1, hardSwish: true, index: blocks.count + 1)
        }
        let pooled = b.flatten(b.globalAveragePool(features, name: "avgpool"), name: "flatten")
        let logits = b.scope("classifier") { b -> ValueID in
            let h = b.activation(b.linear(pooled, lastConv, lastChannel, name: "0"), .hardSwish, name: "1")
            return b.linear(h, lastChannel, classes, name: "3")
        }
        b.output(logits, name: "output")
    }

    @Sendable static func buildLarge(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        build(&b, large, lastChannel: 1280, classes: classes, height: height, width: width)
    }

    @Sendable static func buildSmall(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        build(&b, small, lastChannel: 1024, classes: classes, height: height, width: width)
    }
}
