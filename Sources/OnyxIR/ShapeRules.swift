/// The output shapes of each op from its input shapes (and constant inputs where the shape depends on
/// them). A rule throws `Unknown` when something it needs is not known, and `InvalidShape` when what
/// is known cannot work: the node would fail on every run, so load refuses it, and the fast kernels,
/// which trust these shapes, never see it.
extension ShapeInference {
    struct Unknown: Error {}

    /// A definite inconsistency between an op and its known input shapes.
    public struct InvalidShape: Error, Equatable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }

    /// The output shapes of `op`; throws `Unknown` when they depend on something not known.
    static func outputShapes(_ op: Op, _ inputs: [Known?], outputCount: Int) throws -> [[Int]?] {
        let read = RuleInputs(inputs: inputs)
        switch op {
        case .unary, .identity, .cast, .lrn:
            return [try read.shape(0)] + (outputCount > 1 ? [try read.shape(0)] : [])
        case .softmax(let a, _), .logSoftmax(let a, _):
            let x = try read.shape(0)
            _ = try read.axis(a, x.count)
            return [x]
        case .batchNormalization, .instanceNormalization:
            let x = try read.shape(0)
            guard x.count >= 2 else { throw InvalidShape("X must have at least 2 dimensions, got \(x)") }
            for i in 1 ..< inputs.count {
                if let p = inputs[i]?.shape, p.reduce(1, *) != x[1] {
                    throw InvalidShape("input \(i) has shape \(p), not one value per channel of X \(x)")
                }
            }
            return [x]
        case .binary, .variadic, .where:
            return [try read.broadcast(inputs.indices.map(read.shape))]
        case .clip:
            return [try read.shape(0)]
        case .prelu:
            let x = try read.shape(0)
            if let slope = inputs.count > 1 ? inputs[1]?.shape : nil, try read.broadcast([x, slope]) != x {
                throw InvalidShape("slope \(slope) does not broadcast to X \(x)")
            }
            return [x]
        case .conv(let a):
            return [try convShape(a, read)]
        case .convTranspose(let a):
            return [try convTransposeShape(a, read)]
        case .pool(let a):
            let x = try read.shape(0)
            guard x.count >= 3, a.window.fits(spatial: x.count - 2) else {
                throw InvalidShape("kernel_shape \(a.window.kernel), strides, dilations and pads do not match X \(x)")
            }
            let (out, _) = a.window.resolve(input: Array(x.dropFirst(2)), ceilMode: a.ceilMode)
            guard out.allSatisfy({ $0 > 0 }) else { throw InvalidShape("the kernel is larger than the padded input \(x)") }
            let y = Array(x.prefix(2)) + out
            return outputCount > 1 ? [y, y] : [y]
        case .globalPool:
            let x = try read.shape(0)
            guard x.count >= 2 else { throw InvalidShape("X must have at least 2 dimensions, got \(x)") }
            return [Array(x.prefix(2)) + [Int](repeating: 1, count: x.count - 2)]
        case .gemm(let g):
            let a = try read.shape(0), b = try read.shape(1)
            guard a.count == 2, b.count == 2 else { throw InvalidShape("A \(a) and B \(b) must be 2-D") }
            let k = g.transA ? a[0] : a[1], k2 = g.transB ? b[1] : b[0]
            guard k == k2 else { throw InvalidShape("A \(a) and B \(b) do not agree (transA \(g.transA), transB \(g.transB))") }
            let y = [g.transA ? a[1] : a[0], g.transB ? b[0] : b[1]]
            if let c = inputs.count > 2 ? inputs[2]?.shape : nil, (try? read.broadcast([y, c])) != y {
                throw InvalidShape("C \(c) does not broadcast to \(y)")
            }
            return [y]
        case .channelShuffle(let groups):
            let x = try read.shape(0)
            guard x.count >= 2, groups > 0, x[1] % groups == 0 else { throw InvalidShape("\(groups) groups do not divide the channels of \(x)") }
            return [x]
        case .squeezeExcite:
            return [try read.shape(0)]
        case .matMul:
            let a = try read.shape(0), b = try read.shape(1)
            guard !a.isEmpty, !b.isEmpty else { throw InvalidShape("MatMul inputs must have at least 1 dimension") }
            let a2 = a.count == 1 ? [1, a[0]] : a, b2 = b.count == 1 ? [b[0], 1] : b
            guard a2[a2.count - 1] == b2[b2.count - 2] else { throw InvalidShape("cannot multiply \(a) by \(b)") }
            var out = try read.broadcast([Array(a2.dropLast(2)), Array(b2.dropLast(2))])
            if a.count > 1 { out.append(a2[a2.count - 2]) }
            if b.count > 1 { out.append(b2[b2.count - 1]) }
            return [out]
        case .concat(let axisValue):
            let shapes = try inputs.indices.map(read.shape)
            guard let first = shapes.first else { throw InvalidShape("Concat needs at least one input") }
            let a = try read.axis(axisValue, first.count)
            var total = 0
            for s in shapes {
                guard s.count == first.count, s.indices.allSatisfy({ $0 == a || s[$0] == first[$0] }) else {
                    throw InvalidShape("cannot concatenate \(shapes.map(\.description)) on axis \(axisValue)")
                }
                total = try read.sum(total, s[a])
            }
            var out = first
            out[a] = total
            return [out]
        case .split(let axisValue, let count):
            let x = try read.shape(0)
            let a = try read.axis(axisValue, x.count)
            if let sizes = try read.optionalInts(1) {
                guard sizes.count == outputCount, sizes.allSatisfy({ $0 >= 0 }),
                      try sizes.reduce(0, { try read.sum($0, $1) }) == x[a] else {
                    throw InvalidShape("split \(sizes) does not divide axis \(a) of size \(x[a]) into \(outputCount) parts")
                }
                return sizes.map { var s = x; s[a] = $0; return s }
            }
            guard count > 0 else { throw InvalidShape("Split needs at least one output") }
            let chunk = (x[a] + count - 1) / count
            return (0 ..< count).map { var s = x; s[a] = min(chunk, max(0, x[a] - $0 * chunk)); return s }
        case .flatten(let axisValue):
            let x = try read.shape(0)
            let a = axisValue < 0 ? axisValue + x.count : axisValue
            guard a >= 0, a <= x.count else { throw InvalidShape("axis \(axisValue) is out of range for rank \(x.count)") }
            guard let outer = Array(x[..<a]).checkedProduct, let inner = Array(x[a...]).checkedProduct else { throw Unknown() }
            return [[outer, inner]]
        case .transpose(let perm):
            let x = try read.shape(0)
            if let perm, perm.count != x.count || Set(perm) != Set(0 ..< x.count) {
                throw InvalidShape("perm \(perm) is not a permutation of \(x.count) axes")
            }
            return [(perm ?? Array((0 ..< x.count).reversed())).map { x[$0] }]
        case .reshape(let allowZero):
            return [try reshapeShape(try read.shape(0), requested: try read.ints(1), allowZero: allowZero)]
        case .squeeze:
            let x = try read.shape(0)
            guard let axes = try read.optionalInts(1) else { return [x.filter { $0 != 1 }] }
            let set = Set(try axes.map { try read.axis($0, x.count) })
            for a in set.sorted() where x[a] != 1 { throw InvalidShape("cannot squeeze axis \(a) of size \(x[a])") }
            return [x.enumerated().filter { !set.contains($0.offset) }.map(\.element)]
        case .unsqueeze:
            let x = try read.shape(0), axes = try read.ints(1)
            let rank = x.count + axes.count
            let list = try axes.map { try read.axis($0, rank) }
            guard Set(list).count == list.count else { throw InvalidShape("axes \(list) repeat an axis") }
            let set = Set(list)
            var source = x.makeIterator()
            return [(0 ..< rank).map { set.contains($0) ? 1 : source.next() ?? 1 }]
        case .expand:
            let shape = try read.ints(1)
            guard shape.allSatisfy({ $0 >= 0 }) else { throw InvalidShape("shape \(shape) has a negative dimension") }
            return [try read.broadcast([try read.shape(0), shape])]
        case .tile:
            let x = try read.shape(0), repeats = try read.ints(1)
            guard repeats.count == x.count, repeats.allSatisfy({ $0 >= 0 }) else {
                throw InvalidShape("repeats \(repeats) must be \(x.count) non-negative values")
            }
            return [try zip(x, repeats).map { try read.product($0, $1) }]
        case .gather(let axisValue):
            let x = try read.shape(0), i = try read.shape(1)
            let a = try read.axis(axisValue, x.count)
            return [Array(x[..<a]) + i + Array(x[(a + 1)...])]
        case .constantOfShape:
            let shape = try read.ints(0)
            guard shape.allSatisfy({ $0 >= 0 }) else { throw InvalidShape("shape \(shape) has a negative dimension") }
            return [shape]
        case .slice:
            return [try sliceShape(read)]
        case .pad:
            let x = try read.shape(0), pads = try read.ints(1)
            let axes = try read.optionalInts(3).map { try $0.map { try read.axis($0, x.count) } } ?? Array(0 ..< x.count)
            guard pads.count == 2 * axes.count else { throw InvalidShape("pads \(pads) must have 2 values per axis") }
            var out = x
            for (i, a) in axes.enumerated() { out[a] = try read.sum(out[a], try read.sum(pads[i], pads[i + axes.count])) }
            guard out.allSatisfy({ $0 >= 0 }) else { throw InvalidShape("pads \(pads) remove more than X \(x) has") }
            return [out]
        case .resize, .reduce, .argMax, .argMin, .shape:
            return try dataDependentShapes(op, inputs, read)
        case .depthToSpace(let b, _):
            let x = try read.shape(0)
            guard x.count == 4, b > 0, x[1] % (b * b) == 0 else { throw InvalidShape("X \(x) channels must divide by blocksize² \(b * b)") }
            return [[x[0], x[1] / (b * b), x[2] * b, x[3] * b]]
        case .spaceToDepth(let b, _):
            let x = try read.shape(0)
            guard x.count == 4, b > 0, x[2] % b == 0, x[3] % b == 0 else {
                throw InvalidShape("X \(x) height and width must divide by blocksize \(b)")
            }
            return [[x[0], x[1] * b * b, x[2] / b, x[3] / b]]
        }
    }

    /// Conv: channels agree with the weight and group, the kernel fits the padded input.
    private static func convShape(_ a: ConvAttributes, _ read: RuleInputs) throws -> [Int] {
        let x = try read.shape(0), w = try read.shape(1)
        guard x.count >= 3 else { throw InvalidShape("X must have at least 3 dimensions, got \(x)") }
        guard w.count == x.count else { throw InvalidShape("W \(w) and X \(x) differ in rank") }
        guard a.group > 0, x[1] == w[1] * a.group else {
            throw InvalidShape("X has \(x[1]) channels but W \(w) with group \(a.group) expects \(w[1] * a.group)")
        }
        guard w[0] % a.group == 0 else { throw InvalidShape("group \(a.group) does not divide the \(w[0]) output channels") }
        if let b = read.optionalShape(2), b.reduce(1, *) != w[0] {
            throw InvalidShape("B has \(b.reduce(1, *)) values for \(w[0]) output channels")
        }
        let weightSpatial = Array(w.dropFirst(2))
        let window = completed(a.window, kernel: weightSpatial)
        guard window.fits(spatial: x.count - 2) else {
            throw InvalidShape("strides, dilations, pads and kernel_shape must match the \(x.count - 2) spatial axes")
        }
        guard window.kernel == weightSpatial else {
            throw InvalidShape("kernel_shape \(window.kernel) does not match the weight's spatial shape \(weightSpatial)")
        }
        let (out, _) = window.resolve(input: Array(x.dropFirst(2)))
        guard out.allSatisfy({ $0 > 0 }) else { throw InvalidShape("the kernel is larger than the padded input \(x)") }
        let y = [x[0], w[0]] + out
        // A fused residual is added element by element.
        if let residual = read.optionalShape(3), residual != y {
            throw InvalidShape("the residual \(residual) does not match the output \(y)")
        }
        return y
    }

    private static func convTransposeShape(_ a: ConvTransposeAttributes, _ read: RuleInputs) throws -> [Int] {
        let x = try read.shape(0), w = try read.shape(1)
        guard x.count >= 3 else { throw InvalidShape("X must have at least 3 dimensions, got \(x)") }
        guard w.count == x.count else { throw InvalidShape("W \(w) and X \(x) differ in rank") }
        guard w[0] == x[1] else { throw InvalidShape("W \(w) does not match the \(x[1]) input channels") }
        guard a.group > 0, x[1] % a.group == 0 else { throw InvalidShape("group \(a.group) does not divide the \(x[1]) input channels") }
        let spatial = x.count - 2
        let window = completed(a.window, kernel: Array(w.dropFirst(2)))
        let outputPadding = a.outputPadding.isEmpty ? [Int](repeating: 0, count: spatial) : a.outputPadding
        guard window.fits(spatial: spatial) else {
            throw InvalidShape("strides, dilations, pads and kernel_shape must match the \(spatial) spatial axes")
        }
        guard outputPadding.count == spatial else { throw InvalidShape("output_padding \(outputPadding) does not match \(spatial) spatial axes") }
        if let requested = a.outputShape, requested.count < spatial {
            throw InvalidShape("output_shape \(requested) has fewer than \(spatial) spatial sizes")
        }
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
        guard out.allSatisfy({ $0 > 0 }) else { throw InvalidShape("output size \(out) is not positive") }
        return [x[0], w[1] * a.group] + out
    }

    /// Reshape: 0 copies a dimension (unless allowzero), one -1 takes what is left, counts must agree.
    private static func reshapeShape(_ x: [Int], requested: [Int], allowZero: Bool) throws -> [Int] {
        var out = requested
        for i in out.indices where out[i] == 0 && !allowZero {
            guard i < x.count else { throw InvalidShape("shape \(requested): 0 copies a dimension X \(x) does not have") }
            out[i] = x[i]
        }
        guard out.filter({ $0 == -1 }).count <= 1 else { throw InvalidShape("shape \(requested) has more than one -1") }
        if let bad = out.first(where: { $0 < -1 }) { throw InvalidShape("shape \(requested) has an invalid dimension \(bad)") }
        guard let total = x.checkedProduct else { throw Unknown() }
        let mismatch = InvalidShape("cannot reshape \(x) (\(total) elements) to \(requested)")
        guard let i = out.firstIndex(of: -1) else {
            guard out.checkedProduct == total else { throw mismatch }
            return out
        }
        var rest = out
        rest.remove(at: i)
        guard let known = rest.checkedProduct, known > 0, total % known == 0 else { throw mismatch }
        out[i] = total / known
        return out
    }

    private static func sliceShape(_ read: RuleInputs) throws -> [Int] {
        let x = try read.shape(0)
        let starts = try read.ints(1), ends = try read.ints(2)
        let axes = try read.optionalInts(3) ?? Array(0 ..< starts.count)
        let steps = try read.optionalInts(4) ?? [Int](repeating: 1, count: starts.count)
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
            throw InvalidShape("starts, ends, axes and steps must have the same length")
        }
        var out = x
        var seen = Set<Int>()
        for i in starts.indices {
            let a = try read.axis(axes[i], x.count), dim = x[a], st = steps[i]
            guard seen.insert(a).inserted else { throw InvalidShape("axis \(a) appears twice") }
            guard st != 0 else { throw InvalidShape("step must not be 0") }
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
        return out
    }

    private static func dataDependentShapes(_ op: Op, _ inputs: [Known?], _ read: RuleInputs) throws -> [[Int]?] {
        switch op {
        case .reduce(_, let keepDims, let noop):
            let x = try read.shape(0)
            var axes = try read.optionalInts(1) ?? []
            if axes.isEmpty { if noop { return [x] }; axes = Array(0 ..< x.count) }
            let set = Set(try axes.map { try read.axis($0, x.count) })
            return [keepDims ? x.enumerated().map { set.contains($0.offset) ? 1 : $0.element }
                             : x.enumerated().filter { !set.contains($0.offset) }.map(\.element)]
        case .argMax(let a, let keepDims, _), .argMin(let a, let keepDims, _):
            var x = try read.shape(0)
            let r = try read.axis(a, x.count)
            if keepDims { x[r] = 1 } else { x.remove(at: r) }
            return [x]
        case .resize(let a):
            let x = try read.shape(0)
            let axes = try (a.axes ?? Array(0 ..< x.count)).map { try read.axis($0, x.count) }
            var out = x
            if let sizes = try read.optionalInts(3), !sizes.isEmpty, a.aspectRatioPolicy == .stretch {
                guard sizes.count == axes.count else { throw InvalidShape("sizes must have \(axes.count) values") }
                guard sizes.allSatisfy({ $0 >= 0 }) else { throw InvalidShape("sizes \(sizes) has a negative size") }
                for (i, ax) in axes.enumerated() { out[ax] = sizes[i] }
                return [out]
            }
            guard inputs.count > 2, let scales = inputs[2]?.constant, a.coordinateTransform != .tfCropAndResize else { throw Unknown() }
            guard scales.count == axes.count else { throw InvalidShape("scales must have \(axes.count) values") }
            for (i, ax) in axes.enumerated() {
                let v = (Double(x[ax]) * scales.doubles[i]).rounded(.down)
                guard v.isFinite, v >= 0, v < Double(1 << 40) else { throw InvalidShape("output size \(v) is invalid") }
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

/// What a shape rule reads from its inputs, with the checks every rule shares.
private struct RuleInputs {
    var inputs: [Known?]
    typealias InvalidShape = ShapeInference.InvalidShape

    func shape(_ i: Int) throws -> [Int] {
        guard i < inputs.count, let s = inputs[i]?.shape else { throw ShapeInference.Unknown() }
        return s
    }
    /// The shape of an optional input: nil when absent or not known.
    func optionalShape(_ i: Int) -> [Int]? { i < inputs.count ? inputs[i]?.shape : nil }
    func ints(_ i: Int) throws -> [Int] {
        guard i < inputs.count, let t = inputs[i]?.constant, let v = t.int64s else { throw ShapeInference.Unknown() }
        return v.map { Int(clamping: $0) }
    }
    func optionalInts(_ i: Int) throws -> [Int]? {
        guard i < inputs.count, let k = inputs[i] else { return nil }
        guard let t = k.constant, let v = t.int64s else { throw ShapeInference.Unknown() }
        return v.map { Int(clamping: $0) }
    }
    func axis(_ a: Int, _ rank: Int) throws -> Int {
        let r = a < 0 ? a + rank : a
        guard r >= 0 && r < rank else { throw InvalidShape("axis \(a) is out of range for rank \(rank)") }
        return r
    }
    func sum(_ a: Int, _ b: Int) throws -> Int {
        let (s, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw InvalidShape("a dimension overflows") }
        return s
    }
    func product(_ a: Int, _ b: Int) throws -> Int {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw InvalidShape("a dimension overflows") }
        return p
    }
    /// Numpy-style broadcast of several shapes.
    func broadcast(_ shapes: [[Int]]) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var out = [Int](repeating: 1, count: rank)
        for s in shapes {
            for (i, d) in s.enumerated() {
                let j = i + rank - s.count
                if out[j] == 1 { out[j] = d } else if d != 1 && d != out[j] {
                    throw InvalidShape("shapes \(shapes.map(\.description).joined(separator: " and ")) cannot be broadcast together")
                }
            }
        }
        return out
    }
}
