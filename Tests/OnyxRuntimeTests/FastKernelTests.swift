import Onyx
@testable import OnyxRuntime
import Testing
import OnyxKernels

/// Every fast kernel against its reference kernel: the same single-node graph run compiled (pointer
/// kernels in an arena) and interpreted (reference kernels), on shapes chosen to hit edge tiles.
@Suite struct FastKernelTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
    }

    func compare(_ net: TestNet, tolerance: Float = 2e-4) throws {
        let session = Session(graph: net.graph)
        let model = try session.compiledModel(for: net.graph.inputs.map { net.feeds[net.graph.values[$0].name]!.shape })
        #expect(model != nil && model!.fastSteps == model!.plan.steps, "every step should run a pointer kernel: \(model.map { $0.referenceOps } ?? [])")
        let expected = try Session(graph: net.graph, optimize: false).run(net.feeds)
        // Every arena layout the runs may choose between (`LayoutChoice`): with two threads, two.
        #expect(model?.layoutCount == (ThreadPool.shared.workers > 1 ? 2 : 1))
        let inputs = net.graph.inputs.map { net.feeds[net.graph.values[$0].name]! }
        for layout in 0 ..< (model?.layoutCount ?? 0) {
            let actual = try model!.run(inputs, layout: layout)
            for (e, a) in zip(expected, actual) {
                #expect(e.tensor.shape == a.tensor.shape)
                let scale = max(1, e.tensor.floats!.map(abs).max() ?? 1)
                let error = zip(e.tensor.floats!, a.tensor.floats!).reduce(0) { largest($0, Double(abs($1.0 - $1.1))) }
                #expect(error <= Double(tolerance * scale), "\(net.graph.nodes.map(\.op)) layout \(layout) error \(error)")
            }
        }
    }

    static let activations: [Activation?] = [nil, .unary(.relu), .clip(min: 0, max: 6), .unary(.hardSwish),
                                             .unary(.silu), .unary(.sigmoid), .unary(.hardSigmoid(alpha: 0.2, beta: 0.5)),
                                             .unary(.leakyRelu(alpha: 0.1)), .unary(.tanh), .unary(.elu(alpha: 0.7)),
                                             .unary(.selu(alpha: 1.6, gamma: 1.05)), .unary(.celu(alpha: 1.3)), .unary(.softplus),
                                             .unary(.thresholdedRelu(alpha: 0.2)), .unary(.mish)]

    @Test(arguments: 0 ..< 60)
    func convolutionMatchesReference(seed: Int) throws {
        var rng = Generator(state: UInt64(seed) &* 0x9E3779B97F4A7C15 &+ 1)
        let kind = seed % 4  // pointwise, depthwise, grouped, dense
        let groups = kind == 1 ? Int.random(in: 3 ... 17, using: &rng) : (kind == 2 ? Int.random(in: 2 ... 3, using: &rng) : 1)
        let perGroupIn = kind == 1 ? 1 : Int.random(in: 1 ... 9, using: &rng)
        let perGroupOut = kind == 1 ? 1 : Int.random(in: 1 ... 13, using: &rng)
        let kernel = kind == 0 ? 1 : [1, 3, 5, 7][Int.random(in: 0 ... 3, using: &rng)]
        let stride = kind == 0 ? 1 : Int.random(in: 1 ... 3, using: &rng)
        let dilation = kind == 0 || kernel == 1 ? 1 : Int.random(in: 1 ... 2, using: &rng)
        let pad = kind == 0 ? 0 : Int.random(in: 0 ... kernel / 2 + 1, using: &rng)
        let (h, w) = (Int.random(in: kernel * dilation ... 23, using: &rng), Int.random(in: kernel * dilation ... 29, using: &rng))
        let batch = Int.random(in: 1 ... 2, using: &rng)
        let activation = Self.activations[Int.random(in: 0 ..< Self.activations.count, using: &rng)]

        var net = TestNet()
        let x = net.input("x", [batch, groups * perGroupIn, h, w])
        let weights = net.constant([groups * perGroupOut, perGroupIn, kernel, kernel])
        let bias = net.constant([groups * perGroupOut])
        let window = Window(kernel: [kernel, kernel], strides: [stride, stride], dilations: [dilation, dilation],
                            pads: [pad, pad, pad, pad], autoPad: .notSet)
        let attributes = ConvAttributes(window: window, group: groups, kernelFromWeights: false, activation: activation)
        var inputs: [ValueID?] = [x, weights, bias]
        let outH = (h + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1
        let outW = (w + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1
        if seed % 3 == 0 { inputs.append(net.input("r", [batch, groups * perGroupOut, outH, outW])) }
        net.output(net.node(.conv(attributes), inputs))
        try compare(net)
    }

    /// 1-D convolutions and pools ([N, C, L], run as 2-D on planes one row high): pointwise, depthwise,
    /// grouped and dense kernels of any width, strides, dilations, asymmetric pads, residuals.
    @Test(arguments: 0 ..< 16)
    func oneDimensionalConvolutionsAndPoolsMatchReference(seed: Int) throws {
        var rng = Generator(state: UInt64(seed) &* 0x9E3779B97F4A7C15 &+ 5)
        let kind = seed % 4  // pointwise, depthwise, grouped, dense
        let groups = kind == 1 ? Int.random(in: 3 ... 17, using: &rng) : (kind == 2 ? 2 : 1)
        let perGroupIn = kind == 1 ? 1 : Int.random(in: 1 ... 9, using: &rng)
        let perGroupOut = kind == 1 ? 1 : Int.random(in: 1 ... 13, using: &rng)
        let kernel = kind == 0 ? 1 : Int.random(in: 2 ... 7, using: &rng)
        let stride = Int.random(in: 1 ... 3, using: &rng), dilation = kernel == 1 ? 1 : Int.random(in: 1 ... 2, using: &rng)
        let pads = kind == 0 ? [0, 0] : [Int.random(in: 0 ... kernel - 1, using: &rng), Int.random(in: 0 ... kernel - 1, using: &rng)]
        let length = Int.random(in: kernel * dilation ... 70, using: &rng), batch = Int.random(in: 1 ... 2, using: &rng)
        let activation = Self.activations[Int.random(in: 0 ..< Self.activations.count, using: &rng)]

        var net = TestNet()
        let x = net.input("x", [batch, groups * perGroupIn, length])
        let window = Window(kernel: [kernel], strides: [stride], dilations: [dilation], pads: pads, autoPad: .notSet)
        var inputs: [ValueID?] = [x, net.constant([groups * perGroupOut, perGroupIn, kernel]), net.constant([groups * perGroupOut])]
        let outLength = (length + pads[0] + pads[1] - dilation * (kernel - 1) - 1) / stride + 1
        if seed % 3 == 0 { inputs.append(net.input("r", [batch, groups * perGroupOut, outLength])) }
        net.output(net.node(.conv(ConvAttributes(window: window, group: groups, kernelFromWeights: false, activation: activation)), inputs))
        let poolPads = [Int.random(in: 0 ... (kernel - 1) / 2, using: &rng), Int.random(in: 0 ... (kernel - 1) / 2, using: &rng)]
        let poolWindow = Window(kernel: [kernel], strides: [stride], dilations: [1], pads: poolPads, autoPad: .notSet)
        for pool in [PoolKind.max, .average] {
            net.output(net.node(.pool(PoolAttributes(kind: pool, window: poolWindow, ceilMode: seed % 2 == 0, countIncludePad: seed % 4 < 2)), [x]))
        }
        try compare(net)
    }

    /// A net of one square convolution on `input` [N, C, H, W]: constant weights and bias, equal pads on
    /// every side, no dilation, and, when asked, a residual input of the output's shape.
    func squareConvolution(input: [Int], outChannels: Int, kernel: Int, stride: Int = 1, pad: Int, group: Int = 1,
                           residual: Bool, activation: Activation?) -> TestNet {
        var net = TestNet()
        let x = net.input("x", input)
        let window = Window(kernel: [kernel, kernel], strides: [stride, stride], dilations: [1, 1], pads: [pad, pad, pad, pad], autoPad: .notSet)
        var inputs: [ValueID?] = [x, net.constant([outChannels, input[1] / group, kernel, kernel]), net.constant([outChannels])]
        if residual {
            let outH = (input[2] + 2 * pad - kernel) / stride + 1, outW = (input[3] + 2 * pad - kernel) / stride + 1
            inputs.append(net.input("r", [input[0], outChannels, outH, outW]))
        }
        net.output(net.node(.conv(ConvAttributes(window: window, group: group, kernelFromWeights: false, activation: activation)), inputs))
        return net
    }

    /// Winograd for 3x3 stride-1 convolutions with at least 32 channels (or 16 on planes of 48x48 or
    /// more), F(2x2, 3x3) on planes under 24x24 and F(4x4, 3x3) on larger ones: odd and even sizes
    /// (partial tiles, partial chunks of 8 tiles), pads 0 to 2, two images, residuals.
    @Test(arguments: [(32, 32, 8, 9, 1), (40, 33, 13, 30, 1), (32, 48, 17, 10, 0), (36, 32, 9, 25, 2), (64, 40, 28, 28, 1),
                      (32, 40, 5, 4, 1), (48, 32, 7, 7, 1), (64, 35, 26, 45, 1), (72, 32, 27, 30, 0), (64, 33, 24, 37, 2),
                      (16, 40, 49, 53, 1), (20, 32, 50, 50, 0), (32, 36, 27, 27, 1)])
    func winogradMatchesReference(inChannels: Int, outChannels: Int, height: Int, width: Int, pad: Int) throws {
        try compare(squareConvolution(input: [2, inChannels, height, width], outChannels: outChannels, kernel: 3, pad: pad,
                                      residual: true, activation: .unary(.relu)))
    }

    /// Winograd's output transform without a residual, for every activation: ReLU and clips applied to
    /// each row as it is stored, the rest in a pass after it. F(2x2) at 13x13 (7 tiles a row, one partial
    /// chunk), F(4x4) at 27x27 (7 tiles) and 55x55 (a whole chunk and a partial one; the last tile has
    /// three columns inside).
    @Test(arguments: [(64, 13, 13), (32, 27, 27), (16, 55, 55)])
    func winogradEpiloguesMatchReference(inChannels: Int, height: Int, width: Int) throws {
        for activation in Self.activations {
            try compare(squareConvolution(input: [1, inChannels, height, width], outChannels: 32, kernel: 3, pad: 1,
                                          residual: false, activation: activation))
        }
    }

    /// Pointwise GEMM paths the random shapes above miss: B read in place (at most 48 output channels,
    /// k >= 64) with a packed edge panel, and the one-column edge of 7x7 planes (49 = 3 * 16 + 1), each
    /// with and without a residual, with output channels that are not a multiple of the 6-row tile; the
    /// 4-column edge of 14x14 planes (196 = 12 * 16 + 4) with a residual; and with k so large that B is
    /// packed 16 columns at a time, the narrow last panel joining the chunk before it (B packed once for
    /// all threads at 7x7; at 25x25 the last thread piece is a full panel and one column, packed by its
    /// thread); B read in place at small k by at most 18 rows, over several chunks (16 rows, k = 32, 30x37
    /// pixels, as MobileNetV2's first projection) and one.
    @Test(arguments: [(64, 16, 7, 7, false), (96, 24, 7, 7, true), (144, 45, 9, 13, true), (72, 48, 3, 17, false),
                      (320, 50, 7, 7, true), (160, 97, 7, 7, false), (63, 20, 5, 5, true), (96, 30, 14, 14, true),
                      (4200, 13, 7, 7, true), (1100, 8, 25, 25, false), (32, 16, 30, 37, true), (8, 5, 17, 19, false)])
    func pointwiseEdgesMatchReference(inChannels: Int, outChannels: Int, height: Int, width: Int, residual: Bool) throws {
        try compare(squareConvolution(input: [1, inChannels, height, width], outChannels: outChannels, kernel: 1, pad: 0,
                                      residual: residual, activation: .clip(min: 0, max: 6)))
    }

    /// The pointwise GEMM's epilogue for every activation, with and without a residual: in registers for
    /// most (bias in the starting sums, residual and activation as each row is stored), as a second pass
    /// over the strip for SiLU and the rest; 20 output channels (a 2-row last tile), packed and in-place B.
    @Test(arguments: [(16, 11, 13, false), (16, 11, 13, true), (64, 9, 9, false), (64, 9, 9, true)])
    func pointwiseEpiloguesMatchReference(inChannels: Int, height: Int, width: Int, residual: Bool) throws {
        for activation in Self.activations {
            try compare(squareConvolution(input: [1, inChannels, height, width], outChannels: 20, kernel: 1, pad: 0,
                                          residual: residual, activation: activation))
        }
    }

    /// Stride-2 dense convolutions read from a padded copy of the input split into even and odd columns
    /// (implicit GEMM): the stems (3 channels, 3x3 padding 1; 7x7 padding 3, odd, so the even input
    /// columns land in the odd plane), padding 0 and 2, an even kernel, odd and even widths, two images,
    /// residuals; every activation (the epilogue switches once per tile to a loop specialised for the
    /// common ones). Rows of 35, 50 and 112 outputs: past 32 the tile is 32 wide where compiled for
    /// AVX-512, and a row ends with a tile of 8, of 16 or of 32 overlapping the one before.
    @Test(arguments: [(3, 16, 3, 1, 64, 70, true), (3, 24, 3, 1, 45, 50, false), (3, 10, 7, 3, 40, 41, true), (5, 7, 3, 0, 36, 37, false),
                      (4, 8, 4, 2, 40, 35, true), (2, 6, 5, 2, 33, 38, false), (3, 32, 3, 1, 9, 100, false), (3, 8, 7, 3, 7, 224, true)])
    func stridedImplicitGEMMMatchesReference(inChannels: Int, outChannels: Int, kernel: Int, pad: Int, height: Int, width: Int,
                                             residual: Bool) throws {
        for activation in Self.activations {
            try compare(squareConvolution(input: [2, inChannels, height, width], outChannels: outChannels, kernel: kernel, stride: 2,
                                          pad: pad, residual: residual, activation: activation))
        }
    }

    /// Dense stride-1 convolutions read from a padded copy of the input (implicit GEMM): 3x3 with
    /// padding 1 and 0, 5x5, widths that are and are not multiples of the tile (16, or 32 on rows of at
    /// least 32 where compiled for AVX-512; the last tile, of 8, 16 or 32, overlaps), output channels not
    /// a multiple of the 6-row tile (last panels of 1 to 5 rows; those of at most 4 skip the padding rows'
    /// FMAs), two images, residuals, ReLU (a specialised epilogue) and h-swish.
    @Test(arguments: [(16, 20, 3, 1, 37, true), (16, 64, 3, 1, 32, false), (12, 13, 3, 0, 21, true), (8, 9, 5, 2, 19, false),
                      (16, 7, 3, 1, 26, true), (16, 11, 3, 1, 24, false), (8, 13, 3, 1, 44, true), (5, 6, 3, 1, 60, false),
                      (4, 5, 5, 2, 48, true)])
    func implicitGEMMMatchesReference(inChannels: Int, outChannels: Int, kernel: Int, pad: Int, width: Int, residual: Bool) throws {
        try compare(squareConvolution(input: [2, inChannels, width - 3, width], outChannels: outChannels, kernel: kernel, pad: pad,
                                      residual: residual, activation: residual ? .unary(.hardSwish) : .unary(.relu)))
    }

    /// The channel-blocked depthwise path (planes under 16 wide, or 32 at stride 1): whole blocks of 8
    /// channels and a remainder, two images (blocks must not straddle them), 3x3 and 5x5, strides 1
    /// and 2, with a residual (odd channel counts) or without (the activation applied in registers);
    /// rows in groups of four, the last overlapping the one before, and rows narrower than four.
    @Test(arguments: [(8, 3, 1, 7), (13, 3, 2, 14), (24, 5, 1, 14), (19, 5, 2, 15), (16, 3, 1, 9), (32, 5, 2, 13), (17, 5, 1, 27),
                      (16, 5, 2, 28), (40, 3, 1, 28), (8, 3, 2, 5), (11, 5, 1, 3)])
    func blockedDepthwiseMatchesReference(channels: Int, kernel: Int, stride: Int, width: Int) throws {
        try compare(squareConvolution(input: [2, channels, width + 1, width], outChannels: channels, kernel: kernel, stride: stride,
                                      pad: kernel / 2, group: channels, residual: channels % 2 == 1, activation: .unary(.hardSwish)))
    }

    /// The ring-of-rows 3x3 depthwise path (planes at least 32 wide at stride 1, 16 at stride 2; the
    /// narrower stride-1 cases go to the blocked path): pads 0 and 1, odd widths and heights, partial
    /// last vectors (which must not spill into the next plane), two images, residuals.
    /// The residual and activation are applied in registers, one copy of the loop per common activation.
    @Test(arguments: [(1, 0, 16), (1, 1, 17), (1, 1, 40), (1, 0, 37), (2, 1, 33), (2, 0, 38), (2, 1, 64), (2, 0, 35), (2, 1, 30),
                      (1, 1, 47)])
    func ringDepthwiseMatchesReference(stride: Int, pad: Int, width: Int) throws {
        let activation = Self.activations[(width + pad) % Self.activations.count]
        try compare(squareConvolution(input: [2, 5, width / 2 + 3, width], outChannels: 5, kernel: 3, stride: stride, pad: pad,
                                      group: 5, residual: width % 2 == 1, activation: activation))
    }

    /// A pointwise convolution writing its output channel-blocked into the padded buffer of the depthwise
    /// convolution that alone reads it (`BlockedPairs`): output channels a multiple of 16 and not (a
    /// half panel), pixel counts that leave an edge tile of 1 to 5, a plane split into two chunks (k = 8,
    /// 2115 pixels), planes split across threads by pixels and (under 128 pixels) by channels, 3x3 and
    /// 5x5 at strides 1 and 2, pads 0 to 2 (margins on some sides only), a residual on the depthwise.
    @Test(arguments: [(16, 24, 11, 13, 3, 1, 1, false), (8, 32, 12, 10, 5, 2, 2, false), (24, 48, 20, 17, 3, 2, 1, true),
                      (7, 16, 10, 10, 3, 1, 0, false), (16, 16, 10, 12, 3, 1, 1, true), (8, 16, 45, 47, 3, 2, 1, false),
                      (40, 120, 14, 14, 5, 1, 2, false)])
    func blockedPairsMatchReference(inChannels: Int, channels: Int, height: Int, width: Int, kernel: Int, stride: Int, pad: Int,
                                    residual: Bool) throws {
        for (expansion, depthwise) in [(Activation?.none, Activation.unary(.hardSwish)), (.clip(min: 0, max: 6), .unary(.relu)),
                                       (.unary(.silu), .unary(.sigmoid))] {
            var net = TestNet()
            let x = net.input("x", [1, inChannels, height, width])
            let one = Window(kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: .notSet)
            let expanded = net.node(.conv(ConvAttributes(window: one, group: 1, kernelFromWeights: false, activation: expansion)),
                                    [x, net.constant([channels, inChannels, 1, 1]), net.constant([channels])])
            let window = Window(kernel: [kernel, kernel], strides: [stride, stride], dilations: [1, 1], pads: [pad, pad, pad, pad],
                                autoPad: .notSet)
            var inputs: [ValueID?] = [expanded, net.constant([channels, 1, kernel, kernel]), net.constant([channels])]
            if residual {
                let outH = (height + 2 * pad - kernel) / stride + 1, outW = (width + 2 * pad - kernel) / stride + 1
                inputs.append(net.input("r", [1, channels, outH, outW]))
            }
            net.output(net.node(.conv(ConvAttributes(window: window, group: channels, kernelFromWeights: false, activation: depthwise)), inputs))
            let model = try Session(graph: net.graph).compiledModel(for: net.graph.inputs.map { net.feeds[net.graph.values[$0].name]!.shape })
            #expect(model?.blockedValues == 1, "the pointwise convolution should write its output blocked")
            // `onyx inspect --optimize` reports the arena the compiled model runs in, margins included.
            #expect(try Analysis.optimized(net.graph).plan.arenaBytes == model?.plan.arenaBytes)
            try compare(net)
        }
    }

    /// No blocked pair when the pointwise output has a second reader (which would read it as NCHW), when
    /// the plane is under `BlockedPairs.minimumPixels`, or when the depthwise layer is a wide plane at
    /// stride 1 (the per-plane ring is faster there).
    @Test(arguments: [(12, 12, true), (9, 9, false), (10, 40, false)])
    func blockedPairsNeedOneReaderAndAPlane(height: Int, width: Int, secondReader: Bool) throws {
        var net = TestNet()
        let x = net.input("x", [1, 8, height, width])
        let one = Window(kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: .notSet)
        let expanded = net.node(.conv(ConvAttributes(window: one, group: 1, kernelFromWeights: false, activation: .unary(.relu))),
                                [x, net.constant([16, 8, 1, 1]), net.constant([16])])
        let three = Window(kernel: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], autoPad: .notSet)
        let filtered = net.node(.conv(ConvAttributes(window: three, group: 16, kernelFromWeights: false, activation: nil)),
                                [expanded, net.constant([16, 1, 3, 3]), net.constant([16])])
        net.output(secondReader ? net.node(.binary(.add), [filtered, expanded]) : filtered)
        let model = try Session(graph: net.graph).compiledModel(for: net.graph.inputs.map { net.feeds[net.graph.values[$0].name]!.shape })
        #expect(model?.blockedValues == 0)
        try compare(net)
    }

    /// A depthwise convolution writing its output as the packed B of the pointwise projection that alone
    /// reads it (`PackedPairs`): planes whose pixels end in every kind of edge panel (with the 32-column
    /// panels of the AVX-512 build: 196 = 6 * 32 + 4, one piece of 8 half used; 49 = 32 + 16 + 1;
    /// 784 = 24 * 32 + 16; 169 = 5 * 32 + 8 + 1; 25 with no full panel; 64 with no edge), 3x3 and 5x5 at
    /// strides 1 and 2, from an input written channel-blocked by an expansion (on planes of 100 pixels
    /// and more) or not, each activation applied in registers, and projections that split their pixels
    /// and (on 7x7 planes at two threads) their channels.
    @Test(arguments: [(14, 14, 3, 1, true), (14, 14, 5, 1, false), (7, 7, 3, 1, true), (28, 28, 3, 1, false), (13, 13, 3, 1, true),
                      (5, 5, 5, 1, false), (8, 8, 3, 1, true), (27, 27, 3, 2, true), (14, 14, 5, 2, false)])
    func packedPairsMatchReference(height: Int, width: Int, kernel: Int, stride: Int, expansion: Bool) throws {
        for (depthwise, outputs) in [(Activation?.none, 56), (.clip(min: 0, max: 6), 64), (.unary(.relu), 72), (.unary(.hardSwish), 100)] {
            var net = TestNet()
            let channels = 24
            let one = Window(kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: .notSet)
            var x = net.input("x", [1, expansion ? 8 : channels, height, width])
            if expansion {
                x = net.node(.conv(ConvAttributes(window: one, group: 1, kernelFromWeights: false, activation: .unary(.relu))),
                             [x, net.constant([channels, 8, 1, 1]), net.constant([channels])])
            }
            let pad = kernel / 2
            let window = Window(kernel: [kernel, kernel], strides: [stride, stride], dilations: [1, 1], pads: [pad, pad, pad, pad],
                                autoPad: .notSet)
            let filtered = net.node(.conv(ConvAttributes(window: window, group: channels, kernelFromWeights: false, activation: depthwise)),
                                    [x, net.constant([channels, 1, kernel, kernel]), net.constant([channels])])
            net.output(net.node(.conv(ConvAttributes(window: one, group: 1, kernelFromWeights: false, activation: nil)),
                                [filtered, net.constant([outputs, channels, 1, 1]), net.constant([outputs])]))
            let model = try Session(graph: net.graph).compiledModel(for: net.graph.inputs.map { net.feeds[net.graph.values[$0].name]!.shape })
            #expect(model?.packedValues == 1, "the depthwise convolution should write its output packed")
            // The expansion writes blocked from `BlockedPairs.minimumPixels` pixels.
            #expect(model?.blockedValues == (expansion && height * width >= 100 ? 1 : 0))
            #expect(try Analysis.optimized(net.graph).plan.arenaBytes == model?.plan.arenaBytes)
            try compare(net)
        }
    }

    /// A squeeze-and-excitation block writing its output as the packed B of the projection that alone
    /// reads it (EfficientNet's and MobileNetV3's blocks): planes ending in each kind of edge panel, and
    /// channel counts that split unevenly across threads.
    @Test(arguments: [(14, 14, 40), (7, 7, 48), (28, 28, 24), (13, 13, 40), (5, 5, 24), (8, 8, 32)])
    func packedSqueezeExciteMatchesReference(height: Int, width: Int, channels: Int) throws {
        var net = TestNet()
        let x = net.input("x", [1, channels, height, width])
        let excited = net.node(.squeezeExcite(hidden: .unary(.silu), gate: .unary(.sigmoid)),
                               [x, net.constant([8, channels, 1, 1]), net.constant([8]), net.constant([channels, 8, 1, 1]),
                                net.constant([channels])])
        let one = Window(kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: .notSet)
        net.output(net.node(.conv(ConvAttributes(window: one, group: 1, kernelFromWeights: false, activation: nil)),
                            [excited, net.constant([56, channels, 1, 1]), net.constant([56])]))
        let model = try Session(graph: net.graph).compiledModel(for: net.graph.inputs.map { net.feeds[net.graph.values[$0].name]!.shape })
        #expect(model?.packedValues == 1, "the squeeze-and-excitation block should write its output packed")
        try compare(net)
    }

    /// No packed pair when the depthwise activation is not applied in registers (SiLU), when the
    /// projection reads its input in place (16 output channels), when the depthwise output has a second
    /// reader, or when the depthwise layer has a residual.
    @Test(arguments: ["silu", "few outputs", "second reader", "residual"])
    func packedPairsNeedInRegisterActivationAndOneReader(_ reason: String) throws {
        var net = TestNet()
        let x = net.input("x", [1, 16, 14, 14])
        let three = Window(kernel: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], autoPad: .notSet)
        var inputs: [ValueID?] = [x, net.constant([16, 1, 3, 3]), net.constant([16])]
        if reason == "residual" { inputs.append(net.input("r", [1, 16, 14, 14])) }
        let filtered = net.node(.conv(ConvAttributes(window: three, group: 16, kernelFromWeights: false,
                                                     activation: reason == "silu" ? .unary(.silu) : .unary(.relu))), inputs)
        let one = Window(kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: .notSet)
        let outputs = reason == "few outputs" ? 16 : 64
        let projected = net.node(.conv(ConvAttributes(window: one, group: 1, kernelFromWeights: false, activation: nil)),
                                 [filtered, net.constant([outputs, 16, 1, 1]), net.constant([outputs])])
        net.output(projected)
        if reason == "second reader" { net.output(net.node(.unary(.relu), [filtered])) }
        let model = try Session(graph: net.graph).compiledModel(for: net.graph.inputs.map { net.feeds[net.graph.values[$0].name]!.shape })
        #expect(model?.packedValues == 0)
        try compare(net)
    }

    @Test(arguments: 0 ..< 16)
    func poolingMatchesReference(seed: Int) throws {
        var rng = Generator(state: UInt64(seed) &+ 77)
        let kernel = Int.random(in: 1 ... 4, using: &rng), stride = Int.random(in: 1 ... 3, using: &rng)
        let pad = Int.random(in: 0 ... kernel / 2, using: &rng)
        var net = TestNet()
        let x = net.input("x", [1, 3, Int.random(in: kernel ... 17, using: &rng), Int.random(in: kernel ... 19, using: &rng)])
        let window = Window(kernel: [kernel, kernel], strides: [stride, stride], dilations: [1, 1], pads: [pad, pad, pad, pad], autoPad: .notSet)
        net.output(net.node(.pool(PoolAttributes(kind: seed % 2 == 0 ? .max : .average, window: window,
                                                 ceilMode: seed % 4 >= 2, countIncludePad: seed % 3 == 0)), [x]))
        net.output(net.node(.globalPool(seed % 2 == 0 ? .average : .max), [x]))
        try compare(net)
    }

    /// The windows whose tap loops unroll (2x2, 3x3 and 5x5; `Pooling.taps`) on rows of whole vectors
    /// and a tail, max and average: VGG's and YOLO's 2x2 at stride 2 and YOLO-tiny's at stride 1,
    /// Inception's 3x3 at stride 1, YOLO's SPPF 5x5 at stride 1 (with a ceil-mode and a count-the-padding
    /// case), a 5x5 at stride 2; and a 4x4, whose taps loop.
    @Test(arguments: [(2, 2, 0, 52, true, false), (2, 2, 0, 40, false, false), (2, 1, 0, 13, true, false), (3, 1, 1, 28, false, false), (3, 1, 1, 29, true, false),
                      (5, 1, 2, 20, true, false), (5, 1, 2, 21, false, true), (5, 2, 2, 40, true, false), (5, 2, 1, 23, false, false),
                      (4, 1, 1, 19, true, false)])
    func unrolledPoolWindowsMatchReference(kernel: Int, stride: Int, pad: Int, width: Int, isMax: Bool, ceilMode: Bool) throws {
        var net = TestNet()
        let x = net.input("x", [1, 5, width - 1, width])
        let window = Window(kernel: [kernel, kernel], strides: [stride, stride], dilations: [1, 1], pads: [pad, pad, pad, pad], autoPad: .notSet)
        net.output(net.node(.pool(PoolAttributes(kind: isMax ? .max : .average, window: window, ceilMode: ceilMode,
                                                 countIncludePad: ceilMode)), [x]))
        try compare(net)
    }

    /// 3x3 pooling at stride 2: SqueezeNet's ceil-mode pools read in place, where the last column is
    /// the last one read (111 and 27 wide), ResNet's padded stem pool (max: read in place, the padding's
    /// row and column repeating the first), rows narrower than a vector, max and average; rows of exactly
    /// 8 and 16 outputs read in place (17 and 33 wide: the last chunk's next column is the row's last
    /// float), a ceil-mode row whose last window passes the input, and padded max pools whose last
    /// window's row is the bottom padding (odd heights), 8 and 16 outputs wide.
    @Test(arguments: [(111, 109, 0, true, true), (55, 53, 0, true, false), (27, 25, 0, false, true), (112, 110, 1, false, true),
                      (13, 11, 1, true, false), (20, 18, 0, false, true), (17, 15, 0, true, true), (33, 31, 0, false, false),
                      (50, 48, 0, true, true), (112, 111, 1, false, true), (16, 9, 1, false, true), (32, 7, 1, false, true),
                      (112, 110, 1, false, false)])
    func pool3x3Stride2MatchesReference(width: Int, height: Int, pad: Int, ceilMode: Bool, isMax: Bool) throws {
        var net = TestNet()
        let x = net.input("x", [2, 3, height, width])
        let window = Window(kernel: [3, 3], strides: [2, 2], dilations: [1, 1], pads: [pad, pad, pad, pad], autoPad: .notSet)
        net.output(net.node(.pool(PoolAttributes(kind: isMax ? .max : .average, window: window, ceilMode: ceilMode,
                                                 countIncludePad: false)), [x]))
        try compare(net)
    }

    /// The same 3x3 stride-2 pools run by `Pooling.run` directly at both vector widths whatever this build
    /// targets (16 outputs at a time is what AVX-512 builds run on rows of 16 or more), against windows
    /// reduced one by one: the padded copy, the in-place read and the clamped padding, max and average.
    @Test(arguments: [(111, 109, 0, true, true), (55, 53, 0, true, false), (27, 25, 0, false, true), (112, 110, 1, false, true),
                      (33, 31, 0, false, false), (50, 48, 0, true, true), (112, 111, 1, false, true), (32, 7, 1, false, true),
                      (112, 110, 1, false, false), (45, 20, 2, true, true)])
    func pool3x3Stride2BothWidths(width: Int, height: Int, pad: Int, ceilMode: Bool, isMax: Bool) {
        /// Outputs along one axis, and the padding past its end that the last window reaches.
        func extent(_ size: Int) -> (out: Int, padEnd: Int) {
            let span = size + 2 * pad - 3
            var out = (ceilMode ? (span + 1) / 2 : span / 2) + 1
            if ceilMode && (out - 1) * 2 >= size + pad { out -= 1 }
            return (out, max(pad, (out - 1) * 2 + 3 - size - pad))
        }
        let (outH, padBottom) = extent(height), (outW, padRight) = extent(width)
        let planes = 3
        let g = Pooling.Geometry(planes: planes, inH: height, inW: width, outH: outH, outW: outW, kernelH: 3, kernelW: 3, strideH: 2,
                                 strideW: 2, dilationH: 1, dilationW: 1, padTop: pad, padLeft: pad, padBottom: padBottom,
                                 padRight: padRight, isMax: isMax, countIncludePad: false)
        let x = (0 ..< planes * height * width).map { i -> Float in Float(i * 7919 % 1009) / 100 - 5 }
        var expected = [Float]()
        for p in 0 ..< planes {
            for oh in 0 ..< outH {
                for ow in 0 ..< outW {
                    var window = [Float]()
                    for ih in 2 * oh - pad ..< 2 * oh - pad + 3 where ih >= 0 && ih < height {
                        for iw in 2 * ow - pad ..< 2 * ow - pad + 3 where iw >= 0 && iw < width { window.append(x[(p * height + ih) * width + iw]) }
                    }
                    expected.append(isMax ? window.max()! : window.reduce(0, +) / Float(window.count))
                }
            }
        }
        for wide in [false, true] {
            var y = [Float](repeating: .nan, count: planes * outH * outW)
            var scratch = [Float](repeating: .nan, count: Pooling.scratchCount(g))
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    scratch.withUnsafeMutableBufferPointer {
                        Pooling.run(g, x: x.baseAddress!, y: y.baseAddress!, planes: 0 ..< planes, scratch: $0.baseAddress!, wide: wide)
                    }
                }
            }
            // y starts as NaN: an output never written counts as an infinite difference.
            let worst = zip(y, expected).reduce(0.0) { largest($0, Double(abs($1.0 - $1.1))) }
            #expect(worst <= 1e-5, "wide \(wide): largest difference \(worst)")
        }
    }

    @Test(arguments: [false, true])
    func denseMatchesReference(transB: Bool) throws {
        var net = TestNet()
        let x = net.input("x", [3, 37])
        let w = net.constant(transB ? [29, 37] : [37, 29])
        let c = net.constant([29])
        net.output(net.node(.gemm(GemmAttributes(alpha: 0.5, beta: 2, transB: transB, activation: .unary(.relu))), [x, w, c]))
        try compare(net)
    }

    /// Outputs in panels of 16 with a partial last panel, inputs not a multiple of 4, the pool's
    /// threads splitting the panels, and a batch of two sharing each panel.
    @Test func densePanelsMatchReference() throws {
        var net = TestNet()
        let x = net.input("x", [2, 203])
        net.output(net.node(.gemm(GemmAttributes(transB: true, activation: .unary(.sigmoid))),
                            [x, net.constant([75, 203]), net.constant([75])]))
        try compare(net)
    }

    @Test func elementwiseBroadcastsMatchReference() throws {
        var net = TestNet()
        let x = net.input("x", [2, 5, 7, 3])
        let gate = net.input("g", [2, 5, 1, 1])
        let scaled = net.node(.binary(.mul), [x, gate])
        let shifted = net.node(.binary(.sub), [net.constant([5, 1, 1]), scaled])
        let summed = net.node(.binary(.add), [shifted, x])
        let divided = net.node(.binary(.div), [summed, net.constant([1, 5, 1, 1], (0 ..< 5).map { Float($0) + 1.5 })])
        net.output(net.node(.unary(.sigmoid), [divided]))
        net.output(net.node(.clip, [x, net.constant([], [-0.5]), net.constant([], [0.5])]))
        try compare(net)
    }

    @Test func squeezeExciteMatchesReference() throws {
        var net = TestNet()
        let x = net.input("x", [2, 12, 7, 5])
        net.output(net.node(.squeezeExcite(hidden: .unary(.silu), gate: .unary(.sigmoid)),
                            [x, net.constant([3, 12, 1, 1]), net.constant([3]), net.constant([12, 3, 1, 1]), net.constant([12])]))
        try compare(net)
    }

    @Test func concatAndShuffleMatchReference() throws {
        var net = TestNet()
        let a = net.input("a", [1, 4, 5, 5]), b = net.input("b", [1, 6, 5, 5])
        let joined = net.node(.concat(axis: 1), [a, b])
        net.output(net.node(.channelShuffle(groups: 2), [joined]))
        net.output(net.node(.concat(axis: 3), [a, a]))
        try compare(net)
    }

    @Test(arguments: 0 ..< 24)
    func transposedConvolutionMatchesReference(seed: Int) throws {
        var rng = Generator(state: UInt64(seed) &* 0x9E3779B97F4A7C15 &+ 7)
        let groups = Int.random(in: 1 ... 2, using: &rng)
        let (perGroupIn, perGroupOut) = (Int.random(in: 1 ... 9, using: &rng), Int.random(in: 1 ... 7, using: &rng))
        let kernel = Int.random(in: 1 ... 4, using: &rng), stride = Int.random(in: 1 ... 3, using: &rng)
        let dilation = kernel == 1 ? 1 : Int.random(in: 1 ... 2, using: &rng)
        let pads = (0 ..< 4).map { _ in Int.random(in: 0 ... (kernel - 1) * dilation, using: &rng) }
        let outputPadding = [Int.random(in: 0 ..< stride, using: &rng), Int.random(in: 0 ..< stride, using: &rng)]
        let (h, w) = (Int.random(in: 1 ... 9, using: &rng), Int.random(in: 1 ... 11, using: &rng))
        let batch = Int.random(in: 1 ... 2, using: &rng)

        var net = TestNet()
        let x = net.input("x", [batch, groups * perGroupIn, h, w])
        let window = Window(kernel: [kernel, kernel], strides: [stride, stride], dilations: [dilation, dilation], pads: pads, autoPad: .notSet)
        let attributes = ConvTransposeAttributes(window: window, group: groups, outputPadding: outputPadding, outputShape: nil)
        net.output(net.node(.convTranspose(attributes),
                            [x, net.constant([groups * perGroupIn, perGroupOut, kernel, kernel]), net.constant([groups * perGroupOut])]))
        try compare(net)
    }

    @Test func broadcastsReductionsAndCopiesMatchReference() throws {
        var net = TestNet()
        let x = net.input("x", [2, 6, 5, 7])
        let spatial = net.node(.reduce(.mean, keepDims: true, noopWithEmptyAxes: false),
                               [x, net.graph.addConstant(Tensor(shape: [1], [Int64(1)]), name: "axes")])
        let gated = net.node(.binary(.mul), [x, net.node(.unary(.sigmoid), [spatial])])
        let slopes = net.node(.prelu, [gated, net.constant([6, 1, 1])])
        let largest = net.node(.variadic(.max), [slopes, x, net.constant([7])])
        let padded = net.node(.pad(mode: .constant), [largest, net.graph.addConstant(Tensor(shape: [8], [Int64(0), 0, 1, -1, 0, 0, 2, 3]), name: "pads")])
        net.output(net.node(.unary(.elu(alpha: 0.5)), [padded]))
        net.output(net.node(.lrn(size: 4, alpha: 0.3, beta: 0.75, bias: 1.5), [x]))  // an even window: one more channel after
        net.output(net.node(.reduce(.l2, keepDims: false, noopWithEmptyAxes: false),
                            [x, net.graph.addConstant(Tensor(shape: [2], [Int64(0), -1]), name: "axes2")]))
        for f: ReduceFunction in [.l1, .prod, .logSum] {
            net.output(net.node(.reduce(f, keepDims: true, noopWithEmptyAxes: false),
                                [f == .logSum ? net.node(.unary(.exp), [x]) : x, net.graph.addConstant(Tensor(shape: [1], [Int64(2)]), name: "axes\(f)")]))
        }
        net.output(net.node(.depthToSpace(blockSize: 2, columnRowDepth: false), [net.node(.tile, [x, net.graph.addConstant(
            Tensor(shape: [4], [Int64(1), 2, 1, 1]), name: "repeats")])]))
        net.output(net.node(.expand, [net.constant([6, 1, 1]), net.graph.addConstant(Tensor(shape: [4], [Int64(2), 6, 3, 4]), name: "shape")]))
        net.output(net.node(.instanceNormalization(epsilon: 1e-4), [x, net.constant([6]), net.constant([6])]))
        net.output(net.node(.gather(axis: 1), [x, net.graph.addConstant(Tensor(shape: [3], [Int64(5), 0, -2]), name: "indices")]))
        net.output(net.node(.binary(.pow), [x, net.constant([], [2])]))
        net.output(net.node(.binary(.pow), [net.node(.unary(.exp), [x]), net.constant([], [1.7])]))
        net.output(net.node(.binary(.pow), [net.node(.binary(.add), [x, net.constant([], [1.5])]), net.constant([], [-3])]))
        net.output(net.node(.unary(.log), [net.node(.unary(.sigmoid), [x])]))
        for f: UnaryFunction in [.erf, .floor, .ceil, .round, .sign] { net.output(net.node(.unary(f), [x])) }
        net.node(.split(axis: 2, outputs: 2), [x, net.graph.addConstant(Tensor(shape: [2], [Int64(2), 3]), name: "sizes")], outputs: 2)
        for part in net.graph.nodes.last!.outputs { net.output(part) }
        try compare(net)
    }

    /// MatMul of computed tensors (batched, broadcast, one B for the batch) and of a constant A by them,
    /// Pad's index-mapping modes and cubic Resize, on random shapes.
    @Test(arguments: 0 ..< 12)
    func matMulPadAndCubicResizeMatchReference(seed: Int) throws {
        var rng = Generator(state: UInt64(seed) &* 0x9E3779B97F4A7C15 &+ 3)
        let shape = [Int.random(in: 1 ... 2, using: &rng), Int.random(in: 1 ... 5, using: &rng),
                     Int.random(in: 2 ... 40, using: &rng), Int.random(in: 2 ... 40, using: &rng)]
        var net = TestNet()
        let x = net.input("x", shape)
        let rows = net.node(.transpose(permutation: [0, 1, 3, 2]), [x])
        net.output(net.node(.matMul, [x, rows]))  // [n, c, h, h]
        let shared = net.node(.reduce(.mean, keepDims: true, noopWithEmptyAxes: false),
                              [rows, net.graph.addConstant(Tensor(shape: [2], [Int64(0), 1]), name: "axes")])
        net.output(net.node(.matMul, [x, net.node(.unary(.tanh), [shared])]))  // [1, 1, w, h] for the whole batch
        net.output(net.node(.matMul, [net.constant([7, shape[2]]), x]))  // a constant A, packed once
        let modes: [PadMode] = [.reflect, .edge, .wrap]
        let pads = (0 ..< 8).map { i in Int64(i % 4 < 2 ? 0 : Int.random(in: -1 ... min(3, shape[i % 4] - 1), using: &rng)) }
        net.output(net.node(.pad(mode: modes[seed % 3]), [x, net.graph.addConstant(Tensor(shape: [8], pads), name: "pads")]))
        let transforms: [CoordinateTransform] = [.halfPixel, .alignCorners, .asymmetric, .pytorchHalfPixel]
        let attributes = ResizeAttributes(mode: .cubic, coordinateTransform: transforms[seed % 4], nearestMode: .roundPreferFloor,
                                          cubicCoefficient: seed % 2 == 0 ? -0.75 : -0.5, excludeOutside: seed % 3 == 0)
        let sizes = [Int64(shape[0]), Int64(shape[1]), Int64(Int.random(in: 1 ... 50, using: &rng)), Int64(Int.random(in: 1 ... 50, using: &rng))]
        net.output(net.node(.resize(attributes), [x, nil, nil, net.graph.addConstant(Tensor(shape: [4], sizes), name: "sizes")]))
        try compare(net)
    }

    @Test(arguments: [(1, false), (-1, true), (0, true)])
    func argExtremumMatchesReference(axis: Int, selectLast: Bool) throws {
        var net = TestNet()
        let x = net.input("x", [2, 5, 3, 11])
        // Values rounded to a few levels, so that ties decide.
        net.feeds["x"] = Tensor(shape: [2, 5, 3, 11], net.feeds["x"]!.floats!.map { ($0 * 2).rounded() })
        net.output(net.node(.argMax(axis: axis, keepDims: true, selectLastIndex: selectLast), [x]))
        net.output(net.node(.argMin(axis: axis, keepDims: false, selectLastIndex: selectLast), [x]))
        let model = try Session(graph: net.graph).compiledModel(for: [[2, 5, 3, 11]])
        #expect(model != nil && model!.fastSteps == model!.plan.steps, "every step should run a pointer kernel")
        let expected = try Session(graph: net.graph, optimize: false).run(net.feeds)
        let actual = try model!.run([net.feeds["x"]!], layout: 0)
        for (e, a) in zip(expected, actual) {
            #expect(e.tensor.shape == a.tensor.shape && e.tensor.int64s != nil && e.tensor.int64s == a.tensor.int64s)
        }
    }
}
