import OnyxIR
/// Per-type scalar semantics for the elementwise kernels. Integer ops wrap on overflow and never trap:
/// division by zero gives 0 (ONNX leaves it undefined; onnxruntime would crash).
protocol ArithmeticElement: TensorElement, Comparable {
    static func add(_ a: Self, _ b: Self) -> Self
    static func sub(_ a: Self, _ b: Self) -> Self
    static func mul(_ a: Self, _ b: Self) -> Self
    static func div(_ a: Self, _ b: Self) -> Self
    /// Remainder with the sign of the divisor (Python's %), ONNX Mod with fmod=0.
    static func mod(_ a: Self, _ b: Self) -> Self
    /// Remainder with the sign of the dividend (C's fmod).
    static func fmod(_ a: Self, _ b: Self) -> Self
    init(fromDouble value: Double)
}

extension ArithmeticElement where Self: BinaryFloatingPoint {
    static func add(_ a: Self, _ b: Self) -> Self { a + b }
    static func sub(_ a: Self, _ b: Self) -> Self { a - b }
    static func mul(_ a: Self, _ b: Self) -> Self { a * b }
    static func div(_ a: Self, _ b: Self) -> Self { a / b }
    static func fmod(_ a: Self, _ b: Self) -> Self { Self(Foundation.fmod(Double(a), Double(b))) }
    static func mod(_ a: Self, _ b: Self) -> Self {
        let r = fmod(a, b)
        return r != 0 && ((r < 0) != (b < 0)) ? r + b : r
    }
    init(fromDouble value: Double) { self.init(value) }
}

extension ArithmeticElement where Self: FixedWidthInteger {
    static func add(_ a: Self, _ b: Self) -> Self { a &+ b }
    static func sub(_ a: Self, _ b: Self) -> Self { a &- b }
    static func mul(_ a: Self, _ b: Self) -> Self { a &* b }
    static func div(_ a: Self, _ b: Self) -> Self {
        guard b != 0 else { return 0 }
        return a.dividedReportingOverflow(by: b).partialValue
    }
    static func fmod(_ a: Self, _ b: Self) -> Self {
        guard b != 0 else { return 0 }
        return a.remainderReportingOverflow(dividingBy: b).partialValue
    }
    static func mod(_ a: Self, _ b: Self) -> Self {
        let r = fmod(a, b)
        return r != 0 && ((r < 0) != (b < 0)) ? r &+ b : r
    }
    init(fromDouble value: Double) {
        if value.isNaN { self = 0 } else { self.init(clamping: Int64(exactly: value.rounded(.towardZero)) ?? (value < 0 ? Int64.min : Int64.max)) }
    }
}

import Foundation

extension Float: ArithmeticElement {}
extension Double: ArithmeticElement {}
extension Float16: ArithmeticElement {}
extension Int8: ArithmeticElement {}
extension Int16: ArithmeticElement {}
extension Int32: ArithmeticElement {}
extension Int64: ArithmeticElement {}
extension UInt8: ArithmeticElement {}
extension UInt16: ArithmeticElement {}
extension UInt32: ArithmeticElement {}
extension UInt64: ArithmeticElement {}

extension Storage {
    /// Calls `visitor` with the typed array of a numeric (non-bool, non-string) storage.
    func visitArithmetic<V: ArithmeticVisitor>(_ visitor: V) throws -> V.Result {
        switch self {
        case .float32(let a): return try visitor.visit(a)
        case .float64(let a): return try visitor.visit(a)
        case .float16(let a): return try visitor.visit(a)
        case .int8(let a): return try visitor.visit(a)
        case .int16(let a): return try visitor.visit(a)
        case .int32(let a): return try visitor.visit(a)
        case .int64(let a): return try visitor.visit(a)
        case .uint8(let a): return try visitor.visit(a)
        case .uint16(let a): return try visitor.visit(a)
        case .uint32(let a): return try visitor.visit(a)
        case .uint64(let a): return try visitor.visit(a)
        case .bool, .string: throw KernelError("\(dtype) is not a numeric type")
        }
    }

    /// The values converted to `T` through Double (used for casts and mixed-type exponents).
    func converted<T: ArithmeticElement>(to: T.Type) -> [T] {
        switch self {
        case .string(let s): return s.map { T(fromDouble: Double($0) ?? .nan) }
        default: return visit(DoublesOf()).map { T(fromDouble: $0) }
        }
    }
}

private struct DoublesOf: StorageVisitor {
    func visit<T: TensorElement>(_ values: [T]) -> [Double] { values.map(\.asDouble) }
}

protocol ArithmeticVisitor {
    associatedtype Result
    func visit<T: ArithmeticElement>(_ values: [T]) throws -> Result
}
