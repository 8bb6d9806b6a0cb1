import Foundation
import OnyxIR

/// Builds an IR graph the way PyTorch modules are written: layers as calls, names from nested scopes
/// (`features.3.conv.1`), weights drawn from a seeded generator (Kaiming normal for convolutions and
/// linear layers, PyTorch's defaults for BatchNorm: weight 1, bias 0, running mean 0, variance 1).
public struct NetworkBuilder {
    public internal(set) var graph = Graph()
    private var scopes: [String] = []
    private var random: SeededRandom
    /// Tensors by parameter name (`features.3.conv.1.weight`) that replace the seeded initial values.
    public let pretrained: [String: Tensor]
    /// The parameter names created so far, and those taken from `pretrained`.
    public internal(set) var parameterNames: [String] = []
    public internal(set) var loadedNames: Set<String> = []
    /// Pretrained tensors whose shape differs from the parameter's.
    public internal(set) var shapeMismatches: [String] = []

    public init(seed: UInt64 = 0, pretrained: [String: Tensor] = [:]) {
        random = SeededRandom(seed: seed)
        self.pretrained = pretrained
    }

    // MARK: Naming

    /// Runs `body` with `name` appended to the scope: layers created inside are named `scope.name.k`.
    public mutating func scope<T>(_ name: String, _ body: (inout NetworkBuilder) throws -> T) rethrows -> T {
        scopes.append(name)
        defer { scopes.removeLast() }
        return try body(&self)
    }

    func qualified(_ name: String) -> String { (scopes + [name]).filter { !$0.isEmpty }.joined(separator: ".") }

    // MARK: Graph ends

    public mutating func input(_ name: String, shape: [Int]) -> ValueID {
        let id = graph.addValue(Value(name: name, dtype: .float32, shape: shape.map(Dim.fixed)))
        graph.inputs.append(id)
        return id
    }

    public mutating func output(_ value: ValueID, name: String) {
        graph.values[value].name = name
        graph.outputs.append(value)
    }

    // MARK: Layers

    @discardableResult
    mutating func node(_ op: Op, _ inputs: [ValueID?], name: String) -> ValueID {
        node(op, inputs, name: name, outputs: 1)[0]
    }

    /// A node with `outputs` results, named `name.0`, `name.1`, ...
    mutating func node(_ op: Op, _ inputs: [ValueID?], name: String, outputs: Int) -> [ValueID] {
        let full = qualified(name)
        let ids = (0 ..< outputs).map { k in graph.addValue(Value(name: outputs == 1 ? full : "\(full).\(k)")) }
        graph.nodes.append(Node(name: full, op: op, inputs: inputs, outputs: ids))
        return ids
    }

    /// A weight: the pretrained tensor of this name when there is one, else `values` (drawn either way,
    /// so the other weights do not depend on which were loaded).
    mutating func parameter(_ name: String, _ shape: [Int], _ values: [Float]) -> ValueID {
        let full = qualified(name)
        parameterNames.append(full)
        var tensor = Tensor(shape: shape, values)
        if let given = pretrained[full] {
            if given.shape == shape {
                tensor = given
                loadedNames.insert(full)
            } else {
                shapeMismatches.append("'\(full)' is \(given.shape) in the weights but \(shape) in the network")
            }
        }
        return graph.addConstant(tensor, name: full)
    }

    /// Conv2d with PyTorch's arguments; padding defaults to "same" for odd kernels (kernel / 2 * dilation).
    public mutating func conv2d(_ x: ValueID, _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1,
                                padding: Int? = nil, groups: Int = 1, dilation: Int = 1, bias: Bool = false,
                                name: String) -> ValueID {
        let pad = padding ?? (kernel / 2) * dilation
        return conv2d(x, inChannels, outChannels, kernel: (kernel, kernel), stride: (stride, stride), padding: (pad, pad),
                      groups: groups, dilation: dilation, bias: bias, name: name)
    }

    /// Conv2d with a (height, width) kernel, stride and padding, as in MicroNet's factorized k x 1 / 1 x k convs.
    public mutating func conv2d(_ x: ValueID, _ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), stride: (Int, Int),
                                padding: (Int, Int), groups: Int = 1, dilation: Int = 1, bias: Bool = false, name: String) -> ValueID {
        // Kaiming normal, fan-out mode (torchvision's init for convolutions).
        let fanOut = outChannels * kernel.0 * kernel.1 / groups
        let std = (2.0 / Double(fanOut)).squareRoot()
        let wShape = [outChannels, inChannels / groups, kernel.0, kernel.1]
        let w = parameter(name + ".weight", wShape, random.normals(wShape.reduce(1, *), std: std))
        let b = bias ? parameter(name + ".bias", [outChannels], [Float](repeating: 0, count: outChannels)) : nil
        let window = Window(kernel: [kernel.0, kernel.1], strides: [stride.0, stride.1], dilations: [dilation, dilation],
                            pads: [padding.0, padding.1, padding.0, padding.1], autoPad: .notSet)
        return node(.conv(ConvAttributes(window: window, group: groups, kernelFromWeights: false)), [x, w] + (b.map { [$0] } ?? []), name: name)
    }

    public mutating func batchNorm2d(_ x: ValueID, _ channels: Int, epsilon: Float = 1e-5, name: String) -> ValueID {
        let ones = [Float](repeating: 1, count: channels), zeros = [Float](repeating: 0, count: channels)
        let inputs = [parameter(name + ".weight", [channels], ones), parameter(name + ".bias", [channels], zeros),
                      parameter(name + ".running_mean", [channels], zeros), parameter(name + ".running_var", [channels], ones)]
        return node(.batchNormalization(epsilon: epsilon), [x] + inputs, name: name)
    }

    /// Linear(in, out): y = x W^T + b, W initialised like PyTorch's (uniform in +-1/sqrt(in)).
    public mutating func linear(_ x: ValueID, _ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, name: String) -> ValueID {
        let bound = 1 / Double(inFeatures).squareRoot()
        let w = parameter(name + ".weight", [outFeatures, inFeatures], random.uniforms(outFeatures * inFeatures, bound: bound))
        let b = bias ? parameter(name + ".bias", [outFeatures], random.uniforms(outFeatures, bound: bound)) : nil
        return node(.gemm(GemmAttributes(transB: true)), [x, w] + (b.map { [$0] } ?? []), name: name)
    }

    public mutating func activation(_ x: ValueID, _ f: UnaryFunction, name: String) -> ValueID {
        node(.unary(f), [x], name: name)
    }

    public mutating func relu(_ x: ValueID, name: String) -> ValueID { activation(x, .relu, name: name) }

    /// ReLU6 as Clip(0, 6), as PyTorch exports it.
    public mutating func relu6(_ x: ValueID, name: String) -> ValueID {
        node(.clip, [x, constant(.scalar(Float(0)), name: name + ".min"), constant(.scalar(Float(6)), name: name + ".max")], name: name)
    }

    public mutating func maxPool2d(_ x: ValueID, kernel: Int, stride: Int, padding: Int = 0, ceilMode: Bool = false, name: String) -> ValueID {
        let window = Window(kernel: [kernel, kernel], strides: [stride, stride], dilations: [1, 1],
                            pads: [padding, padding, padding, padding], autoPad: .notSet)
        return node(.pool(PoolAttributes(kind: .max, window: window, ceilMode: ceilMode, countIncludePad: false)), [x], name: name)
    }

    public mutating func globalAveragePool(_ x: ValueID, name: String) -> ValueID { node(.globalPool(.average), [x], name: name) }

    public mutating func flatten(_ x: ValueID, axis: Int = 1, name: String) -> ValueID { node(.flatten(axis: axis), [x], name: name) }

    public mutating func concat(_ xs: [ValueID], axis: Int = 1, name: String) -> ValueID { node(.concat(axis: axis), xs, name: name) }

    public mutating func add(_ a: ValueID, _ b: ValueID, name: String) -> ValueID { node(.binary(.add), [a, b], name: name) }

    public mutating func mul(_ a: ValueID, _ b: ValueID, name: String) -> ValueID { node(.binary(.mul), [a, b], name: name) }
}

/// Deterministic numbers from a seeded SplitMix64: weights, benchmark and test inputs
/// (Box-Muller for the normals).
public struct SeededRandom {
    var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E3779B97F4A7C15 }

    public mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    public mutating func unit() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }

    mutating func normals(_ count: Int, std: Double) -> [Float] {
        (0 ..< count).map { _ in Float((-2 * Foundation.log(unit())).squareRoot() * Foundation.cos(2 * Double.pi * unit()) * std) }
    }

    mutating func uniforms(_ count: Int, bound: Double) -> [Float] {
        (0 ..< count).map { _ in Float((unit() * 2 - 1) * bound) }
    }
}
