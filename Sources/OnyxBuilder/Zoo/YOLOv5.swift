import OnyxIR

/// YOLOv5 (v6.0) at width 0.5 with a MobileNetV3-small backbone: the PAN head of yolov5s (1x1 convs,
/// nearest 2x upsampling, Concat, C3 blocks, SiLU) on P3, P4 and P5, and a Detect layer whose outputs
/// are sigmoid-decoded into boxes (xy = (2s - 0.5 + grid) * stride, wh = (2s)^2 * anchor) and
/// concatenated over the three scales: [1, 3 * sum(H_i * W_i), classes + 5].
enum YOLOv5 {
    /// (output, expanded, kernel, stride, SE, h-swish) per backbone block.
    static let backbone: [(output: Int, expanded: Int, kernel: Int, stride: Int, se: Bool, hardSwish: Bool)] = [
        (16, 16, 3, 2, true, false), (24, 72, 3, 2, false, false), (24, 88, 3, 1, false, false),
        (40, 96, 5, 2, true, true), (40, 240, 5, 1, true, true), (40, 240, 5, 1, true, true),
        (48, 120, 5, 1, true, true), (48, 144, 5, 1, true, true), (96, 288, 5, 2, true, true),
        (96, 576, 5, 1, true, true), (96, 576, 5, 1, true, true),
    ]
    /// Anchor (width, height) in pixels per scale, as yolov5s.yaml gives them.
    static let anchors: [[(Float, Float)]] = [[(10, 13), (16, 30), (33, 23)], [(30, 61), (62, 45), (59, 119)], [(116, 90), (156, 198), (373, 326)]]
    static let strides = [8, 16, 32]
    static let epsilon: Float = 1e-3

    /// YOLOv5's Conv: conv (no bias) + BN + SiLU, padding k / 2.
    static func conv(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, name: String) -> ValueID {
        b.scope(name) { b in
            b.silu(b.batchNorm2d(b.conv2d(x, cin, cout, kernel: kernel, stride: stride, name: "conv"), cout, epsilon: epsilon, name: "bn"), name: "act")
        }
    }

    /// C3 without shortcut: cv3(cat(bottleneck(cv1(x)), cv2(x))), hidden width = cout / 2.
    static func c3(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, name: String) -> ValueID {
        b.scope(name) { b in
            let hidden = cout / 2
            var y = conv(&b, x, cin, hidden, kernel: 1, name: "cv1")
            y = b.scope("m.0") { b in conv(&b, conv(&b, y, hidden, hidden, kernel: 1, name: "cv1"), hidden, hidden, kernel: 3, name: "cv2") }
            let z = conv(&b, x, cin, hidden, kernel: 1, name: "cv2")
            return conv(&b, b.concat([y, z], name: "cat"), 2 * hidden, cout, kernel: 1, name: "cv3")
        }
    }

    /// The MobileNetV3 block of the YOLOv5 MobileNetV3 ports: (1x1 expansion, act), depthwise + BN,
    /// SE (linear layers to a quarter, ReLU, h-sigmoid), act, 1x1 projection + BN; SE and act swap
    /// places when there is no expansion.
    static func block(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ c: (output: Int, expanded: Int, kernel: Int, stride: Int, se: Bool, hardSwish: Bool)) -> ValueID {
        b.scope("conv") { b -> ValueID in
            let act: UnaryFunction = c.hardSwish ? .hardSwish : .relu
            var y = x
            var k = 0
            func next() -> String { defer { k += 1 }; return "\(k)" }
            if c.expanded != cin {
                y = b.activation(b.batchNorm2d(b.conv2d(y, cin, c.expanded, kernel: 1, name: next()), c.expanded, name: next()), act, name: next())
            }
            y = b.batchNorm2d(b.conv2d(y, c.expanded, c.expanded, kernel: c.kernel, stride: c.stride, groups: c.expanded, name: next()), c.expanded, name: next())
            if c.expanded == cin { y = b.activation(y, act, name: next()) }
            if c.se {
                let z = y
                y = b.scope(next()) { b in
                    b.squeezeExcite(z, channels: c.expanded, reduced: c.expanded / 4, gate: .hardSigmoid(alpha: 1.0 / 6, beta: 0.5))
                }
            }
            if c.expanded != cin { y = b.activation(y, act, name: next()) }
            y = b.batchNorm2d(b.conv2d(y, c.expanded, c.output, kernel: 1, name: next()), c.output, name: next())
            return c.stride == 1 && cin == c.output ? b.add(x, y, name: "residual") : y
        }
    }

    /// One scale of Detect: 1x1 conv to 3 x (classes + 5), [1, 3, ny, nx, classes + 5], sigmoid, decode.
    static func detect(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, scale i: Int, classes: Int, height: Int, width: Int) -> ValueID {
        let outputs = classes + 5
        let (ny, nx) = (height / strides[i], width / strides[i])
        let stride = Float(strides[i])
        let y = b.conv2d(x, cin, 3 * outputs, kernel: 1, bias: true, name: "m.\(i)")
        return b.scope("decode\(i)") { b -> ValueID in
            let grid = b.reshape(y, [1, 3, outputs, ny, nx], name: "view")
            let s = b.sigmoid(b.transpose(grid, [0, 1, 3, 4, 2], name: "permute"), name: "sigmoid")
            // Cell offsets (x, y) of every grid position, and the anchors in pixels.
            let cells = (0 ..< ny * nx).flatMap { [Float($0 % nx), Float($0 / nx)] }
            let offsets = b.constant(Tensor(shape: [1, 1, ny, nx, 2], cells), name: "grid")
            let sizes = b.constant(Tensor(shape: [1, 3, 1, 1, 2], anchors[i].flatMap { [$0.0, $0.1] }), name: "anchor_grid")
            let xy = b.affine(b.add(b.affine(b.slice(s, axis: 4, start: 0, end: 2, name: "xy"), scale: 2, shift: -0.5, name: "xy"), offsets, name: "xy.grid"),
                              scale: stride, shift: 0, name: "xy.stride")
            let wh2 = b.affine(b.slice(s, axis: 4, start: 2, end: 4, name: "wh"), scale: 2, shift: 0, name: "wh")
            let wh = b.mul(b.mul(wh2, wh2, name: "wh.square"), sizes, name: "wh.anchor")
            let rest = b.slice(s, axis: 4, start: 4, end: outputs, name: "conf")
            return b.reshape(b.concat([xy, wh, rest], axis: 4, name: "cat"), [1, 3 * ny * nx, outputs], name: "flatten")
        }
    }

    @Sendable static func buildMobileNetV3Small(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        var x = b.scope("model.0") { b in b.hardSwish(b.batchNorm2d(b.conv2d(input, 3, 16, kernel: 3, stride: 2, name: "conv"), 16, name: "bn"), name: "act") }
        var channels = 16
        var taps: [ValueID] = []
        for (i, c) in backbone.enumerated() {
            let cin = channels
            let y = x
            x = b.scope("model.\(i + 1)") { b in block(&b, y, cin, c) }
            channels = c.output
            if i + 1 == 3 || i + 1 == 8 { taps.append(x) }
        }
        // PAN head at width 0.5 (yolov5s): P5 -> 1x1 -> up -> cat P4 -> C3 -> 1x1 -> up -> cat P3 -> C3 (out P3),
        // then down: 3x3 s2 -> cat -> C3 (out P4), 3x3 s2 -> cat -> C3 (out P5).
        let (p3, p4, p5) = (taps[0], taps[1], x)
        let h12 = conv(&b, p5, 96, 256, kernel: 1, name: "model.12")
        var y = b.concat([b.upsampleNearest(h12, scale: 2, name: "model.13"), p4], name: "model.14")
        y = c3(&b, y, 256 + 48, 256, name: "model.15")
        let h16 = conv(&b, y, 256, 128, kernel: 1, name: "model.16")
        y = b.concat([b.upsampleNearest(h16, scale: 2, name: "model.17"), p3], name: "model.18")
        let out3 = c3(&b, y, 128 + 24, 128, name: "model.19")
        y = b.concat([conv(&b, out3, 128, 128, kernel: 3, stride: 2, name: "model.20"), h16], name: "model.21")
        let out4 = c3(&b, y, 256, 256, name: "model.22")
        y = b.concat([conv(&b, out4, 256, 256, kernel: 3, stride: 2, name: "model.23"), h12], name: "model.24")
        let out5 = c3(&b, y, 512, 512, name: "model.25")
        let scales = b.scope("model.26") { b in
            [(out3, 128), (out4, 256), (out5, 512)].enumerated().map { i, pair in
                detect(&b, pair.0, pair.1, scale: i, classes: classes, height: height, width: width)
            }
        }
        b.output(b.concat(scales, axis: 1, name: "detections"), name: "output")
    }
}
