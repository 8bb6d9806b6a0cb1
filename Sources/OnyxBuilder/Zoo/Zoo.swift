import OnnxFormat
import OnyxIR

/// The model zoo: each architecture in its own file, built with `NetworkBuilder`.
public enum Zoo {
    public struct Entry: Sendable {
        public var name: String
        public var summary: String
        /// Published figures at 1000 classes (and the default input size), for `zoo list`.
        /// nil where no exact figure is published (ShuffleNet v1: the paper gives MACs only).
        public var parameters: Int?
        public var macs: Int?
        public var defaultInputSize: Int
        /// 1000 for the ImageNet classifiers; the detector's own class count otherwise.
        public var defaultClasses: Int = 1000
        /// Input height and width must be multiples of this (the detector's largest stride).
        public var inputMultiple: Int = 1
        public var build: @Sendable (_ builder: inout NetworkBuilder, _ classes: Int, _ height: Int, _ width: Int) -> Void
    }

    public static let entries: [Entry] = [
        Entry(name: "squeezenet1_0", summary: "SqueezeNet 1.0: Fire modules, a 7x7 stem",
              parameters: 1_248_424, macs: 819_000_000, defaultInputSize: 224, build: SqueezeNet.v1_0),
        Entry(name: "squeezenet1_1", summary: "SqueezeNet 1.1: Fire modules (squeeze 1x1, expand 1x1 and 3x3, concat)",
              parameters: 1_235_496, macs: 349_000_000, defaultInputSize: 224, build: SqueezeNet.v1_1),
        Entry(name: "mobilenet_v1", summary: "MobileNetV1: 13 depthwise separable conv-BN-ReLU blocks",
              parameters: 4_231_976, macs: 569_000_000, defaultInputSize: 224, build: MobileNetV1.build),
        Entry(name: "mobilenet_v2", summary: "MobileNetV2: inverted residuals with linear bottlenecks, ReLU6",
              parameters: 3_504_872, macs: 301_000_000, defaultInputSize: 224, build: MobileNetV2.build),
        Entry(name: "mobilenet_v3_small", summary: "MobileNetV3-Small: inverted residuals with SE and h-swish",
              parameters: 2_542_856, macs: 57_000_000, defaultInputSize: 224, build: MobileNetV3.buildSmall),
        Entry(name: "mobilenet_v3_large", summary: "MobileNetV3-Large: inverted residuals with SE and h-swish",
              parameters: 5_483_032, macs: 217_000_000, defaultInputSize: 224, build: MobileNetV3.buildLarge),
        Entry(name: "shufflenet_v1_g3", summary: "ShuffleNet 1x (g=3): grouped 1x1 convs with channel shuffle",
              parameters: nil, macs: 140_000_000, defaultInputSize: 224, build: ShuffleNetV1.buildG3),
        Entry(name: "shufflenet_v2_x0_5", summary: "ShuffleNetV2 0.5x: channel split, branches, concat and channel shuffle",
              parameters: 1_366_792, macs: 41_000_000, defaultInputSize: 224, build: ShuffleNetV2.x0_5),
        Entry(name: "shufflenet_v2_x1_0", summary: "ShuffleNetV2 1.0x: channel split, branches, concat and channel shuffle",
              parameters: 2_278_604, macs: 146_000_000, defaultInputSize: 224, build: ShuffleNetV2.x1_0),
        Entry(name: "efficientnet_b0", summary: "EfficientNet-B0: MBConv blocks with SE and SiLU",
              parameters: 5_288_548, macs: 386_000_000, defaultInputSize: 224, build: EfficientNet.buildB0),
        Entry(name: "ghostnet_1_0", summary: "GhostNet 1.0: Ghost modules (1x1 conv + cheap depthwise features), SE",
              parameters: 5_182_508, macs: 141_000_000, defaultInputSize: 224, build: GhostNet.build),
        Entry(name: "xception", summary: "Xception: depthwise separable convolutions with residuals, 299x299",
              parameters: 22_855_952, macs: 8_360_000_000, defaultInputSize: 299, build: Xception.build),
        Entry(name: "micronet_m0", summary: "MicroNet-M0: micro-factorized convolutions and Dynamic Shift-Max",
              parameters: nil, macs: nil, defaultInputSize: 224, build: MicroNet.buildM0),
        Entry(name: "resnet50", summary: "ResNet-50: bottleneck residual blocks",
              parameters: 25_557_032, macs: 4_090_000_000, defaultInputSize: 224, build: ResNet50.build),
        Entry(name: "densenet121", summary: "DenseNet-121: dense blocks of BN-ReLU-conv layers, concatenated",
              parameters: 7_978_856, macs: 2_830_000_000, defaultInputSize: 224, build: DenseNet.build121),
        Entry(name: "yolov5_mobilenetv3_small", summary: "YOLOv5 (v6.0, width 0.5) detector on a MobileNetV3-small backbone, 6 classes, decoded boxes",
              parameters: nil, macs: nil, defaultInputSize: 640, defaultClasses: 6, inputMultiple: 32, build: YOLOv5.buildMobileNetV3Small),
    ]

    public static func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// The network's IR graph: input `input` [1, 3, size, size], output `output` [1, classes].
    public static func build(_ entry: Entry, classes: Int? = nil, height: Int? = nil, width: Int? = nil, seed: UInt64 = 0) -> Graph {
        var builder = NetworkBuilder(seed: seed)
        entry.build(&builder, classes ?? entry.defaultClasses, height ?? entry.defaultInputSize, width ?? entry.defaultInputSize)
        return builder.graph
    }

    /// The network with its weights taken by name from `pretrained` (a `WeightFile`), like PyTorch's
    /// `load_state_dict`: a shape mismatch is an error, and so, when `strict`, is a parameter the file
    /// lacks or a tensor the network does not use (BatchNorm's `num_batches_tracked` aside).
    public static func build(_ entry: Entry, pretrained: [String: Tensor], strict: Bool = true, classes: Int? = nil,
                             height: Int? = nil, width: Int? = nil, seed: UInt64 = 0) throws -> (graph: Graph, loaded: Int, parameters: Int) {
        var builder = NetworkBuilder(seed: seed, pretrained: pretrained)
        entry.build(&builder, classes ?? entry.defaultClasses, height ?? entry.defaultInputSize, width ?? entry.defaultInputSize)
        if let mismatch = builder.shapeMismatches.first { throw OnnxError(mismatch) }
        let missing = builder.parameterNames.filter { !builder.loadedNames.contains($0) }
        let used = Set(builder.parameterNames)
        let unused = pretrained.keys.filter { !used.contains($0) && !$0.hasSuffix("num_batches_tracked") }.sorted()
        if builder.loadedNames.isEmpty { throw OnnxError("no tensor in the weights is named like a parameter of \(entry.name) (e.g. '\(builder.parameterNames[0])')") }
        if strict, let name = missing.first { throw OnnxError("the weights have no '\(name)' (\(missing.count) parameters missing)") }
        if strict, let name = unused.first { throw OnnxError("the weights' '\(name)' is not a parameter of \(entry.name) (\(unused.count) unused)") }
        return (builder.graph, builder.loadedNames.count, builder.parameterNames.count)
    }
}
