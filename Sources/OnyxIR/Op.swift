/// Every operator the runtime executes, with all attributes resolved to values (spec defaults applied).
/// Inputs that moved from attributes to inputs across opsets are always inputs here (see Lowering).
public enum Op: Sendable, Equatable {
    case conv(ConvAttributes)
    case convTranspose(ConvTransposeAttributes)
    case batchNormalization(epsilon: Float)
    case instanceNormalization(epsilon: Float)
    case lrn(size: Int, alpha: Float, beta: Float, bias: Float)
    /// Elementwise function of one tensor; also the fused-activation vocabulary.
    case unary(UnaryFunction)
    case binary(BinaryFunction)
    /// Sum, Min, Max, Mean of any number of broadcast inputs.
    case variadic(VariadicFunction)
    /// Inputs: x, min?, max?.
    case clip
    /// Inputs: x, slope (broadcast to x).
    case prelu
    case matMul
    case gemm(GemmAttributes)
    case pool(PoolAttributes)
    case globalPool(PoolKind)
    case concat(axis: Int)
    /// Inputs: x, split sizes?. `outputs` equal parts when no sizes are given.
    case split(axis: Int, outputs: Int)
    /// Inputs: data, starts, ends, axes?, steps?.
    case slice
    /// Inputs: data, shape.
    case reshape(allowZero: Bool)
    case flatten(axis: Int)
    case transpose(permutation: [Int]?)
    /// Inputs: data, axes?.
    case squeeze
    /// Inputs: data, axes.
    case unsqueeze
    /// Inputs: data, shape.
    case expand
    /// Inputs: data, repeats.
    case tile
    case gather(axis: Int)
    case shape(start: Int, end: Int?)
    /// Input: shape.
    case constantOfShape(value: Tensor)
    case cast(to: DType)
    case identity
    /// Inputs: data, pads, constant value?, axes?.
    case pad(mode: PadMode)
    /// Inputs: x, roi?, scales?, sizes?.
    case resize(ResizeAttributes)
    case softmax(axis: Int, coerceTo2D: Bool)
    case logSoftmax(axis: Int, coerceTo2D: Bool)
    /// Inputs: data, axes?.
    case reduce(ReduceFunction, keepDims: Bool, noopWithEmptyAxes: Bool)
    case argMax(axis: Int, keepDims: Bool, selectLastIndex: Bool)
    case argMin(axis: Int, keepDims: Bool, selectLastIndex: Bool)
    case depthToSpace(blockSize: Int, columnRowDepth: Bool)
    case spaceToDepth(blockSize: Int, columnRowDepth: Bool)
    /// Inputs: condition, x, y.
    case `where`
    /// Reshape -> Transpose -> Reshape on channels, as ShuffleNet exports it: [N, g, C/g, ...] -> [N, C/g, g, ...].
    case channelShuffle(groups: Int)
    /// Squeeze-and-excitation: y = x * gate(W2 hidden(W1 mean_hw(x) + b1) + b2), per channel.
    /// Inputs: x, W1 [C/r, C, 1, 1], b1, W2 [C, C/r, 1, 1], b2.
    case squeezeExcite(hidden: Activation?, gate: Activation)

    /// The ONNX operator this op came from or exports to.
    public var onnxName: String {
        switch self {
        case .conv: return "Conv"
        case .convTranspose: return "ConvTranspose"
        case .batchNormalization: return "BatchNormalization"
        case .instanceNormalization: return "InstanceNormalization"
        case .lrn: return "LRN"
        case .unary(let f): return f.onnxName
        case .binary(let f): return f.rawValue
        case .variadic(let f): return f.rawValue
        case .clip: return "Clip"
        case .prelu: return "PRelu"
        case .matMul: return "MatMul"
        case .gemm: return "Gemm"
        case .channelShuffle: return "ChannelShuffle"
        case .squeezeExcite: return "SqueezeExcite"
        case .pool(let p): return p.kind == .max ? "MaxPool" : (p.kind == .lp ? "LpPool" : "AveragePool")
        case .globalPool(let k): return k == .max ? "GlobalMaxPool" : "GlobalAveragePool"
        case .concat: return "Concat"
        case .split: return "Split"
        case .slice: return "Slice"
        case .reshape: return "Reshape"
        case .flatten: return "Flatten"
        case .transpose: return "Transpose"
        case .squeeze: return "Squeeze"
        case .unsqueeze: return "Unsqueeze"
        case .expand: return "Expand"
        case .tile: return "Tile"
        case .gather: return "Gather"
        case .shape: return "Shape"
        case .constantOfShape: return "ConstantOfShape"
        case .cast: return "Cast"
        case .identity: return "Identity"
        case .pad: return "Pad"
        case .resize: return "Resize"
        case .softmax: return "Softmax"
        case .logSoftmax: return "LogSoftmax"
        case .reduce(let f, _, _): return f.rawValue
        case .argMax: return "ArgMax"
        case .argMin: return "ArgMin"
        case .depthToSpace: return "DepthToSpace"
        case .spaceToDepth: return "SpaceToDepth"
        case .where: return "Where"
        }
    }
}

public enum AutoPad: String, Sendable, Equatable {
    case notSet = "NOTSET", sameUpper = "SAME_UPPER", sameLower = "SAME_LOWER", valid = "VALID"
}

/// Window geometry shared by convolution and pooling; arrays have one entry per spatial axis, and
/// `pads` is [begin..., end...] as in ONNX.
public struct Window: Sendable, Equatable {
    public var kernel: [Int]
    public var strides: [Int]
    public var dilations: [Int]
    public var pads: [Int]
    public var autoPad: AutoPad

    public init(kernel: [Int], strides: [Int], dilations: [Int], pads: [Int], autoPad: AutoPad) {
        self.kernel = kernel
        self.strides = strides
        self.dilations = dilations
        self.pads = pads
        self.autoPad = autoPad
    }

    /// Whether every array has the entries `spatial` axes need and strides and dilations are positive
    /// (resolve would index past an array or divide by zero otherwise).
    public func fits(spatial: Int) -> Bool {
        kernel.count == spatial && strides.count == spatial && dilations.count == spatial && pads.count == 2 * spatial
            && strides.allSatisfy { $0 > 0 } && dilations.allSatisfy { $0 > 0 } && kernel.allSatisfy { $0 > 0 }
    }

    /// Output size and resolved pads for the spatial sizes `input` (auto_pad applied).
    public func resolve(input: [Int], ceilMode: Bool = false) -> (output: [Int], pads: [Int]) {
        let n = input.count
        var output = [Int](repeating: 0, count: n)
        var resolved = pads.count == 2 * n ? pads : [Int](repeating: 0, count: 2 * n)
        for i in 0 ..< n {
            let effective = (kernel[i] - 1) * dilations[i] + 1
            switch autoPad {
            case .sameUpper, .sameLower:
                // out = ceil(in / stride); total padding makes the window cover it.
                output[i] = (input[i] + strides[i] - 1) / strides[i]
                let total = max(0, (output[i] - 1) * strides[i] + effective - input[i])
                let small = total / 2
                resolved[i] = autoPad == .sameUpper ? small : total - small
                resolved[i + n] = total - resolved[i]
            case .valid:
                resolved[i] = 0
                resolved[i + n] = 0
                output[i] = (input[i] - effective) / strides[i] + 1
            case .notSet:
                let span = input[i] + resolved[i] + resolved[i + n] - effective
                if ceilMode {
                    var out = (span + strides[i] - 1) / strides[i] + 1
                    // The last window must start inside the input or the left padding (PyTorch's rule).
                    if (out - 1) * strides[i] >= input[i] + resolved[i] { out -= 1 }
                    output[i] = out
                } else {
                    output[i] = span >= 0 ? span / strides[i] + 1 : 0
                }
            }
        }
        return (output, resolved)
    }
}

/// An activation fused into a producer's epilogue, applied to each output element as it is written.
/// A value, not a code: two clips merge by intersecting their bounds.
public enum Activation: Sendable, Equatable, Hashable {
    case unary(UnaryFunction)
    case clip(min: Float, max: Float)

    /// Whether `f` is a pointwise float function that may be fused.
    public static func fusible(_ f: UnaryFunction) -> Bool {
        switch f {
        case .relu, .sigmoid, .tanh, .hardSwish, .silu, .leakyRelu, .elu, .celu, .selu, .hardSigmoid,
             .softplus, .thresholdedRelu, .mish:
            return true
        default:
            return false
        }
    }
}

public struct ConvAttributes: Sendable, Equatable {
    /// An empty `window.kernel` means "from the weight's shape".
    public var window: Window
    public var group: Int
    public var kernelFromWeights: Bool
    /// Applied after bias (and the residual input 3, when present).
    public var activation: Activation?
    public init(window: Window, group: Int, kernelFromWeights: Bool, activation: Activation? = nil) {
        self.window = window
        self.group = group
        self.kernelFromWeights = kernelFromWeights
        self.activation = activation
    }
}

/// Y = activation(alpha * A' * B' + beta * C).
public struct GemmAttributes: Sendable, Equatable {
    public var alpha: Float
    public var beta: Float
    public var transA: Bool
    public var transB: Bool
    public var activation: Activation?
    public init(alpha: Float = 1, beta: Float = 1, transA: Bool = false, transB: Bool = false, activation: Activation? = nil) {
        self.alpha = alpha
        self.beta = beta
        self.transA = transA
        self.transB = transB
        self.activation = activation
    }
}

public struct ConvTransposeAttributes: Sendable, Equatable {
    public var window: Window
    public var group: Int
    public var outputPadding: [Int]
    public var outputShape: [Int]?
    public init(window: Window, group: Int, outputPadding: [Int], outputShape: [Int]?) {
        self.window = window
        self.group = group
        self.outputPadding = outputPadding
        self.outputShape = outputShape
    }
}

public enum PoolKind: Sendable, Equatable { case average, max, lp }

public struct PoolAttributes: Sendable, Equatable {
    public var kind: PoolKind
    public var window: Window
    public var ceilMode: Bool
    public var countIncludePad: Bool
    public var p: Int
    /// MaxPool's storage_order = 1: indices count column-major within each plane.
    public var columnMajorIndices: Bool
    public init(kind: PoolKind, window: Window, ceilMode: Bool, countIncludePad: Bool, p: Int = 2, columnMajorIndices: Bool = false) {
        self.columnMajorIndices = columnMajorIndices
        self.kind = kind
        self.window = window
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
        self.p = p
    }
}

/// Elementwise functions of one argument. The parameterised ones double as fused activations.
public enum UnaryFunction: Sendable, Equatable, Hashable {
    case relu, sigmoid, tanh, exp, log, sqrt, neg, abs, reciprocal, floor, ceil, round, sign, erf
    case softplus, softsign, hardSwish, not, sin, cos
    /// x * tanh(softplus(x)), opset 18's Mish (YOLOv4).
    case mish
    /// x * sigmoid(x): not an ONNX operator; recognised by the optimizer, exported as Sigmoid + Mul.
    case silu
    case leakyRelu(alpha: Float)
    case elu(alpha: Float)
    case celu(alpha: Float)
    case selu(alpha: Float, gamma: Float)
    case hardSigmoid(alpha: Float, beta: Float)
    case thresholdedRelu(alpha: Float)

    public var onnxName: String {
        switch self {
        case .relu: return "Relu"
        case .sigmoid: return "Sigmoid"
        case .tanh: return "Tanh"
        case .exp: return "Exp"
        case .log: return "Log"
        case .sqrt: return "Sqrt"
        case .neg: return "Neg"
        case .abs: return "Abs"
        case .reciprocal: return "Reciprocal"
        case .floor: return "Floor"
        case .ceil: return "Ceil"
        case .round: return "Round"
        case .sign: return "Sign"
        case .erf: return "Erf"
        case .softplus: return "Softplus"
        case .softsign: return "Softsign"
        case .mish: return "Mish"
        case .hardSwish: return "HardSwish"
        case .not: return "Not"
        case .sin: return "Sin"
        case .cos: return "Cos"
        case .silu: return "SiLU"
        case .leakyRelu: return "LeakyRelu"
        case .elu: return "Elu"
        case .celu: return "Celu"
        case .selu: return "Selu"
        case .hardSigmoid: return "HardSigmoid"
        case .thresholdedRelu: return "ThresholdedRelu"
        }
    }
}

/// Broadcasting elementwise functions of two arguments.
public enum BinaryFunction: String, Sendable, Equatable {
    case add = "Add", sub = "Sub", mul = "Mul", div = "Div", pow = "Pow", mod = "Mod", fmod = "FMod"
    case equal = "Equal", greater = "Greater", less = "Less"
    case greaterOrEqual = "GreaterOrEqual", lessOrEqual = "LessOrEqual"
    case and = "And", or = "Or", xor = "Xor"

    public var isComparison: Bool {
        switch self {
        case .equal, .greater, .less, .greaterOrEqual, .lessOrEqual: return true
        default: return false
        }
    }
    public var isLogical: Bool { self == .and || self == .or || self == .xor }
}

public enum VariadicFunction: String, Sendable, Equatable {
    case sum = "Sum", min = "Min", max = "Max", mean = "Mean"
}

public enum ReduceFunction: String, Sendable, Equatable {
    case mean = "ReduceMean", sum = "ReduceSum", max = "ReduceMax", min = "ReduceMin", prod = "ReduceProd"
    case l1 = "ReduceL1", l2 = "ReduceL2", logSum = "ReduceLogSum", logSumExp = "ReduceLogSumExp"
    case sumSquare = "ReduceSumSquare"
}

public enum PadMode: String, Sendable, Equatable {
    case constant, reflect, edge, wrap
}

public enum ResizeMode: String, Sendable, Equatable { case nearest, linear, cubic }

public enum CoordinateTransform: String, Sendable, Equatable {
    case halfPixel = "half_pixel", halfPixelSymmetric = "half_pixel_symmetric"
    case pytorchHalfPixel = "pytorch_half_pixel", alignCorners = "align_corners"
    case asymmetric, tfCropAndResize = "tf_crop_and_resize"
}

public enum NearestMode: String, Sendable, Equatable {
    case roundPreferFloor = "round_prefer_floor", roundPreferCeil = "round_prefer_ceil", floor, ceil
}

public enum AspectRatioPolicy: String, Sendable, Equatable {
    case stretch, notLarger = "not_larger", notSmaller = "not_smaller"
}

public struct ResizeAttributes: Sendable, Equatable {
    public var mode: ResizeMode
    public var coordinateTransform: CoordinateTransform
    public var nearestMode: NearestMode
    public var cubicCoefficient: Float
    public var excludeOutside: Bool
    public var extrapolationValue: Float
    public var antialias: Bool
    /// The axes that `scales`/`sizes` refer to; nil means all.
    public var axes: [Int]?
    public var aspectRatioPolicy: AspectRatioPolicy

    public init(mode: ResizeMode, coordinateTransform: CoordinateTransform, nearestMode: NearestMode,
                cubicCoefficient: Float = -0.75, excludeOutside: Bool = false, extrapolationValue: Float = 0,
                antialias: Bool = false, axes: [Int]? = nil, aspectRatioPolicy: AspectRatioPolicy = .stretch) {
        self.mode = mode
        self.coordinateTransform = coordinateTransform
        self.nearestMode = nearestMode
        self.cubicCoefficient = cubicCoefficient
        self.excludeOutside = excludeOutside
        self.extrapolationValue = extrapolationValue
        self.antialias = antialias
        self.axes = axes
        self.aspectRatioPolicy = aspectRatioPolicy
    }
}
