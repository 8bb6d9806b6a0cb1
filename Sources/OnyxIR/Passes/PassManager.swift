/// A rewrite proposed by a rule: node `replacing` is replaced by `nodes` (possibly none), which may use
/// `values` appended to the graph (ids from `PatchBuilder`), and every use of a key in `redirect` is
/// rewired to its value. Nodes left without consumers are removed by dead-code elimination.
public struct Patch {
    public var replacing: Int
    public var nodes: [Node]
    public var values: [Value]
    public var redirect: [ValueID: ValueID]
}

/// Builds a patch against an unchanged graph: new value ids continue after the graph's.
public struct PatchBuilder {
    let base: Int
    public private(set) var values: [Value] = []
    public init(_ graph: Graph) { base = graph.values.count }

    public mutating func add(_ value: Value) -> ValueID {
        values.append(value)
        return base + values.count - 1
    }

    public func patch(replacing index: Int, with nodes: [Node], redirect: [ValueID: ValueID] = [:]) -> Patch {
        Patch(replacing: index, nodes: nodes, values: values, redirect: redirect)
    }
}

/// Who produces and who consumes each value: what rules read to check their preconditions. Rebuilt
/// after every rewrite, so it is flat arrays indexed by value id rather than dictionaries.
public struct GraphIndex {
    /// The node index producing each value, or -1 (inputs, constants, values no node writes).
    private let producers: [Int]
    private let consumerCounts: [Int]
    public let graphOutputs: Set<ValueID>

    public init(_ graph: Graph) {
        var producers = [Int](repeating: -1, count: graph.values.count)
        var consumerCounts = [Int](repeating: 0, count: graph.values.count)
        // By index, reading the two fields in place: a copy of each node (its op's payload, its arrays)
        // retained and released them, and this index is rebuilt after every rewrite.
        for i in graph.nodes.indices {
            for out in graph.nodes[i].outputs { producers[out] = i }
            for case let input? in graph.nodes[i].inputs { consumerCounts[input] += 1 }
        }
        self.producers = producers
        self.consumerCounts = consumerCounts
        self.graphOutputs = Set(graph.outputs)
    }

    /// How many node inputs read `value` (a node reading it twice counts twice).
    public func consumerCount(of value: ValueID) -> Int { consumerCounts[value] }

    /// The node producing `value`, when it has exactly one consumer and is not a graph output: the
    /// precondition of every fusion that makes the value disappear.
    public func soleProducer(of value: ValueID, in graph: Graph) -> (index: Int, node: Node)? {
        guard !graphOutputs.contains(value), consumerCounts[value] == 1, producers[value] >= 0 else { return nil }
        return (producers[value], graph.nodes[producers[value]])
    }
}

/// One rewrite rule: guards first, an early `nil`, no mutation.
public protocol RewriteRule {
    var name: String { get }
    func match(_ index: Int, _ graph: Graph, _ uses: GraphIndex) -> Patch?
}

/// Applies rules until none fires, removing dead nodes as it goes; counts how often each fired.
public struct PassManager {
    public var rules: [any RewriteRule]
    public init(rules: [any RewriteRule]) { self.rules = rules }

    public func run(_ input: Graph) -> (graph: Graph, fired: [String: Int]) {
        var graph = input
        var fired: [String: Int] = [:]
        var changed = true
        var rounds = 0
        while changed && rounds < 100 {
            changed = false
            rounds += 1
            var index = 0
            var uses = GraphIndex(graph)
            while index < graph.nodes.count {
                var applied = false
                for rule in rules {
                    if let patch = rule.match(index, graph, uses) {
                        Self.apply(patch, to: &graph)
                        fired[rule.name, default: 0] += 1
                        uses = GraphIndex(graph)
                        applied = true
                        changed = true
                        break
                    }
                }
                if !applied { index += 1 }
            }
            let before = graph.nodes.count
            DeadCodeElimination.run(&graph)
            if graph.nodes.count != before { changed = true }
        }
        return (graph, fired)
    }

    static func apply(_ patch: Patch, to graph: inout Graph) {
        graph.values += patch.values
        graph.nodes.replaceSubrange(patch.replacing ... patch.replacing, with: patch.nodes)
        guard !patch.redirect.isEmpty else { return }
        for i in graph.nodes.indices where graph.nodes[i].inputs.contains(where: { $0.map { patch.redirect[$0] != nil } ?? false }) {
            graph.nodes[i].inputs = graph.nodes[i].inputs.map { $0.map { patch.redirect[$0] ?? $0 } }
        }
        graph.outputs = graph.outputs.map { old in
            guard let new = patch.redirect[old] else { return old }
            // A graph output keeps its name when another value takes its place.
            graph.values[new].name = graph.values[old].name
            return new
        }
    }
}

/// Removes nodes none of whose outputs reach a graph output.
public enum DeadCodeElimination {
    public static func run(_ graph: inout Graph) {
        var live = Set(graph.outputs)
        var keep = [Bool](repeating: false, count: graph.nodes.count)
        for i in stride(from: graph.nodes.count - 1, through: 0, by: -1) {
            let node = graph.nodes[i]
            if node.outputs.contains(where: live.contains) {
                keep[i] = true
                for case let input? in node.inputs { live.insert(input) }
            }
        }
        graph.nodes = graph.nodes.indices.filter { keep[$0] }.map { graph.nodes[$0] }
    }
}
