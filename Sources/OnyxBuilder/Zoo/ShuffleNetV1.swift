import OnyxIR

/// ShuffleNet 1x with g = 3 (Zhang et al. 2018, Table 1): units of grouped 1x1 conv, channel shuffle,
/// depthwise 3x3 and grouped 1x1 conv (bottleneck = a quarter of the output), added to the input, or
/// at stride 2 concatenated with a 3x3 average pool of it. Stage 2's first 1x1 is not grouped (its
/// input has only 24 channels).
enum ShuffleNetV1 {
    static let groups = 3
    static let widths = [240, 480, 960]
    static let repeats = [4, 8, 4]

    static func unit(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, stride: Int, firstGrouped: Bool) -> ValueID {
        let mid = cout / 4
        let branchOut = stride == 2 ? cout - cin : cout
        var y = b.relu(b.batchNorm2d(b.conv2d(x, cin, mid, kernel: 1, groups: firstGrouped ? groups : 1, name: "conv1"), mid, name: "bn1"), name: "relu1")
        y = b.channelShuffle(y, groups: groups, name: "shuffle")
        y = b.batchNorm2d(b.conv2d(y, mid, mid, kernel: 3, stride: stride, groups: mid, name: "conv2"), mid, name: "bn2")
        y = b.batchNorm2d(b.conv2d(y, mid, branchOut, kernel: 1, groups: groups, name: "conv3"), branchOut, name: "bn3")
        let joined = stride == 2
            ? b.concat([b.avgPool2d(x, kernel: 3, stride: 2, padding: 1, name: "shortcut"), y], name: "cat")
            : b.add(y, x, name: "residual")
        return b.relu(joined, name: "relu")
    }

    @Sendable static func buildG3(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        var x = b.scope("conv1") { b in b.convBN(input, 3, 24, kernel: 3, stride: 2, activation: .relu) }
        x = b.maxPool2d(x, kernel: 3, stride: 2, padding: 1, name: "maxpool")
        var channels = 24
        for (s, count) in repeats.enumerated() {
            let y = x
            x = b.scope("stage\(s + 2)") { b -> ValueID in
                var z = y
                for i in 0 ..< count {
                    let cin = channels
                    z = b.scope("\(i)") { b in unit(&b, z, cin, widths[s], stride: i == 0 ? 2 : 1, firstGrouped: !(s == 0 && i == 0)) }
                    channels = widths[s]
                }
                return z
            }
        }
        let pooled = b.flatten(b.globalAveragePool(x, name: "avgpool"), name: "flatten")
        b.output(b.linear(pooled, channels, classes, name: "fc"), name: "output")
    }
}
