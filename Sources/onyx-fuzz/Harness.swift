import Foundation
import Onyx

/// Fuzzing harnesses for libFuzzer (`scripts/fuzz.sh TARGET SECONDS`), chosen by ONYX_FUZZ_TARGET:
///   decode  bytes -> structural scan -> protobuf-c -> Swift values -> validation
///   load    bytes -> the above -> lowering -> optimization -> planning -> kernel binding (session creation)
///   run     bytes -> input tensor of a shipped model (models/mobilenet_v3_small) -> a run
/// Every input must end in a value or a thrown error: a trap, a leak or a hang is a finding.
enum Harness {
    static let target = ProcessInfo.processInfo.environment["ONYX_FUZZ_TARGET"] ?? "decode"
    static let limits: LoadLimits = {
        var l = LoadLimits()
        l.maxTensorBytes = 64 << 20
        l.maxNodes = 10_000
        l.maxTensorElements = 1 << 24
        return l
    }()
    nonisolated(unsafe) static var runSession: Session?

    static func run(_ bytes: [UInt8]) {
        switch target {
        case "load":
            guard let model = try? OnnxFile.loadModel(bytes, baseDirectory: nil, limits: limits),
                  let graph = try? Importer.importModel(model, baseDirectory: nil) else { return }
            _ = try? Analysis.optimized(graph, limits: limits)
        case "run":
            let session = runSession ?? {
                let s = try! Session(path: ProcessInfo.processInfo.environment["ONYX_FUZZ_MODEL"] ?? "models/mobilenet_v3_small/model.onnx")
                runSession = s
                return s
            }()
            let count = 3 * 224 * 224
            var values = [Float](repeating: 0, count: count)
            bytes.withUnsafeBytes { raw in
                values.withUnsafeMutableBytes { dst in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0 ..< min(raw.count, dst.count)])) }
            }
            _ = try? session.run([session.inputs[0].name: Tensor(shape: [1, 3, 224, 224], values)])
        default:
            _ = try? OnnxFile.loadModel(bytes, baseDirectory: nil, limits: limits)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Harness.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links an executable's entry point under this name; hand control to libFuzzer's driver.
@_cdecl("onyx_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOne(data, size) }
}
#else
/// Without libFuzzer: replay files (a corpus or saved findings) through the chosen harness.
@main
struct Replay {
    static func main() throws {
        for path in CommandLine.arguments.dropFirst() {
            let bytes = try OnnxFile.readFile(path, limit: 1 << 30)
            Harness.run(bytes)
        }
        print("replayed \(CommandLine.arguments.count - 1) inputs through '\(Harness.target)'")
    }
}
#endif
