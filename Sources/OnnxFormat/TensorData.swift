import PageMemory

/// A tensor's elements as contiguous little-endian bytes, validated against its dims and data type.
public struct TensorBytes: Sendable, Equatable {
    public var dataType: DataType
    public var shape: [Int]
    public var raw: RawBytes
    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { raw.count }
    /// The bytes as an array (a copy when they are borrowed from a decoded file).
    public var bytes: [UInt8] { raw.array }
}

extension OnnxTensor {
    /// Human name for messages: `tensor 'conv1.weight'` (or `unnamed tensor`).
    public var label: String { name.isEmpty ? "unnamed tensor" : "tensor '\(name)'" }

    /// The shape as `Int`s, checked: no negative dims and no overflow of the element count.
    public func checkedShape() throws -> [Int] {
        var count = 1
        var shape: [Int] = []
        for d in dims {
            guard d >= 0 else { throw OnnxError("\(label): negative dimension \(d) in shape \(dims)") }
            guard d <= Int64(Int.max) else { throw OnnxError("\(label): dimension \(d) is too large") }
            // Zero dims count as one here: a tensor with no elements must still have strides and plane
            // sizes that fit (a [0, 2^40, 2^40] constant would overflow every partial product).
            let (product, overflow) = count.multipliedReportingOverflow(by: max(Int(d), 1))
            guard !overflow, product <= Int(Int32.max) * 64 else {
                throw OnnxError("\(label): shape \(dims) has too many elements")
            }
            count = product
            shape.append(Int(d))
        }
        return shape
    }

    /// How many bytes the data should occupy, checked against `LoadLimits.maxTensorBytes`.
    public func expectedByteCount() throws -> Int {
        guard let type = dataType else { throw OnnxError("\(label): unknown data type \(dataTypeCode)") }
        guard let size = type.byteSize else {
            throw OnnxError("\(label): data type \(type) is not supported")
        }
        let count = try checkedShape().reduce(1, *)
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow else { throw OnnxError("\(label): shape \(dims) has too many bytes") }
        return bytes
    }

    /// The elements as little-endian bytes, from `raw_data`, the typed fields, or external data.
    ///
    /// - Parameter baseDirectory: the model's folder; external data is read only below it.
    public func decodedBytes(baseDirectory: String?, limits: LoadLimits = .default) throws -> TensorBytes {
        guard let type = dataType else { throw OnnxError("\(label): unknown data type \(dataTypeCode)") }
        let shape = try checkedShape()
        let expected = try expectedByteCount()
        guard expected <= limits.maxTensorBytes else {
            throw OnnxError("\(label): \(expected) bytes exceed the limit of \(limits.maxTensorBytes)")
        }
        let bytes: RawBytes
        if isExternal {
            guard let baseDirectory else { throw OnnxError("\(label): external data but no model folder to read it from") }
            bytes = RawBytes(try ExternalData.read(self, baseDirectory: baseDirectory, expectedBytes: expected))
        } else if let raw {
            guard raw.count == expected else {
                throw OnnxError("\(label): raw_data holds \(raw.count) bytes but shape \(dims) of \(type) needs \(expected)")
            }
            bytes = raw
        } else {
            bytes = RawBytes(try typedFieldBytes(type, count: shape.reduce(1, *)))
        }
        return TensorBytes(dataType: type, shape: shape, raw: bytes)
    }

    /// The elements of a STRING tensor.
    public func decodedStrings() throws -> [[UInt8]] {
        let count = try checkedShape().reduce(1, *)
        guard stringData.count == count else {
            throw OnnxError("\(label): string_data holds \(stringData.count) strings but shape \(dims) needs \(count)")
        }
        return stringData
    }

    private func typedFieldBytes(_ type: DataType, count: Int) throws -> [UInt8] {
        func check(_ have: Int, _ field: String, per: Int = 1) throws {
            guard have == count * per else {
                throw OnnxError("\(label): \(field) holds \(have) values but shape \(dims) of \(type) needs \(count * per)")
            }
        }
        switch type {
        case .float:
            try check(floatData.count, "float_data")
            return littleEndianBytes(floatData)
        case .complex64:
            try check(floatData.count, "float_data", per: 2)
            return littleEndianBytes(floatData)
        case .double:
            try check(doubleData.count, "double_data")
            return littleEndianBytes(doubleData)
        case .complex128:
            try check(doubleData.count, "double_data", per: 2)
            return littleEndianBytes(doubleData)
        case .int64:
            try check(int64Data.count, "int64_data")
            return littleEndianBytes(int64Data)
        case .uint64:
            try check(uint64Data.count, "uint64_data")
            return littleEndianBytes(uint64Data)
        case .uint32:
            try check(uint64Data.count, "uint64_data")
            return littleEndianBytes(uint64Data.map { UInt32(truncatingIfNeeded: $0) })
        case .int32:
            try check(int32Data.count, "int32_data")
            return littleEndianBytes(int32Data)
        case .int16, .uint16, .float16, .bfloat16:
            // 16-bit types are stored one per int32 entry, in the low bits.
            try check(int32Data.count, "int32_data")
            return littleEndianBytes(int32Data.map { UInt16(truncatingIfNeeded: $0) })
        case .int8, .uint8, .bool, .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0:
            try check(int32Data.count, "int32_data")
            return int32Data.map { UInt8(truncatingIfNeeded: $0) }
        case .string, .undefined, .uint4, .int4, .float4e2m1, .uint2, .int2:
            throw OnnxError("\(label): data type \(type) has no numeric data")
        }
    }
}

/// The bytes of `values` in memory order (little-endian on every platform Onyx builds for).
func littleEndianBytes<T>(_ values: [T]) -> [UInt8] {
    values.withUnsafeBytes { Array($0) }
}

extension TensorBytes {
    /// Reinterprets the bytes as `T` (the caller checks `dataType`). A large array gets 4 KiB pages (see
    /// `PageBuffer.adviseSmallPages`): these are the graph's weights, which runs read only once packed.
    public func values<T>(as: T.Type) -> [T] {
        let count = raw.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { PageBuffer.adviseSmallPages(base, count: count * MemoryLayout<T>.stride) }
            self.raw.withUnsafeBytes { raw in
                // raw_data may be unaligned; copy bytes, never load from it typed.
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0 ..< count * MemoryLayout<T>.stride]))
            }
            initialized = count
        }
    }
}

extension OnnxTensor {
    /// A tensor holding `bytes` in `raw_data`.
    public init(name: String, dataType: DataType, shape: [Int], rawBytes: [UInt8]) {
        self.init()
        self.name = name
        self.dataTypeCode = dataType.rawValue
        self.dims = shape.map(Int64.init)
        self.rawData = rawBytes
    }

    public init(name: String, floats: [Float], shape: [Int]) {
        self.init(name: name, dataType: .float, shape: shape, rawBytes: littleEndianBytes(floats))
    }

    public init(name: String, int64s: [Int64], shape: [Int]) {
        self.init(name: name, dataType: .int64, shape: shape, rawBytes: littleEndianBytes(int64s))
    }
}
