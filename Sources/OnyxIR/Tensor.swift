import OnnxFormat

/// Element types the runtime computes with.
public enum DType: String, Sendable, Equatable, CustomStringConvertible {
    case float32, float64, float16, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool, string

    public var description: String { rawValue }

    public init?(onnx code: Int32) {
        switch DataType(rawValue: code) {
        case .float?: self = .float32
        case .double?: self = .float64
        case .float16?: self = .float16
        case .int8?: self = .int8
        case .int16?: self = .int16
        case .int32?: self = .int32
        case .int64?: self = .int64
        case .uint8?: self = .uint8
        case .uint16?: self = .uint16
        case .uint32?: self = .uint32
        case .uint64?: self = .uint64
        case .bool?: self = .bool
        case .string?: self = .string
        default: return nil
        }
    }

    public var onnx: DataType {
        switch self {
        case .float32: return .float
        case .float64: return .double
        case .float16: return .float16
        case .int8: return .int8
        case .int16: return .int16
        case .int32: return .int32
        case .int64: return .int64
        case .uint8: return .uint8
        case .uint16: return .uint16
        case .uint32: return .uint32
        case .uint64: return .uint64
        case .bool: return .bool
        case .string: return .string
        }
    }

    public var isFloatingPoint: Bool { self == .float32 || self == .float64 || self == .float16 }
}

/// The elements of a tensor, in row-major order, typed.
public enum Storage: Sendable, Equatable {
    case float32([Float]), float64([Double]), float16([Float16])
    case int8([Int8]), int16([Int16]), int32([Int32]), int64([Int64])
    case uint8([UInt8]), uint16([UInt16]), uint32([UInt32]), uint64([UInt64])
    case bool([Bool]), string([String])

    public var dtype: DType {
        switch self {
        case .float32: return .float32
        case .float64: return .float64
        case .float16: return .float16
        case .int8: return .int8
        case .int16: return .int16
        case .int32: return .int32
        case .int64: return .int64
        case .uint8: return .uint8
        case .uint16: return .uint16
        case .uint32: return .uint32
        case .uint64: return .uint64
        case .bool: return .bool
        case .string: return .string
        }
    }

    public var count: Int { visit(CountVisitor()) }

    /// Calls `visitor` with the typed array: the one place that switches over every element type.
    public func visit<V: StorageVisitor>(_ visitor: V) -> V.Result {
        switch self {
        case .float32(let a): return visitor.visit(a)
        case .float64(let a): return visitor.visit(a)
        case .float16(let a): return visitor.visit(a)
        case .int8(let a): return visitor.visit(a)
        case .int16(let a): return visitor.visit(a)
        case .int32(let a): return visitor.visit(a)
        case .int64(let a): return visitor.visit(a)
        case .uint8(let a): return visitor.visit(a)
        case .uint16(let a): return visitor.visit(a)
        case .uint32(let a): return visitor.visit(a)
        case .uint64(let a): return visitor.visit(a)
        case .bool(let a): return visitor.visit(a)
        case .string(let a): return visitor.visit(a)
        }
    }

    /// An array of `count` default elements of `dtype`.
    public static func zeros(_ dtype: DType, count: Int) -> Storage {
        switch dtype {
        case .float32: return .float32(Array(repeating: 0, count: count))
        case .float64: return .float64(Array(repeating: 0, count: count))
        case .float16: return .float16(Array(repeating: 0, count: count))
        case .int8: return .int8(Array(repeating: 0, count: count))
        case .int16: return .int16(Array(repeating: 0, count: count))
        case .int32: return .int32(Array(repeating: 0, count: count))
        case .int64: return .int64(Array(repeating: 0, count: count))
        case .uint8: return .uint8(Array(repeating: 0, count: count))
        case .uint16: return .uint16(Array(repeating: 0, count: count))
        case .uint32: return .uint32(Array(repeating: 0, count: count))
        case .uint64: return .uint64(Array(repeating: 0, count: count))
        case .bool: return .bool(Array(repeating: false, count: count))
        case .string: return .string(Array(repeating: "", count: count))
        }
    }
}

/// Every element type conforms; `wrap` is the way back from a typed array to `Storage`.
public protocol TensorElement: Sendable, Equatable {
    static func wrap(_ values: [Self]) -> Storage
    static var zero: Self { get }
    /// The value as a Double (strings: NaN), for conversions and printing.
    var asDouble: Double { get }
}

public protocol StorageVisitor {
    associatedtype Result
    func visit<T: TensorElement>(_ values: [T]) -> Result
}

extension TensorElement where Self: BinaryInteger {
    public var asDouble: Double { Double(self) }
}
extension TensorElement where Self: BinaryFloatingPoint {
    public var asDouble: Double { Double(self) }
}

private struct CountVisitor: StorageVisitor {
    func visit<T: TensorElement>(_ values: [T]) -> Int { values.count }
}

extension Float: TensorElement {
    public static func wrap(_ v: [Float]) -> Storage { .float32(v) }
}
extension Double: TensorElement {
    public static func wrap(_ v: [Double]) -> Storage { .float64(v) }
    public var asDouble: Double { self }
}
extension Float16: TensorElement {
    public static func wrap(_ v: [Float16]) -> Storage { .float16(v) }
}
extension Int8: TensorElement {
    public static func wrap(_ v: [Int8]) -> Storage { .int8(v) }
}
extension Int16: TensorElement {
    public static func wrap(_ v: [Int16]) -> Storage { .int16(v) }
}
extension Int32: TensorElement {
    public static func wrap(_ v: [Int32]) -> Storage { .int32(v) }
}
extension Int64: TensorElement {
    public static func wrap(_ v: [Int64]) -> Storage { .int64(v) }
}
extension UInt8: TensorElement {
    public static func wrap(_ v: [UInt8]) -> Storage { .uint8(v) }
}
extension UInt16: TensorElement {
    public static func wrap(_ v: [UInt16]) -> Storage { .uint16(v) }
}
extension UInt32: TensorElement {
    public static func wrap(_ v: [UInt32]) -> Storage { .uint32(v) }
}
extension UInt64: TensorElement {
    public static func wrap(_ v: [UInt64]) -> Storage { .uint64(v) }
}
extension Bool: TensorElement {
    public static func wrap(_ v: [Bool]) -> Storage { .bool(v) }
    public static var zero: Bool { false }
    public var asDouble: Double { self ? 1 : 0 }
}
extension String: TensorElement {
    public static func wrap(_ v: [String]) -> Storage { .string(v) }
    public static var zero: String { "" }
    public var asDouble: Double { .nan }
}

extension Array where Element == Int {
    /// The product of the elements, or nil when one is negative or the product overflows: shapes
    /// from a hostile file must never trap on arithmetic.
    public var checkedProduct: Int? {
        var p = 1
        for d in self {
            guard d >= 0 else { return nil }
            let (r, overflow) = p.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            p = r
        }
        return p
    }

    /// The product of the dims with zeros counted as ones (nil when a dim is negative or it overflows).
    /// It bounds every partial product of the shape, so the strides and plane sizes of a tensor with
    /// no elements cannot overflow either.
    public var checkedExtent: Int? {
        guard allSatisfy({ $0 >= 0 }) else { return nil }
        return map { Swift.max($0, 1) }.checkedProduct
    }

    /// The sum of the elements, or nil when it overflows.
    public var checkedSum: Int? {
        var s = 0
        for d in self {
            let (r, overflow) = s.addingReportingOverflow(d)
            if overflow { return nil }
            s = r
        }
        return s
    }
}

/// A dense row-major tensor: the runtime's values and the IR's constants.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    public var shape: [Int]
    public var storage: Storage

    public init(shape: [Int], storage: Storage) {
        precondition(shape.reduce(1, *) == storage.count, "shape \(shape) does not match \(storage.count) elements")
        self.shape = shape
        self.storage = storage
    }

    public init<T: TensorElement>(shape: [Int], _ values: [T]) {
        self.init(shape: shape, storage: T.wrap(values))
    }

    public static func scalar<T: TensorElement>(_ value: T) -> Tensor { Tensor(shape: [], [value]) }

    public var dtype: DType { storage.dtype }
    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    public var description: String { "\(dtype)\(shape)" }

    /// The elements as `[Float]` when the tensor is float32.
    public var floats: [Float]? { if case .float32(let v) = storage { return v } else { return nil } }

    /// Integer contents (any integer type) as Int64: for shape and index tensors.
    public var int64s: [Int64]? {
        switch storage {
        case .int64(let v): return v
        case .int32(let v): return v.map(Int64.init)
        case .int16(let v): return v.map(Int64.init)
        case .int8(let v): return v.map(Int64.init)
        case .uint8(let v): return v.map(Int64.init)
        case .uint16(let v): return v.map(Int64.init)
        case .uint32(let v): return v.map(Int64.init)
        case .uint64(let v): return v.map { Int64(truncatingIfNeeded: $0) }
        default: return nil
        }
    }

    /// Every element as Double (for summaries and tolerant comparison).
    public var doubles: [Double] { storage.visit(DoublesVisitor()) }
}

private struct DoublesVisitor: StorageVisitor {
    func visit<T: TensorElement>(_ values: [T]) -> [Double] { values.map(\.asDouble) }
}
