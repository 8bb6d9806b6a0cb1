import OnyxIR

/// Layers beyond convolution and normalization: pooling, reshaping the channel axis, resampling, and
/// the activations the lightweight nets use. Each is one call, as in a PyTorch `forward`.
extension NetworkBuilder {
    public mutating func avgPool2d(_ x: ValueID, kernel: Int, stride: Int, padding: Int = 0, ceilMode: Bool = false,
                                   countIncludePad: Bool = true, name: String) -> ValueID {
        let window = Window(kernel: [kernel, kernel], strides: [stride, stride], dilations: [1, 1],
                            pads: [padding, padding, padding, padding], autoPad: .notSet)
        return node(.pool(PoolAttributes(kind: .average, window: window, ceilMode: ceilMode, countIncludePad: countIncludePad)), [x], name: name)
    }

    /// `x.chunk(parts, dim: axis)`: equal parts (the axis must divide).
    public mutating func split(_ x: ValueID, parts: Int, axis: Int = 1, name: String) -> [ValueID] {
        node(.split(axis: axis, outputs: parts), [x], name: name, outputs: parts)
    }

    /// `x[:, start ..< end]` on `axis`.
    public mutating func slice(_ x: ValueID, axis: Int = 1, start: Int, end: Int, name: String) -> ValueID {
        func index(_ v: Int, _ suffix: String) -> ValueID { constant(Tensor(shape: [1], [Int64(v)]), name: name + "." + suffix) }
        return node(.slice, [x, index(start, "starts"), index(end, "ends"), index(axis, "axes")], name: name)
    }

    /// ShuffleNet's channel shuffle: [N, g, C/g, H, W] -> transpose -> [N, C/g, g, H, W], flattened back.
    /// Exported as Reshape -> Transpose -> Reshape, the way PyTorch writes it.
    public mutating func channelShuffle(_ x: ValueID, groups: Int, name: String) -> ValueID {
        node(.channelShuffle(groups: groups), [x], name: name)
    }

    /// nn.Upsample(scale_factor: scale, mode: "nearest"), exported as Resize the way PyTorch does.
    public mutating func upsampleNearest(_ x: ValueID, scale: Int, name: String) -> ValueID {
        let scales = constant(Tensor(shape: [4], [1, 1, Float(scale), Float(scale)]), name: name + ".scales")
        let attributes = ResizeAttributes(mode: .nearest, coordinateTransform: .asymmetric, nearestMode: .floor)
        return node(.resize(attributes), [x, nil, scales], name: name)
    }

    public mutating func sigmoid(_ x: ValueID, name: String) -> ValueID { activation(x, .sigmoid, name: name) }
    /// x * sigmoid(x) (SiLU, Swish).
    public mutating func silu(_ x: ValueID, name: String) -> ValueID { activation(x, .silu, name: name) }
    /// x * relu6(x + 3) / 6.
    public mutating func hardSwish(_ x: ValueID, name: String) -> ValueID { activation(x, .hardSwish, name: name) }
    /// relu6(x + 3) / 6.
    public mutating func hardSigmoid(_ x: ValueID, name: String) -> ValueID {
        activation(x, .hardSigmoid(alpha: 1.0 / 6, beta: 0.5), name: name)
    }

    /// Squeeze-and-excitation: x * gate(expand(hidden(reduce(mean_hw(x))))), the two 1x1 convs with
    /// bias. `names` are the reduce and expand layers' names (torchvision: fc1/fc2, timm:
    /// conv_reduce/conv_expand).
    public mutating func squeezeExcite(_ x: ValueID, channels: Int, reduced: Int, hidden: UnaryFunction = .relu,
                                       gate: UnaryFunction = .sigmoid, names: (String, String) = ("fc1", "fc2")) -> ValueID {
        let pooled = globalAveragePool(x, name: "avgpool")
        let h = activation(conv2d(pooled, channels, reduced, kernel: 1, bias: true, name: names.0), hidden, name: "activation")
        let scale = activation(conv2d(h, reduced, channels, kernel: 1, bias: true, name: names.1), gate, name: "scale_activation")
        return mul(x, scale, name: "scale")
    }

    /// Conv2d (no bias), BatchNorm2d, then an optional activation: torchvision's Conv2dNormActivation,
    /// named `0`, `1`, `2` inside the current scope.
    public mutating func convBN(_ x: ValueID, _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1,
                                padding: Int? = nil, groups: Int = 1, epsilon: Float = 1e-5, activation f: UnaryFunction?) -> ValueID {
        let y = batchNorm2d(conv2d(x, inChannels, outChannels, kernel: kernel, stride: stride, padding: padding, groups: groups, name: "0"),
                            outChannels, epsilon: epsilon, name: "1")
        return f.map { activation(y, $0, name: "2") } ?? y
    }
}

/// Tensor plumbing for heads that reshape and decode (YOLO's Detect).
extension NetworkBuilder {
    /// A fixed tensor (not a parameter: it is not counted, loaded or initialised).
    public mutating func constant(_ tensor: Tensor, name: String) -> ValueID {
        graph.addConstant(tensor, name: qualified(name))
    }

    public mutating func reshape(_ x: ValueID, _ shape: [Int], name: String) -> ValueID {
        node(.reshape(allowZero: false), [x, constant(Tensor(shape: [shape.count], shape.map(Int64.init)), name: name + ".shape")], name: name)
    }

    public mutating func transpose(_ x: ValueID, _ permutation: [Int], name: String) -> ValueID {
        node(.transpose(permutation: permutation), [x], name: name)
    }

    public mutating func binary(_ f: BinaryFunction, _ a: ValueID, _ b: ValueID, name: String) -> ValueID {
        node(.binary(f), [a, b], name: name)
    }

    /// a * x + b elementwise with scalar a and b (two ops, skipped when a = 1 or b = 0).
    public mutating func affine(_ x: ValueID, scale a: Float, shift b: Float, name: String) -> ValueID {
        var y = x
        if a != 1 { y = mul(y, constant(.scalar(a), name: name + ".scale"), name: name + ".mul") }
        if b != 0 { y = add(y, constant(.scalar(b), name: name + ".shift"), name: name + ".add") }
        return y
    }
}

extension NetworkBuilder {
    /// `x.index_select(axis, indices)`.
    public mutating func gather(_ x: ValueID, indices: ValueID, axis: Int, name: String) -> ValueID {
        node(.gather(axis: axis), [x, indices], name: name)
    }

    /// Elementwise max of two tensors (ONNX Max).
    public mutating func maximum(_ a: ValueID, _ b: ValueID, name: String) -> ValueID {
        node(.variadic(.max), [a, b], name: name)
    }
}
