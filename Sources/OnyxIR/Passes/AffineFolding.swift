/// Folds a per-channel affine op (Mul, Div, Add or Sub by a constant that varies only along the channel
/// axis) into the Conv or Gemm that produces its input, by rewriting that producer's weights and bias:
/// (W x + b) * a = (W a) x + b a;  (W x + b) + s = W x + (b + s).
///
/// Preconditions: the producer's output has this op as its only consumer and is not a graph output;
/// its weights (and bias) are constant float32; it has no fused activation or residual yet; the
/// constant is per-channel for the producer's output channels.
public struct AffineFolding: RewriteRule {
    public let name = "affine-into-conv"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        guard case .binary(let f) = node.op, [.mul, .div, .add, .sub].contains(f) else { return nil }
        // The constant may be either operand of Mul and Add; Sub and Div need it on the right.
        var operands = [(node.inputs[0], node.inputs[1])]
        if f == .mul || f == .add { operands.append((node.inputs[1], node.inputs[0])) }
        for (data, constantID) in operands {
            guard let data, let constant = graph.constant(constantID),
                  let (producerIndex, producer) = uses.soleProducer(of: data, in: graph) else { continue }
            if let patch = fold(f, constant, into: producer, at: producerIndex, replacing: index, graph) { return patch }
        }
        return nil
    }

    private func fold(_ f: BinaryFunction, _ constant: Tensor, into producer: Node, at producerIndex: Int,
                      replacing index: Int, _ graph: Graph) -> Patch? {
        let weightsID: ValueID, biasID: ValueID?, channels: Int, rank: Int
        let node = graph.nodes[index]
        switch producer.op {
        case .conv(let a) where a.activation == nil && producer.inputs.count <= 3:
            guard let w = graph.constant(producer.inputs[1]), w.dtype == .float32 else { return nil }
            (weightsID, biasID, channels, rank) = (producer.inputs[1]!, producer.inputs.count > 2 ? producer.inputs[2] : nil, w.shape[0], w.rank)
        case .gemm(let g) where g.activation == nil && !g.transA:
            guard let w = graph.constant(producer.inputs[1]), w.dtype == .float32, w.rank == 2 else { return nil }
            (weightsID, biasID, channels, rank) = (producer.inputs[1]!, producer.inputs.count > 2 ? producer.inputs[2] : nil, g.transB ? w.shape[0] : w.shape[1], 2)
        default:
            return nil
        }
        guard let perChannel = constant.perChannel(channels: channels, rank: rank) else { return nil }
        guard let w = graph.constant(weightsID)?.floats else { return nil }
        var bias = [Float](repeating: 0, count: channels)
        if let biasID {
            guard let b = graph.constant(biasID), let values = b.floats else { return nil }
            if case .gemm(let g) = producer.op {
                // Gemm's C must be a per-column vector (or scalar) to fold into.
                guard let v = b.perChannel(channels: channels, rank: 2) ?? (b.count == channels ? values : nil), g.beta == 1 else { return nil }
                bias = v
            } else {
                guard values.count == channels else { return nil }
                bias = values
            }
        }
        var weights = w
        let wShape = graph.values[weightsID].constant!.shape
        // For each output channel m, the indices of its weights.
        let isGemmColumnMajor: Bool = { if case .gemm(let g) = producer.op { return !g.transB } else { return false } }()
        func scaleChannel(_ m: Int, by s: Float) {
            if isGemmColumnMajor {
                // Gemm B is [K, N]: channel m is column m.
                for k in 0 ..< wShape[0] { weights[k * channels + m] *= s }
            } else {
                let per = weights.count / channels
                for i in m * per ..< (m + 1) * per { weights[i] *= s }
            }
        }
        for m in 0 ..< channels {
            let c = perChannel[m]
            switch f {
            case .mul: scaleChannel(m, by: c); bias[m] *= c
            case .div: scaleChannel(m, by: 1 / c); bias[m] /= c
            case .add: bias[m] += c
            case .sub: bias[m] -= c
            default: return nil
            }
        }
        var builder = PatchBuilder(graph)
        let newWeights = builder.add(Value(name: graph.values[weightsID].name + "/folded", constant: Tensor(shape: wShape, weights)))
        let newBias = builder.add(Value(name: producer.name + "/bias", constant: Tensor(shape: [channels], bias)))
        var fused = producer
        fused.inputs = [producer.inputs[0], newWeights, newBias]
        if case .gemm(var g) = producer.op { g.beta = 1; fused.op = .gemm(g) }
        fused.outputs = node.outputs
        // The fused node takes the affine op's place (later in the order, so every input is ready);
        // the old producer is left without consumers and removed.
        return builder.patch(replacing: index, with: [fused])
    }
}
