import ArgumentParser
import Onyx

/// Resource limits for reading and running a model, shared by every command that loads one. The
/// defaults (`LoadLimits.default`) accept every real model we know of.
struct LimitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Largest model file read (bytes; K, M, G suffixes).", valueName: "size"))
    var maxFileSize: ByteCount?
    @Option(help: ArgumentHelp("Deepest protobuf nesting (each subgraph level costs four).", valueName: "n"))
    var maxDepth: Int?
    @Option(help: ArgumentHelp("Most nodes over the graph and its subgraphs.", valueName: "n"))
    var maxNodes: Int?
    @Option(help: ArgumentHelp("Largest total of the model's tensor data (bytes; K, M, G suffixes).", valueName: "size"))
    var maxTensorBytes: ByteCount?
    @Option(help: ArgumentHelp("Most elements any one tensor computed at load or run may have.", valueName: "n"))
    var maxTensorElements: Int?

    func validate() throws {
        for (name, value) in [("--max-depth", maxDepth), ("--max-nodes", maxNodes), ("--max-tensor-elements", maxTensorElements)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
    }

    var limits: LoadLimits {
        var limits = LoadLimits.default
        if let maxFileSize { limits.maxFileBytes = maxFileSize.bytes }
        if let maxDepth { limits.maxMessageDepth = maxDepth }
        if let maxNodes { limits.maxNodes = maxNodes }
        if let maxTensorBytes { limits.maxTensorBytes = maxTensorBytes.bytes }
        if let maxTensorElements { limits.maxTensorElements = maxTensorElements }
        return limits
    }
}

/// A size in bytes written as `1048576`, `512K`, `64M` or `2G` (powers of 1024).
struct ByteCount: ExpressibleByArgument {
    var bytes: Int

    init?(argument: String) {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = Substring(argument.uppercased())
        var scale = 1
        if let last = digits.last, let unit = units[last] {
            scale = unit
            digits = digits.dropLast()
        }
        guard let value = Int(digits), value > 0 else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        self.bytes = bytes
    }
}
