import Onyx
import Testing

/// A tiny IR graph built by hand for pass tests.
struct TestNet {
    var graph = Graph()
    var feeds: [String: Tensor] = [:]
    private var seed: UInt64 = 12345

    /// Deterministic values in [-1, 1).
    mutating func random(_ count: Int) -> [Float] {
        (0 ..< count).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(seed >> 40) / Float(1 << 23) - 1
        }
    }

    mutating func input(_ name: String, _ shape: [Int]) -> ValueID {
        let id = graph.addValue(Value(name: name, dtype: .float32, shape: shape.map(Dim.fixed)))
        graph.inputs.append(id)
        feeds[name] = Tensor(shape: shape, random(shape.reduce(1, *)))
        return id
    }

    mutating func constant(_ shape: [Int], _ values: [Float]? = nil) -> ValueID {
        let data = values ?? random(shape.reduce(1, *))
        return graph.addConstant(Tensor(shape: shape, data), name: "c\(graph.values.count)")
    }

    @discardableResult
    mutating func node(_ op: Op, _ inputs: [ValueID?], outputs: Int = 1) -> ValueID {
        let ids = (0 ..< outputs).map { k in graph.addValue(Value(name: "v\(graph.values.count)_\(k)")) }
        graph.nodes.append(Node(name: "n\(graph.nodes.count)", op: op, inputs: inputs, outputs: ids))
        return ids[0]
    }

    mutating func output(_ id: ValueID) { graph.outputs.append(id) }

    mutating func conv(_ x: ValueID, in cin: Int, out cout: Int, kernel: Int = 3, group: Int = 1, bias: Bool = true) -> ValueID {
        let w = constant([cout, cin / group, kernel, kernel])
        let b = bias ? constant([cout]) : nil
        let window = Window(kernel: [kernel, kernel], strides: [1, 1], dilations: [1, 1],
                            pads: [kernel / 2, kernel / 2, kernel / 2, kernel / 2], autoPad: .notSet)
        return node(.conv(ConvAttributes(window: window, group: group, kernelFromWeights: false)), [x, w] + (b.map { [$0] } ?? []))
    }

    mutating func batchNorm(_ x: ValueID, channels c: Int) -> ValueID {
        let scale = constant([c]), bias = constant([c]), mean = constant([c])
        let variance = constant([c], random(c).map { abs($0) + 0.5 })
        return node(.batchNormalization(epsilon: 1e-5), [x, scale, bias, mean, variance])
    }

    /// Optimises the graph and checks that its outputs equal the unoptimised graph's.
    func optimized(tolerance: Float = 1e-4) throws -> (graph: Graph, fired: [String: Int]) {
        let shapes = Dictionary(uniqueKeysWithValues: graph.inputs.map { ($0, feeds[graph.values[$0].name]!.shape) })
        let result = Analysis.optimizer.optimize(graph, inputShapes: shapes)
        let expected = try Session(graph: graph, optimize: false).run(feeds)
        let actual = try Session(graph: result.graph, optimize: false).run(feeds)
        #expect(expected.count == actual.count)
        for (e, a) in zip(expected, actual) {
            #expect(e.tensor.shape == a.tensor.shape)
            let scale = max(1, e.tensor.floats!.map(abs).max()!)
            let error = Float(zip(e.tensor.floats!, a.tensor.floats!).reduce(0) { largest($0, Double(abs($1.0 - $1.1))) })
            #expect(error <= tolerance * scale, "output \(e.name) differs by \(error)")
        }
        return result
    }
}

extension Graph {
    func count(_ name: String) -> Int { nodes.filter { $0.op.onnxName == name }.count }
}
