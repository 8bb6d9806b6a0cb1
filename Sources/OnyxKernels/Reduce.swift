/// Sum, mean, max, min, product, sum of squares, L1 and L2 norms and log of the sum over any set of
/// axes (CBAM's mean and max over channels, SSD's L2 norm over channels, a mean over the last axis), in
/// float32.
///
/// Adjacent axes that are both kept or both reduced merge. When the innermost axis is kept, each output
/// row of `inner` floats starts as the first reduced row and the others fold in a vector at a time; when
/// it is reduced, each contiguous run of it is summed (or maxed) in vectors and then folded in as one
/// value. The axes outside are walked. Built once when the model is compiled.
public struct Reduction: Sendable {
    public enum Kind: Sendable { case sum, mean, max, min, prod, sumSquare, l1, l2, logSum }
    let kind: Kind
    /// The kept axes outside the innermost kept run, and the reduced axes outside the innermost reduced
    /// run, with the input's strides.
    let kept: [Int], keptStrides: [Int], reduced: [Int], reducedStrides: [Int]
    /// The innermost kept run's length (1 when the innermost axis is reduced), and the innermost reduced
    /// run's (1 when it is kept).
    let inner: Int, run: Int
    let outputCount: Int, reducedCount: Int

    /// - Parameters: the input's shape and the reduced axes (in range, at least one, none of size 0).
    public init(_ kind: Kind, shape: [Int], axes: Set<Int>) {
        self.kind = kind
        var groups: [(size: Int, stride: Int, isReduced: Bool)] = []
        var step = 1
        for axis in shape.indices.reversed() where shape[axis] != 1 {
            let isReduced = axes.contains(axis)
            if let last = groups.last, last.isReduced == isReduced, last.stride * last.size == step {
                groups[groups.count - 1].size *= shape[axis]
            } else {
                groups.append((shape[axis], step, isReduced))
            }
            step *= shape[axis]
        }
        groups.reverse()  // outermost first
        var innerKept = 1, innerReduced = 1
        if let last = groups.last, last.stride == 1 {
            if last.isReduced { innerReduced = last.size } else { innerKept = last.size }
            groups.removeLast()
        }
        (inner, run) = (innerKept, innerReduced)
        let keptGroups = groups.filter { !$0.isReduced }, reducedGroups = groups.filter(\.isReduced)
        (kept, keptStrides) = (keptGroups.map(\.size), keptGroups.map(\.stride))
        (reduced, reducedStrides) = (reducedGroups.map(\.size), reducedGroups.map(\.stride))
        outputCount = inner * kept.reduce(1, *)
        reducedCount = run * reduced.reduce(1, *)
    }

    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        switch kind {
        case .sum, .mean, .logSum: run(x, y, Sum())
        case .max: run(x, y, Max())
        case .min: run(x, y, Min())
        case .prod: run(x, y, Product())
        case .sumSquare, .l2: run(x, y, SumOfSquares())
        case .l1: run(x, y, AbsoluteSum())
        }
        switch kind {
        case .mean:
            let scale = 1 / Float(reducedCount)
            for i in 0 ..< outputCount { y[i] *= scale }
        case .l2:
            for i in 0 ..< outputCount { y[i] = y[i].squareRoot() }
        case .logSum:
            UnaryKernel.log.apply(y, y, count: outputCount)
        default: break
        }
    }

    @inline(__always)
    private func run<F: Fold>(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ f: F) {
        var outer = StridedWalk(shape: kept, strides: keptStrides)
        // One walk over the reduced rows for every output, stepped once more at the end of each so that it
        // wraps back to the first row (no allocation per output).
        var rows = StridedWalk(shape: reduced, strides: reducedStrides)
        for k in 0 ..< outputCount / inner {
            let base = x + outer.offset, out = y + k * inner
            defer { rows.advance() }
            if inner > 1 {
                // Rows of `inner` floats, folded elementwise.
                for i in 0 ..< inner { out[i] = f.first(base[i]) }
                for _ in 1 ..< reducedCount {
                    rows.advance()
                    let row = base + rows.offset
                    var i = 0
                    while i + 8 <= inner { store(out + i, f.fold(load(out + i), f.first(load(row + i)))); i += 8 }
                    while i < inner { out[i] = f.fold(out[i], f.first(row[i])); i += 1 }
                }
            } else {
                // Contiguous runs, each folded to one value.
                var total = f.foldRun(base, run)
                for _ in 1 ..< reducedCount / run {
                    rows.advance()
                    total = f.fold(total, f.foldRun(base + rows.offset, run))
                }
                out[0] = total
            }
            outer.advance()
        }
    }
}

/// How `Reduction` combines values: `first` maps an input value (squares it for sums of squares), `fold`
/// combines two partial results.
private protocol Fold {
    func first(_ v: SIMD8<Float>) -> SIMD8<Float>
    func first(_ v: Float) -> Float
    func fold(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float>
    func fold(_ a: Float, _ b: Float) -> Float
    func horizontal(_ v: SIMD8<Float>) -> Float
}

extension Fold {
    func first(_ v: SIMD8<Float>) -> SIMD8<Float> { v }
    func first(_ v: Float) -> Float { v }

    /// `count` consecutive floats folded to one: eight lanes at a time, then across the lanes.
    @inline(__always)
    func foldRun(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
        var i = 0, total = first(p[0])
        if count >= 8 {
            var acc = first(load(p))
            i = 8
            while i + 8 <= count { acc = fold(acc, first(load(p + i))); i += 8 }
            total = horizontal(acc)
        } else {
            i = 1
        }
        while i < count { total = fold(total, first(p[i])); i += 1 }
        return total
    }
}

private struct Sum: Fold {
    func fold(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a + b }
    func fold(_ a: Float, _ b: Float) -> Float { a + b }
    func horizontal(_ v: SIMD8<Float>) -> Float { v.sum() }
}

private struct SumOfSquares: Fold {
    func first(_ v: SIMD8<Float>) -> SIMD8<Float> { v * v }
    func first(_ v: Float) -> Float { v * v }
    func fold(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a + b }
    func fold(_ a: Float, _ b: Float) -> Float { a + b }
    func horizontal(_ v: SIMD8<Float>) -> Float { v.sum() }
}

private struct AbsoluteSum: Fold {
    func first(_ v: SIMD8<Float>) -> SIMD8<Float> { UnaryKernel.abs.vector(v) }
    func first(_ v: Float) -> Float { Swift.abs(v) }
    func fold(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a + b }
    func fold(_ a: Float, _ b: Float) -> Float { a + b }
    func horizontal(_ v: SIMD8<Float>) -> Float { v.sum() }
}

private struct Product: Fold {
    func fold(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a * b }
    func fold(_ a: Float, _ b: Float) -> Float { a * b }
    func horizontal(_ v: SIMD8<Float>) -> Float { (0 ..< 8).reduce(1) { $0 * v[$1] } }
}

private struct Max: Fold {
    func fold(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { vmax(a, b) }
    func fold(_ a: Float, _ b: Float) -> Float { Swift.max(a, b) }
    func horizontal(_ v: SIMD8<Float>) -> Float { v.max() }
}

private struct Min: Fold {
    func fold(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { vmin(a, b) }
    func fold(_ a: Float, _ b: Float) -> Float { Swift.min(a, b) }
    func horizontal(_ v: SIMD8<Float>) -> Float { v.min() }
}
