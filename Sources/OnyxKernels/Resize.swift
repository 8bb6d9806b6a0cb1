import CPUHints

/// Resize of NCHW planes along H and W, nearest, linear or cubic (YOLO's and FPN's upsampling, the
/// bicubic of super-resolution nets): output row i is a weighted sum of `width` input rows, listed at
/// `index[i * width ..< (i + 1) * width]` with weights `weight[...]`, and output columns alike.
/// The tables are made once, when the model is compiled, from the reference kernel's coordinate
/// mapping, so both kernels take the same input pixels whatever the coordinate transform and rounding.
///
/// Separable: each input row a plane needs is resized along W once into a row cache of `width` slots,
/// and every output row is then a blend of cached rows (a copy of one, for nearest rows). Nearest
/// columns that repeat every input column twice (2x upsampling) are whole vectors: eight inputs,
/// sixteen outputs.
public final class ResizePlanes: @unchecked Sendable {
    /// One axis's table: output index i reads inputs index[i * width + t] weighted weight[i * width + t].
    public struct Axis: Sendable {
        /// Taps per output index: 1 (nearest), 2 (linear), 4 (cubic), after merging taps on one input.
        public let width: Int
        public let index: [Int], weight: [Float]

        /// - Parameter taps: per output index, one or more (input index, weight) pairs. Taps on one
        ///   input (taps clamped at the edge) become one with their summed weight; outputs with fewer
        ///   taps than the widest are padded with zero-weight taps on their first input.
        public init(taps: [[(index: Int, weight: Float)]]) {
            precondition(taps.allSatisfy { !$0.isEmpty }, "each output takes at least one input")
            let merged = taps.map { t in
                var out: [(index: Int, weight: Float)] = []
                for tap in t {
                    if let i = out.firstIndex(where: { $0.index == tap.index }) { out[i].weight += tap.weight } else { out.append(tap) }
                }
                return out
            }
            let width = merged.map(\.count).max() ?? 1
            let padded = merged.map { $0 + Array(repeating: (index: $0[0].index, weight: Float(0)), count: width - $0.count) }
            self.width = width
            index = padded.flatMap { taps in taps.map { $0.index } }
            weight = padded.flatMap { taps in taps.map { $0.weight } }
        }

        /// Whether every output copies one input.
        var isNearest: Bool { width == 1 && weight.allSatisfy { $0 == 1 } }
    }

    public let inH: Int, inW: Int, outH: Int, outW: Int
    let rowWidth: Int, columnWidth: Int
    let rowIndex: UnsafeMutablePointer<Int>, rowWeight: UnsafeMutablePointer<Float>
    let columnIndex: UnsafeMutablePointer<Int>, columnWeight: UnsafeMutablePointer<Float>
    let nearestColumns: Bool
    /// Nearest columns with output column j reading input column j / 2.
    let doublesColumns: Bool

    public init(inH: Int, inW: Int, rows: Axis, columns: Axis) {
        precondition(rows.index.allSatisfy { (0 ..< inH).contains($0) } && columns.index.allSatisfy { (0 ..< inW).contains($0) },
                     "resize taps outside the input")
        (self.inH, self.inW) = (inH, inW)
        (rowWidth, columnWidth) = (rows.width, columns.width)
        (outH, outW) = (rows.index.count / rows.width, columns.index.count / columns.width)
        func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
            p.initialize(from: values, count: values.count)
            return p
        }
        (rowIndex, rowWeight) = (copy(rows.index), copy(rows.weight))
        (columnIndex, columnWeight) = (copy(columns.index), copy(columns.weight))
        nearestColumns = columns.isNearest
        doublesColumns = nearestColumns && columns.index.count == 2 * inW && columns.index.enumerated().allSatisfy { $0.element == $0.offset / 2 }
    }

    deinit {
        rowIndex.deallocate(); columnIndex.deallocate()
        rowWeight.deallocate(); columnWeight.deallocate()
    }

    /// Floats of scratch per thread: one input row resized along W per row tap.
    public var scratchCount: Int { rowWidth * slotStride }
    var slotStride: Int { outW + 8 }

    /// Resizes `planes` (a sub-range, for threads) of x (inH x inW each) into y (outH x outW each).
    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, planes: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
        // Which input row each slot of the row cache holds (-1: none), and the cached rows one output row blends.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: rowWidth) { held in
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: rowWidth) { blended in
                for p in planes {
                    held.initialize(repeating: -1)
                    run(plane: x + p * inH * inW, into: y + p * outH * outW, held: held, blended: blended, scratch: scratch)
                }
            }
        }
    }

    func run(plane source: UnsafePointer<Float>, into plane: UnsafeMutablePointer<Float>, held: UnsafeMutableBufferPointer<Int>,
             blended: UnsafeMutableBufferPointer<UnsafePointer<Float>>, scratch: UnsafeMutablePointer<Float>) {
        for oh in 0 ..< outH {
            let out = plane + oh * outW
            let taps = rowIndex + oh * rowWidth, weights = rowWeight + oh * rowWidth
            if oh > 0 && (0 ..< rowWidth).allSatisfy({ taps[$0] == taps[$0 - rowWidth] && weights[$0] == weights[$0 - rowWidth] }) {
                // The same taps as the row before (upsampling): a copy.
                copyFloats(out, from: out - outW, count: outW)
            } else if rowWidth == 1 && weights[0] == 1 {
                resizeRow(source + taps[0] * inW, into: out)
            } else {
                for t in 0 ..< rowWidth {
                    let r = taps[t]
                    if let slot = held.firstIndex(of: r) {
                        blended[t] = UnsafePointer(scratch + slot * slotStride)
                    } else {
                        // A slot holding no row this output row reads: there is one, as it reads at most
                        // `rowWidth` rows and r is not yet held.
                        let slot = held.firstIndex { h in !(0 ..< rowWidth).contains { taps[$0] == h } }!
                        held[slot] = r
                        resizeRow(source + r * inW, into: scratch + slot * slotStride)
                        blended[t] = UnsafePointer(scratch + slot * slotStride)
                    }
                }
                blend(blended, weights, into: out)
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
            for j in 0 ..< outW { out[j] = row[columnIndex[j]] }
        } else if columnWidth == 2 {
            for j in 0 ..< outW {
                out[j] = row[columnIndex[2 * j]] * columnWeight[2 * j] + row[columnIndex[2 * j + 1]] * columnWeight[2 * j + 1]
            }
        } else {
            for j in 0 ..< outW {
                let taps = columnIndex + j * columnWidth, weights = columnWeight + j * columnWidth
                var sum = row[taps[0]] * weights[0]
                for t in 1 ..< columnWidth { sum += row[taps[t]] * weights[t] }
                out[j] = sum
            }
        }
    }

    /// out = sum over t of rows[t] * weights[t], eight floats at a time.
    @inline(__always)
    func blend(_ rows: UnsafeMutableBufferPointer<UnsafePointer<Float>>, _ weights: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        var j = 0
        if rowWidth == 2 {
            let (a, b, wa, wb) = (rows[0], rows[1], weights[0], weights[1])
            let (va, vb) = (SIMD8<Float>(repeating: wa), SIMD8<Float>(repeating: wb))
            while j + 8 <= outW { store(out + j, load(a + j) * va + load(b + j) * vb); j += 8 }
            while j < outW { out[j] = a[j] * wa + b[j] * wb; j += 1 }
            return
        }
        while j + 8 <= outW {
            var sum = load(rows[0] + j) * SIMD8(repeating: weights[0])
            for t in 1 ..< rowWidth { sum += load(rows[t] + j) * SIMD8(repeating: weights[t]) }
            store(out + j, sum)
            j += 8
        }
        while j < outW {
            var sum = rows[0][j] * weights[0]
            for t in 1 ..< rowWidth { sum += rows[t][j] * weights[t] }
            out[j] = sum
            j += 1
        }
    }
}
