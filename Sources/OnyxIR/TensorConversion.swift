import OnnxFormat

extension Tensor {
    /// Decodes an ONNX tensor (raw, typed or external data), validated against its shape.
    public init(onnx t: OnnxTensor, baseDirectory: String?) throws {
        guard let dtype = DType(onnx: t.dataTypeCode) else {
            throw OnnxError("\(t.label): data type \(DataType.name(of: t.dataTypeCode)) is not supported by the runtime")
        }
        if dtype == .string {
            let shape = try t.checkedShape()
            self.init(shape: shape, storage: .string(try t.decodedStrings().map { String(decoding: $0, as: UTF8.self) }))
            return
        }
        let data = try t.decodedBytes(baseDirectory: baseDirectory)
        let storage: Storage
        switch dtype {
        case .float32: storage = .float32(data.values(as: Float.self))
        case .float64: storage = .float64(data.values(as: Double.self))
        case .float16: storage = .float16(data.values(as: Float16.self))
        case .int8: storage = .int8(data.values(as: Int8.self))
        case .int16: storage = .int16(data.values(as: Int16.self))
        case .int32: storage = .int32(data.values(as: Int32.self))
        case .int64: storage = .int64(data.values(as: Int64.self))
        case .uint8: storage = .uint8(data.values(as: UInt8.self))
        case .uint16: storage = .uint16(data.values(as: UInt16.self))
        case .uint32: storage = .uint32(data.values(as: UInt32.self))
        case .uint64: storage = .uint64(data.values(as: UInt64.self))
        case .bool: storage = .bool(data.bytes.map { $0 != 0 })
        case .string: fatalError("handled above")
        }
        self.init(shape: data.shape, storage: storage)
    }

    /// The tensor as an ONNX `TensorProto` with `raw_data` (strings in `string_data`).
    public func onnx(name: String) -> OnnxTensor {
        switch storage {
        case .string(let strings):
            var t = OnnxTensor()
            t.name = name
            t.dataTypeCode = DataType.string.rawValue
            t.dims = shape.map(Int64.init)
            t.stringData = strings.map { Array($0.utf8) }
            return t
        case .bool(let values):
            return OnnxTensor(name: name, dataType: .bool, shape: shape, rawBytes: values.map { $0 ? 1 : 0 })
        default:
            return OnnxTensor(name: name, dataType: dtype.onnx, shape: shape, rawBytes: storage.visit(BytesVisitor()))
        }
    }
}

private struct BytesVisitor: StorageVisitor {
    func visit<T: TensorElement>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
}
