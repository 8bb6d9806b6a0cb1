import OnyxIR
import OnyxKernels

/// Binds IR nodes to the fast pointer kernels of OnyxKernels. A node gets one when its operands are
/// float32 in the arena (weights constant), its shapes are known, and the kernel covers its attributes;
/// otherwise `make` returns nil and the node runs on its reference kernel.
enum PointerKernels {
    /// Arena offsets of values, as laid out by the compiled model (graph inputs included).
    typealias Offsets = [ValueID: Int]

    /// `blocked`: values a pointwise convolution writes channel-blocked for the depthwise one reading them
    /// (`BlockedPairs`); `packed`: values a depthwise convolution writes as its pointwise reader's packed B
    /// (`PackedPairs`). `reusing`: this node's kernel for another layout of the arena, whose packed
    /// weights the new one shares.
    static func make(_ node: Node, _ graph: Graph, _ offsets: Offsets, scratch: Int,
                     blocked: [ValueID: ChannelBlockedLayout] = [:], packed: [ValueID: PackedBLayout] = [:],
                     reusing old: (any PointerKernel)? = nil) -> (any PointerKernel)? {
        func offset(_ id: ValueID?) -> Int? { id.flatMap { graph.values[$0].dtype == .float32 ? offsets[$0] : nil } }
        if case .split(let axis, _) = node.op { return split(node, graph, offset, axis: axis) }
        switch node.op {
        case .argMax(let axis, _, let selectLast), .argMin(let axis, _, let selectLast):
            // An int64 output: the one pointer kernel that writes no floats.
            guard node.outputs.count == 1, graph.values[node.outputs[0]].dtype == .int64, let y = offsets[node.outputs[0]],
                  let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]), !xShape.isEmpty else { return nil }
            let a = axis < 0 ? axis + xShape.count : axis
            guard (0 ..< xShape.count).contains(a), xShape[a] > 0 else { return nil }
            let isMax = if case .argMax = node.op { true } else { false }
            return ArgExtremumStep(x: x, y: y, outer: xShape[..<a].reduce(1, *), length: xShape[a], inner: xShape[(a + 1)...].reduce(1, *),
                                   isMax: isMax, selectLast: selectLast)
        default: break
        }
        guard node.outputs.count == 1, let y = offset(node.outputs[0]), let yShape = graph.fixedShape(node.outputs[0]) else { return nil }
        switch node.op {
        case .conv:
            guard let parts = convParts(node, graph), let x = offset(node.inputs[0]) else { return nil }
            if parts.residual != nil && offset(parts.residual) == nil { return nil }
            if let layout = blocked[node.outputs[0]] {
                let conv = (old as? BlockedPointwiseStep)?.conv
                    ?? BlockedPointwise(inChannels: parts.geometry.inChannels, outChannels: parts.geometry.outChannels, layout: layout,
                                        weights: parts.weights, bias: parts.bias, activation: parts.activation)
                return BlockedPointwiseStep(conv: conv, x: x, y: y, scratch: scratch)
            }
            let conv = (old as? ConvStep)?.conv ?? Convolution(parts.geometry, weights: parts.weights, bias: parts.bias,
                                                               activation: parts.activation, blockedInput: blocked[node.inputs[0]!] != nil,
                                                               packedOutput: packed[node.outputs[0]], packedInput: packed[node.inputs[0]!] != nil)
            return ConvStep(conv: conv, x: x, y: y, residual: offset(parts.residual), scratch: scratch)
        case .convTranspose(let a):
            guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]),
                  let w = graph.constant(node.inputs[1]), let weights = w.floats,
                  let g = try? ConvKernels.transposeGeometry(x: xShape, w: w.shape, a),
                  yShape == (xShape.count == 3 ? [g.batch, g.outChannels, g.outW] : [g.batch, g.outChannels, g.outH, g.outW]) else { return nil }
            var bias: [Float]?
            if node.inputs.count > 2, let bID = node.inputs[2] {
                guard let b = graph.constant(bID)?.floats, b.count == g.outChannels else { return nil }
                bias = b
            }
            let conv = (old as? TransposedConvStep)?.conv ?? TransposedConvolution(g, weights: weights, bias: bias)
            return TransposedConvStep(conv: conv, x: x, y: y, scratch: scratch)
        case .gemm(let g):
            guard !g.transA, let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]), xShape.count == 2,
                  let w = graph.constant(node.inputs[1]), var weights = w.floats, w.rank == 2,
                  let activation = kernelActivation(g.activation) else { return nil }
            let (outputs, inputs) = (yShape[1], xShape[1])
            if g.alpha != 1 { weights = weights.map { $0 * g.alpha } }
            var bias: [Float]?
            if node.inputs.count > 2, let cID = node.inputs[2] {
                guard let c = graph.constant(cID)?.floats, c.count == outputs || c.count == 1 else { return nil }
                bias = c.count == 1 ? [Float](repeating: c[0] * g.beta, count: outputs) : c.map { $0 * g.beta }
            }
            let dense = (old as? DenseStep)?.dense
                ?? Dense(weights: weights, outputs: outputs, inputs: inputs, inputsMajor: !g.transB, bias: bias, activation: activation)
            return DenseStep(dense: dense, x: x, y: y, batch: xShape[0])
        case .pool(let a) where a.kind != .lp:
            // 2-D, or 1-D as 2-D (`planar`).
            guard let x = offset(node.inputs[0]), let inShape = graph.fixedShape(node.inputs[0]), [3, 4].contains(inShape.count),
                  yShape.count == inShape.count, a.window.fits(spatial: inShape.count - 2) else { return nil }
            let (window, xShape, outShape) = planar(a.window, inShape, yShape)
            let (_, pads) = window.resolve(input: [xShape[2], xShape[3]], ceilMode: a.ceilMode)
            let g = Pooling.Geometry(planes: xShape[0] * xShape[1], inH: xShape[2], inW: xShape[3], outH: outShape[2], outW: outShape[3],
                                     kernelH: window.kernel[0], kernelW: window.kernel[1],
                                     strideH: window.strides[0], strideW: window.strides[1],
                                     dilationH: window.dilations[0], dilationW: window.dilations[1],
                                     padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3],
                                     isMax: a.kind == .max, countIncludePad: a.countIncludePad)
            return PoolStep(geometry: g, x: x, y: y, scratch: scratch)
        case .globalPool(let kind):
            guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]), xShape.count >= 3 else { return nil }
            return GlobalPoolStep(x: x, y: y, planes: xShape[0] * xShape[1], size: xShape.dropFirst(2).reduce(1, *), isMax: kind == .max)
        case .unary(let f):
            guard let x = offset(node.inputs[0]) else { return nil }
            if let activation = kernelActivation(.unary(f)), activation != .none {
                return ActivationStep(x: x, y: y, count: yShape.reduce(1, *), activation: activation)
            }
            return unaryKernel(f).map { UnaryStep(function: $0, x: x, y: y, count: yShape.reduce(1, *)) }
        case .clip:
            guard let x = offset(node.inputs[0]) else { return nil }
            let lo = node.inputs.count > 1 ? node.inputs[1] : nil, hi = node.inputs.count > 2 ? node.inputs[2] : nil
            guard lo == nil || graph.constant(lo)?.floats != nil, hi == nil || graph.constant(hi)?.floats != nil else { return nil }
            let activation = KernelActivation.clip(graph.constant(lo)?.floats?.first ?? -.greatestFiniteMagnitude,
                                                   graph.constant(hi)?.floats?.first ?? .greatestFiniteMagnitude)
            return ActivationStep(x: x, y: y, count: yShape.reduce(1, *), activation: activation)
        case .binary(let f):
            return binary(f, node, graph, offset, y: y, yShape: yShape)
        case .prelu:
            return broadcast(.prelu, node.inputs, graph, offset, y: y, yShape: yShape)
        case .variadic(let f):
            let op: Elementwise.Operation = switch f {
            case .sum, .mean: .add
            case .max: .max
            case .min: .min
            }
            return broadcast(op, node.inputs, graph, offset, y: y, yShape: yShape, scale: f == .mean ? 1 / Float(node.inputs.count) : 1)
        case .concat(let axisValue):
            let a = axisValue < 0 ? axisValue + yShape.count : axisValue
            var parts: [(offset: Int, block: Int)] = []
            for case let input? in node.inputs {
                guard let o = offset(input), let s = graph.fixedShape(input) else { return nil }
                parts.append((o, s[a...].reduce(1, *)))
            }
            return ConcatStep(parts: parts, y: y, outer: yShape[..<a].reduce(1, *))
        case .squeezeExcite(let hidden, let gate):
            guard let x = offset(node.inputs[0]), yShape.count == 4,
                  let w1 = graph.constant(node.inputs[1])?.floats, let b1 = graph.constant(node.inputs[2])?.floats,
                  let w2 = graph.constant(node.inputs[3])?.floats, let b2 = graph.constant(node.inputs[4])?.floats,
                  let h = kernelActivation(hidden), let g = kernelActivation(gate) else { return nil }
            let se = (old as? SqueezeExciteStep)?.se
                ?? SqueezeExcite(channels: yShape[1], squeezed: b1.count, w1: w1, b1: b1, hidden: h, w2: w2, b2: b2, gate: g,
                                 packedOutput: packed[node.outputs[0]])
            return SqueezeExciteStep(se: se, x: x, y: y, batch: yShape[0], plane: yShape[2] * yShape[3], scratch: scratch)
        case .resize(let a):
            return resize(a, node, graph, offset, y: y, yShape: yShape, scratch: scratch)
        case .softmax(let axisValue, let coerceTo2D), .logSoftmax(let axisValue, let coerceTo2D):
            // Coerced to 2-D (opsets below 13): rows of every axis from `axis` on, contiguous. Else along the
            // one axis: contiguous rows when it is the last of size > 1, else strided (`Softmax.across`).
            guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]), !xShape.isEmpty else { return nil }
            let axis = axisValue < 0 ? axisValue + xShape.count : axisValue
            guard (0 ..< xShape.count).contains(axis), !xShape.contains(0) else { return nil }
            let isLog = if case .logSoftmax = node.op { true } else { false }
            let inner = coerceTo2D ? 1 : xShape[(axis + 1)...].reduce(1, *)
            let length = coerceTo2D ? xShape[axis...].reduce(1, *) : xShape[axis]
            return SoftmaxStep(x: x, y: y, outer: xShape.reduce(1, *) / (length * inner), length: length, inner: inner, log: isLog)
        case .matMul:
            // Rows (every axis but the last, of any rank) times constant weights [K, N]: the dense kernel, as
            // Gemm without a bias. Otherwise B is computed: a batch of GEMMs.
            guard let xShape = graph.fixedShape(node.inputs[0]) else { return nil }
            if let x = offset(node.inputs[0]), xShape.count >= 2, let w = graph.constant(node.inputs[1]), w.rank == 2, let weights = w.floats,
               w.shape[0] == xShape.last! {
                let dense = (old as? DenseStep)?.dense
                    ?? Dense(weights: weights, outputs: w.shape[1], inputs: w.shape[0], inputsMajor: true, bias: nil, activation: .none)
                return DenseStep(dense: dense, x: x, y: y, batch: xShape.dropLast().reduce(1, *))
            }
            return batchedMatMul(node, graph, offset, aShape: xShape, y: y, scratch: scratch, reusing: old)
        case .slice:
            return slice(node, graph, offset, y: y, yShape: yShape)
        case .transpose(let permutation):
            return transpose(node, graph, offset, y: y, yShape: yShape, permutation: permutation)
        case .expand:
            return expand(node, graph, offset, y: y, yShape: yShape)
        case .tile:
            return tile(node, graph, offset, y: y, yShape: yShape)
        case .depthToSpace(let b, let columnRowDepth):
            return blocks(node, graph, offset, y: y, yShape: yShape, blockSize: b, columnRowDepth: columnRowDepth, toSpace: true)
        case .spaceToDepth(let b, let columnRowDepth):
            return blocks(node, graph, offset, y: y, yShape: yShape, blockSize: b, columnRowDepth: columnRowDepth, toSpace: false)
        case .reduce(let f, _, let noopWithEmptyAxes):
            // Constant axes (or none: every axis), none of size 0.
            let kind: Reduction.Kind
            switch f {
            case .sum: kind = .sum
            case .mean: kind = .mean
            case .max: kind = .max
            case .min: kind = .min
            case .prod: kind = .prod
            case .sumSquare: kind = .sumSquare
            case .l1: kind = .l1
            case .l2: kind = .l2
            case .logSum: kind = .logSum
            case .logSumExp: return nil
            }
            guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]), !xShape.contains(0),
                  let operands = constantOperands(node, graph, 1 ..< 2) else { return nil }
            var axes = Set(0 ..< xShape.count)
            if let given = operands[0] {
                guard let values = given.int64s?.map({ Int(clamping: $0) }) else { return nil }
                if values.isEmpty && noopWithEmptyAxes { return nil }
                if !values.isEmpty { axes = Set(values.map { $0 < 0 ? $0 + xShape.count : $0 }) }
            }
            guard axes.allSatisfy({ (0 ..< xShape.count).contains($0) }) else { return nil }
            return ReduceStep(reduction: Reduction(kind, shape: xShape, axes: axes), x: x, y: y)
        case .lrn(let size, let alpha, let beta, let bias):
            // d = bias + alpha / size * sum of squares >= bias: a positive normal float for the logarithm.
            guard let x = offset(node.inputs[0]), yShape.count >= 3, size >= 1, bias >= Float.leastNormalMagnitude, alpha >= 0 else { return nil }
            return LRNStep(norm: LocalResponseNorm(size: size, alpha: alpha, beta: beta, bias: bias), x: x, y: y,
                           batch: yShape[0], channels: yShape[1], plane: yShape.dropFirst(2).reduce(1, *), threads: ThreadPool.shared.workers)
        case .gather(let axis):
            return gather(node, graph, offset, y: y, axis: axis)
        case .instanceNormalization(let epsilon):
            guard let x = offset(node.inputs[0]), yShape.count >= 3, let scale = graph.constant(node.inputs[1])?.floats,
                  let bias = graph.constant(node.inputs[2])?.floats, scale.count == yShape[1], bias.count == yShape[1] else { return nil }
            return InstanceNormStep(scale: scale, bias: bias, epsilon: epsilon, x: x, y: y, batch: yShape[0],
                                    plane: yShape.dropFirst(2).reduce(1, *))
        case .constantOfShape(let value):
            guard let v = value.floats, v.count == 1 else { return nil }
            return FillStep(y: y, count: yShape.reduce(1, *), value: v[0])
        case .pad(.constant):
            return pad(node, graph, offset, y: y, yShape: yShape)
        case .pad(let mode):
            return mappedPad(node, graph, offset, y: y, yShape: yShape, mode: mode)
        case .channelShuffle(let groups):
            guard let x = offset(node.inputs[0]), yShape.count >= 2 else { return nil }
            return ShuffleStep(x: x, y: y, batch: yShape[0], channels: yShape[1], groups: groups, plane: yShape.dropFirst(2).reduce(1, *))
        default:
            return nil
        }
    }

    /// What a Conv node's pointer kernel is made of, when the kernel covers it: float32 input of rank 4,
    /// or rank 3 (a 1-D convolution, run as 2-D on planes one row high), with a fixed shape, constant
    /// float weights and bias, a fused activation the kernels have.
    static func convParts(_ node: Node, _ graph: Graph)
        -> (geometry: Convolution.Geometry, weights: [Float], bias: [Float]?, activation: KernelActivation, residual: ValueID?)? {
        guard case .conv(let a) = node.op, node.outputs.count == 1, let yShape = graph.fixedShape(node.outputs[0]),
              let xID = node.inputs[0], graph.values[xID].dtype == .float32, graph.values[node.outputs[0]].dtype == .float32,
              let xShape = graph.fixedShape(xID), [3, 4].contains(xShape.count), yShape.count == xShape.count,
              let w = graph.constant(node.inputs[1]), let weights = w.floats, w.rank == xShape.count,
              let activation = kernelActivation(a.activation) else { return nil }
        let bias = node.inputs.count > 2 ? graph.constant(node.inputs[2])?.floats : nil
        if node.inputs.count > 2 && node.inputs[2] != nil && bias == nil { return nil }
        let completed = ShapeInference.completed(a.window, kernel: Array(w.shape.dropFirst(2)))
        guard completed.fits(spatial: xShape.count - 2) else { return nil }
        let (window, x, y) = planar(completed, xShape, yShape)
        let (_, pads) = window.resolve(input: [x[2], x[3]])
        let g = Convolution.Geometry(batch: x[0], inChannels: x[1], inH: x[2], inW: x[3], outChannels: y[1], outH: y[2], outW: y[3],
                                     kernelH: window.kernel[0], kernelW: window.kernel[1],
                                     strideH: window.strides[0], strideW: window.strides[1],
                                     dilationH: window.dilations[0], dilationW: window.dilations[1],
                                     padTop: pads[0], padLeft: pads[1], groups: a.group)
        return (g, weights, bias, activation, node.inputs.count > 3 ? node.inputs[3] : nil)
    }

    /// A 1-D window with its input and output shapes ([N, C, L]) as a 2-D one on planes one row high
    /// ([N, C, 1, L]): the window one row high, stride and dilation 1 along it, no padding above or
    /// below. A 2-D one as it is.
    static func planar(_ window: Window, _ x: [Int], _ y: [Int]) -> (window: Window, x: [Int], y: [Int]) {
        guard x.count == 3 else { return (window, x, y) }
        func lifted(_ shape: [Int]) -> [Int] { [shape[0], shape[1], 1, shape[2]] }
        let rows = Window(kernel: [1] + window.kernel, strides: [1] + window.strides, dilations: [1] + window.dilations,
                          pads: [0, window.pads[0], 0, window.pads[1]], autoPad: window.autoPad)
        return (rows, lifted(x), lifted(y))
    }

    /// The node's inputs at `positions`, each absent (nil) or constant; nil when one is computed at run time.
    static func constantOperands(_ node: Node, _ graph: Graph, _ positions: Range<Int>) -> [Tensor?]? {
        var operands: [Tensor?] = []
        for i in positions {
            guard i < node.inputs.count, let id = node.inputs[i] else { operands.append(nil); continue }
            guard let tensor = graph.constant(id) else { return nil }
            operands.append(tensor)
        }
        return operands
    }

    /// MatMul of a tensor in the arena (B) by another (A) or by a constant matrix (A, packed once), numpy's
    /// rules: a 1-D A is one row, a 1-D B one column, batch axes broadcast. When B is one matrix for the
    /// whole batch, A's matrices are one taller matrix.
    static func batchedMatMul(_ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, aShape: [Int], y: Int,
                              scratch: Int, reusing old: (any PointerKernel)?) -> (any PointerKernel)? {
        guard let b = offset(node.inputs[1]), let bShape = graph.fixedShape(node.inputs[1]), !aShape.isEmpty, !bShape.isEmpty else { return nil }
        let aMatrix = aShape.count == 1 ? [1, aShape[0]] : aShape, bMatrix = bShape.count == 1 ? [bShape[0], 1] : bShape
        var (m, k, n) = (aMatrix[aMatrix.count - 2], aMatrix.last!, bMatrix.last!)
        let aBatch = Array(aMatrix.dropLast(2)), bBatch = Array(bMatrix.dropLast(2))
        guard bMatrix[bMatrix.count - 2] == k, m > 0, k > 0, n > 0, let batch = try? Shapes.broadcast(aBatch, bBatch) else { return nil }
        // The kernel's offsets are in floats from the arena's start.
        let bStart = b / MemoryLayout<Float>.stride
        let bMatrices = (Shapes.broadcastIndices(bBatch, to: batch) ?? Array(0 ..< batch.reduce(1, *))).map { bStart + $0 * k * n }
        guard let a = offset(node.inputs[0]) else {
            guard aBatch.allSatisfy({ $0 == 1 }), let weights = graph.constant(node.inputs[0])?.floats else { return nil }
            let packed = (old as? BatchedMatMulStep)?.matMul.constantA
                ?? weights.withUnsafeBufferPointer { SGEMM.PackedA(m: m, k: k, a: $0.baseAddress!, rowStride: k, colStride: 1) }
            return BatchedMatMulStep(matMul: BatchedMatMul(constantA: packed, n: n, bOffsets: bMatrices), y: y, scratch: scratch)
        }
        let aStart = a / MemoryLayout<Float>.stride
        var aOffsets: [Int], bOffsets: [Int]
        if bBatch.allSatisfy({ $0 == 1 }) && aBatch == batch {
            m *= batch.reduce(1, *)
            (aOffsets, bOffsets) = ([aStart], [bStart])
        } else {
            let count = batch.reduce(1, *)
            aOffsets = (Shapes.broadcastIndices(aBatch, to: batch) ?? Array(0 ..< count)).map { aStart + $0 * m * k }
            bOffsets = bMatrices
        }
        return BatchedMatMulStep(matMul: BatchedMatMul(m: m, k: k, n: n, aOffsets: aOffsets, bOffsets: bOffsets), y: y, scratch: scratch)
    }

    /// Resize of a float32 NCHW tensor along H and W only, nearest, linear or cubic, its roi, scales and sizes
    /// absent or constant: the reference kernel's taps (`ResizeKernel.plan`) as `ResizePlanes`' tables.
    static func resize(_ a: ResizeAttributes, _ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, y: Int, yShape: [Int],
                       scratch: Int) -> (any PointerKernel)? {
        guard !a.antialias, a.coordinateTransform != .tfCropAndResize,
              let xID = node.inputs[0], let x = offset(xID), let xShape = graph.fixedShape(xID), xShape.count == 4,
              let operands = constantOperands(node, graph, 1 ..< 4) else { return nil }
        guard let (shape, taps) = try? ResizeKernel.plan(xShape, roi: operands[0], scales: operands[1], sizes: operands[2], a),
              shape == yShape, shape[0] == xShape[0], shape[1] == xShape[1],
              (0 ..< 2).allSatisfy({ axis in taps[axis].enumerated().allSatisfy { $0.element.count == 1 && $0.element[0].index == $0.offset } }),
              taps[2...].allSatisfy({ $0.allSatisfy { (1 ... 4).contains($0.count) } }) else { return nil }
        func axis(_ taps: [[ResizeKernel.Tap]]) -> ResizePlanes.Axis {
            ResizePlanes.Axis(taps: taps.map { $0.map { (index: $0.index, weight: Float($0.weight)) } })
        }
        let planes = ResizePlanes(inH: xShape[2], inW: xShape[3], rows: axis(taps[2]), columns: axis(taps[3]))
        return ResizeStep(resize: planes, x: x, y: y, planes: xShape[0] * xShape[1], scratch: scratch)
    }

    static func binary(_ f: BinaryFunction, _ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, y: Int, yShape: [Int]) -> (any PointerKernel)? {
        let op: Elementwise.Operation
        switch f {
        case .pow:
            // A constant scalar exponent: those with an exact elementwise form, others through e^(e ln|x|).
            guard let x = offset(node.inputs[0]), graph.fixedShape(node.inputs[0]) == yShape,
                  let e = graph.constant(node.inputs[1])?.floats, e.count == 1 else { return nil }
            let function: UnaryKernel
            switch e[0] {
            case 2: function = .square
            case 3: function = .cube
            case -1: function = .reciprocal
            default: function = .power(e[0])
            }
            return UnaryStep(function: function, x: x, y: y, count: yShape.reduce(1, *))
        case .add: op = .add
        case .sub: op = .sub
        case .mul: op = .mul
        case .div: op = .div
        default: return nil
        }
        guard let aID = node.inputs[0], let bID = node.inputs[1], let aShape = graph.fixedShape(aID), let bShape = graph.fixedShape(bID) else { return nil }
        return sameOrPerPlane(op, aID, bID, aShape, bShape, graph, offset, y: y, yShape: yShape)
            ?? broadcast(op, [aID, bID], graph, offset, y: y, yShape: yShape)
    }

    /// The binary ops' common cases, with their own loops: operands of the output's shape, or one of them
    /// a value per (n, c) plane.
    static func sameOrPerPlane(_ op: Elementwise.Operation, _ aID: ValueID, _ bID: ValueID, _ aShape: [Int], _ bShape: [Int],
                               _ graph: Graph, _ offset: (ValueID?) -> Int?, y: Int, yShape: [Int]) -> (any PointerKernel)? {
        let count = yShape.reduce(1, *)
        if aShape == yShape && bShape == yShape, let a = offset(aID), let b = offset(bID) {
            return BinaryStep(op: op, a: a, b: .arena(b), y: y, planes: 1, size: count, mode: .same)
        }
        // One operand full-size, the other one value per plane (N, C) or per channel: [N, C, 1, 1], [C, 1, 1].
        for (fullID, smallID, small, swapped) in [(aID, bID, bShape, false), (bID, aID, aShape, true)] {
            guard graph.fixedShape(fullID) == yShape, yShape.count >= 3, let full = offset(fullID) else { continue }
            let (n, c) = (yShape[0], yShape[1])
            let plane = yShape.dropFirst(2).reduce(1, *)
            let padded = [Int](repeating: 1, count: yShape.count - small.count) + small
            guard padded.dropFirst(2).allSatisfy({ $0 == 1 }), padded[1] == c || padded[1] == 1, padded[0] == n || padded[0] == 1 else { continue }
            if let constant = graph.constant(smallID)?.floats {
                // Expand to one value per (n, c) plane.
                let values = (0 ..< n * c).map { p in constant[(padded[0] == 1 ? 0 : p / c) * padded[1] + (padded[1] == 1 ? 0 : p % c)] }
                return BinaryStep(op: op, a: full, b: .constant(values), y: y, planes: n * c, size: plane, mode: swapped ? .perPlaneFirst : .perPlane)
            }
            if padded[0] == n, padded[1] == c, let s = offset(smallID) {
                return BinaryStep(op: op, a: full, b: .arena(s), y: y, planes: n * c, size: plane, mode: swapped ? .perPlaneFirst : .perPlane)
            }
        }
        return nil
    }

    /// Any broadcast, folding the operands left to right (Sum, Max, Min, Mean of several): each float32,
    /// in the arena or constant, of a fixed shape. The first step writes the whole output; later ones fold
    /// the next operand into it.
    static func broadcast(_ op: Elementwise.Operation, _ inputs: [ValueID?], _ graph: Graph, _ offset: (ValueID?) -> Int?,
                          y: Int, yShape: [Int], scale: Float = 1) -> (any PointerKernel)? {
        var operands: [ElementwiseOperand] = []
        var shapes: [[Int]] = []
        for id in inputs {
            guard let id, let shape = graph.fixedShape(id), shape.count <= yShape.count else { return nil }
            if let o = offset(id) {
                operands.append(.arena(o))
            } else if let values = graph.constant(id)?.floats {
                operands.append(.constant(values))
            } else {
                return nil
            }
            shapes.append(shape)
        }
        guard operands.count >= 2 else { return nil }
        var plans = [BroadcastBinary(op, shape: yShape, a: shapes[0], b: shapes[1])]
        for shape in shapes.dropFirst(2) { plans.append(BroadcastBinary(op, shape: yShape, a: yShape, b: shape)) }
        return BroadcastStep(plans: plans, operands: operands, y: y, count: yShape.reduce(1, *), scale: scale)
    }

    static func unaryKernel(_ f: UnaryFunction) -> UnaryKernel? {
        switch f {
        case .sqrt: .sqrt
        case .abs: .abs
        case .neg: .neg
        case .reciprocal: .reciprocal
        case .exp: .exp
        case .log: .log
        case .sign: .sign
        case .floor: .floor
        case .ceil: .ceil
        case .round: .round
        case .erf: .erf
        case .elu(let alpha): .elu(alpha)
        case .selu(let alpha, let gamma): .selu(alpha, gamma)
        case .celu(let alpha): .celu(alpha)
        case .softplus: .softplus
        case .softsign: .softsign
        case .mish: .mish
        default: nil
        }
    }

    static func kernelActivation(_ a: Activation?) -> KernelActivation? {
        switch a {
        case nil: return KernelActivation.none
        case .clip(let lo, let hi)?: return .clip(lo, hi)
        case .unary(let f)?:
            switch f {
            case .relu: return .relu
            case .sigmoid: return .sigmoid
            case .silu: return .silu
            case .hardSwish: return .hardSwish
            case .hardSigmoid(let alpha, let beta): return .hardSigmoid(alpha, beta)
            case .leakyRelu(let alpha): return .leakyRelu(alpha)
            case .tanh: return .tanh
            case .elu(let alpha): return .elu(alpha)
            case .selu(let alpha, let gamma): return .selu(alpha, gamma)
            case .celu(let alpha): return .celu(alpha)
            case .softplus: return .softplus
            case .thresholdedRelu(let alpha): return .thresholdedRelu(alpha)
            case .mish: return .mish
            default: return nil
            }
        }
    }
}

@inline(__always)
func floats(_ context: ExecutionContext, _ offset: Int) -> UnsafeMutablePointer<Float> {
    (context.arena + offset).assumingMemoryBound(to: Float.self)
}

struct ConvStep: PointerKernel {
    let conv: Convolution
    let x: Int, y: Int, residual: Int?, scratch: Int
    func run(_ c: ExecutionContext) {
        conv.run(x: floats(c, x), y: floats(c, y), residual: residual.map { UnsafePointer(floats(c, $0)) }, scratch: floats(c, scratch))
    }
    var scratchCount: Int { conv.scratchCount }
    var label: String {
        let reads = conv.blockedInput ? ", reads blocked" : conv.packedInput ? ", reads packed" : ""
        return "fast" + reads + (conv.packedOutput != nil ? ", writes packed" : "")
    }
}

struct BlockedPointwiseStep: PointerKernel {
    let conv: BlockedPointwise
    let x: Int, y: Int, scratch: Int
    func run(_ c: ExecutionContext) {
        conv.run(x: floats(c, x), y: floats(c, y), scratch: floats(c, scratch))
    }
    var scratchCount: Int { conv.scratchCount }
    var label: String { "fast, writes blocked" }
}

struct DenseStep: PointerKernel {
    let dense: Dense
    let x: Int, y: Int, batch: Int
    func run(_ c: ExecutionContext) {
        // Output features in whole panels.
        let ranges = ThreadPool.shared.pieces(dense.outputs, granularity: Dense.panel, threads: ThreadPool.shared.workers)
        ThreadPool.shared.parallelFor(ranges.count) { t in
            dense.run(x: floats(c, x), y: floats(c, y), batch: batch, outputs: ranges[t])
        }
    }
}

/// A and B's places in the arena are in `matMul`'s offset tables (floats from the arena's start).
struct BatchedMatMulStep: PointerKernel {
    let matMul: BatchedMatMul
    let y: Int, scratch: Int
    let threads = ThreadPool.shared.workers
    func run(_ c: ExecutionContext) {
        let chunks = matMul.chunks(threads: threads), per = matMul.scratchCount
        let ranges = ThreadPool.shared.pieces(matMul.batch * chunks, threads: threads)
        ThreadPool.shared.parallelFor(ranges.count, slots: threads) { t, slot in
            matMul.run(a: floats(c, 0), b: floats(c, 0), c: floats(c, y), items: ranges[t], chunks: chunks,
                       scratch: floats(c, scratch) + slot * per)
        }
    }
    var scratchCount: Int { threads * matMul.scratchCount }
}

struct PoolStep: PointerKernel {
    let geometry: Pooling.Geometry
    let x: Int, y: Int, scratch: Int
    let threads = ThreadPool.shared.workers
    func run(_ c: ExecutionContext) {
        let per = Pooling.scratchCount(geometry)
        let ranges = ThreadPool.shared.pieces(geometry.planes, threads: threads)
        ThreadPool.shared.parallelFor(ranges.count, slots: threads) { t, slot in
            Pooling.run(geometry, x: floats(c, x), y: floats(c, y), planes: ranges[t], scratch: floats(c, scratch) + slot * per)
        }
    }
    var scratchCount: Int { threads * Pooling.scratchCount(geometry) }
}

struct ResizeStep: PointerKernel {
    let resize: ResizePlanes
    let x: Int, y: Int, planes: Int, scratch: Int
    let threads = ThreadPool.shared.workers
    func run(_ c: ExecutionContext) {
        let per = resize.scratchCount
        let ranges = ThreadPool.shared.pieces(planes, threads: threads)
        ThreadPool.shared.parallelFor(ranges.count, slots: threads) { t, slot in
            resize.run(x: floats(c, x), y: floats(c, y), planes: ranges[t], scratch: floats(c, scratch) + slot * per)
        }
    }
    var scratchCount: Int { threads * resize.scratchCount }
}

struct SoftmaxStep: PointerKernel {
    let x: Int, y: Int, outer: Int, length: Int, inner: Int, log: Bool
    func run(_ c: ExecutionContext) {
        let ranges = ThreadPool.shared.pieces(outer, granularity: max(1, 4096 / (length * inner)), threads: ThreadPool.shared.workers)
        ThreadPool.shared.parallelFor(ranges.count) { t in
            if inner == 1 {
                Softmax.run(x: floats(c, x), y: floats(c, y), rows: ranges[t], length: length, log: log)
            } else {
                Softmax.across(x: floats(c, x), y: floats(c, y), blocks: ranges[t], length: length, inner: inner, log: log)
            }
        }
    }
}

struct TransposedConvStep: PointerKernel {
    let conv: TransposedConvolution
    let x: Int, y: Int, scratch: Int
    var scratchCount: Int { conv.scratchCount }
    func run(_ c: ExecutionContext) { conv.run(x: floats(c, x), y: floats(c, y), scratch: floats(c, scratch)) }
}

struct ArgExtremumStep: PointerKernel {
    let x: Int, y: Int, outer: Int, length: Int, inner: Int, isMax: Bool, selectLast: Bool
    func run(_ c: ExecutionContext) {
        let out = (c.arena + y).assumingMemoryBound(to: Int64.self)
        ArgExtremum.run(x: floats(c, x), y: out, outer: outer, length: length, inner: inner, isMax: isMax, selectLast: selectLast)
    }
}

struct ReduceStep: PointerKernel {
    let reduction: Reduction
    let x: Int, y: Int
    func run(_ c: ExecutionContext) { reduction.run(x: floats(c, x), y: floats(c, y)) }
}

struct LRNStep: PointerKernel {
    let norm: LocalResponseNorm
    let x: Int, y: Int, batch: Int, channels: Int, plane: Int, threads: Int
    func run(_ c: ExecutionContext) {
        norm.run(x: floats(c, x), y: floats(c, y), batch: batch, channels: channels, plane: plane, threads: threads)
    }
}

struct InstanceNormStep: PointerKernel {
    let scale: [Float], bias: [Float], epsilon: Float
    let x: Int, y: Int, batch: Int, plane: Int
    func run(_ c: ExecutionContext) {
        InstanceNorm.run(x: floats(c, x), y: floats(c, y), scale: scale, bias: bias, epsilon: epsilon, batch: batch, plane: plane)
    }
}

struct GlobalPoolStep: PointerKernel {
    let x: Int, y: Int, planes: Int, size: Int, isMax: Bool
    func run(_ c: ExecutionContext) { Pooling.global(x: floats(c, x), y: floats(c, y), planes: planes, size: size, isMax: isMax) }
}

struct UnaryStep: PointerKernel {
    let function: UnaryKernel
    let x: Int, y: Int, count: Int
    func run(_ c: ExecutionContext) { function.apply(floats(c, x), floats(c, y), count: count) }
}

struct ActivationStep: PointerKernel {
    let x: Int, y: Int, count: Int
    let activation: KernelActivation
    func run(_ c: ExecutionContext) {
        if x != y { floats(c, y).update(from: floats(c, x), count: count) }
        activation.apply(floats(c, y), count)
    }
}

/// An elementwise step's operand: a value in the arena, or a constant the step holds.
enum ElementwiseOperand: Sendable {
    case arena(Int), constant([Float])

    func withPointer(_ c: ExecutionContext, _ body: (UnsafePointer<Float>) -> Void) {
        switch self {
        case .arena(let o): body(floats(c, o))
        case .constant(let values): values.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
    }
}

struct BinaryStep: PointerKernel {
    enum Mode: Sendable { case same, perPlane, perPlaneFirst }
    let op: Elementwise.Operation
    let a: Int
    let b: ElementwiseOperand
    let y: Int, planes: Int, size: Int
    let mode: Mode
    func run(_ c: ExecutionContext) {
        b.withPointer(c) { bp in
            switch mode {
            case .same: Elementwise.same(op, floats(c, a), bp, floats(c, y), count: size)
            case .perPlane: Elementwise.perPlane(op, floats(c, a), bp, floats(c, y), planes: planes, size: size, scalarFirst: false)
            case .perPlaneFirst: Elementwise.perPlane(op, floats(c, a), bp, floats(c, y), planes: planes, size: size, scalarFirst: true)
            }
        }
    }
}

struct BroadcastStep: PointerKernel {
    /// plans[0] combines operands 0 and 1 into y, plans[k] folds operand k + 1 into y.
    let plans: [BroadcastBinary]
    let operands: [ElementwiseOperand]
    let y: Int, count: Int
    /// Applied to the result (Mean's 1 / inputs).
    let scale: Float
    func run(_ c: ExecutionContext) {
        let out = floats(c, y)
        operands[0].withPointer(c) { a in operands[1].withPointer(c) { b in plans[0].run(a: a, b: b, y: out) } }
        for (plan, operand) in zip(plans.dropFirst(), operands.dropFirst(2)) {
            operand.withPointer(c) { b in plan.run(a: out, b: b, y: out) }
        }
        if scale != 1 { for i in 0 ..< count { out[i] *= scale } }
    }
}

struct ConcatStep: PointerKernel {
    let parts: [(offset: Int, block: Int)]
    let y: Int, outer: Int
    func run(_ c: ExecutionContext) {
        let total = parts.reduce(0) { $0 + $1.block }
        var start = 0
        for part in parts {
            let src = floats(c, part.offset)
            for o in 0 ..< outer {
                let dst = floats(c, y) + o * total + start
                let from = src + o * part.block
                if dst != from { dst.update(from: from, count: part.block) }
            }
            start += part.block
        }
    }
}

struct SqueezeExciteStep: PointerKernel {
    let se: SqueezeExcite
    let x: Int, y: Int, batch: Int, plane: Int, scratch: Int
    func run(_ c: ExecutionContext) { se.run(x: floats(c, x), y: floats(c, y), batch: batch, plane: plane, scratch: floats(c, scratch)) }
    var scratchCount: Int { se.scratchCount }
    var label: String { se.packedOutput != nil ? "fast, writes packed" : "fast" }
}

/// Output channel a * g + b comes from input channel b * (C / g) + a.
struct ShuffleStep: PointerKernel {
    let x: Int, y: Int, batch: Int, channels: Int, groups: Int, plane: Int
    func run(_ c: ExecutionContext) {
        let per = channels / groups
        for n in 0 ..< batch {
            let src = floats(c, x) + n * channels * plane, dst = floats(c, y) + n * channels * plane
            for a in 0 ..< per {
                for b in 0 ..< groups { (dst + (a * groups + b) * plane).update(from: src + (b * per + a) * plane, count: plane) }
            }
        }
    }
}
