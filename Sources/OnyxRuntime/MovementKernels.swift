import OnyxIR
import OnyxKernels

/// The pointer kernels that move floats without arithmetic: Slice, Split, Transpose, Expand, Tile,
/// DepthToSpace and SpaceToDepth, Gather by constant indices, Pad (every mode), ConstantOfShape.
extension PointerKernels {
    static func slice(_ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, y: Int, yShape: [Int]) -> (any PointerKernel)? {
        // Constant starts, ends, axes and steps: the reference kernel's walk (`ShapeKernels.slicePlan`).
        guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]),
              let operands = constantOperands(node, graph, 1 ..< 5), let starts = operands[0], let ends = operands[1],
              let plan = try? ShapeKernels.slicePlan(xShape, starts: starts, ends: ends, axes: operands[2], steps: operands[3]),
              plan.shape == yShape else { return nil }
        return SliceStep(copy: StridedCopy(shape: plan.shape, strides: plan.strides, start: plan.start), x: x, y: y)
    }

    static func transpose(_ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, y: Int, yShape: [Int],
                          permutation: [Int]?) -> (any PointerKernel)? {
        guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]) else { return nil }
        let perm = permutation ?? Array((0 ..< xShape.count).reversed())
        guard perm.count == xShape.count, Set(perm) == Set(0 ..< xShape.count), perm.map({ xShape[$0] }) == yShape else { return nil }
        return TransposeStep(plan: TransposePlan(shape: xShape, permutation: perm), x: x, y: y)
    }

    static func expand(_ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, y: Int, yShape: [Int]) -> (any PointerKernel)? {
        // A walk over the output with the input's strides, 0 along the axes it broadcasts over.
        guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]), xShape.count <= yShape.count else { return nil }
        let padded = [Int](repeating: 1, count: yShape.count - xShape.count) + xShape
        guard zip(padded, yShape).allSatisfy({ $0 == $1 || $0 == 1 }) else { return nil }
        let strides = zip(Shapes.strides(padded), padded).map { $1 == 1 ? 0 : $0 }
        return SliceStep(copy: StridedCopy(shape: yShape, strides: strides, start: 0), x: x, y: y)
    }

    static func tile(_ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, y: Int, yShape: [Int]) -> (any PointerKernel)? {
        // Output axis a of size r * d as (repetition, index): strides 0 and the input's.
        guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]),
              let repeats = graph.constant(node.inputs[1])?.int64s?.map({ Int(clamping: $0) }), repeats.count == xShape.count,
              zip(repeats, xShape).map({ $0 * $1 }) == yShape else { return nil }
        let strides = Shapes.strides(xShape)
        let shape = zip(repeats, xShape).flatMap { [$0, $1] }
        return SliceStep(copy: StridedCopy(shape: shape, strides: strides.flatMap { [0, $0] }, start: 0), x: x, y: y)
    }

    /// DepthToSpace (`toSpace`) or SpaceToDepth: the reference kernel's 6-D transpose (`ShapeKernels.blockView`).
    static func blocks(_ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, y: Int, yShape: [Int], blockSize: Int,
                       columnRowDepth: Bool, toSpace: Bool) -> (any PointerKernel)? {
        guard let x = offset(node.inputs[0]), let shape = graph.fixedShape(node.inputs[0]), yShape.reduce(1, *) == shape.reduce(1, *),
              let (view, perm) = try? ShapeKernels.blockView(shape, blockSize: blockSize, columnRowDepth: columnRowDepth, toSpace: toSpace)
        else { return nil }
        return TransposeStep(plan: TransposePlan(shape: view, permutation: perm), x: x, y: y)
    }

    static func gather(_ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, y: Int, axis axisValue: Int) -> (any PointerKernel)? {
        // Constant indices: for each position before the axis, one block of the axes after it per index.
        guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]), !xShape.isEmpty,
              let raw = graph.constant(node.inputs[1])?.int64s else { return nil }
        let axis = axisValue < 0 ? axisValue + xShape.count : axisValue
        guard (0 ..< xShape.count).contains(axis) else { return nil }
        let length = xShape[axis]
        let indices = raw.map { Int(clamping: $0) < 0 ? Int(clamping: $0) + length : Int(clamping: $0) }
        guard indices.allSatisfy({ (0 ..< length).contains($0) }) else { return nil }
        return GatherStep(indices: indices, x: x, y: y, outer: xShape[..<axis].reduce(1, *), length: length,
                          inner: xShape[(axis + 1)...].reduce(1, *))
    }

    /// Constant-mode Pad with constant pads, value and axes: the output filled with the value, then the
    /// input's part that remains (negative pads crop) copied inside.
    static func pad(_ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, y: Int, yShape: [Int]) -> (any PointerKernel)? {
        guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]),
              let operands = constantOperands(node, graph, 1 ..< 4), let (begin, end) = padAmounts(operands, xShape: xShape, yShape: yShape)
        else { return nil }
        let rank = xShape.count
        let value: Float
        if let v = operands[1] {
            guard let floats = v.floats, floats.count == 1 else { return nil }
            value = floats[0]
        } else {
            value = 0
        }
        let from = (0 ..< rank).map { max(0, -begin[$0]) }, to = (0 ..< rank).map { max(0, begin[$0]) }
        let block = (0 ..< rank).map { max(0, xShape[$0] - from[$0] - max(0, -end[$0])) }
        func start(_ at: [Int], _ strides: [Int]) -> Int { zip(at, strides).reduce(0) { $0 + $1.0 * $1.1 } }
        let (xStrides, yStrides) = (Shapes.strides(xShape), Shapes.strides(yShape))
        let copy = BlockCopy(shape: block, source: (xStrides, start(from, xStrides)), destination: (yStrides, start(to, yStrides)))
        return PadStep(copy: copy, value: value, x: x, y: y, count: yShape.reduce(1, *))
    }

    /// Pad's constant pads (and axes) as the amounts added before and after each axis, if they make yShape.
    static func padAmounts(_ operands: [Tensor?], xShape: [Int], yShape: [Int]) -> (begin: [Int], end: [Int])? {
        guard let pads = operands[0]?.int64s?.map({ Int(clamping: $0) }) else { return nil }
        let rank = xShape.count
        var axes = Array(0 ..< rank)
        if let given = operands[2] {
            guard let values = given.int64s else { return nil }
            axes = values.map { Int(clamping: $0) < 0 ? Int(clamping: $0) + rank : Int(clamping: $0) }
        }
        guard pads.count == 2 * axes.count, axes.allSatisfy({ (0 ..< rank).contains($0) }) else { return nil }
        var begin = [Int](repeating: 0, count: rank), end = begin
        for (i, a) in axes.enumerated() { (begin[a], end[a]) = (pads[i], pads[i + axes.count]) }
        guard (0 ..< rank).map({ xShape[$0] + begin[$0] + end[$0] }) == yShape else { return nil }
        return (begin, end)
    }

    /// Edge, reflect or wrap Pad with constant pads and axes, of a non-empty tensor (its output may be
    /// empty, cropped to nothing): each output index's
    /// input index per axis from the reference kernel's formula (`ShapeKernels.padSource`).
    static func mappedPad(_ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, y: Int, yShape: [Int],
                          mode: PadMode) -> (any PointerKernel)? {
        guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]), !xShape.isEmpty, !xShape.contains(0),
              let operands = constantOperands(node, graph, 1 ..< 4),
              let (begin, _) = padAmounts(operands, xShape: xShape, yShape: yShape) else { return nil }
        let strides = Shapes.strides(xShape)
        let maps = yShape.indices.map { a in
            (0 ..< yShape[a]).map { i in ShapeKernels.padSource(i - begin[a], length: xShape[a], mode)! * strides[a] }
        }
        return MappedPadStep(pad: MappedPad(maps: maps), x: x, y: y)
    }

    /// Split of a float32 tensor whose parts' shapes are known: one strided copy per output, each starting
    /// where the previous part ends along the axis. (A channel split at batch 1 is a view and never gets here.)
    static func split(_ node: Node, _ graph: Graph, _ offset: (ValueID?) -> Int?, axis axisValue: Int) -> (any PointerKernel)? {
        guard let x = offset(node.inputs[0]), let xShape = graph.fixedShape(node.inputs[0]) else { return nil }
        let axis = axisValue < 0 ? axisValue + xShape.count : axisValue
        guard (0 ..< xShape.count).contains(axis) else { return nil }
        let strides = Shapes.strides(xShape)
        var parts: [(copy: StridedCopy, y: Int)] = [], start = 0
        for id in node.outputs {
            guard let y = offset(id), let shape = graph.fixedShape(id), shape.count == xShape.count,
                  (0 ..< shape.count).allSatisfy({ $0 == axis || shape[$0] == xShape[$0] }) else { return nil }
            parts.append((StridedCopy(shape: shape, strides: strides, start: start * strides[axis]), y))
            start += shape[axis]
        }
        guard start == xShape[axis] else { return nil }
        return SplitStep(parts: parts, x: x)
    }
}

struct SliceStep: PointerKernel {
    let copy: StridedCopy
    let x: Int, y: Int
    func run(_ c: ExecutionContext) { copy.run(x: floats(c, x), y: floats(c, y)) }
}

struct SplitStep: PointerKernel {
    let parts: [(copy: StridedCopy, y: Int)]
    let x: Int
    func run(_ c: ExecutionContext) {
        for part in parts { part.copy.run(x: floats(c, x), y: floats(c, part.y)) }
    }
}

struct TransposeStep: PointerKernel {
    let plan: TransposePlan
    let x: Int, y: Int
    func run(_ c: ExecutionContext) { plan.run(x: floats(c, x), y: floats(c, y)) }
}

struct GatherStep: PointerKernel {
    let indices: [Int]
    let x: Int, y: Int, outer: Int, length: Int, inner: Int
    func run(_ c: ExecutionContext) {
        let (source, out) = (floats(c, x), floats(c, y))
        for o in 0 ..< outer {
            for (k, index) in indices.enumerated() {
                (out + (o * indices.count + k) * inner).update(from: source + (o * length + index) * inner, count: inner)
            }
        }
    }
}

struct PadStep: PointerKernel {
    let copy: BlockCopy
    let value: Float
    let x: Int, y: Int, count: Int
    func run(_ c: ExecutionContext) {
        floats(c, y).update(repeating: value, count: count)
        copy.run(x: floats(c, x), y: floats(c, y))
    }
}

struct MappedPadStep: PointerKernel {
    let pad: MappedPad
    let x: Int, y: Int
    func run(_ c: ExecutionContext) {
        let ranges = ThreadPool.shared.pieces(pad.rows, granularity: 16, threads: ThreadPool.shared.workers)
        ThreadPool.shared.parallelFor(ranges.count) { t in pad.run(x: floats(c, x), y: floats(c, y), rows: ranges[t]) }
    }
}

struct FillStep: PointerKernel {
    let y: Int, count: Int, value: Float
    func run(_ c: ExecutionContext) { floats(c, y).update(repeating: value, count: count) }
}
