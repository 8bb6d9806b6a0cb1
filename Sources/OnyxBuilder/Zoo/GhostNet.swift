import OnyxIR

/// GhostNet 1.0 (Han et al. 2020, the timm layout). A Ghost module makes half its channels with a 1x1
/// conv and the other half from those with a cheap depthwise 3x3, concatenated; a Ghost bottleneck is
/// two Ghost modules (the second linear), a depthwise stride-2 conv between them when downsampling,
/// optional squeeze-and-excitation with a hard-sigmoid gate, and a residual (a depthwise + 1x1 conv
/// shortcut when the shape changes).
enum GhostNet {
    /// (kernel, expanded, output, SE ratio, stride) per bottleneck, grouped by stage.
    static let stages: [[(kernel: Int, expanded: Int, output: Int, se: Double, stride: Int)]] = [
        [(3, 16, 16, 0, 1)], [(3, 48, 24, 0, 2)], [(3, 72, 24, 0, 1)], [(5, 72, 40, 0.25, 2)], [(5, 120, 40, 0.25, 1)],
        [(3, 240, 80, 0, 2)],
        [(3, 200, 80, 0, 1), (3, 184, 80, 0, 1), (3, 184, 80, 0, 1), (3, 480, 112, 0.25, 1), (3, 672, 112, 0.25, 1)],
        [(5, 672, 160, 0.25, 2)],
        [(5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1), (5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1)],
    ]

    /// v rounded to the nearest multiple of `divisor`, at least `divisor` and no less than 90% of v.
    static func divisible(_ v: Double, _ divisor: Int = 4) -> Int {
        var rounded = max(divisor, Int(v + Double(divisor) / 2) / divisor * divisor)
        if Double(rounded) < 0.9 * v { rounded += divisor }
        return rounded
    }

    static func ghostModule(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, relu: Bool) -> ValueID {
        let primary = (cout + 1) / 2
        let act: UnaryFunction? = relu ? .relu : nil
        let p = b.scope("primary_conv") { b in b.convBN(x, cin, primary, kernel: 1, activation: act) }
        let cheap = b.scope("cheap_operation") { b in b.convBN(p, primary, primary, kernel: 3, groups: primary, activation: act) }
        let joined = b.concat([p, cheap], name: "cat")
        return 2 * primary == cout ? joined : b.slice(joined, start: 0, end: cout, name: "slice")
    }

    static func bottleneck(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ c: (kernel: Int, expanded: Int, output: Int, se: Double, stride: Int)) -> ValueID {
        let mid = divisible(Double(c.expanded)), cout = divisible(Double(c.output))
        var y = b.scope("ghost1") { b in ghostModule(&b, x, cin, mid, relu: true) }
        if c.stride > 1 {
            y = b.batchNorm2d(b.conv2d(y, mid, mid, kernel: c.kernel, stride: c.stride, groups: mid, name: "conv_dw"), mid, name: "bn_dw")
        }
        if c.se > 0 {
            let z = y
            y = b.scope("se") { b in
                b.squeezeExcite(z, channels: mid, reduced: divisible(Double(mid) * c.se), gate: .hardSigmoid(alpha: 1.0 / 6, beta: 0.5),
                                names: ("conv_reduce", "conv_expand"))
            }
        }
        let z = y
        y = b.scope("ghost2") { b in ghostModule(&b, z, mid, cout, relu: false) }
        let shortcut = cin == cout && c.stride == 1 ? x : b.scope("shortcut") { b -> ValueID in
            let d = b.batchNorm2d(b.conv2d(x, cin, cin, kernel: c.kernel, stride: c.stride, groups: cin, name: "0"), cin, name: "1")
            return b.batchNorm2d(b.conv2d(d, cin, cout, kernel: 1, name: "2"), cout, name: "3")
        }
        return b.add(y, shortcut, name: "residual")
    }

    @Sendable static func build(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        var x = b.relu(b.batchNorm2d(b.conv2d(input, 3, 16, kernel: 3, stride: 2, name: "conv_stem"), 16, name: "bn1"), name: "act1")
        var channels = 16
        x = b.scope("blocks") { b -> ValueID in
            var y = x
            for (s, stage) in stages.enumerated() {
                y = b.scope("\(s)") { b -> ValueID in
                    var z = y
                    for (i, c) in stage.enumerated() {
                        let cin = channels
                        z = b.scope("\(i)") { b in bottleneck(&b, z, cin, c) }
                        channels = divisible(Double(c.output))
                    }
                    return z
                }
            }
            let last = divisible(960)
            let cin = channels
            channels = last
            return b.scope("\(stages.count).0") { b in
                b.relu(b.batchNorm2d(b.conv2d(y, cin, last, kernel: 1, name: "conv"), last, name: "bn1"), name: "act1")
            }
        }
        let pooled = b.globalAveragePool(x, name: "global_pool")
        let head = b.relu(b.conv2d(pooled, channels, 1280, kernel: 1, bias: true, name: "conv_head"), name: "act2")
        b.output(b.linear(b.flatten(head, name: "flatten"), 1280, classes, name: "classifier"), name: "output")
    }
}
