/// y = a op b with multidirectional (numpy) broadcasting, at any ranks: CBAM's spatial gate [N, 1, H, W]
/// over [N, C, H, W], a row of scales along the last axis, PRelu's slopes, Max of two maps.
///
/// The operands' strides are 0 along the axes they broadcast over. Axes of size 1 are dropped, and an
/// axis merges into the one after it when both operands step over it as one block, so what remains is a
/// walk over the outer axes and, innermost, one run in which each operand either advances with the
/// output or repeats one value: the vector loops of `Elementwise`. Built once when the model is compiled.
public struct BroadcastBinary: Sendable {
    let op: Elementwise.Operation
    let outer: [Int], aOuter: [Int], bOuter: [Int]
    /// The innermost run's length, and whether each operand advances along it (else repeats one value).
    let run: Int, aAdvances: Bool, bAdvances: Bool
    let count: Int

    /// - Parameters: the output's shape, and the operands' shapes, each broadcastable to it.
    public init(_ op: Elementwise.Operation, shape: [Int], a aShape: [Int], b bShape: [Int]) {
        self.op = op
        count = shape.reduce(1, *)
        func strides(_ s: [Int]) -> [Int] {
            let padded = [Int](repeating: 1, count: shape.count - s.count) + s
            var strides = [Int](repeating: 0, count: shape.count), step = 1
            for axis in padded.indices.reversed() {
                strides[axis] = padded[axis] == 1 ? 0 : step
                step *= padded[axis]
            }
            return strides
        }
        let (sa, sb) = (strides(aShape), strides(bShape))
        var axes: [(size: Int, a: Int, b: Int)] = []
        for axis in shape.indices where shape[axis] != 1 {
            let next = (size: shape[axis], a: sa[axis], b: sb[axis])
            if let last = axes.last, last.a == next.size * next.a, last.b == next.size * next.b {
                axes[axes.count - 1] = (last.size * next.size, next.a, next.b)
            } else {
                axes.append(next)
            }
        }
        let inner = axes.popLast() ?? (size: 1, a: 0, b: 0)
        (run, aAdvances, bAdvances) = (inner.size, inner.a != 0, inner.b != 0)
        (outer, aOuter, bOuter) = (axes.map(\.size), axes.map(\.a), axes.map(\.b))
    }

    public func run(a: UnsafePointer<Float>, b: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        guard count > 0 else { return }
        // The axis next to the run in a plain loop (a row of 28 scales over 1792 rows: one walk step, not
        // 1792), the axes outside it walked.
        let (rows, aRow, bRow) = outer.isEmpty ? (1, 0, 0) : (outer[outer.count - 1], aOuter[aOuter.count - 1], bOuter[bOuter.count - 1])
        var aWalk = StridedWalk(shape: Array(outer.dropLast()), strides: Array(aOuter.dropLast()))
        var bWalk = StridedWalk(shape: Array(outer.dropLast()), strides: Array(bOuter.dropLast()))
        var out = y
        for _ in 0 ..< count / (run * rows) {
            var (ap, bp) = (a + aWalk.offset, b + bWalk.offset)
            for _ in 0 ..< rows {
                switch (aAdvances, bAdvances) {
                case (true, true): Elementwise.same(op, ap, bp, out, count: run)
                case (true, false): Elementwise.perPlane(op, ap, bp, out, planes: 1, size: run, scalarFirst: false)
                case (false, true): Elementwise.perPlane(op, bp, ap, out, planes: 1, size: run, scalarFirst: true)
                case (false, false): out.update(repeating: Elementwise.combine(op, ap[0], bp[0]), count: run)
                }
                out += run
                ap += aRow
                bp += bRow
            }
            aWalk.advance()
            bWalk.advance()
        }
    }
}
