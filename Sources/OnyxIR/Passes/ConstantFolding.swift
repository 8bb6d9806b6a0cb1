/// Replaces a node whose inputs are all constant by its computed outputs, and `Shape` of a value whose
/// shape is fixed by a constant. This is what collapses the Shape -> Gather -> Unsqueeze -> Concat chains
/// of older PyTorch exports, and the ConstantOfShape weights of some zoo models.
public struct ConstantFolding: RewriteRule {
    public let name = "constant-folding"
    /// Computes an op on constant inputs (the runtime's reference kernels).
    public var evaluate: ShapeInference.Fold
    /// Largest folded output, in elements: folding must not turn a small file into a huge one.
    public var maxElements: Int

    public init(maxElements: Int = 1 << 24, evaluate: @escaping ShapeInference.Fold) {
        self.evaluate = evaluate
        self.maxElements = maxElements
    }

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        var results: [Tensor]
        if case .shape(let start, let end) = node.op, let shape = graph.fixedShape(node.inputs[0]) {
            results = [ShapeInference.shapeTensor(shape, start: start, end: end)]
        } else {
            let present = node.inputs.compactMap { $0 }
            guard !present.isEmpty, present.allSatisfy({ graph.values[$0].constant != nil }) else { return nil }
            if node.outputs.contains(where: { id in graph.fixedShape(id).map { ($0.checkedProduct ?? Int.max) > maxElements } ?? false }) { return nil }
            guard let computed = try? evaluate(node.op, node.inputs.map { graph.constant($0) }, node.outputs.count),
                  computed.count >= node.outputs.count, computed.allSatisfy({ $0.count <= maxElements }) else { return nil }
            results = computed
        }
        var builder = PatchBuilder(graph)
        var redirect: [ValueID: ValueID] = [:]
        for (out, tensor) in zip(node.outputs, results) {
            redirect[out] = builder.add(Value(name: graph.values[out].name, constant: tensor))
        }
        return builder.patch(replacing: index, with: [], redirect: redirect)
    }
}

/// Removes Identity (and inference-mode Dropout, lowered to Identity) and Cast to the same type.
public struct IdentityElimination: RewriteRule {
    public let name = "identity-elimination"
    public init() {}

    public func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch? {
        let node = graph.nodes[index]
        switch node.op {
        case .identity: break
        case .cast(let to) where graph.values[node.inputs[0]!].dtype == to: break
        default: return nil
        }
        // Dropout's mask output (an Identity's second) must be unused.
        guard let input = node.inputs[0], node.outputs.dropFirst().allSatisfy({ uses.consumerCount(of: $0) == 0 && !uses.graphOutputs.contains($0) })
        else { return nil }
        let output = node.outputs[0]
        // A graph output may only take the place of a value that is not itself a graph input or output.
        if uses.graphOutputs.contains(output) && (graph.inputs.contains(input) || uses.graphOutputs.contains(input)) {
            return nil
        }
        return PatchBuilder(graph).patch(replacing: index, with: [], redirect: [output: input])
    }
}
