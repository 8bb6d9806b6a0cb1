import ArgumentParser
import Foundation
import Onyx

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on input tensors and write its outputs."
    )

    @Argument(help: "The .onnx file.") var model: String
    @Option(name: .customLong("input"), help: "NAME=PATH: a tensor as ONNX TensorProto (.pb) or NumPy (.npy). Repeat per input.")
    var inputs: [String] = []
    @Option(help: "Write each output to DIR/output_K.pb (K in graph order).") var outputDir: String?
    @OptionGroup var threading: ThreadOptions
    @OptionGroup var limitOptions: LimitOptions
    @Flag(help: "Run the graph as imported, without the optimizer.") var noOptimize = false

    func validate() throws {
        for spec in inputs where !spec.contains("=") || spec.hasPrefix("=") || spec.hasSuffix("=") {
            throw ValidationError("--input takes NAME=PATH, got '\(spec)'")
        }
    }

    func run() throws {
        threading.apply()
        let start = Date()
        let session = try Session(path: model, optimize: !noOptimize, limits: limitOptions.limits, separatedArena: !threading.oneArena)
        let loaded = Date()
        var feeds: [String: Tensor] = [:]
        for spec in inputs {
            let eq = spec.firstIndex(of: "=")!
            let name = String(spec[..<eq]), path = String(spec[spec.index(after: eq)...])
            feeds[name] = try TensorFiles.read(path: path).tensor
        }
        let outputs = try session.run(feeds)
        let finished = Date()
        if let outputDir {
            try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
            for (k, output) in outputs.enumerated() {
                try TensorFiles.writeProto(output.tensor, name: output.name, path: "\(outputDir)/output_\(k).pb")
            }
        }
        for output in outputs { print(Self.summary(output.name, output.tensor)) }
        print(String(format: "load %.1f ms, run %.1f ms", loaded.timeIntervalSince(start) * 1000, finished.timeIntervalSince(loaded) * 1000))
    }

    /// Shape, range and, for a classifier-like output, the top 5 classes.
    static func summary(_ name: String, _ t: Tensor) -> String {
        var line = "\(name): \(t.dtype) \(t.shape)"
        let values = t.doubles
        if let lo = values.min(), let hi = values.max(), t.dtype != .string {
            line += String(format: " min %.6g max %.6g", lo, hi)
        }
        let classes = t.shape.filter { $0 > 1 }
        if t.dtype.isFloatingPoint && classes.count == 1 && classes[0] >= 5 {
            let top = values.enumerated().sorted { $0.element > $1.element }.prefix(5)
            line += "\n  top-5: " + top.map { String(format: "%d (%.4g)", $0.offset, $0.element) }.joined(separator: ", ")
        }
        return line
    }
}
