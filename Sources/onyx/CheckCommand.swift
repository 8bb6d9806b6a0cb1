import ArgumentParser
import Foundation
import Onyx

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run models in the ONNX test-data layout and compare with their reference outputs.",
        discussion: "Each DIR holds model.onnx and test_data_set_N/{input_K.pb, output_K.pb}. An output passes when every element satisfies |a-e| <= atol + rtol*|e|."
    )

    @Argument(help: "Folders in the ONNX test-data layout.") var directories: [String]
    @Option(help: "Relative tolerance.") var rtol: Double = 1e-3
    @Option(help: "Absolute tolerance.") var atol: Double = 1e-5
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @OptionGroup var threading: ThreadOptions
    @OptionGroup var limitOptions: LimitOptions
    @Flag(help: "Run the graphs as imported, without the optimizer.") var noOptimize = false

    func validate() throws {
        guard rtol >= 0, atol >= 0 else { throw ValidationError("tolerances must not be negative") }
    }

    struct Result {
        var directory: String
        var dataSet: String?
        var outputs: [(name: String, comparison: Comparison)] = []
        var error: String?
        var passed: Bool { error == nil && outputs.allSatisfy(\.comparison.passed) }
    }

    func run() throws {
        threading.apply()
        var results: [Result] = []
        for directory in directories {
            results += check(directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory)
        }
        if json {
            print(JSON.object([
                ("passed", .bool(results.allSatisfy(\.passed))),
                ("results", .array(results.map { r in
                    .object([
                        ("directory", .string(r.directory)),
                        ("data_set", r.dataSet.map(JSON.string) ?? .null),
                        ("passed", .bool(r.passed)),
                        ("error", r.error.map(JSON.string) ?? .null),
                        ("outputs", .array(r.outputs.map { o in
                            .object([("name", .string(o.name)), ("max_abs_error", .double(o.comparison.maxAbsoluteError)),
                                     ("passed", .bool(o.comparison.passed)), ("problem", o.comparison.problem.map(JSON.string) ?? .null)])
                        })),
                    ])
                })),
            ]).text)
        } else {
            for r in results {
                let place = r.dataSet.map { "\(r.directory)/\($0)" } ?? r.directory
                if let error = r.error { print("FAIL \(place): \(error)"); continue }
                for o in r.outputs {
                    let detail = o.comparison.problem ?? String(format: "max abs error %.3g", o.comparison.maxAbsoluteError)
                    print("\(o.comparison.passed ? "ok  " : "FAIL") \(place) \(o.name): \(detail)")
                }
            }
            let passed = results.filter(\.passed).count
            print("\(passed) passed, \(results.count - passed) failed")
        }
        if !results.allSatisfy(\.passed) { throw ExitCode(1) }
    }

    func check(_ directory: String) -> [Result] {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), !isFolder.boolValue {
            return [Result(directory: directory, error: "a file, not a folder holding model.onnx and test_data_set_N (to run a file alone: onyx run)")]
        }
        let session: Session
        do {
            session = try Session(path: "\(directory)/model.onnx", optimize: !noOptimize, limits: limitOptions.limits, separatedArena: !threading.oneArena)
        } catch {
            return [Result(directory: directory, error: "\(error)")]
        }
        let sets = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("test_data_set_") }.sorted()
        if sets.isEmpty { return [Result(directory: directory, error: "no test_data_set_N folders")] }
        return sets.map { set in
            var result = Result(directory: directory, dataSet: set)
            do {
                let folder = "\(directory)/\(set)"
                let inputs = try numbered(folder, prefix: "input_").map { try TensorFiles.read(path: $0) }
                let expected = try numbered(folder, prefix: "output_").map { try TensorFiles.read(path: $0) }
                let names = session.inputs.map(\.name)
                guard inputs.count == names.count else {
                    throw OnnxError("\(folder) has \(inputs.count) inputs but the model takes \(names.count)")
                }
                var feeds: [String: Tensor] = [:]
                for (name, input) in zip(names, inputs) { feeds[name] = input.tensor }
                let outputs = try session.run(feeds)
                guard outputs.count == expected.count else {
                    throw OnnxError("the model produced \(outputs.count) outputs but \(folder) has \(expected.count)")
                }
                result.outputs = zip(outputs, expected).map { ($0.name, Comparison.compare($0.tensor, $1.tensor, rtol: rtol, atol: atol)) }
            } catch {
                result.error = "\(error)"
            }
            return result
        }
    }

    /// `prefix0.pb`, `prefix1.pb`, ... in numeric order.
    func numbered(_ folder: String, prefix: String) throws -> [String] {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
        return files.compactMap { f -> (Int, String)? in
            guard f.hasPrefix(prefix), f.hasSuffix(".pb"), let k = Int(f.dropFirst(prefix.count).dropLast(3)) else { return nil }
            return (k, "\(folder)/\(f)")
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
