import OnnxFormat
import OnyxIR

/// Reading and writing tensors as files: ONNX `TensorProto` (`.pb`) and NumPy (`.npy`).
public enum TensorFiles {
    /// Reads `.npy` by its extension, anything else as a serialized TensorProto. Errors name the path.
    public static func read(path: String, limits: LoadLimits = .default) throws -> (name: String, tensor: Tensor) {
        if path.hasSuffix(".npy") {
            do {
                return ("", try Numpy.decode(OnnxFile.readFile(path, limit: limits.maxFileBytes)))
            } catch let error as OnnxError {
                throw error.prefixed(path)
            }
        }
        let proto = try OnnxFile.readTensor(path: path, limits: limits)
        do {
            return (proto.name, try Tensor(onnx: proto, baseDirectory: OnnxFile.directory(of: path)))
        } catch let error as OnnxError {
            throw error.prefixed(path)
        }
    }

    public static func writeProto(_ tensor: Tensor, name: String, path: String) throws {
        try OnnxFile.writeTensor(tensor.onnx(name: name), path: path)
    }
}

/// The NumPy `.npy` format, versions 1 to 3: magic, header length, a Python-dict header, then data.
enum Numpy {
    static func decode(_ bytes: [UInt8]) throws -> Tensor {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0 ..< 6]) == magic else { throw OnnxError("not a NumPy .npy file") }
        let major = bytes[6]
        let headerStart = major == 1 ? 10 : 12
        guard bytes.count >= headerStart else { throw OnnxError("truncated .npy header") }
        let headerLength = major == 1
            ? Int(bytes[8]) | Int(bytes[9]) << 8
            : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        guard headerLength <= bytes.count - headerStart else { throw OnnxError("truncated .npy header") }
        let header = String(decoding: bytes[headerStart ..< headerStart + headerLength], as: UTF8.self)
        func field(_ key: String) -> String? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return String(header[r.upperBound...]).trimmed(" ")
        }
        guard let descrField = field("descr"), let quote = descrField.first, quote == "'" || quote == "\"",
              let end = descrField.dropFirst().firstIndex(of: quote) else { throw OnnxError(".npy header has no descr") }
        let descr = String(descrField[descrField.index(after: descrField.startIndex) ..< end])
        if let fortran = field("fortran_order"), fortran.hasPrefix("True") {
            throw OnnxError("Fortran-ordered .npy arrays are not supported")
        }
        guard let shapeField = field("shape"), let open = shapeField.firstIndex(of: "("), let close = shapeField.firstIndex(of: ")") else {
            throw OnnxError(".npy header has no shape")
        }
        let shape = try shapeField[shapeField.index(after: open) ..< close].split(separator: ",").map { part -> Int in
            guard let d = Int(String(part).trimmed(" ")), d >= 0 else { throw OnnxError(".npy shape has an invalid dimension") }
            return d
        }
        let dataType: DataType
        switch descr {
        case "<f4": dataType = .float
        case "<f8": dataType = .double
        case "<f2": dataType = .float16
        case "<i8": dataType = .int64
        case "<i4": dataType = .int32
        case "<i2": dataType = .int16
        case "|i1": dataType = .int8
        case "|u1": dataType = .uint8
        case "<u2": dataType = .uint16
        case "<u4": dataType = .uint32
        case "<u8": dataType = .uint64
        case "|b1": dataType = .bool
        default: throw OnnxError(".npy dtype '\(descr)' is not supported")
        }
        let data = Array(bytes[(headerStart + headerLength)...])
        let proto = OnnxTensor(name: "", dataType: dataType, shape: shape, rawBytes: data)
        return try Tensor(onnx: proto, baseDirectory: nil)
    }
}

private extension String {
    func trimmed(_ set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
