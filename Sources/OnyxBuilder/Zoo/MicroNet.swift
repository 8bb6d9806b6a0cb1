import OnyxIR

/// MicroNet-M0 (Li et al. 2021), built from the paper's description:
/// - Micro-Factorized depthwise conv: a k x 1 then a 1 x k depthwise conv, each able to multiply the
///   channels (ratios r1, r2);
/// - Micro-Factorized pointwise conv: a grouped 1x1 conv that compresses, a channel shuffle, and a
///   grouped 1x1 conv that expands;
/// - Dynamic Shift-Max (J = 2, K = 2): y_i = max_k (a_k(x)_i x_i + b_k(x)_i x_(i + C/G)), the shift by
///   one channel group, with a, b from global pooling, FC to C/4, ReLU, FC to 4C and an h-sigmoid
///   mapped to [-1, 1] around a = (1, 0), b = (0, 0) (the identity at initialisation).
/// Micro-Block-A: factorized depthwise expansion, Shift-Max, grouped 1x1 compression, shuffle.
/// Micro-Block-B: as A, then Shift-Max, shuffle and a grouped 1x1 expansion.
/// Micro-Block-C: factorized depthwise (no expansion), Shift-Max, compression, Shift-Max, shuffle,
/// expansion, and a residual when the shape allows.
/// The stem is a 3 x 1 conv and a grouped 1 x 3 conv (each stride 2 on its axis) to 6 channels. The
/// widths (6 -> 8 -> 12 -> 16 -> 32 -> 64 -> 96 -> 384 channels), strides and groupings are our reading
/// of the paper's M0, not checked against the authors' code (whose weights therefore do not load).
enum MicroNet {
    enum Kind { case a, b, c }
    /// (kind, stride, kernel, output, r1, r2, groups, compressed width) per block.
    static let m0: [(kind: Kind, stride: Int, kernel: Int, output: Int, r1: Int, r2: Int, groups: Int, compressed: Int)] = [
        (.a, 2, 3, 8, 2, 2, 2, 0), (.a, 2, 3, 12, 2, 2, 4, 0), (.a, 2, 5, 16, 2, 2, 4, 0),
        (.b, 1, 5, 32, 1, 4, 4, 16), (.c, 2, 5, 64, 1, 1, 8, 16), (.c, 1, 3, 96, 1, 1, 8, 24), (.c, 1, 3, 384, 1, 1, 12, 24),
    ]

    /// Dynamic Shift-Max over `channels` in `groups` groups.
    static func shiftMax(_ b: inout NetworkBuilder, _ x: ValueID, _ channels: Int, groups: Int, name: String) -> ValueID {
        b.scope(name) { b -> ValueID in
            let reduced = max(4, channels / 4)
            let pooled = b.globalAveragePool(x, name: "avgpool")
            let hidden = b.relu(b.conv2d(pooled, channels, reduced, kernel: 1, bias: true, name: "fc1"), name: "relu")
            let gates = b.hardSigmoid(b.conv2d(hidden, reduced, 4 * channels, kernel: 1, bias: true, name: "fc2"), name: "hsigmoid")
            // h-sigmoid in [0, 1] -> [-1, 1], then around the initial coefficients a1 = 1, b1 = a2 = b2 = 0.
            let parts = b.split(gates, parts: 4, name: "coefficients")
            let a1 = b.affine(parts[0], scale: 2, shift: 0, name: "a1"), b1 = b.affine(parts[1], scale: 2, shift: -1, name: "b1")
            let a2 = b.affine(parts[2], scale: 2, shift: -1, name: "a2"), b2 = b.affine(parts[3], scale: 2, shift: -1, name: "b2")
            // Channel i of the shifted input is channel (i + C/G) mod C.
            let order = (0 ..< channels).map { Int64(($0 + channels / groups) % channels) }
            let shifted = b.gather(x, indices: b.constant(Tensor(shape: [channels], order), name: "shift"), axis: 1, name: "shifted")
            let first = b.add(b.mul(x, a1, name: "x_a1"), b.mul(shifted, b1, name: "shifted_b1"), name: "z1")
            let second = b.add(b.mul(x, a2, name: "x_a2"), b.mul(shifted, b2, name: "shifted_b2"), name: "z2")
            return b.maximum(first, second, name: "max")
        }
    }

    /// k x 1 then 1 x k depthwise convs (stride on each axis), multiplying the channels by r1 and r2, + BN.
    static func factorizedDepthwise(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, kernel k: Int, stride s: Int, r1: Int, r2: Int) -> ValueID {
        let mid = cin * r1, out = mid * r2
        let y = b.conv2d(x, cin, mid, kernel: (k, 1), stride: (s, 1), padding: (k / 2, 0), groups: cin, name: "dw1")
        return b.batchNorm2d(b.conv2d(y, mid, out, kernel: (1, k), stride: (1, s), padding: (0, k / 2), groups: mid, name: "dw2"), out, name: "dw_bn")
    }

    static func block(_ b: inout NetworkBuilder, _ x: ValueID, _ cin: Int, _ c: (kind: Kind, stride: Int, kernel: Int, output: Int, r1: Int, r2: Int, groups: Int, compressed: Int)) -> ValueID {
        let expanded = cin * c.r1 * c.r2
        var y = factorizedDepthwise(&b, x, cin, kernel: c.kernel, stride: c.stride, r1: c.r1, r2: c.r2)
        y = shiftMax(&b, y, expanded, groups: c.groups, name: "act1")
        switch c.kind {
        case .a:
            y = b.batchNorm2d(b.conv2d(y, expanded, c.output, kernel: 1, groups: c.groups, name: "pw"), c.output, name: "pw_bn")
            return b.channelShuffle(y, groups: c.groups, name: "shuffle")
        case .b, .c:
            y = b.batchNorm2d(b.conv2d(y, expanded, c.compressed, kernel: 1, groups: c.groups, name: "pw1"), c.compressed, name: "pw1_bn")
            y = shiftMax(&b, y, c.compressed, groups: c.groups, name: "act2")
            y = b.channelShuffle(y, groups: c.groups, name: "shuffle")
            y = b.batchNorm2d(b.conv2d(y, c.compressed, c.output, kernel: 1, groups: c.groups, name: "pw2"), c.output, name: "pw2_bn")
            return c.kind == .c && c.stride == 1 && cin == c.output ? b.add(y, x, name: "residual") : y
        }
    }

    @Sendable static func buildM0(_ b: inout NetworkBuilder, classes: Int, height: Int, width: Int) {
        let input = b.input("input", shape: [1, 3, height, width])
        var x = b.scope("stem") { b -> ValueID in
            let y = b.conv2d(input, 3, 3, kernel: (3, 1), stride: (2, 1), padding: (1, 0), name: "conv1")
            return b.relu(b.batchNorm2d(b.conv2d(y, 3, 6, kernel: (1, 3), stride: (1, 2), padding: (0, 1), groups: 3, name: "conv2"), 6, name: "bn"), name: "relu")
        }
        var channels = 6
        for (i, c) in m0.enumerated() {
            let cin = channels, y = x
            x = b.scope("features.\(i)") { b in block(&b, y, cin, c) }
            channels = c.output
        }
        let pooled = b.flatten(b.globalAveragePool(x, name: "avgpool"), name: "flatten")
        b.output(b.linear(pooled, channels, classes, name: "classifier"), name: "output")
    }
}
