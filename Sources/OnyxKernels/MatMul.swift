/// MatMul of two tensors computed at run time (attention scores and their weighted sums, bilinear
/// heads): C_b = A_b B_b for each matrix of a batch, A_b m x k and B_b k x n, row-major, at float offsets
/// `aOffsets[b]` and `bOffsets[b]` (broadcast batch axes repeat an offset) with C_b at b m n.
/// Each A_b is packed into the running thread's scratch, then multiplied as SGEMM multiplies a
/// convolution's weights; its packing (m k floats) is small next to the product (m k n multiplies).
/// A constant A (one matrix for the whole batch) is packed once instead, when the model is compiled.
public struct BatchedMatMul: Sendable {
    public let m: Int, k: Int, n: Int
    public let aOffsets: [Int], bOffsets: [Int]
    public let constantA: SGEMM.PackedA?

    public init(m: Int, k: Int, n: Int, aOffsets: [Int], bOffsets: [Int]) {
        precondition(aOffsets.count == bOffsets.count && !aOffsets.isEmpty, "one offset of A and of B per matrix")
        (self.m, self.k, self.n, self.aOffsets, self.bOffsets, constantA) = (m, k, n, aOffsets, bOffsets, nil)
    }

    /// A constant (packed) times each matrix of B.
    public init(constantA: SGEMM.PackedA, n: Int, bOffsets: [Int]) {
        precondition(!bOffsets.isEmpty, "one offset of B per matrix")
        (m, k, self.n, self.bOffsets, self.constantA) = (constantA.m, constantA.k, n, bOffsets, constantA)
        aOffsets = Array(repeating: 0, count: bOffsets.count)
    }

    public var batch: Int { aOffsets.count }

    /// Column pieces per matrix: one when the matrices alone keep the threads busy, else one per thread
    /// (in whole 16-column panels), none when the product is too small to share.
    public func chunks(threads: Int) -> Int {
        if batch >= threads || m * k * n < 1 << 16 { return 1 }
        return max(1, min(threads, (n + SGEMM.nr - 1) / SGEMM.nr))
    }

    /// Floats of scratch per thread: packed A (in whole cache lines) and SGEMM's own.
    public var scratchCount: Int { packedCount + SGEMM.scratchCount(k: k, n: n) }
    var packedCount: Int { (SGEMM.PackedA.count(m: m, k: k) + 15) / 16 * 16 }

    /// Work items `items` of `batch * chunks`: item i is column piece i % chunks of matrix i / chunks.
    public func run(a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, items: Range<Int>, chunks: Int,
                    scratch: UnsafeMutablePointer<Float>) {
        let panels = (n + SGEMM.nr - 1) / SGEMM.nr
        // This thread's packed A: the constant one, or its scratch, holding matrix `packedMatrix`.
        let packedA = constantA ?? SGEMM.PackedA(m: m, k: k, packedAt: scratch)
        var packedMatrix = -1
        for item in items {
            let (matrix, piece) = item.quotientAndRemainder(dividingBy: chunks)
            let columns = panels * piece / chunks * SGEMM.nr ..< min(n, panels * (piece + 1) / chunks * SGEMM.nr)
            if columns.isEmpty { continue }
            if constantA == nil && packedMatrix != matrix {
                SGEMM.PackedA.pack(m: m, k: k, a: a + aOffsets[matrix], rowStride: k, into: scratch)
                packedMatrix = matrix
            }
            SGEMM.multiply(packedA, b: b + bOffsets[matrix], ldb: n, n: n, c: c + matrix * m * n, ldc: n, epilogue: SGEMM.Epilogue(),
                           scratch: scratch + packedCount, columns: columns)
        }
    }
}
