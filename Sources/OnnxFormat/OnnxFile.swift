#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import PageMemory
import Synchronization

/// Reading and writing `.onnx` model files and `.pb` tensor files.
public enum OnnxFile {
    /// The newest IR version and default-domain opset this build understands (those of onnx 1.19+).
    public static let maxIRVersion: Int64 = 14
    public static let maxOpsetVersion: Int64 = 28
    /// From this many bytes a load fills its fresh memory on two threads (the file's buffer here, the
    /// initializers' arrays in `Importer`): two vCPUs fault pages in parallel.
    public static let twoThreadLoadBytes = 16 << 20

    /// Reads, decodes and validates a model. Every error is prefixed with `path`.
    public static func readModel(path: String, limits: LoadLimits = .default) throws -> OnnxModel {
        do {
            let (pages, count) = try readPages(path, limit: limits.maxFileBytes)
            guard count > 0 else { throw OnnxError("the file is empty") }
            let model = try ProtoDecoder.decodeModel(pages, count: count, maxDepth: limits.maxMessageDepth)
            try ModelValidator(limits: limits, baseDirectory: directory(of: path)).validate(model)
            return model
        } catch let error as OnnxError {
            throw error.prefixed(path)
        }
    }

    /// Decodes and validates model bytes, as `readModel` does for a file (external data is looked up in
    /// `baseDirectory`, or refused when it is nil).
    public static func loadModel(_ bytes: [UInt8], baseDirectory: String?, limits: LoadLimits = .default) throws -> OnnxModel {
        guard !bytes.isEmpty else { throw OnnxError("the file is empty") }
        let model = try decodeModel(bytes, limits: limits)
        try ModelValidator(limits: limits, baseDirectory: baseDirectory ?? "/nonexistent").validate(model)
        return model
    }

    /// Decodes model bytes; checks structure only (see `ModelValidator` for the semantic checks).
    /// The bytes are copied into a `PageBuffer` first, which the initializers' raw data then borrows
    /// from, as for a file.
    public static func decodeModel(_ bytes: [UInt8], limits: LoadLimits = .default) throws -> OnnxModel {
        guard let pages = PageBuffer(count: bytes.count, zeroed: false) else { throw OnnxError("cannot allocate \(bytes.count) bytes to decode the model") }
        if !bytes.isEmpty { bytes.withUnsafeBytes { pages.base.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) } }
        return try ProtoDecoder.decodeModel(pages, count: bytes.count, maxDepth: limits.maxMessageDepth)
    }

    public static func encode(_ model: OnnxModel) -> [UInt8] { ProtoEncoder.encode(model) }

    public static func writeModel(_ model: OnnxModel, path: String) throws {
        try writeFile(path, ProtoEncoder.encode(model))
    }

    /// Reads a serialized `TensorProto` (the ONNX test-data `input_0.pb` files).
    public static func readTensor(path: String, limits: LoadLimits = .default) throws -> OnnxTensor {
        do {
            let bytes = try readFile(path, limit: limits.maxFileBytes)
            return try bytes.withUnsafeBytes { try ProtoDecoder.decodeTensor($0, maxDepth: limits.maxMessageDepth) }
        } catch let error as OnnxError {
            throw error.prefixed(path)
        }
    }

    public static func encode(_ tensor: OnnxTensor) -> [UInt8] { ProtoEncoder.encode(tensor) }

    public static func writeTensor(_ tensor: OnnxTensor, path: String) throws {
        try writeFile(path, ProtoEncoder.encode(tensor))
    }

    /// The folder holding `path` (external data is resolved against it).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    /// Reads a whole regular file, refusing one larger than `limit` before allocating for it.
    public static func readFile(_ path: String, limit: Int) throws -> [UInt8] {
        try withOpenFile(path, limit: limit) { fd, size in
            try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                try readAll(fd, into: UnsafeMutableRawPointer(buffer.baseAddress!), size)
                initialized = size
            }
        }
    }

    /// Reads a whole regular file into a `PageBuffer`: the initializers' raw data is borrowed from it
    /// (see `LiftedRawData`), the rest decoded once.
    static func readPages(_ path: String, limit: Int) throws -> (pages: PageBuffer, count: Int) {
        try withOpenFile(path, limit: limit) { fd, size in
            guard let pages = PageBuffer(count: size, zeroed: false) else { throw OnnxError("cannot allocate \(size) bytes to read the file") }
            try readInHalves(fd, into: pages.base, size)
            return (pages, size)
        }
    }

    private static func withOpenFile<T>(_ path: String, limit: Int, _ body: (Int32, Int) throws -> T) throws -> T {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw OnnxError(String(cString: strerror(errno)).lowercased()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw OnnxError("cannot stat the file") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw OnnxError("not a regular file") }
        let size = Int(info.st_size)
        guard size <= limit else { throw OnnxError("the file is \(size) bytes, over the limit of \(limit)") }
        return try body(fd, size)
    }

    private static func readAll(_ fd: Int32, into base: UnsafeMutableRawPointer, _ size: Int, from offset: Int = 0) throws {
        var done = 0
        while done < size {
            let n = pread(fd, base + done, size - done, off_t(offset + done))
            guard n > 0 else { throw OnnxError("reading the file failed") }
            done += n
        }
    }

    /// Reads a large file as two halves on two threads. Most of reading a file the page cache holds is
    /// faulting in the fresh buffer, and two vCPUs fault in parallel: after this VM has been idle a
    /// fresh 2 MiB page costs 4-8 ms (the host reclaimed it), so ResNet-50's 100 MB took 290 ms on one.
    private static func readInHalves(_ fd: Int32, into base: UnsafeMutableRawPointer, _ size: Int) throws {
        guard size >= twoThreadLoadBytes else { return try readAll(fd, into: base, size) }
        let half = size / 2 / PageBuffer.hugePage * PageBuffer.hugePage
        let failed = Atomic<Bool>(false)
        let address = Int(bitPattern: base)  // a pointer is not Sendable; the halves do not overlap
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let start = i == 0 ? 0 : half
            let end = i == 0 ? half : size
            do {
                try readAll(fd, into: UnsafeMutableRawPointer(bitPattern: address)! + start, end - start, from: start)
            } catch {
                failed.store(true, ordering: .relaxed)
            }
        }
        if failed.load(ordering: .relaxed) { throw OnnxError("reading the file failed") }
    }

    public static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw OnnxError("\(path): cannot write: \(String(cString: strerror(errno)).lowercased())") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            guard n > 0 else { throw OnnxError("\(path): write failed") }
            done += n
        }
    }
}

extension OnnxModel {
    /// The same model with every external tensor read into `raw_data`, so it can be written anywhere.
    public func inliningExternalData(baseDirectory: String, limits: LoadLimits = .default) throws -> OnnxModel {
        guard var graph else { return self }
        func inline(_ t: inout OnnxTensor) throws {
            guard t.isExternal else { return }
            let data = try t.decodedBytes(baseDirectory: baseDirectory, limits: limits)
            t.raw = data.raw
            t.externalData = []
            t.dataLocation = 0
        }
        for i in graph.initializers.indices { try inline(&graph.initializers[i]) }
        var copy = self
        copy.graph = graph
        return copy
    }
}
