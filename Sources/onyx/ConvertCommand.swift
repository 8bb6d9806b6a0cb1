import ArgumentParser
import Onyx

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Read a model and write it back as ONNX (external data is inlined).",
        discussion: "With --optimize the model goes through Onyx's IR and optimizer (constant folding, BatchNorm folding, dead-node removal, fusion) and is written as standard ONNX: fused activations are expanded back into standard operators."
    )

    @Argument(help: "The input .onnx file.") var input: String
    @Option(name: .shortAndLong, help: "The output .onnx file.") var output: String
    @Flag(help: "Optimise the graph; it stays valid for any size of its symbolic dimensions.") var optimize = false
    @OptionGroup var limitOptions: LimitOptions

    func run() throws {
        let model = try OnnxFile.readModel(path: input, limits: limitOptions.limits)
        let folder = OnnxFile.directory(of: input)
        guard optimize else {
            try OnnxFile.writeModel(try model.inliningExternalData(baseDirectory: folder, limits: limitOptions.limits), path: output)
            print("wrote \(output)")
            return
        }
        let graph: Graph
        do {
            graph = try Importer.importModel(model, baseDirectory: folder)
            _ = try Analysis.check(graph, limits: limitOptions.limits)
        } catch let error as OnnxError {
            throw error.prefixed(input)
        }
        let (optimized, fired) = Analysis.optimizer.optimize(graph)
        let exported = try Exporter(opset: max(13, graph.opset)).export(optimized)
        try OnnxFile.writeModel(exported, path: output)
        let passes = fired.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("wrote \(output): \(graph.nodes.count) nodes -> \(exported.graph?.nodes.count ?? 0) (\(passes.isEmpty ? "no pass fired" : passes))")
    }
}
