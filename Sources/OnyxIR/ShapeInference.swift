/// What shape inference knows about a value at given input shapes.
public enum Known: Sendable, Equatable {
    /// A constant (a weight, or folded: e.g. the Shape -> Gather -> Concat chains of older exports).
    case constant(Tensor)
    case tensor(DType?, [Int])
    case unknown

    public var shape: [Int]? {
        switch self {
        case .constant(let t): return t.shape
        case .tensor(_, let s): return s
        case .unknown: return nil
        }
    }
    public var dtype: DType? {
        switch self {
        case .constant(let t): return t.dtype
        case .tensor(let d, _): return d
        case .unknown: return nil
        }
    }
    public var constant: Tensor? { if case .constant(let t) = self { return t } else { return nil } }
}

/// Static shape inference over the IR at concrete input shapes. Nodes whose inputs are all constant
/// are folded by `fold` (the runtime's kernels) when their output stays small, so shape-computation
/// chains become constants; every other node gets its output shapes from its op's shape rule.
public enum ShapeInference {
    public typealias Fold = (Op, [Tensor?], Int) throws -> [Tensor]

    /// Largest output (elements) computed at inference time; bigger constant outputs only get shapes.
    public static let foldLimit = 1 << 16

    public static func infer(_ graph: Graph, inputShapes: [ValueID: [Int]], fold: Fold) -> [Known] {
        var known = graph.values.map { v -> Known in v.constant.map(Known.constant) ?? .unknown }
        for id in graph.inputs {
            if let shape = inputShapes[id] { known[id] = .tensor(graph.values[id].dtype, shape) }
        }
        for node in graph.nodes {
            let inputs = node.inputs.map { $0.map { known[$0] } }
            let outputs = infer(node.op, inputs, outputCount: node.outputs.count, fold: fold)
            for (id, k) in zip(node.outputs, outputs) { known[id] = k }
        }
        return known
    }

    static func infer(_ op: Op, _ inputs: [Known?], outputCount: Int, fold: Fold) -> [Known] {
        let unknown = [Known](repeating: .unknown, count: outputCount)
        let present = inputs.compactMap { $0 }
        if !present.isEmpty, present.allSatisfy({ $0.constant != nil }) {
            if let results = try? fold(op, inputs.map { $0?.constant }, outputCount),
               results.allSatisfy({ $0.count <= foldLimit }) {
                return results.map(Known.constant)
            }
        }
        if case .shape(let start, let end) = op, let shape = inputs.first??.shape {
            return [.constant(shapeTensor(shape, start: start, end: end))]
        }
        guard let shapes = try? outputShapes(op, inputs, outputCount: outputCount),
              shapes.allSatisfy({ $0 == nil || $0!.checkedProduct != nil }) else { return unknown }
        let dtype = outputType(op, inputs)
        return (0 ..< outputCount).map { i in
            guard i < shapes.count, let shape = shapes[i] else { return .unknown }
            // MaxPool's second output holds int64 indices; Dropout's (an Identity here) a bool mask.
            if case .pool = op, i == 1 { return .tensor(.int64, shape) }
            if case .identity = op, i == 1 { return .tensor(.bool, shape) }
            return .tensor(dtype, shape)
        }
    }

    /// The value of `Shape(start, end)` for a tensor of `shape`.
    public static func shapeTensor(_ shape: [Int], start: Int, end: Int?) -> Tensor {
        let r = shape.count
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + r : v, 0), r) }
        let s = clamp(start), e = clamp(end ?? r)
        let dims = s < e ? shape[s ..< e].map(Int64.init) : []
        return Tensor(shape: [dims.count], dims)
    }

    static func outputType(_ op: Op, _ inputs: [Known?]) -> DType? {
        switch op {
        case .binary(let f) where f.isComparison || f.isLogical: return .bool
        case .shape, .argMax, .argMin: return .int64
        case .cast(let to): return to
        case .constantOfShape(let value): return value.dtype
        case .where: return inputs.count > 1 ? inputs[1]?.dtype : nil
        default: return inputs.first??.dtype
        }
    }

    struct Unknown: Error {}

    /// The output shapes of `op`; throws `Unknown` when they depend on something not known.
    static func outputShapes(_ op: Op, _ inputs: [Known?], outputCount: Int) throws -> [[Int]?] {
        func shape(_ i: Int) throws -> [Int] {
            guard i < inputs.count, let s = inputs[i]?.shape else { throw Unknown() }
            return s
        }
        func ints(_ i: Int) throws -> [Int] {
            guard i < inputs.count, let t = inputs[i]?.constant, let v = t.int64s else { throw Unknown() }
            return v.map { Int(clamping: $0) }
        }
        func optionalInts(_ i: Int) throws -> [Int]? {
            guard i < inputs.count, let k = inputs[i] else { return nil }
            guard let t = k.constant, let v = t.int64s else { throw Unknown() }
            return v.map { Int(clamping: $0) }
        }
        func axis(_ a: Int, _ rank: Int) throws -> Int {
            let r = a < 0 ? a + rank : a
            guard r >= 0 && r < max(rank, 1) else { throw Unknown() }
            return r
        }
        func broadcast(_ shapes: [[Int]]) throws -> [Int] {
            let rank = shapes.map(\.count).max() ?? 0
            var out = [Int](repeating: 1, count: rank)
            for s in shapes {
                for (i, d) in s.enumerated() {
                    let j = i + rank - s.count
                    if out[j] == 1 { out[j] = d } else if d != 1 && d != out[j] { throw Unknown() }
                }
            }
            return out
        }

        switch op {
        case .unary, .identity, .cast, .batchNormalization, .instanceNormalization, .lrn, .softmax, .logSoftmax:
            return [try shape(0)] + (outputCount > 1 ? [try shape(0)] : [])
        case .binary, .variadic, .where:
            return [try broadcast(inputs.indices.map(shape))]
        case .clip, .prelu:
            return [try shape(0)]
        case .conv(let a):
            let x = try shape(0), w = try shape(1)
            guard x.count >= 3, w.count == x.count else { throw Unknown() }
            let window = completed(a.window, kernel: Array(w.dropFirst(2)))
            guard window.fits(spatial: x.count - 2) else { throw Unknown() }
            let (out, _) = window.resolve(input: Array(x.dropFirst(2)))
            return [[x[0], w[0]] + out]
        case .convTranspose(let a):
            let x = try shape(0), w = try shape(1)
            guard x.count >= 3, w.count == x.count else { throw Unknown() }
            let spatial = x.count - 2
            let window = completed(a.window, kernel: Array(w.dropFirst(2)))
            let outputPadding = a.outputPadding.isEmpty ? [Int](repeating: 0, count: spatial) : a.outputPadding
            guard window.fits(spatial: spatial), outputPadding.count == spatial, (a.outputShape?.count ?? spatial) >= spatial else { throw Unknown() }
            var out: [Int] = []
            for i in 0 ..< spatial {
                if let requested = a.outputShape.map({ Array($0.suffix(spatial)) }) {
                    out.append(requested[i])
                } else if window.autoPad == .sameUpper || window.autoPad == .sameLower {
                    out.append(x[2 + i] * window.strides[i])
                } else {
                    let pads = window.autoPad == .valid ? 0 : window.pads[i] + window.pads[i + spatial]
                    out.append(window.strides[i] * (x[2 + i] - 1) + outputPadding[i] + (window.kernel[i] - 1) * window.dilations[i] + 1 - pads)
                }
            }
            return [[x[0], w[1] * a.group] + out]
        case .pool(let a):
            let x = try shape(0)
            guard a.window.fits(spatial: x.count - 2) else { throw Unknown() }
            let (out, _) = a.window.resolve(input: Array(x.dropFirst(2)), ceilMode: a.ceilMode)
            let y = Array(x.prefix(2)) + out
            return outputCount > 1 ? [y, y] : [y]
        case .globalPool:
            let x = try shape(0)
            return [Array(x.prefix(2)) + [Int](repeating: 1, count: max(0, x.count - 2))]
        case .gemm(let g):
            let a = try shape(0), b = try shape(1)
            guard a.count == 2, b.count == 2 else { throw Unknown() }
            return [[g.transA ? a[1] : a[0], g.transB ? b[0] : b[1]]]
        case .channelShuffle, .squeezeExcite:
            return [try shape(0)]
        case .matMul:
            let a = try shape(0), b = try shape(1)
            guard !a.isEmpty, !b.isEmpty else { throw Unknown() }
            let a2 = a.count == 1 ? [1, a[0]] : a, b2 = b.count == 1 ? [b[0], 1] : b
            var out = try broadcast([Array(a2.dropLast(2)), Array(b2.dropLast(2))])
            if a.count > 1 { out.append(a2[a2.count - 2]) }
            if b.count > 1 { out.append(b2[b2.count - 1]) }
            return [out]
        case .concat(let axisValue):
            let shapes = try inputs.indices.map(shape)
            guard let first = shapes.first else { throw Unknown() }
            let a = try axis(axisValue, first.count)
            guard shapes.allSatisfy({ $0.count == first.count }) else { throw Unknown() }
            var out = first
            var total = 0
            for s in shapes {
                let (sum, overflow) = total.addingReportingOverflow(s[a])
                guard !overflow else { throw Unknown() }
                total = sum
            }
            out[a] = total
            return [out]
        case .split(let axisValue, let count):
            let x = try shape(0)
            let a = try axis(axisValue, x.count)
            let sizes = try optionalInts(1) ?? {
                let chunk = (x[a] + count - 1) / count
                return (0 ..< count).map { min(chunk, max(0, x[a] - $0 * chunk)) }
            }()
            return sizes.map { var s = x; s[a] = $0; return s }
        case .flatten(let axisValue):
            let x = try shape(0)
            let a = axisValue < 0 ? axisValue + x.count : axisValue
            guard a >= 0, a <= x.count, let outer = Array(x[..<a]).checkedProduct, let inner = Array(x[a...]).checkedProduct else { throw Unknown() }
            return [[outer, inner]]
        case .transpose(let perm):
            let x = try shape(0)
            if let perm, perm.count != x.count || Set(perm) != Set(0 ..< x.count) { throw Unknown() }
            return [(perm ?? Array((0 ..< x.count).reversed())).map { x[$0] }]
        case .reshape(let allowZero):
            let x = try shape(0)
            var out = try ints(1)
            for i in out.indices where out[i] == 0 && !allowZero {
                guard i < x.count else { throw Unknown() }
                out[i] = x[i]
            }
            guard out.allSatisfy({ $0 >= -1 }), out.filter({ $0 == -1 }).count <= 1 else { throw Unknown() }
            if let i = out.firstIndex(of: -1) {
                guard let known = out.enumerated().filter({ $0.offset != i }).map(\.element).checkedProduct, known > 0,
                      let total = x.checkedProduct else { throw Unknown() }
                out[i] = total / known
            }
            return [out]
        case .squeeze:
            let x = try shape(0)
            guard let axes = try optionalInts(1) else { return [x.filter { $0 != 1 }] }
            let set = Set(try axes.map { try axis($0, x.count) })
            return [x.enumerated().filter { !set.contains($0.offset) }.map(\.element)]
        case .unsqueeze:
            let x = try shape(0), axes = try ints(1)
            let rank = x.count + axes.count
            let set = Set(try axes.map { try axis($0, rank) })
            var source = x.makeIterator()
            return [(0 ..< rank).map { set.contains($0) ? 1 : source.next() ?? 1 }]
        case .expand:
            return [try broadcast([try shape(0), try ints(1)])]
        case .tile:
            return [zip(try shape(0), try ints(1)).map { $0 * $1 }]
        case .gather(let axisValue):
            let x = try shape(0), i = try shape(1)
            let a = try axis(axisValue, x.count)
            return [Array(x[..<a]) + i + Array(x[(a + 1)...])]
        case .constantOfShape:
            return [try ints(0)]
        case .slice:
            let x = try shape(0)
            let starts = try ints(1), ends = try ints(2)
            let axes = try optionalInts(3) ?? Array(0 ..< starts.count)
            let steps = try optionalInts(4) ?? [Int](repeating: 1, count: starts.count)
            guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else { throw Unknown() }
            var out = x
            for i in starts.indices {
                let a = try axis(axes[i], x.count), dim = x[a], st = steps[i]
                guard st != 0 else { throw Unknown() }
                var lo = starts[i] < 0 ? starts[i] + dim : starts[i]
                var hi = ends[i] < 0 ? ends[i] + dim : ends[i]
                if st > 0 {
                    lo = min(max(lo, 0), dim); hi = min(max(hi, 0), dim)
                    out[a] = max(0, (hi - lo + st - 1) / st)
                } else {
                    lo = min(max(lo, -1), dim - 1); hi = min(max(hi, -1), dim - 1)
                    out[a] = max(0, (lo - hi - st - 1) / -st)
                }
            }
            return [out]
        case .pad:
            let x = try shape(0), pads = try ints(1)
            let axes = try optionalInts(3).map { try $0.map { try axis($0, x.count) } } ?? Array(0 ..< x.count)
            guard pads.count == 2 * axes.count else { throw Unknown() }
            var out = x
            for (i, a) in axes.enumerated() { out[a] += pads[i] + pads[i + axes.count] }
            return [out]
        case .resize, .reduce, .argMax, .argMin, .shape:
            return try dataDependentShapes(op, inputs, shape: shape, optionalInts: optionalInts, axis: axis)
        case .depthToSpace(let b, _):
            let x = try shape(0)
            guard x.count == 4, b > 0 else { throw Unknown() }
            return [[x[0], x[1] / (b * b), x[2] * b, x[3] * b]]
        case .spaceToDepth(let b, _):
            let x = try shape(0)
            guard x.count == 4, b > 0 else { throw Unknown() }
            return [[x[0], x[1] * b * b, x[2] / b, x[3] / b]]
        }
    }

    private static func dataDependentShapes(_ op: Op, _ inputs: [Known?], shape: (Int) throws -> [Int],
                                            optionalInts: (Int) throws -> [Int]?, axis: (Int, Int) throws -> Int) throws -> [[Int]?] {
        switch op {
        case .reduce(_, let keepDims, let noop):
            let x = try shape(0)
            var axes = try optionalInts(1) ?? []
            if axes.isEmpty { if noop { return [x] }; axes = Array(0 ..< x.count) }
            let set = Set(try axes.map { try axis($0, x.count) })
            return [keepDims ? x.enumerated().map { set.contains($0.offset) ? 1 : $0.element }
                             : x.enumerated().filter { !set.contains($0.offset) }.map(\.element)]
        case .argMax(let a, let keepDims, _), .argMin(let a, let keepDims, _):
            var x = try shape(0)
            let r = try axis(a, x.count)
            if keepDims { x[r] = 1 } else { x.remove(at: r) }
            return [x]
        case .resize(let a):
            let x = try shape(0)
            let axes = try (a.axes ?? Array(0 ..< x.count)).map { try axis($0, x.count) }
            var out = x
            if let sizes = try optionalInts(3), !sizes.isEmpty, a.aspectRatioPolicy == .stretch {
                guard sizes.count == axes.count else { throw Unknown() }
                for (i, ax) in axes.enumerated() { out[ax] = sizes[i] }
                return [out]
            }
            guard inputs.count > 2, let scales = inputs[2]?.constant, scales.count == axes.count,
                  a.coordinateTransform != .tfCropAndResize else { throw Unknown() }
            for (i, ax) in axes.enumerated() {
                let v = (Double(x[ax]) * scales.doubles[i]).rounded(.down)
                guard v.isFinite, v >= 0, v < Double(1 << 40) else { throw Unknown() }
                out[ax] = Int(v)
            }
            return [out]
        default:
            throw Unknown()
        }
    }

    public static func completed(_ window: Window, kernel: [Int]) -> Window {
        let n = kernel.count
        return Window(kernel: window.kernel.isEmpty ? kernel : window.kernel,
                      strides: window.strides.isEmpty ? [Int](repeating: 1, count: n) : window.strides,
                      dilations: window.dilations.isEmpty ? [Int](repeating: 1, count: n) : window.dilations,
                      pads: window.pads.isEmpty ? [Int](repeating: 0, count: 2 * n) : window.pads,
                      autoPad: window.autoPad)
    }
}

/// Multiply-accumulates of the compute-bound ops at inferred shapes.
public enum CostModel {
    public static func macs(_ graph: Graph, _ known: [Known]) -> Int {
        var total = 0
        for node in graph.nodes {
            let shapes = node.inputs.map { $0.flatMap { known[$0].shape } }
            let out = node.outputs.first.flatMap { known[$0].shape }
            guard let out else { continue }
            switch node.op {
            case .conv:
                // Each output element sums C/group * kernel taps: the weight's [1...] dims.
                guard let w = shapes[1] else { continue }
                total &+= out.reduce(1, &*) &* w.dropFirst(1).reduce(1, &*)
            case .convTranspose:
                guard let x = shapes[0], let w = shapes[1] else { continue }
                total &+= x.reduce(1, &*) &* w.dropFirst(1).reduce(1, &*)
            case .gemm(let g):
                guard let a = shapes[0], a.count == 2 else { continue }
                total &+= out.reduce(1, &*) &* (g.transA ? a[0] : a[1])
            case .matMul:
                guard let a = shapes[0], let k = a.last else { continue }
                total &+= out.reduce(1, &*) &* k
            case .squeezeExcite:
                // Two 1x1 convolutions on the pooled vector.
                guard let w1 = shapes[1], w1.count >= 2 else { continue }
                total &+= 2 &* out[0] &* w1[0] &* w1[1]
            default:
                break
            }
        }
        return total
    }
}
