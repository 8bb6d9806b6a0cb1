/// Fuses an activation into the Conv or Gemm that produces its input, as the producer's epilogue.
/// Clip needs constant bounds; a Clip after a fused Clip narrows it (bounds intersect).
/// Preconditions: the producer's output has only this consumer and is not a graph output.
public struct ActivationFusion: RewriteRule {
    public let name = "activation-fusion"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        let activation: Activation
        switch node.op {
        case .unary(let f) where Activation.fusible(f):
            activation = .unary(f)
        case .clip:
            let lo = node.inputs.count > 1 ? graph.constant(node.inputs[1]) : nil
            let hi = node.inputs.count > 2 ? graph.constant(node.inputs[2]) : nil
            if node.inputs.count > 1 && node.inputs[1] != nil && lo?.floats == nil { return nil }
            if node.inputs.count > 2 && node.inputs[2] != nil && hi?.floats == nil { return nil }
            activation = .clip(min: lo?.floats?.first ?? -.greatestFiniteMagnitude, max: hi?.floats?.first ?? .greatestFiniteMagnitude)
        default:
            return nil
        }
        guard let input = node.inputs[0], let (_, producer) = uses.soleProducer(of: input, in: graph),
              graph.values[input].dtype == .float32 || graph.values[input].dtype == nil else { return nil }
        var fused = producer
        switch producer.op {
        case .conv(var a):
            guard let merged = Self.merge(a.activation, activation) else { return nil }
            a.activation = merged
            fused.op = .conv(a)
        case .gemm(var g):
            guard let merged = Self.merge(g.activation, activation) else { return nil }
            g.activation = merged
            fused.op = .gemm(g)
        default:
            return nil
        }
        fused.outputs = node.outputs
        return PatchBuilder(graph).patch(replacing: index, with: [fused])
    }

    /// The activation equal to applying `existing` then `next`, when one exists.
    static func merge(_ existing: Activation?, _ next: Activation) -> Activation? {
        switch (existing, next) {
        case (nil, _): return next
        case (.clip(let a, let b)?, .clip(let c, let d)): return .clip(min: max(a, c), max: min(b, d))
        case (.unary(.relu)?, .clip(let c, let d)): return .clip(min: max(0, c), max: d)
        case (.clip(let a, let b)?, .unary(.relu)): return .clip(min: max(0, a), max: max(0, b))
        default: return nil
        }
    }
}

/// Conv followed by Add of a same-shaped tensor becomes one Conv with a residual input, so the
/// addition (and an activation fused afterwards) happens in the convolution's epilogue.
/// Preconditions: the Conv's output has only this consumer and is not a graph output; it has no fused
/// activation or residual yet; both operands of the Add have the same fixed shape (no broadcasting).
public struct ResidualFusion: RewriteRule {
    public let name = "residual-fusion"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        guard case .binary(.add) = node.op else { return nil }
        for (convOutput, residual) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] {
            guard let convOutput, let residual, graph.values[residual].constant == nil,
                  let (_, conv) = uses.soleProducer(of: convOutput, in: graph),
                  case .conv(let a) = conv.op, a.activation == nil, conv.inputs.count <= 3,
                  let shape = graph.fixedShape(convOutput), shape == graph.fixedShape(residual) else { continue }
            var fused = conv
            fused.inputs = (conv.inputs + [nil, nil]).prefix(3) + [residual]
            fused.outputs = node.outputs
            return PatchBuilder(graph).patch(replacing: index, with: [fused])
        }
        return nil
    }
}

/// MatMul of rows [M, K] by constant weights [K, N] followed by Add of a constant bias (scalar, [N] or
/// [1, N]) becomes one Gemm with that bias, as PyTorch's Linear layers export from some tools (Paddle,
/// older opsets): the bias is added in the dense kernel's epilogue, and an activation can fuse after it.
/// Preconditions: the MatMul's output has only this consumer and is not a graph output.
public struct MatMulBiasFusion: RewriteRule {
    public let name = "matmul-bias-fusion"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        guard case .binary(.add) = node.op, node.inputs.count == 2 else { return nil }
        for (product, bias) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] {
            guard let product, let (_, matMul) = uses.soleProducer(of: product, in: graph), case .matMul = matMul.op,
                  let x = matMul.inputs[0], let xShape = graph.fixedShape(x), xShape.count == 2,
                  let w = graph.constant(matMul.inputs[1]), w.rank == 2, w.floats != nil, w.shape[0] == xShape[1],
                  let outShape = graph.fixedShape(node.outputs[0]), outShape == [xShape[0], w.shape[1]],
                  let values = graph.constant(bias)?.perChannel(channels: w.shape[1], rank: 2) else { continue }
            var builder = PatchBuilder(graph)
            let c = builder.add(Value(name: node.name + "/bias", constant: Tensor(shape: [values.count], values)))
            return builder.patch(replacing: index, with: [
                Node(name: matMul.name, op: .gemm(GemmAttributes()), inputs: [x, matMul.inputs[1], c], outputs: node.outputs),
            ])
        }
        return nil
    }
}

/// Reshape [N, C, H, W] -> [N, g, C/g, H, W], Transpose (0, 2, 1, 3, 4), Reshape back to [N, C, H, W]
/// becomes one ChannelShuffle(g). Preconditions: the intermediates have one consumer each and are not
/// graph outputs; the shapes are fixed and exactly of that form.
public struct ChannelShuffleRecognition: RewriteRule {
    public let name = "channel-shuffle"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        guard case .reshape = node.op, let transposed = node.inputs[0],
              let (_, transpose) = uses.soleProducer(of: transposed, in: graph),
              case .transpose(let perm?) = transpose.op, let grouped = transpose.inputs[0],
              let (_, split) = uses.soleProducer(of: grouped, in: graph), case .reshape = split.op,
              let x = split.inputs[0], let inShape = graph.fixedShape(x), inShape.count >= 3,
              let groupedShape = graph.fixedShape(grouped), groupedShape.count == inShape.count + 1,
              let outShape = graph.fixedShape(node.outputs[0]), outShape == inShape else { return nil }
        let (n, c) = (inShape[0], inShape[1])
        let g = groupedShape[1]
        let expectedPerm = [0, 2, 1] + Array(3 ..< groupedShape.count)
        guard perm == expectedPerm, groupedShape[0] == n, g > 0, c % g == 0, groupedShape[2] == c / g,
              Array(groupedShape.dropFirst(3)) == Array(inShape.dropFirst(2)) else { return nil }
        return PatchBuilder(graph).patch(replacing: index, with: [
            Node(name: node.name, op: .channelShuffle(groups: g), inputs: [x], outputs: node.outputs),
        ])
    }
}
