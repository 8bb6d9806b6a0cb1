import OnyxIR
import OnyxKernels

/// Kernels that move or re-label elements: reshape family, transpose, expand, tile, concat, split,
/// slice, gather, pad, depth/space rearrangements. Each maps output positions to input positions.
enum ShapeKernels {
    static func reshape(_ x: Tensor, _ shapeTensor: Tensor, allowZero: Bool) throws -> Tensor {
        let requested = try shapeTensor.requireInts("shape")
        var shape = requested
        var inferred: Int?
        for (i, d) in requested.enumerated() {
            if d == 0 && !allowZero {
                guard i < x.rank else { throw KernelError("shape \(requested): 0 copies a dimension X \(x.shape) does not have") }
                shape[i] = x.shape[i]
            } else if d == -1 {
                guard inferred == nil else { throw KernelError("shape \(requested) has more than one -1") }
                inferred = i
            } else if d < 0 {
                throw KernelError("shape \(requested) has an invalid dimension \(d)")
            }
        }
        if let i = inferred {
            guard let known = shape.enumerated().filter({ $0.offset != i }).map(\.element).checkedProduct else {
                throw KernelError("cannot reshape \(x.shape) (\(x.count) elements) to \(requested)")
            }
            guard known > 0, x.count % known == 0 else {
                throw KernelError("cannot reshape \(x.shape) (\(x.count) elements) to \(requested)")
            }
            shape[i] = x.count / known
        }
        guard shape.checkedProduct == x.count else {
            throw KernelError("cannot reshape \(x.shape) (\(x.count) elements) to \(requested)")
        }
        return x.reshaped(shape)
    }

    static func flatten(_ x: Tensor, axis: Int) throws -> Tensor {
        let a = axis < 0 ? axis + x.rank : axis
        guard a >= 0 && a <= x.rank else { throw KernelError("axis \(axis) is out of range for rank \(x.rank)") }
        return x.reshaped([x.shape[..<a].reduce(1, *), x.shape[a...].reduce(1, *)])
    }

    static func transpose(_ x: Tensor, _ permutation: [Int]?) throws -> Tensor {
        let perm = permutation ?? Array((0 ..< x.rank).reversed())
        guard perm.count == x.rank, Set(perm) == Set(0 ..< x.rank) else {
            throw KernelError("perm \(perm) is not a permutation of \(x.rank) axes")
        }
        let outShape = perm.map { x.shape[$0] }
        let inStrides = Shapes.strides(x.shape)
        let permutedStrides = perm.map { inStrides[$0] }
        return Tensor(shape: outShape, storage: x.storage.gathered(walk(outShape, strides: permutedStrides, start: 0)))
    }

    /// Source linear indices visited in row-major order of `shape`, stepping `strides` from `start`.
    static func walk(_ shape: [Int], strides: [Int], start: Int) -> [Int] {
        var walk = StridedWalk(shape: shape, strides: strides, start: start)
        return (0 ..< shape.reduce(1, *)).map { _ in
            defer { walk.advance() }
            return walk.offset
        }
    }

    static func squeeze(_ x: Tensor, axes: Tensor?) throws -> Tensor {
        guard let axes else { return x.reshaped(x.shape.filter { $0 != 1 }) }
        let list = try Set(axes.requireInts("axes").map { try Shapes.axis($0, rank: x.rank) })
        for a in list where x.shape[a] != 1 { throw KernelError("cannot squeeze axis \(a) of size \(x.shape[a])") }
        return x.reshaped(x.shape.enumerated().filter { !list.contains($0.offset) }.map(\.element))
    }

    static func unsqueeze(_ x: Tensor, axes: Tensor) throws -> Tensor {
        let rank = x.rank + axes.count
        let list = try axes.requireInts("axes").map { try Shapes.axis($0, rank: rank) }
        guard Set(list).count == list.count else { throw KernelError("axes \(list) repeat an axis") }
        var shape: [Int] = []
        var source = x.shape.makeIterator()
        for i in 0 ..< rank { shape.append(list.contains(i) ? 1 : source.next()!) }
        return x.reshaped(shape)
    }

    static func expand(_ x: Tensor, _ shapeTensor: Tensor) throws -> Tensor {
        let shape = try Shapes.broadcast(x.shape, try shapeTensor.requireInts("shape"))
        guard let indices = Shapes.broadcastIndices(x.shape, to: shape) else { return x }
        return Tensor(shape: shape, storage: x.storage.gathered(indices))
    }

    static func tile(_ x: Tensor, _ repeats: Tensor) throws -> Tensor {
        let r = try repeats.requireInts("repeats")
        guard r.count == x.rank, r.allSatisfy({ $0 >= 0 }) else { throw KernelError("repeats \(r) must be \(x.rank) non-negative values") }
        let shape = try zip(x.shape, r).map { a, b -> Int in
            let (p, overflow) = a.multipliedReportingOverflow(by: b)
            guard !overflow else { throw KernelError("repeats \(r) overflow the shape \(x.shape)") }
            return p
        }
        let strides = Shapes.strides(x.shape)
        let total = try Shapes.checkedCount(shape)
        var indices = [Int](repeating: 0, count: total)
        for i in 0 ..< total {
            var rest = i, source = 0
            for a in stride(from: x.rank - 1, through: 0, by: -1) {
                source += (rest % shape[a]) % x.shape[a] * strides[a]
                rest /= shape[a]
            }
            indices[i] = source
        }
        return Tensor(shape: shape, storage: x.storage.gathered(indices))
    }

    static func shape(_ x: Tensor, start: Int, end: Int?) -> Tensor {
        let r = x.rank
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + r : v, 0), r) }
        let s = clamp(start), e = clamp(end ?? r)
        let dims = s < e ? x.shape[s ..< e].map(Int64.init) : []
        return Tensor(shape: [dims.count], dims)
    }

    static func constantOfShape(_ shapeTensor: Tensor, value: Tensor) throws -> Tensor {
        let shape = try shapeTensor.requireInts("shape")
        guard shape.allSatisfy({ $0 >= 0 }) else { throw KernelError("shape \(shape) has a negative dimension") }
        let count = try Shapes.checkedCount(shape)
        guard value.count == 1 else { throw KernelError("value has \(value.count) elements, not 1") }
        return Tensor(shape: shape, storage: value.storage.visit(RepeatVisitor(count: count)))
    }

    static func concat(_ inputs: [Tensor], axis: Int) throws -> Tensor {
        let first = inputs[0]
        let a = try Shapes.axis(axis, rank: first.rank)
        for t in inputs {
            guard t.rank == first.rank, t.dtype == first.dtype,
                  t.shape.enumerated().allSatisfy({ $0.offset == a || $0.element == first.shape[$0.offset] }) else {
                throw KernelError("cannot concatenate \(inputs.map(\.description)) on axis \(axis)")
            }
        }
        let outer = first.shape[..<a].reduce(1, *)
        let inner = first.shape[(a + 1)...].reduce(1, *)
        var shape = first.shape
        shape[a] = inputs.reduce(0) { $0 + $1.shape[a] }
        // Build the concatenation as (input number, source index) pairs, then gather per input type.
        var pieces: [(Int, Int)] = []
        pieces.reserveCapacity(shape.reduce(1, *))
        for o in 0 ..< outer {
            for (k, t) in inputs.enumerated() {
                let block = t.shape[a] * inner
                for i in 0 ..< block { pieces.append((k, o * block + i)) }
            }
        }
        return Tensor(shape: shape, storage: first.storage.visit(ConcatVisitor(inputs: inputs.map(\.storage), pieces: pieces)))
    }

    private struct ConcatVisitor: StorageVisitor {
        let inputs: [Storage]
        let pieces: [(Int, Int)]
        func visit<T: TensorElement>(_: [T]) -> Storage {
            let arrays = inputs.map { $0.visit(ElementwiseKernels.Typed<T>())! }
            return T.wrap(pieces.map { arrays[$0.0][$0.1] })
        }
    }

    static func split(_ x: Tensor, sizes: Tensor?, axis: Int, outputs: Int) throws -> [Tensor] {
        let a = try Shapes.axis(axis, rank: x.rank)
        let length = x.shape[a]
        var parts: [Int]
        if let sizes {
            parts = try sizes.requireInts("split")
            guard parts.count == outputs, parts.allSatisfy({ $0 >= 0 }), parts.checkedSum == length else {
                throw KernelError("split \(parts) does not divide axis \(a) of size \(length) into \(outputs) parts")
            }
        } else {
            // Equal parts; the last may be smaller (opset 18).
            let chunk = (length + outputs - 1) / outputs
            parts = (0 ..< outputs).map { min(chunk, max(0, length - $0 * chunk)) }
        }
        var start = 0
        return try parts.map { size in
            defer { start += size }
            return try sliceAxis(x, axis: a, start: start, count: size)
        }
    }

    static func sliceAxis(_ x: Tensor, axis: Int, start: Int, count: Int) throws -> Tensor {
        var shape = x.shape
        shape[axis] = count
        let strides = Shapes.strides(x.shape)
        return Tensor(shape: shape, storage: x.storage.gathered(walk(shape, strides: strides, start: start * strides[axis])))
    }

    static func slice(_ x: Tensor, starts: Tensor, ends: Tensor, axes: Tensor?, steps: Tensor?) throws -> Tensor {
        let (shape, strides, start) = try slicePlan(x.shape, starts: starts, ends: ends, axes: axes, steps: steps)
        return Tensor(shape: shape, storage: x.storage.gathered(walk(shape, strides: strides, start: start)))
    }

    /// Slice's output shape, and the walk over the input that reads it: each output axis's stride in the
    /// input (the step times the axis's stride) and the first element's offset. The fast kernel
    /// (`PointerKernels`) walks the same way.
    static func slicePlan(_ inShape: [Int], starts: Tensor, ends: Tensor, axes: Tensor?, steps: Tensor?) throws
        -> (shape: [Int], strides: [Int], start: Int) {
        let rank = inShape.count
        let s = try starts.requireInts("starts"), e = try ends.requireInts("ends")
        let axesList = try axes.map { try $0.requireInts("axes") } ?? Array(0 ..< s.count)
        let stepList = try steps.map { try $0.requireInts("steps") } ?? [Int](repeating: 1, count: s.count)
        guard e.count == s.count, axesList.count == s.count, stepList.count == s.count else {
            throw KernelError("starts, ends, axes and steps must have the same length")
        }
        var begin = [Int](repeating: 0, count: rank)
        var step = [Int](repeating: 1, count: rank)
        var shape = inShape
        var seen = Set<Int>()
        for i in 0 ..< s.count {
            let a = try Shapes.axis(axesList[i], rank: rank)
            guard seen.insert(a).inserted else { throw KernelError("axis \(a) appears twice") }
            let dim = inShape[a], st = stepList[i]
            guard st != 0 else { throw KernelError("step must not be 0") }
            var lo = s[i] < 0 ? s[i] + dim : s[i]
            var hi = e[i] < 0 ? e[i] + dim : e[i]
            if st > 0 {
                lo = min(max(lo, 0), dim)
                hi = min(max(hi, 0), dim)
                shape[a] = max(0, (hi - lo + st - 1) / st)
            } else {
                lo = min(max(lo, -1), dim - 1)
                hi = min(max(hi, -1), dim - 1)
                shape[a] = max(0, (lo - hi + (-st) - 1) / (-st))
            }
            begin[a] = lo
            step[a] = st
        }
        let strides = Shapes.strides(inShape)
        let start = shape.contains(0) ? 0 : zip(begin, strides).reduce(0) { $0 + $1.0 * $1.1 }
        return (shape, zip(strides, step).map { $0 * $1 }, start)
    }

    static func gather(_ x: Tensor, _ indices: Tensor, axis: Int) throws -> Tensor {
        let a = try Shapes.axis(axis, rank: x.rank)
        let dim = x.shape[a]
        let idx = try indices.requireInts("indices").map { i -> Int in
            let j = i < 0 ? i + dim : i
            guard j >= 0 && j < dim else { throw KernelError("index \(i) is out of range for axis \(a) of size \(dim)") }
            return j
        }
        let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
        var source: [Int] = []
        source.reserveCapacity(outer * idx.count * inner)
        for o in 0 ..< outer {
            for j in idx {
                let base = (o * dim + j) * inner
                for i in 0 ..< inner { source.append(base + i) }
            }
        }
        let shape = Array(x.shape[..<a]) + indices.shape + Array(x.shape[(a + 1)...])
        return Tensor(shape: shape, storage: x.storage.gathered(source))
    }

    static func pad(_ x: Tensor, pads padsTensor: Tensor, value: Tensor?, axes: Tensor?, mode: PadMode) throws -> Tensor {
        let raw = try padsTensor.requireInts("pads")
        let axesList = try axes.map { try $0.requireInts("axes").map { try Shapes.axis($0, rank: x.rank) } } ?? Array(0 ..< x.rank)
        guard raw.count == 2 * axesList.count else { throw KernelError("pads \(raw) must have 2 values per axis") }
        var begin = [Int](repeating: 0, count: x.rank), end = begin
        for (i, a) in axesList.enumerated() { begin[a] = raw[i]; end[a] = raw[i + axesList.count] }
        let shape = (0 ..< x.rank).map { x.shape[$0] + begin[$0] + end[$0] }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw KernelError("pads \(raw) remove more than X \(x.shape) has") }
        _ = try Shapes.checkedCount(shape)
        if mode != .constant {
            for a in 0 ..< x.rank where (begin[a] > 0 || end[a] > 0) && x.shape[a] == 0 {
                throw KernelError("cannot \(mode.rawValue)-pad an empty axis")
            }
        }
        let strides = Shapes.strides(x.shape)
        let total = shape.reduce(1, *)
        // -1 marks the fill value.
        var source = [Int](repeating: -1, count: total)
        for i in 0 ..< total {
            var rest = i, offset = 0, inside = true
            for a in stride(from: x.rank - 1, through: 0, by: -1) {
                let p = padSource(rest % shape[a] - begin[a], length: x.shape[a], mode)
                rest /= shape[a]
                if let p { offset += p * strides[a] } else { inside = false }
            }
            if inside { source[i] = offset }
        }
        let fill = value.map { $0.count > 0 ? $0.storage.gathered([0]) : Storage.zeros(x.dtype, count: 1) } ?? .zeros(x.dtype, count: 1)
        guard fill.dtype == x.dtype else { throw KernelError("constant_value is \(fill.dtype) but X is \(x.dtype)") }
        return Tensor(shape: shape, storage: x.storage.visit(PadVisitor(source: source, fill: fill)))
    }

    /// The input index that Pad's output index maps to along an axis of `length` (p counted from the
    /// input's start, so negative before it), nil for the constant mode's fill. Not for empty axes.
    static func padSource(_ p: Int, length n: Int, _ mode: PadMode) -> Int? {
        if p >= 0 && p < n { return p }
        switch mode {
        case .constant: return nil
        case .edge: return min(max(p, 0), n - 1)
        case .wrap: return ((p % n) + n) % n
        case .reflect:
            if n == 1 { return 0 }
            let period = 2 * (n - 1)
            let q = ((p % period) + period) % period
            return q >= n ? period - q : q
        }
    }

    private struct PadVisitor: StorageVisitor {
        let source: [Int]
        let fill: Storage
        func visit<T: TensorElement>(_ values: [T]) -> Storage {
            let f = fill.visit(ElementwiseKernels.Typed<T>())![0]
            return T.wrap(source.map { $0 < 0 ? f : values[$0] })
        }
    }

    /// DepthToSpace (`toSpace`) or SpaceToDepth as a transpose: the input viewed in 6-D, and the
    /// permutation whose result, read in order, is the output. DCR mode splits the channels as
    /// [b, b, C/b²], CRD as [C/b², b, b].
    static func blockView(_ shape: [Int], blockSize b: Int, columnRowDepth: Bool, toSpace: Bool) throws -> (view: [Int], perm: [Int]) {
        guard shape.count == 4, b > 0 else { throw KernelError("X \(shape) must have 4 dimensions and blocksize \(b) be positive") }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        if toSpace {
            guard c % (b * b) == 0 else { throw KernelError("X \(shape) channels must divide by blocksize² \(b * b)") }
            let depth = c / (b * b)
            return columnRowDepth ? ([n, depth, b, b, h, w], [0, 1, 4, 2, 5, 3]) : ([n, b, b, depth, h, w], [0, 3, 4, 1, 5, 2])
        }
        guard h % b == 0, w % b == 0 else { throw KernelError("X \(shape) height and width must divide by blocksize \(b)") }
        return ([n, c, h / b, b, w / b, b], columnRowDepth ? [0, 1, 3, 5, 2, 4] : [0, 3, 5, 1, 2, 4])
    }

    /// DCR: [N, b, b, C/b², H, W] -> [N, C/b², H, b, W, b]; CRD: [N, C/b², b, b, H, W] -> same.
    static func depthToSpace(_ x: Tensor, blockSize b: Int, columnRowDepth: Bool) throws -> Tensor {
        let (view, perm) = try blockView(x.shape, blockSize: b, columnRowDepth: columnRowDepth, toSpace: true)
        return try transpose(x.reshaped(view), perm).reshaped([x.shape[0], x.shape[1] / (b * b), x.shape[2] * b, x.shape[3] * b])
    }

    /// [N, C, ...] viewed as [N, g, C/g, ...], transposed to [N, C/g, g, ...].
    static func channelShuffle(_ x: Tensor, groups: Int) throws -> Tensor {
        guard x.rank >= 2, groups > 0, x.shape[1] % groups == 0 else {
            throw KernelError("\(groups) groups do not divide the channels of \(x.shape)")
        }
        let (n, c) = (x.shape[0], x.shape[1])
        let inner = x.shape.dropFirst(2).reduce(1, *)
        let viewed = x.reshaped([n, groups, c / groups, inner])
        return try transpose(viewed, [0, 2, 1, 3]).reshaped(x.shape)
    }

    /// The inverse of DepthToSpace in the same mode.
    static func spaceToDepth(_ x: Tensor, blockSize b: Int, columnRowDepth: Bool) throws -> Tensor {
        let (view, perm) = try blockView(x.shape, blockSize: b, columnRowDepth: columnRowDepth, toSpace: false)
        return try transpose(x.reshaped(view), perm).reshaped([x.shape[0], x.shape[1] * b * b, x.shape[2] / b, x.shape[3] / b])
    }
}
