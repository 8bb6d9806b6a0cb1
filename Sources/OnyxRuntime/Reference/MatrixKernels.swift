import OnyxIR

/// MatMul with numpy semantics (1-D promotion, batch broadcasting) and Gemm.
enum MatrixKernels {
    static func matMul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.rank >= 1, b.rank >= 1 else { throw KernelError("MatMul inputs must have at least 1 dimension") }
        guard a.dtype == b.dtype else { throw KernelError("inputs have different types: \(a.dtype) and \(b.dtype)") }
        let aShape = a.rank == 1 ? [1, a.shape[0]] : a.shape
        let bShape = b.rank == 1 ? [b.shape[0], 1] : b.shape
        let (m, k) = (aShape[aShape.count - 2], aShape[aShape.count - 1])
        let (k2, n) = (bShape[bShape.count - 2], bShape[bShape.count - 1])
        guard k == k2 else { throw KernelError("cannot multiply \(a.shape) by \(b.shape)") }
        let batch = try Shapes.broadcast(Array(aShape.dropLast(2)), Array(bShape.dropLast(2)))
        let batchCount = batch.reduce(1, *)
        _ = try Shapes.checkedCount(batch + [m, n])
        let ia = Shapes.broadcastIndices(Array(aShape.dropLast(2)), to: batch)
        let ib = Shapes.broadcastIndices(Array(bShape.dropLast(2)), to: batch)
        let x = a.doubles, y = b.doubles
        var out = [Double](repeating: 0, count: batchCount * m * n)
        for t in 0 ..< batchCount {
            let pa = (ia?[t] ?? t) * m * k, pb = (ib?[t] ?? t) * k * n
            for i in 0 ..< m {
                for p in 0 ..< k {
                    let av = x[pa + i * k + p]
                    if av == 0 && !(y[pb + p * n ..< pb + p * n + n].contains { !$0.isFinite }) { continue }
                    for j in 0 ..< n { out[t * m * n + i * n + j] += av * y[pb + p * n + j] }
                }
            }
        }
        var shape = batch
        if a.rank > 1 { shape.append(m) }
        if b.rank > 1 { shape.append(n) }
        return try ElementwiseKernels.cast(Tensor(shape: shape, out), to: a.dtype)
    }

    /// Y = alpha * A' * B' + beta * C, with C broadcast to (M, N).
    static func gemm(_ a: Tensor, _ b: Tensor, _ c: Tensor?, alpha: Float, beta: Float, transA: Bool, transB: Bool) throws -> Tensor {
        let x = try a.requireFloat32("A"), y = try b.requireFloat32("B")
        guard a.rank == 2, b.rank == 2 else { throw KernelError("A \(a.shape) and B \(b.shape) must be 2-D") }
        let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (k2, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard k == k2 else { throw KernelError("A \(a.shape) and B \(b.shape) do not agree (transA \(transA), transB \(transB))") }
        _ = try Shapes.checkedCount([m, n])
        var out = [Float](repeating: 0, count: m * n)
        for i in 0 ..< m {
            for j in 0 ..< n {
                var sum: Float = 0
                for p in 0 ..< k {
                    sum += x[transA ? p * m + i : i * k + p] * y[transB ? j * k + p : p * n + j]
                }
                out[i * n + j] = alpha * sum
            }
        }
        if let c, beta != 0 {
            let cs = try c.requireFloat32("C")
            let shape = try Shapes.broadcast(c.shape, [m, n])
            guard shape == [m, n] else { throw KernelError("C \(c.shape) does not broadcast to [\(m), \(n)]") }
            let ic = Shapes.broadcastIndices(c.shape, to: [m, n])
            for i in 0 ..< m * n { out[i] += beta * cs[ic?[i] ?? i] }
        }
        return Tensor(shape: [m, n], out)
    }
}
