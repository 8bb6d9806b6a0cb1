/// Transpose of a float32 tensor (YOLO's and SSD's heads: [N, A, C, H, W] to [N, A, H, W, C]; NCHW to
/// NHWC), its permutation simplified once: axes of size 1 dropped, and axes that stay neighbours in
/// the same order merged. Then one of three loops:
/// - the last input axis stays last: whole runs copied;
/// - the last two (merged) axes swap and the others stay ([B, R, C] to [B, C, R]): 2-D transposes in
///   8x8 blocks through registers, the edges one float at a time;
/// - anything else: gathered one float at a time in output order.
public struct TransposePlan: Sendable {
    /// The simplified input shape, and the permutation of its axes.
    public let shape: [Int], permutation: [Int]
    /// The loop `run` takes.
    let loop: Loop

    /// - Parameters: `shape` the input's shape; `permutation`: output axis i is input axis permutation[i].
    public init(shape: [Int], permutation: [Int]) {
        precondition(permutation.count == shape.count && Set(permutation) == Set(0 ..< shape.count), "not a permutation")
        // Size-1 axes dropped, the rest renumbered.
        let kept = (0 ..< shape.count).filter { shape[$0] > 1 }
        let renumber = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($0.element, $0.offset) })
        let order = permutation.compactMap { renumber[$0] }
        // Output axes whose input axes follow each other merge into runs of input axes.
        var runs: [[Int]] = []
        for axis in order {
            if let last = runs.last?.last, axis == last + 1 { runs[runs.count - 1].append(axis) } else { runs.append([axis]) }
        }
        let byInput = runs.sorted { $0[0] < $1[0] }
        self.shape = byInput.map { $0.reduce(1) { $0 * shape[kept[$1]] } }
        self.permutation = runs.map { run in byInput.firstIndex { $0[0] == run[0] }! }
        loop = Self.loop(shape: self.shape, permutation: self.permutation)
    }

    /// The loops of the type's comment, chosen when the plan is made.
    enum Loop: Sendable {
        case copy(count: Int)
        /// `batches` r x c matrices transposed.
        case blocked(batches: Int, rows: Int, columns: Int)
        /// Runs of the last input axis where it stays last, otherwise one float at a time.
        case walk(StridedCopy)
    }

    static func loop(shape: [Int], permutation: [Int]) -> Loop {
        let rank = shape.count, count = shape.reduce(1, *)
        if permutation == Array(0 ..< rank) { return .copy(count: count) }
        if permutation == Array(0 ..< rank - 2) + [rank - 1, rank - 2] {
            let (rows, columns) = (shape[rank - 2], shape[rank - 1])
            return .blocked(batches: count / (rows * columns), rows: rows, columns: columns)
        }
        let strides = (0 ..< rank).map { shape[($0 + 1)...].reduce(1, *) }
        return .walk(StridedCopy(shape: permutation.map { shape[$0] }, strides: permutation.map { strides[$0] }, start: 0))
    }

    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        switch loop {
        case .copy(let count): copyFloats(y, from: x, count: count)
        case .blocked(let batches, let rows, let columns):
            for b in 0 ..< batches {
                Self.transpose(x + b * rows * columns, rows: rows, columns: columns, into: y + b * rows * columns)
            }
        case .walk(let copy): copy.run(x: x, y: y)
        }
    }

    /// out[c, r] = x[r, c] for an r x c matrix: 8x8 blocks through `Shuffles.transpose8`, then the
    /// right and bottom edges.
    static func transpose(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        let (fullRows, fullColumns) = (rows / 8 * 8, columns / 8 * 8)
        var r = 0
        while r < fullRows {
            var c = 0
            while c < fullColumns {
                let t = Depthwise.transpose8(x + r * columns + c, stride: columns)
                let o = out + c * rows + r
                store(o, t.0); store(o + rows, t.1); store(o + 2 * rows, t.2); store(o + 3 * rows, t.3)
                store(o + 4 * rows, t.4); store(o + 5 * rows, t.5); store(o + 6 * rows, t.6); store(o + 7 * rows, t.7)
                c += 8
            }
            for c in fullColumns ..< columns {
                for i in r ..< r + 8 { out[c * rows + i] = x[i * columns + c] }
            }
            r += 8
        }
        for c in 0 ..< columns {
            for i in fullRows ..< rows { out[c * rows + i] = x[i * columns + c] }
        }
    }
}
