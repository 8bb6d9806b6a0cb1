import CPUHints

/// Resize of NCHW planes along H and W, nearest or linear (YOLO's and FPN's upsampling): output row i
/// blends input rows `lo[i]` and `hi[i]` with weights `w0[i]` and `w1[i]`, and output columns alike.
/// The tables are made once, when the model is compiled, from the reference kernel's coordinate
/// mapping, so both kernels take the same input pixels whatever the coordinate transform and rounding.
///
/// Separable: each input row a plane needs is resized along W once into a row cache, and every output
/// row is then a blend of two cached rows (a copy of one, for nearest rows). Nearest columns that repeat
/// every input column twice (2x upsampling) are whole vectors: eight inputs, sixteen outputs.
public final class ResizePlanes: @unchecked Sendable {
    /// One axis's table: output index i reads inputs lo[i] and hi[i], weighted w0[i] and w1[i].
    public struct Axis: Sendable {
        public let lo: [Int], hi: [Int], w0: [Float], w1: [Float]

        /// - Parameter taps: per output index, one or two (input index, weight) pairs. Two taps on one
        ///   input (a linear tap clamped at the edge) become one with their summed weight.
        public init(taps: [[(index: Int, weight: Float)]]) {
            precondition(taps.allSatisfy { (1 ... 2).contains($0.count) }, "each output takes one or two inputs")
            let merged = taps.map { t in t.count == 2 && t[0].index != t[1].index ? t : [(index: t[0].index, weight: t.reduce(0) { $0 + $1.weight })] }
            lo = merged.map { $0[0].index }
            hi = merged.map { $0[$0.count - 1].index }
            w0 = merged.map { $0[0].weight }
            w1 = merged.map { $0.count == 1 ? 0 : $0[1].weight }
        }

        /// Whether every output copies one input.
        var isNearest: Bool { zip(w0, w1).allSatisfy { $0 == 1 && $1 == 0 } }
    }

    public let inH: Int, inW: Int, outH: Int, outW: Int
    let rowLo: UnsafeMutablePointer<Int>, rowHi: UnsafeMutablePointer<Int>
    let rowW0: UnsafeMutablePointer<Float>, rowW1: UnsafeMutablePointer<Float>
    let columnLo: UnsafeMutablePointer<Int>, columnHi: UnsafeMutablePointer<Int>
    let columnW0: UnsafeMutablePointer<Float>, columnW1: UnsafeMutablePointer<Float>
    let nearestColumns: Bool
    /// Nearest columns with output column j reading input column j / 2.
    let doublesColumns: Bool

    public init(inH: Int, inW: Int, rows: Axis, columns: Axis) {
        precondition(rows.lo.allSatisfy { (0 ..< inH).contains($0) } && rows.hi.allSatisfy { (0 ..< inH).contains($0) }
                     && columns.lo.allSatisfy { (0 ..< inW).contains($0) } && columns.hi.allSatisfy { (0 ..< inW).contains($0) },
                     "resize taps outside the input")
        (self.inH, self.inW, outH, outW) = (inH, inW, rows.lo.count, columns.lo.count)
        func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
            p.initialize(from: values, count: values.count)
            return p
        }
        (rowLo, rowHi, rowW0, rowW1) = (copy(rows.lo), copy(rows.hi), copy(rows.w0), copy(rows.w1))
        (columnLo, columnHi, columnW0, columnW1) = (copy(columns.lo), copy(columns.hi), copy(columns.w0), copy(columns.w1))
        nearestColumns = columns.isNearest
        doublesColumns = nearestColumns && columns.lo.count == 2 * inW && columns.lo.enumerated().allSatisfy { $0.element == $0.offset / 2 }
    }

    deinit {
        for p in [rowLo, rowHi, columnLo, columnHi] { p.deallocate() }
        for p in [rowW0, rowW1, columnW0, columnW1] { p.deallocate() }
    }

    /// Floats of scratch per thread: two input rows resized along W.
    public var scratchCount: Int { 2 * (outW + 8) }

    /// Resizes `planes` (a sub-range, for threads) of x (inH x inW each) into y (outH x outW each).
    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, planes: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
        let slots = (scratch, scratch + outW + 8)
        for p in planes {
            let source = x + p * inH * inW, plane = y + p * outH * outW
            // The input rows in the two slots (-1: none).
            var held = (-1, -1)
            /// Input row r resized along W: into `out` directly, or the slot holding it (filling the one
            /// that does not hold `keep`).
            func resized(_ r: Int, keep: Int) -> UnsafePointer<Float> {
                if held.0 == r { return UnsafePointer(slots.0) }
                if held.1 == r { return UnsafePointer(slots.1) }
                let slot = held.0 != keep ? slots.0 : slots.1
                if held.0 != keep { held.0 = r } else { held.1 = r }
                resizeRow(source + r * inW, into: slot)
                return UnsafePointer(slot)
            }
            for oh in 0 ..< outH {
                let out = plane + oh * outW
                let (lo, hi, w0, w1) = (rowLo[oh], rowHi[oh], rowW0[oh], rowW1[oh])
                if oh > 0 && (lo, hi, w0, w1) == (rowLo[oh - 1], rowHi[oh - 1], rowW0[oh - 1], rowW1[oh - 1]) {
                    // The same taps as the row before (upsampling): a copy.
                    copyFloats(out, from: out - outW, count: outW)
                } else if w1 == 0 && w0 == 1 {
                    resizeRow(source + lo * inW, into: out)
                } else if w1 == 0 {
                    blend(resized(lo, keep: -1), w0, nil, 0, into: out)
                } else {
                    let a = resized(lo, keep: hi), b = resized(hi, keep: lo)
                    blend(a, w0, b, w1, into: out)
                }
            }
        }
    }

    /// One input row resized along W into `out` (outW floats).
    @inline(__always)
    func resizeRow(_ row: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        if doublesColumns {
            // Eight inputs, sixteen outputs: each lane twice. The load is opaque, so that LLVM does not
            // rebuild the two vectors from single-float loads.
            var j = 0
            while j + 8 <= inW {
                let v = onyx_opaque8(load(row + j))
                store(out + 2 * j, SIMD8(v[0], v[0], v[1], v[1], v[2], v[2], v[3], v[3]))
                store(out + 2 * j + 8, SIMD8(v[4], v[4], v[5], v[5], v[6], v[6], v[7], v[7]))
                j += 8
            }
            while j < inW { out[2 * j] = row[j]; out[2 * j + 1] = row[j]; j += 1 }
        } else if nearestColumns {
            for j in 0 ..< outW { out[j] = row[columnLo[j]] }
        } else {
            for j in 0 ..< outW { out[j] = row[columnLo[j]] * columnW0[j] + row[columnHi[j]] * columnW1[j] }
        }
    }

    /// out = a * wa + b * wb (b nil: a * wa), eight floats at a time.
    @inline(__always)
    func blend(_ a: UnsafePointer<Float>, _ wa: Float, _ b: UnsafePointer<Float>?, _ wb: Float, into out: UnsafeMutablePointer<Float>) {
        let (va, vb) = (SIMD8<Float>(repeating: wa), SIMD8<Float>(repeating: wb))
        var j = 0
        if let b {
            while j + 8 <= outW { store(out + j, load(a + j) * va + load(b + j) * vb); j += 8 }
            while j < outW { out[j] = a[j] * wa + b[j] * wb; j += 1 }
        } else {
            while j + 8 <= outW { store(out + j, load(a + j) * va); j += 8 }
            while j < outW { out[j] = a[j] * wa; j += 1 }
        }
    }
}
