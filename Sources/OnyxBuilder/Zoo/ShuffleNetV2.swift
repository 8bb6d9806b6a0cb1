import OnyxIR

/// ShuffleNetV2 (Ma et al. 2018, the torchvision layout). A stride-1 unit splits the channels in two,
/// transforms one half (1x1, depthwise 3x3, 1x1) and concatenates; a stride-2 unit transforms both
/// branches of the whole input; every unit ends with a channel shuffle of 2 groups.
enum ShuffleNetV2 {
    static let repeats = [4, 8, 4]

    static func unit(_ b: inout NetworkBuilder, _ x: ValueID, _ inChannels: Int, _ outChannels: Int, stride: Int) -> ValueID {
        let half = outChannels / 2
        func branch2(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int) -> ValueID {
            b.scope("branch2") { b -> ValueID in
                var y = b.relu(b.batchNorm2d(b.conv2d(x, cin, half, kernel: 1, name: "0"), half, name: "1"), name: "2")
                y = b.batchNorm2d(b.conv2d(y, half, half, kernel: 3, stride: stride, groups: half, name: "3"), half, name: "4")
                return b.relu(b.batchNorm2d(b.conv2d(y, half, half, kernel: 1, name: "5"), half, name: "6"), name: "7")
            }
        }
        let joined: ValueID
        if stride == 1 {
            let halves = b.split(x, parts: 2, name: "chunk")
            joined = b.concat([halves[0], branch2(&b, halves[1], half)], name: "cat")
        } else {
            let left = b.scope("branch1") { b -> ValueID in
                let y = b.batchNorm2d(b.conv2d(x, inChannels, inChannels, kernel: 3, stride: stride, groups: inChannels, name: "0"), inChannels, name: "1")
                return b.relu(b.batchNorm2d(b.conv2d(y, inChannels, half, kernel: 1, name: "2"), half, name: "3"), name: "4")
            }
            joined = b.concat([left, branch2(&b, x, inChannels)], name: "cat")
        }
        return b.channelShuffle(joined, groups: 2, name: "shuffle")
    }

    static func build(_ b: inout NetworkBuilder, widths: [Int], classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        var x = b.scope("conv1") { b in b.convBN(input, 3, widths[0], kernel: 3, stride: 2, activation: .relu) }
        x = b.maxPool2d(x, kernel: 3, stride: 2, padding: 1, name: "maxpool")
        var channels = widths[0]
        for (s, count) in repeats.enumerated() {
            let out = widths[s + 1]
            x = b.scope("stage\(s + 2)") { b -> ValueID in
                var y = x
                for i in 0 ..< count {
                    let cin = channels
                    y = b.scope("\(i)") { b in unit(&b, y, cin, out, stride: i == 0 ? 2 : 1) }
                    channels = out
                }
                return y
            }
        }
        x = b.scope("conv5") { b in b.convBN(x, channels, widths[4], kernel: 1, activation: .relu) }
        let pooled = b.flatten(b.globalAveragePool(x, name: "mean"), name: "flatten")
        b.output(b.linear(pooled, widths[4], classes, name: "fc"), name: "output")
    }

    @Sendable static func x0_5(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        build(&b, widths: [24, 48, 96, 192, 1024], classes: classes, height: height, width: width)
    }

    @Sendable static func x1_0(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        build(&b, widths: [24, 116, 232, 464, 1024], classes: classes, height: height, width: width)
    }
}
