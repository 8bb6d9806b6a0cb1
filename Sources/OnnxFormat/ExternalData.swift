#if canImport(Glibc)
import Glibc
#endif

/// Reads tensor data kept in a file beside the model (`data_location: EXTERNAL`).
///
/// The location must be a relative path that stays inside the model's folder once every symbolic link
/// is resolved: absolute paths, `..` components and links that lead out are refused (the class of bug
/// behind onnx's external-data path-traversal CVEs).
enum ExternalData {
    struct Reference {
        var location: String
        var offset: Int
        var length: Int?
    }

    static func reference(of tensor: OnnxTensor) throws -> Reference {
        var location: String?
        var offset = 0
        var length: Int?
        for entry in tensor.externalData {
            switch entry.key {
            case "location": location = entry.value
            case "offset":
                guard let v = Int(entry.value), v >= 0 else {
                    throw OnnxError("\(tensor.label): external data offset '\(entry.value)' is not a non-negative integer")
                }
                offset = v
            case "length":
                guard let v = Int(entry.value), v >= 0 else {
                    throw OnnxError("\(tensor.label): external data length '\(entry.value)' is not a non-negative integer")
                }
                length = v
            default: break  // "checksum" and future keys are informative
            }
        }
        guard let location, !location.isEmpty else {
            throw OnnxError("\(tensor.label): external data has no location")
        }
        return Reference(location: location, offset: offset, length: length)
    }

    /// The resolved path of `location`, checked to lie inside `baseDirectory`.
    static func resolve(_ location: String, baseDirectory: String, label: String) throws -> String {
        guard !location.hasPrefix("/") else {
            throw OnnxError("\(label): external data location '\(location)' is an absolute path")
        }
        guard !location.contains("\0") else {
            throw OnnxError("\(label): external data location contains a NUL byte")
        }
        let components = location.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains("..") else {
            throw OnnxError("\(label): external data location '\(location)' leaves the model's folder")
        }
        guard let base = realPath(baseDirectory) else {
            throw OnnxError("\(label): model folder '\(baseDirectory)' cannot be resolved")
        }
        let joined = base + "/" + location
        guard let resolved = realPath(joined) else {
            throw OnnxError("\(label): external data file '\(location)' does not exist")
        }
        guard resolved.hasPrefix(base == "/" ? "/" : base + "/") else {
            throw OnnxError("\(label): external data location '\(location)' resolves outside the model's folder")
        }
        return resolved
    }

    static func read(_ tensor: OnnxTensor, baseDirectory: String, expectedBytes: Int) throws -> [UInt8] {
        let ref = try reference(of: tensor)
        let path = try resolve(ref.location, baseDirectory: baseDirectory, label: tensor.label)
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw OnnxError("\(tensor.label): cannot open external data file '\(ref.location)'") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw OnnxError("\(tensor.label): external data '\(ref.location)' is not a regular file")
        }
        let fileSize = Int(info.st_size)
        let length = ref.length ?? (fileSize - min(ref.offset, fileSize))
        guard length == expectedBytes else {
            throw OnnxError("\(tensor.label): external data length \(length) does not match the \(expectedBytes) bytes its shape needs")
        }
        guard ref.offset <= fileSize, length <= fileSize - ref.offset else {
            throw OnnxError("\(tensor.label): external data '\(ref.location)' is \(fileSize) bytes, too short for offset \(ref.offset) + length \(length)")
        }
        var bytes = [UInt8](repeating: 0, count: length)
        var done = 0
        while done < length {
            let n = bytes.withUnsafeMutableBytes { buffer in
                pread(fd, buffer.baseAddress! + done, length - done, off_t(ref.offset + done))
            }
            guard n > 0 else { throw OnnxError("\(tensor.label): reading external data '\(ref.location)' failed") }
            done += n
        }
        return bytes
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
