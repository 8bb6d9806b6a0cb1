import ArgumentParser
import Foundation
import Onyx

struct ZooCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "Lightweight CNNs built in Swift, exported as ONNX.",
        subcommands: [List.self, Export.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The architectures, with their published parameters and MACs.")
        @Flag(help: "Print JSON.") var json = false

        func run() {
            if json {
                print(JSON.array(Zoo.entries.map { e in
                    .object([("name", .string(e.name)), ("summary", .string(e.summary)), ("parameters", e.parameters.map(JSON.int) ?? .null),
                             ("macs", e.macs.map(JSON.int) ?? .null), ("input_size", .int(e.defaultInputSize))])
                }).text)
            } else {
                for e in Zoo.entries {
                    let macs = e.macs.map { String(format: "%.0f M MACs", Double($0) / 1e6) } ?? ""
                    let parameters = e.parameters.map { "\($0) params" } ?? ""
                    print("\(e.name.padding(to: 24)) \(parameters.padding(to: 17))  \(macs.padding(to: 14))  \(e.summary)")
                }
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a zoo network and write it as ONNX.",
            discussion: "With --test-data, also writes test_data_set_0 (a seeded input and Onyx's own outputs for the builder graph) next to the file, so any runtime can be checked against Onyx."
        )
        @Argument(help: "The architecture (see `onyx zoo list`).") var name: String
        @Option(name: .shortAndLong, help: "The output .onnx file.") var output: String
        @Option(help: "Seed for the weights.") var seed: UInt64 = 0
        @Option(parsing: .upToNextOption, help: "Input height and width.") var inputSize: [Int] = []
        @Option(help: "Number of classes (default: 1000, or the detector's own).") var classes: Int?
        @Option(help: "ONNX opset to write (11 or newer).") var opset: Int64 = 13
        @Flag(help: "Also write test_data_set_0 with Onyx's outputs beside the model.") var testData = false
        @Option(help: "Load weights by parameter name from a .safetensors file (a PyTorch state_dict) or an .onnx file.")
        var weights: String?
        @Flag(help: "Fold each BatchNormalization into the convolution before it (by default it stays its own node, as PyTorch exports a training-ready graph).")
        var foldBatchnorm = false
        @Flag(help: "With --weights, keep seeded values for parameters the file lacks and ignore tensors the network does not use.")
        var nonStrict = false

        func validate() throws {
            guard Zoo.entry(name) != nil else {
                throw ValidationError("unknown architecture '\(name)'; see `onyx zoo list`")
            }
            guard inputSize.isEmpty || (inputSize.count == 2 && inputSize.allSatisfy { $0 >= 32 && $0 <= 4096 }) else {
                throw ValidationError("--input-size takes a height and a width from 32 to 4096")
            }
            if let classes, classes < 1 { throw ValidationError("--classes must be at least 1") }
            let multiple = Zoo.entry(name)!.inputMultiple
            guard inputSize.allSatisfy({ $0 % multiple == 0 }) else {
                throw ValidationError("--input-size must be a multiple of \(multiple) for \(name)")
            }
            guard opset >= 11 && opset <= OnnxFile.maxOpsetVersion else {
                throw ValidationError("--opset must be from 11 to \(OnnxFile.maxOpsetVersion)")
            }
        }

        func run() throws {
            let entry = Zoo.entry(name)!
            var graph: Graph
            if let weights {
                let pretrained = try WeightFile.read(path: weights)  // its errors name the file
                let built: (graph: Graph, loaded: Int, parameters: Int)
                do {
                    built = try Zoo.build(entry, pretrained: pretrained, strict: !nonStrict,
                                          classes: classes, height: inputSize.first, width: inputSize.last, seed: seed)
                } catch let error as OnnxError {
                    throw error.prefixed(weights)
                }
                graph = built.graph
                print("loaded \(built.loaded) of \(built.parameters) parameter tensors from \(weights)")
            } else {
                graph = Zoo.build(entry, classes: classes, height: inputSize.first, width: inputSize.last, seed: seed)
            }
            Analysis.optimizer.annotate(&graph, inputShapes: nil)
            if foldBatchnorm {
                graph = PassManager(rules: [BatchNormDecomposition(), AffineFolding()]).run(graph).graph
                Analysis.optimizer.annotate(&graph, inputShapes: nil)
            }
            var exporter = Exporter(opset: opset)
            exporter.intermediateValueInfo = true
            var model = try exporter.export(graph)
            model.graph?.name = name
            try OnnxFile.writeModel(model, path: output)
            print("wrote \(output)")
            guard testData else { return }
            let folder = OnnxFile.directory(of: output) + "/test_data_set_0"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let input = graph.values[graph.inputs[0]]
            let shape = input.shape!.compactMap(\.value)
            var generator = SeededRandom(seed: seed &+ 1)
            let x = Tensor(shape: shape, (0 ..< shape.reduce(1, *)).map { _ in Float(generator.unit() * 2 - 1) })
            try TensorFiles.writeProto(x, name: input.name, path: folder + "/input_0.pb")
            for (k, out) in try Session(graph: graph).run([input.name: x]).enumerated() {
                try TensorFiles.writeProto(out.tensor, name: out.name, path: folder + "/output_\(k).pb")
            }
            print("wrote \(folder)")
        }
    }
}
