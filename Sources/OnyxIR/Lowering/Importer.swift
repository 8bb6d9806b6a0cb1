import Dispatch
import OnnxFormat
import Synchronization

/// Lowers an ONNX model into the IR: names become value ids, initializers and `Constant` nodes become
/// constants, nodes are put in topological order, and every node's attributes are resolved by its
/// op's lowering. Unsupported operators and broken references fail here, at load, naming the node.
public enum Importer {
    public static func importModel(_ model: OnnxModel, baseDirectory: String?) throws -> Graph {
        guard let onnxGraph = model.graph else { throw OnnxError("the model has no graph") }
        let opset = model.defaultOpsetVersion ?? 1
        var graph = Graph()
        graph.opset = opset
        var ids: [String: ValueID] = [:]

        let tensors = decodeInitializers(onnxGraph.initializers, baseDirectory: baseDirectory)
        for (t, tensor) in zip(onnxGraph.initializers, tensors) {
            guard ids[t.name] == nil else { throw OnnxError("initializer '\(t.name)' is declared twice") }
            ids[t.name] = graph.addConstant(try tensor.get(), name: t.name)
        }
        var declaredInputs = Set<String>()
        for info in onnxGraph.inputs {
            guard !info.name.isEmpty else { throw OnnxError("a graph input has no name") }
            guard declaredInputs.insert(info.name).inserted else { throw OnnxError("graph input '\(info.name)' is declared twice") }
            // An input that is also an initializer (IR < 4) is a weight with a default: it stays constant.
            guard ids[info.name] == nil else { continue }
            let (dtype, shape) = try declaredType(info)
            let id = graph.addValue(Value(name: info.name, dtype: dtype, shape: shape))
            ids[info.name] = id
            graph.inputs.append(id)
        }

        for node in try topologicalOrder(onnxGraph.nodes, known: Set(ids.keys)) {
            let label = "node '\(node.name)' (\(node.opType))"
            guard node.outputs.contains(where: { !$0.isEmpty }) else { throw OnnxError("\(label) has no outputs") }
            guard node.domain.isEmpty || node.domain == "ai.onnx" else {
                throw OnnxError("\(label): operator domain '\(node.domain)' is not supported")
            }
            let inputs: [ValueID?] = try node.inputs.map { name in
                if name.isEmpty { return nil }
                guard let id = ids[name] else { throw OnnxError("\(label): input '\(name)' is not produced by any node, initializer or graph input") }
                return id
            }
            // The graph moves into the context and back (swapped, not copied): while two variables
            // share its arrays, each append copies them all, quadratic in the nodes (a tenth of
            // GhostNet's load).
            var context = LoweringContext(node: node, opset: opset, graph: Graph(), inputs: inputs, baseDirectory: baseDirectory)
            swap(&graph, &context.graph)
            if node.opType == "Constant" {
                let tensor = try ConstantLowering.value(&context)
                swap(&graph, &context.graph)
                guard node.outputs.count == 1 else { throw OnnxError("\(label): expects 1 output") }
                ids[node.outputs[0]] = graph.addConstant(tensor, name: node.outputs[0])
                continue
            }
            guard let lower = OpTable.lowerings[node.opType] else {
                throw OnnxError("\(label): operator '\(node.opType)' is not supported")
            }
            let op = try lower(&context)
            swap(&graph, &context.graph)
            var outputs: [ValueID] = []
            for name in node.outputs {
                // An omitted optional output ("") still gets a value so kernels can write it.
                let id = graph.addValue(Value(name: name))
                if !name.isEmpty {
                    guard ids[name] == nil else { throw OnnxError("\(label): output '\(name)' is already produced elsewhere") }
                    ids[name] = id
                }
                outputs.append(id)
            }
            graph.nodes.append(Node(name: node.name, op: op, inputs: context.inputs, outputs: outputs))
        }

        for info in onnxGraph.outputs {
            guard let id = ids[info.name] else {
                throw OnnxError("graph output '\(info.name)' is not produced by any node")
            }
            graph.outputs.append(id)
            // Outputs keep the graph's declared name.
            if graph.values[id].name != info.name { graph.values[id].name = info.name }
        }
        return graph
    }

    static func declaredType(_ info: OnnxValueInfo) throws -> (DType?, [Dim]?) {
        guard case .tensor(let elemType, let dims)? = info.type?.kind else { return (nil, nil) }
        guard let dtype = DType(onnx: elemType) else {
            throw OnnxError("input '\(info.name)': data type \(DataType.name(of: elemType)) is not supported")
        }
        let shape = dims?.enumerated().map { index, d -> Dim in
            switch d.value {
            case .value(let v) where v >= 0: return .fixed(Int(v))
            case .param(let name) where !name.isEmpty: return .symbol(name)
            default: return .symbol("\(info.name)_dim\(index)")
            }
        }
        return (dtype, shape)
    }

    /// Kahn's algorithm, iterative; keeps the file's order when it is already topological.
    static func topologicalOrder(_ nodes: [OnnxNode], known: Set<String>) throws -> [OnnxNode] {
        var producer: [String: Int] = [:]
        for (i, node) in nodes.enumerated() {
            for out in node.outputs where !out.isEmpty { producer[out] = i }
        }
        var missing = [Int](repeating: 0, count: nodes.count)
        var consumers = [[Int]](repeating: [], count: nodes.count)
        for (i, node) in nodes.enumerated() {
            for input in Set(node.inputs) where !input.isEmpty && !known.contains(input) {
                if let p = producer[input] {
                    missing[i] += 1
                    consumers[p].append(i)
                } else {
                    throw OnnxError("node '\(node.name)' (\(node.opType)): input '\(input)' is not produced by any node, initializer or graph input")
                }
            }
        }
        var ready = (0 ..< nodes.count).filter { missing[$0] == 0 }.reversed().map { $0 }
        var order: [OnnxNode] = []
        order.reserveCapacity(nodes.count)
        while let i = ready.popLast() {
            order.append(nodes[i])
            for c in consumers[i].reversed() {
                missing[c] -= 1
                if missing[c] == 0 { ready.append(c) }
            }
        }
        guard order.count == nodes.count else {
            let stuck = (0 ..< nodes.count).first { missing[$0] > 0 }!
            throw OnnxError("node '\(nodes[stuck].name)' (\(nodes[stuck].opType)) is part of a cycle")
        }
        return order
    }
}

extension Importer {
    /// Each initializer's typed array, in order; a failure is kept with its tensor so that the caller
    /// reports errors in file order. From `OnnxFile.twoThreadLoadBytes` of weights two threads decode
    /// them, taking tensors in turn: most of the time is faulting in the arrays' fresh pages, and two
    /// vCPUs fault in parallel (after an idle pause this VM's fresh huge pages cost 2-4 ms a MiB;
    /// RESULTS.md, twenty-third session).
    static func decodeInitializers(_ initializers: [OnnxTensor], baseDirectory: String?) -> [Result<Tensor, any Error>] {
        let decode: @Sendable (OnnxTensor) -> Result<Tensor, any Error> = { t in Result { try Tensor(onnx: t, baseDirectory: baseDirectory) } }
        let bytes = initializers.reduce(0) { $0 &+ ($1.raw?.count ?? 0) }
        guard bytes >= OnnxFile.twoThreadLoadBytes, initializers.count > 1 else { return initializers.map(decode) }
        let results = DecodedSlots(count: initializers.count)
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < initializers.count else { return }
                results.store(decode(initializers[i]), at: i)
            }
        }
        return results.all
    }
}

/// One slot per initializer, each written by exactly one thread before `concurrentPerform` returns.
private final class DecodedSlots: @unchecked Sendable {
    private var slots: [Result<Tensor, any Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func store(_ result: Result<Tensor, any Error>, at i: Int) { slots.withUnsafeMutableBufferPointer { $0[i] = result } }
    var all: [Result<Tensor, any Error>] { slots.map { $0! } }
}
