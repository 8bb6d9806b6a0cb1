import ArgumentParser
import Foundation
import Onyx

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a model: versions, inputs and outputs, operators, parameters."
    )

    @Argument(help: "The .onnx file.") var model: String
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Flag(help: "Also optimise the graph at its declared input shapes: the passes that fired, the optimised operator histogram and the memory plan.")
    var optimize = false
    @OptionGroup var limitOptions: LimitOptions

    func run() throws {
        let onnx = try OnnxFile.readModel(path: model, limits: limitOptions.limits)
        let summary = ModelSummary(onnx)
        // MACs need the runtime's lowering; a model it cannot lower is still summarised.
        let graph = try? Importer.importModel(onnx, baseDirectory: OnnxFile.directory(of: model))
        let macs = graph.map { Analysis.macs($0) }
        guard optimize else {
            print(json ? Self.json(summary, macs: macs).text : Self.text(summary, path: model, macs: macs))
            return
        }
        guard let graph else {
            // Lowering failed above; do it again to report why.
            _ = try Importer.importModel(onnx, baseDirectory: OnnxFile.directory(of: model))
            return
        }
        let (optimized, fired, plan): (Graph, [String: Int], MemoryPlan)
        do {
            (optimized, fired, plan) = try Analysis.optimized(graph, limits: limitOptions.limits)
        } catch let error as OnnxError {
            throw error.prefixed(model)
        }
        let ops = Analysis.histogram(optimized)
        if json {
            guard case .object(var pairs) = Self.json(summary, macs: macs) else { return }
            pairs.removeAll { $0.0 == "ops" }
            pairs.append(("ops", .object(ops.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })))
            pairs.append(("original_ops", Self.json(summary, macs: macs).field("ops")))
            pairs.append(("passes", .object(fired.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })))
            pairs.append(("plan", .object([
                ("steps", .int(plan.steps)), ("arena_bytes", .int(plan.arenaBytes)),
                ("lower_bound_bytes", .int(plan.lowerBoundBytes)), ("naive_bytes", .int(plan.naiveBytes)),
            ])))
            print(JSON.object(pairs).text)
        } else {
            print(Self.text(summary, path: model, macs: macs))
            print("  optimized: \(optimized.nodes.count) nodes")
            for (op, n) in ops.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) { print("    \(op.padding(to: 24)) \(n)") }
            print("  passes fired: " + fired.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            print("  plan: \(plan.summary)")
        }
    }

    static func shapeText(_ shape: [OnnxDimValue]?) -> String {
        guard let shape else { return "[?]" }
        return "[" + shape.map { d in
            switch d {
            case .value(let v): return String(v)
            case .param(let p): return p
            case .unknown: return "?"
            }
        }.joined(separator: ", ") + "]"
    }

    static func shapeJSON(_ shape: [OnnxDimValue]?) -> JSON {
        guard let shape else { return .null }
        return .array(shape.map { d in
            switch d {
            case .value(let v): return .int(Int(v))
            case .param(let p): return .string(p)
            case .unknown: return .null
            }
        })
    }

    static func text(_ s: ModelSummary, path: String, macs: Int?) -> String {
        var lines = ["\(path)"]
        lines.append("  IR version \(s.irVersion), producer \(s.producer.isEmpty ? "unknown" : s.producer)")
        lines.append("  opsets: " + s.opsets.map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain) \($0.version)" }.joined(separator: ", "))
        for (title, values) in [("inputs", s.inputs), ("outputs", s.outputs)] {
            lines.append("  \(title):")
            for v in values { lines.append("    \(v.name): \(v.dtype) \(shapeText(v.shape))") }
        }
        lines.append("  \(s.nodeCount) nodes:")
        for (op, n) in s.ops.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
            lines.append("    \(op.padding(to: 24)) \(n)")
        }
        lines.append("  parameters: \(s.parameters) (\(s.parameterBytes) bytes of constants)")
        lines.append("  MACs: " + (macs.map { "\($0) (\(String(format: "%.3f", Double($0) / 1e9)) G)" } ?? "unknown (the runtime cannot lower this model)"))
        return lines.joined(separator: "\n")
    }

    static func json(_ s: ModelSummary, macs: Int?) -> JSON {
        func values(_ vs: [ModelSummary.Value]) -> JSON {
            .array(vs.map { .object([("name", .string($0.name)), ("dtype", .string($0.dtype)), ("shape", shapeJSON($0.shape))]) })
        }
        return .object([
            ("ir_version", .int(Int(s.irVersion))),
            ("producer", .string(s.producer)),
            ("opset", .object(s.opsets.map { ($0.domain.isEmpty ? "ai.onnx" : $0.domain, .int(Int($0.version))) })),
            ("inputs", values(s.inputs)),
            ("outputs", values(s.outputs)),
            ("nodes", .int(s.nodeCount)),
            ("ops", .object(s.ops.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("parameters", .int(s.parameters)),
            ("parameter_bytes", .int(s.parameterBytes)),
            ("macs", macs.map(JSON.int) ?? .null),
        ])
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
