import OnyxIR

/// Xception (Chollet 2017, the layout of the original PyTorch port used by timm's legacy_xception):
/// an entry flow of strided blocks, eight middle-flow blocks of three separable convs, an exit flow,
/// then two separable convs to 2048 channels. Separable conv = depthwise 3x3 then pointwise 1x1, no bias.
enum Xception {
    static func separable(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, name: String) -> ValueID {
        b.scope(name) { b in
            b.conv2d(b.conv2d(x, cin, cin, kernel: 3, groups: cin, name: "conv1"), cin, cout, kernel: 1, name: "pointwise")
        }
    }

    /// `reps` x (ReLU, separable conv, BN), the first ReLU dropped when `startWithReLU` is false, a
    /// 3x3 stride-2 max pool when strided, plus a shortcut (1x1 strided conv + BN when the shape changes).
    static func block(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, reps: Int, stride: Int,
                      startWithReLU: Bool = true, growFirst: Bool = true) -> ValueID {
        var y = x
        // Layers are numbered as in the reference's `rep` list, which drops its first ReLU.
        var index = startWithReLU ? 0 : -1
        b.scope("rep") { b in
            for i in 0 ..< reps {
                let inner = growFirst ? (i == 0 ? cin : cout) : cin
                let outer = growFirst ? cout : (i < reps - 1 ? cin : cout)
                if i > 0 || startWithReLU { y = b.relu(y, name: "\(index)") }
                y = separable(&b, y, inner, outer, name: "\(index + 1)")
                y = b.batchNorm2d(y, outer, name: "\(index + 2)")
                index += 3
            }
            if stride != 1 { y = b.maxPool2d(y, kernel: 3, stride: stride, padding: 1, name: "\(index)") }
        }
        let skip = cin == cout && stride == 1 ? x
            : b.batchNorm2d(b.conv2d(x, cin, cout, kernel: 1, stride: stride, name: "skip"), cout, name: "skipbn")
        return b.add(y, skip, name: "residual")
    }

    @Sendable static func build(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        var x = b.relu(b.batchNorm2d(b.conv2d(input, 3, 32, kernel: 3, stride: 2, padding: 0, name: "conv1"), 32, name: "bn1"), name: "act1")
        x = b.relu(b.batchNorm2d(b.conv2d(x, 32, 64, kernel: 3, padding: 0, name: "conv2"), 64, name: "bn2"), name: "act2")
        let plan: [(cin: Int, cout: Int, reps: Int, stride: Int)] =
            [(64, 128, 2, 2), (128, 256, 2, 2), (256, 728, 2, 2)] + Array(repeating: (728, 728, 3, 1), count: 8) + [(728, 1024, 2, 2)]
        for (i, p) in plan.enumerated() {
            let y = x
            x = b.scope("block\(i + 1)") { b in
                block(&b, y, p.cin, p.cout, reps: p.reps, stride: p.stride, startWithReLU: i > 0, growFirst: i < plan.count - 1)
            }
        }
        x = b.relu(b.batchNorm2d(separable(&b, x, 1024, 1536, name: "conv3"), 1536, name: "bn3"), name: "act3")
        x = b.relu(b.batchNorm2d(separable(&b, x, 1536, 2048, name: "conv4"), 2048, name: "bn4"), name: "act4")
        let pooled = b.flatten(b.globalAveragePool(x, name: "global_pool"), name: "flatten")
        b.output(b.linear(pooled, 2048, classes, name: "fc"), name: "output")
    }
}
