import OnyxIR
import OnnxFormat

/// Errors raised while running a kernel; the interpreter prefixes the node's label.
struct KernelError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Shape helpers shared by the reference kernels.
enum Shapes {
    /// Row-major strides of `shape`.
    /// The products wrap instead of trapping: only a tensor with no elements can have dims whose
    /// product overflows (e.g. [0, 2^40, 2^40]), and its strides are never used to address anything.
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = running
            running = running &* shape[i]
        }
        return strides
    }

    /// Most elements one tensor may have (`LoadLimits.maxTensorElements`, bound per run by the
    /// session): a hostile shape gets an error, not an allocation the machine cannot satisfy.
    @TaskLocal static var maxElements = LoadLimits.default.maxTensorElements

    /// The element count of an output about to be allocated, checked for overflow and the budget.
    static func checkedCount(_ shape: [Int]) throws -> Int {
        guard let count = shape.checkedProduct, shape.checkedExtent != nil else { throw KernelError("output shape \(shape) is invalid") }
        guard count <= maxElements else {
            throw KernelError("output shape \(shape) has \(count) elements, over the limit of \(maxElements)")
        }
        return count
    }

    /// Numpy-style broadcast of two shapes.
    static func broadcast(_ a: [Int], _ b: [Int]) throws -> [Int] {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0 ..< rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard x == y || x == 1 || y == 1 else {
                throw KernelError("shapes \(a) and \(b) cannot be broadcast together")
            }
            out[i] = x == 1 ? y : x
        }
        _ = try checkedCount(out)
        return out
    }

    static func broadcast(_ shapes: [[Int]]) throws -> [Int] {
        let out = try shapes.dropFirst().reduce(shapes.first ?? []) { try broadcast($0, $1) }
        _ = try checkedCount(out)
        return out
    }

    /// For each element of `out` (row-major), the linear index of the element of a `shape` tensor that
    /// broadcasts to it. nil when `shape == out` (the identity mapping).
    static func broadcastIndices(_ shape: [Int], to out: [Int]) -> [Int]? {
        if shape == out { return nil }
        let padded = [Int](repeating: 1, count: out.count - shape.count) + shape
        let sourceStrides = strides(padded).enumerated().map { padded[$0.offset] == 1 ? 0 : $0.element }
        // Walking `out` with stride 0 on broadcast axes visits each source element it repeats.
        return ShapeKernels.walk(out, strides: sourceStrides, start: 0)
    }

    /// Normalises a possibly negative axis against `rank`.
    static func axis(_ axis: Int, rank: Int, what: String = "axis") throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < max(rank, 1) else { throw KernelError("\(what) \(axis) is out of range for rank \(rank)") }
        return a
    }
}

extension Tensor {
    func requireFloat32(_ what: String = "input") throws -> [Float] {
        guard let f = floats else { throw KernelError("\(what) must be float32, got \(dtype)") }
        return f
    }

    /// The values of a 1-D (or scalar) integer tensor, for shapes, axes and indices.
    func requireInts(_ what: String) throws -> [Int] {
        guard let v = int64s else { throw KernelError("\(what) must be an integer tensor, got \(dtype)") }
        return v.map { Int(clamping: $0) }
    }

    /// A copy with a new shape and the same elements.
    func reshaped(_ shape: [Int]) -> Tensor { Tensor(shape: shape, storage: storage) }
}

/// Gathers elements by index: the building block of every pure data-movement kernel.
struct GatherVisitor: StorageVisitor {
    let indices: [Int]
    func visit<T: TensorElement>(_ values: [T]) -> Storage { T.wrap(indices.map { values[$0] }) }
}

/// The first element, `count` times (ConstantOfShape).
struct RepeatVisitor: StorageVisitor {
    let count: Int
    func visit<T: TensorElement>(_ values: [T]) -> Storage { T.wrap([T](repeating: values[0], count: count)) }
}

extension Storage {
    func gathered(_ indices: [Int]) -> Storage { visit(GatherVisitor(indices: indices)) }
}
