import Foundation
import OnyxIR

/// Unary, binary, variadic, Clip, PRelu, Where and Cast: elementwise with numpy broadcasting.
enum ElementwiseKernels {
    /// y = f(x) for one scalar, computed in Double (exact for float32 inputs' range and rounding).
    static func apply(_ f: UnaryFunction, _ x: Double) -> Double {
        switch f {
        case .relu: return Swift.max(x, 0)
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .tanh: return Foundation.tanh(x)
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .neg: return -x
        case .abs: return Swift.abs(x)
        case .reciprocal: return 1 / x
        case .floor: return x.rounded(.down)
        case .ceil: return x.rounded(.up)
        case .round: return x.rounded(.toNearestOrEven)
        case .sign: return x > 0 ? 1 : (x < 0 ? -1 : (x.isNaN ? x : 0))
        case .erf: return Foundation.erf(x)
        case .softplus: return x > 30 ? x : Foundation.log1p(Foundation.exp(x))
        case .softsign: return x / (1 + Swift.abs(x))
        case .mish: return x * Foundation.tanh(x > 20 ? x : Foundation.log1p(Foundation.exp(x)))
        case .hardSwish: return x * Swift.max(0, Swift.min(1, x / 6 + 0.5))
        case .not: return x == 0 ? 1 : 0
        case .sin: return Foundation.sin(x)
        case .cos: return Foundation.cos(x)
        case .silu: return x / (1 + Foundation.exp(-x))
        case .leakyRelu(let alpha): return x >= 0 ? x : Double(alpha) * x
        case .elu(let alpha): return x >= 0 ? x : Double(alpha) * (Foundation.exp(x) - 1)
        case .celu(let alpha):
            let a = Double(alpha)
            return Swift.max(0, x) + Swift.min(0, a * (Foundation.exp(x / a) - 1))
        case .selu(let alpha, let gamma):
            return Double(gamma) * (x > 0 ? x : Double(alpha) * (Foundation.exp(x) - 1))
        case .hardSigmoid(let alpha, let beta): return Swift.max(0, Swift.min(1, Double(alpha) * x + Double(beta)))
        case .thresholdedRelu(let alpha): return x > Double(alpha) ? x : 0
        }
    }

    /// Applies a fused activation (nil: none).
    static func activate(_ y: Tensor, _ activation: Activation?) throws -> Tensor {
        switch activation {
        case nil: return y
        case .unary(let f)?: return try unary(f, y)
        case .clip(let lo, let hi)?: return try clip(y, min: .scalar(lo), max: .scalar(hi))
        }
    }

    static func unary(_ f: UnaryFunction, _ x: Tensor) throws -> Tensor {
        switch (f, x.storage) {
        case (.not, .bool(let v)): return Tensor(shape: x.shape, v.map { !$0 })
        case (.not, _): throw KernelError("Not needs a bool input, got \(x.dtype)")
        case (.neg, _), (.abs, _), (.sign, _), (.relu, _):
            // Integer inputs stay integers (Neg/Abs/Sign/Relu are defined for signed integers).
            return Tensor(shape: x.shape, storage: try x.storage.visitArithmetic(UnaryVisitor(f: f)))
        default:
            guard x.dtype.isFloatingPoint else { throw KernelError("\(f.onnxName) needs a floating-point input, got \(x.dtype)") }
            return Tensor(shape: x.shape, storage: try x.storage.visitArithmetic(UnaryVisitor(f: f)))
        }
    }

    private struct UnaryVisitor: ArithmeticVisitor {
        let f: UnaryFunction
        func visit<T: ArithmeticElement>(_ values: [T]) throws -> Storage {
            if T.self is any FixedWidthInteger.Type {
                // Exact integer semantics for the integer-defined ops.
                return T.wrap(values.map { v in
                    switch f {
                    case .neg: return T.sub(T(fromDouble: 0), v)
                    case .abs: return v < T(fromDouble: 0) ? T.sub(T(fromDouble: 0), v) : v
                    case .relu: return v < T(fromDouble: 0) ? T(fromDouble: 0) : v
                    default: return T(fromDouble: apply(f, v.asDouble))
                    }
                })
            }
            return T.wrap(values.map { T(fromDouble: apply(f, $0.asDouble)) })
        }
    }

    static func binary(_ f: BinaryFunction, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try Shapes.broadcast(a.shape, b.shape)
        let ia = Shapes.broadcastIndices(a.shape, to: shape)
        let ib = Shapes.broadcastIndices(b.shape, to: shape)
        let count = shape.reduce(1, *)
        if f.isLogical {
            guard case .bool(let x) = a.storage, case .bool(let y) = b.storage else {
                throw KernelError("\(f.rawValue) needs bool inputs, got \(a.dtype) and \(b.dtype)")
            }
            let out = (0 ..< count).map { i -> Bool in
                let p = x[ia?[i] ?? i], q = y[ib?[i] ?? i]
                switch f {
                case .and: return p && q
                case .or: return p || q
                default: return p != q
                }
            }
            return Tensor(shape: shape, out)
        }
        var right = b
        if f == .pow && a.dtype != b.dtype {
            // Pow allows a different exponent type: compute in the base's type.
            right = Tensor(shape: b.shape, storage: try a.storage.visitArithmetic(ConvertVisitor(source: b.storage)))
        }
        if f == .equal, case .bool(let x) = a.storage, case .bool(let y) = b.storage {
            return Tensor(shape: shape, (0 ..< count).map { x[ia?[$0] ?? $0] == y[ib?[$0] ?? $0] })
        }
        if f == .equal, case .string(let x) = a.storage, case .string(let y) = b.storage {
            return Tensor(shape: shape, (0 ..< count).map { x[ia?[$0] ?? $0] == y[ib?[$0] ?? $0] })
        }
        guard a.dtype == right.dtype else {
            throw KernelError("\(f.rawValue) inputs have different types: \(a.dtype) and \(b.dtype)")
        }
        let storage = try a.storage.visitArithmetic(BinaryVisitor(f: f, other: right.storage, ia: ia, ib: ib, count: count))
        return Tensor(shape: shape, storage: storage)
    }

    private struct ConvertVisitor: ArithmeticVisitor {
        let source: Storage
        func visit<T: ArithmeticElement>(_ values: [T]) throws -> Storage { T.wrap(source.converted(to: T.self)) }
    }

    private struct BinaryVisitor: ArithmeticVisitor {
        let f: BinaryFunction
        let other: Storage
        let ia: [Int]?, ib: [Int]?
        let count: Int

        func visit<T: ArithmeticElement>(_ x: [T]) throws -> Storage {
            let y = other.visit(Typed<T>())!
            if f.isComparison {
                return .bool((0 ..< count).map { i in
                    let p = x[ia?[i] ?? i], q = y[ib?[i] ?? i]
                    switch f {
                    case .equal: return p == q
                    case .greater: return p > q
                    case .less: return p < q
                    case .greaterOrEqual: return p >= q
                    default: return p <= q
                    }
                })
            }
            let op: (T, T) -> T
            switch f {
            case .add: op = T.add
            case .sub: op = T.sub
            case .mul: op = T.mul
            case .div: op = T.div
            case .mod: op = T.mod
            case .fmod: op = T.fmod
            case .pow: op = { T(fromDouble: Foundation.pow($0.asDouble, $1.asDouble)) }
            default: throw KernelError("\(f.rawValue) is not arithmetic")
            }
            return T.wrap((0 ..< count).map { i in op(x[ia?[i] ?? i], y[ib?[i] ?? i]) })
        }
    }

    /// Extracts the typed array when the storage holds `T`.
    struct Typed<T: TensorElement>: StorageVisitor {
        func visit<U: TensorElement>(_ values: [U]) -> [T]? { values as? [T] }
    }

    static func variadic(_ f: VariadicFunction, _ inputs: [Tensor]) throws -> Tensor {
        var result = inputs[0]
        for next in inputs.dropFirst() {
            switch f {
            case .sum, .mean: result = try binary(.add, result, next)
            case .min, .max: result = try extremum(f == .max, result, next)
            }
        }
        if inputs.count == 1 { result = try binary(.add, result, Tensor(shape: [], storage: .zeros(result.dtype, count: 1))) }
        if f == .mean {
            guard result.dtype.isFloatingPoint else { throw KernelError("Mean needs floating-point inputs") }
            let n = Tensor(shape: [], storage: Storage.float64([Double(inputs.count)]))
            result = try binary(.div, result, Tensor(shape: [], storage: try result.storage.visitArithmetic(ConvertVisitor(source: n.storage))))
        }
        return result
    }

    /// Elementwise max or min; NaN propagates as in onnxruntime.
    static func extremum(_ isMax: Bool, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.dtype == b.dtype else { throw KernelError("inputs have different types: \(a.dtype) and \(b.dtype)") }
        let shape = try Shapes.broadcast(a.shape, b.shape)
        return Tensor(shape: shape, storage: try a.storage.visitArithmetic(
            ExtremumVisitor(isMax: isMax, other: b.storage, ia: Shapes.broadcastIndices(a.shape, to: shape),
                            ib: Shapes.broadcastIndices(b.shape, to: shape), count: shape.reduce(1, *))))
    }

    private struct ExtremumVisitor: ArithmeticVisitor {
        let isMax: Bool
        let other: Storage
        let ia: [Int]?, ib: [Int]?
        let count: Int
        func visit<T: ArithmeticElement>(_ x: [T]) throws -> Storage {
            let y = other.visit(Typed<T>())!
            return T.wrap((0 ..< count).map { i in
                let p = x[ia?[i] ?? i], q = y[ib?[i] ?? i]
                if p != p { return p }  // NaN
                if q != q { return q }
                return isMax ? (p < q ? q : p) : (q < p ? q : p)
            })
        }
    }

    static func clip(_ x: Tensor, min lo: Tensor?, max hi: Tensor?) throws -> Tensor {
        var y = x
        if let lo { y = try extremum(true, y, lo.reshaped([])) }
        if let hi { y = try extremum(false, y, hi.reshaped([])) }
        return y
    }

    /// y = x if x >= 0 else slope * x, slope broadcast to x.
    static func prelu(_ x: Tensor, _ slope: Tensor) throws -> Tensor {
        let xs = try x.requireFloat32("X"), s = try slope.requireFloat32("slope")
        var slopeShape = slope.shape
        // Unidirectional broadcast; a 1-D slope of C channels also applies per channel to NCHW input.
        if slopeShape.count == 1 && x.rank > 2 && slopeShape[0] == x.shape[1] && slopeShape[0] != x.shape.last {
            slopeShape = [slopeShape[0]] + [Int](repeating: 1, count: x.rank - 2)
        }
        let shape = try Shapes.broadcast(x.shape, slopeShape)
        guard shape == x.shape else { throw KernelError("slope \(slope.shape) does not broadcast to X \(x.shape)") }
        let idx = Shapes.broadcastIndices(slopeShape, to: shape)
        return Tensor(shape: x.shape, xs.indices.map { i in xs[i] >= 0 ? xs[i] : s[idx?[i] ?? i] * xs[i] })
    }

    static func `where`(_ condition: Tensor, _ x: Tensor, _ y: Tensor) throws -> Tensor {
        guard case .bool(let c) = condition.storage else { throw KernelError("condition must be bool, got \(condition.dtype)") }
        guard x.dtype == y.dtype else { throw KernelError("X and Y have different types: \(x.dtype) and \(y.dtype)") }
        let shape = try Shapes.broadcast([condition.shape, x.shape, y.shape])
        let ic = Shapes.broadcastIndices(condition.shape, to: shape)
        let ix = Shapes.broadcastIndices(x.shape, to: shape) ?? Array(0 ..< shape.reduce(1, *))
        let iy = Shapes.broadcastIndices(y.shape, to: shape) ?? Array(0 ..< shape.reduce(1, *))
        let count = shape.reduce(1, *)
        let takeX = (0 ..< count).map { c[ic?[$0] ?? $0] }
        let fromX = x.storage.gathered(ix), fromY = y.storage.gathered(iy)
        return Tensor(shape: shape, storage: fromX.visit(SelectVisitor(takeX: takeX, other: fromY)))
    }

    private struct SelectVisitor: StorageVisitor {
        let takeX: [Bool]
        let other: Storage
        func visit<T: TensorElement>(_ x: [T]) -> Storage {
            let y = other.visit(Typed<T>())!
            return T.wrap(takeX.indices.map { takeX[$0] ? x[$0] : y[$0] })
        }
    }

    static func cast(_ x: Tensor, to dtype: DType) throws -> Tensor {
        if x.dtype == dtype { return x }
        let s = x.storage
        let storage: Storage
        switch dtype {
        case .float32: storage = .float32(s.converted(to: Float.self))
        case .float64: storage = .float64(s.converted(to: Double.self))
        case .float16: storage = .float16(s.converted(to: Float16.self))
        case .int8: storage = .int8(s.converted(to: Int8.self))
        case .int16: storage = .int16(s.converted(to: Int16.self))
        case .int32: storage = .int32(s.converted(to: Int32.self))
        case .int64:
            if case .string = s { throw KernelError("cast from string is not supported") }
            storage = .int64(s.converted(to: Int64.self))
        case .uint8: storage = .uint8(s.converted(to: UInt8.self))
        case .uint16: storage = .uint16(s.converted(to: UInt16.self))
        case .uint32: storage = .uint32(s.converted(to: UInt32.self))
        case .uint64: storage = .uint64(s.converted(to: UInt64.self))
        case .bool: storage = .bool(x.doubles.map { $0 != 0 })
        case .string: throw KernelError("cast to string is not supported")
        }
        return Tensor(shape: x.shape, storage: storage)
    }
}
