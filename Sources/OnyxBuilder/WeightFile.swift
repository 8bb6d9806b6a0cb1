import Foundation
import OnnxFormat
import OnyxIR

/// Named float tensors to load into a network built in Swift: a safetensors file (PyTorch's
/// `state_dict` as `safetensors.torch.save_file` writes it) or an ONNX file's initializers.
public enum WeightFile {
    /// Reads every tensor, converted to float32, by name. Errors name the file.
    public static func read(path: String, limits: LoadLimits = .default) throws -> [String: Tensor] {
        do {
            let bytes = try OnnxFile.readFile(path, limit: limits.maxFileBytes)
            // A safetensors file opens with an 8-byte header length and then the JSON header's '{'.
            if bytes.count >= 9 && bytes[8] == UInt8(ascii: "{") { return try safetensors(bytes) }
            let directory = OnnxFile.directory(of: path)
            let model = try OnnxFile.loadModel(bytes, baseDirectory: directory, limits: limits)
            var tensors: [String: Tensor] = [:]
            for t in model.graph?.initializers ?? [] {
                tensors[t.name] = try float32(try Tensor(onnx: t, baseDirectory: directory), t.name)
            }
            return tensors
        } catch let error as OnnxError {
            throw error.prefixed(path)
        }
    }

    /// safetensors: u64 little-endian header size, a JSON header {name: {dtype, shape, data_offsets}},
    /// then the data, each tensor at [begin, end) after the header.
    static func safetensors(_ bytes: [UInt8]) throws -> [String: Tensor] {
        let headerSize = bytes[0 ..< 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerSize <= UInt64(bytes.count - 8) else { throw OnnxError("safetensors header size \(headerSize) is past the end of the file") }
        let dataStart = 8 + Int(headerSize)
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8 ..< dataStart])) as? [String: Any] else {
            throw OnnxError("the safetensors header is not a JSON object")
        }
        var tensors: [String: Tensor] = [:]
        for (name, entry) in header where name != "__metadata__" {
            guard let info = entry as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = (info["shape"] as? [NSNumber])?.map(\.intValue), shape.allSatisfy({ $0 >= 0 }),
                  let offsets = (info["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2 else {
                throw OnnxError("safetensors entry '\(name)' needs dtype, shape and data_offsets")
            }
            let size: Int
            switch dtype {
            case "F32": size = 4
            case "F16", "BF16": size = 2
            case "F64": size = 8
            default: throw OnnxError("safetensors entry '\(name)': dtype \(dtype) is not a float type")
            }
            guard let count = shape.checkedProduct, offsets[0] >= 0, offsets[1] >= offsets[0],
                  offsets[1] <= bytes.count - dataStart, offsets[1] - offsets[0] == count * size else {
                throw OnnxError("safetensors entry '\(name)': data_offsets \(offsets) do not hold \(shape) of \(dtype) inside the file")
            }
            let data = bytes[(dataStart + offsets[0]) ..< (dataStart + offsets[1])]
            tensors[name] = Tensor(shape: shape, decode(data, dtype: dtype, count: count))
        }
        return tensors
    }

    /// Little-endian values of `dtype` as Float.
    static func decode(_ data: ArraySlice<UInt8>, dtype: String, count: Int) -> [Float] {
        data.withUnsafeBytes { raw in
            (0 ..< count).map { i -> Float in
                switch dtype {
                case "F32": return Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                case "F64": return Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian))
                case "BF16": return Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16)
                default: return Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
                }
            }
        }
    }

    static func float32(_ t: Tensor, _ name: String) throws -> Tensor {
        if t.dtype == .float32 { return t }
        guard t.dtype.isFloatingPoint else { throw OnnxError("tensor '\(name)' is \(t.dtype), not a float type") }
        return Tensor(shape: t.shape, t.doubles.map(Float.init))
    }
}
