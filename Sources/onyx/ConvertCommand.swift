import ArgumentParser
import Onyx

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Read a model and write it back as ONNX (external data is inlined)."
    )

    @Argument(help: "The input .onnx file.") var input: String
    @Option(name: .shortAndLong, help: "The output .onnx file.") var output: String

    func run() throws {
        let model = try OnnxFile.readModel(path: input)
        let inlined = try model.inliningExternalData(baseDirectory: OnnxFile.directory(of: input))
        try OnnxFile.writeModel(inlined, path: output)
        print("wrote \(output)")
    }
}
