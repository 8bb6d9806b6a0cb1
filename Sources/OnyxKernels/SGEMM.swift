import CPUHints
import PageMemory

/// Single-precision matrix multiply with packed panels and a 6x16 register tile (12 SIMD8
/// accumulators: fits the 16 vector registers of AVX2 without spills; 6x32 of SIMD16 when compiled for
/// AVX-512, see `TileVector`), and a fused epilogue:
///   C[i, j] = activation(sum_k A[i, k] B[k, j] + bias[i] + residual[i, j])
/// A (the weights) is packed once; B (the activations) is packed one `panelWidth`-column panel at a time.
/// `mr` and `nr` name the 6x16 tile, which the implicit GEMM and the blocked pointwise kernel also use.
public enum SGEMM {
    public static let mr = 6
    public static let nr = 16

    /// A packed into panels of `mr` rows, each stored k-major (for k: mr values), zero-padded. Large
    /// ones live in pages of their own (huge pages: packing a model's weights is most of compiling it);
    /// small ones on the heap, which reuses memory a process has already touched.
    public final class PackedA: @unchecked Sendable {
        public let m: Int
        public let k: Int
        let data: UnsafeMutablePointer<Float>
        private let pages: PageBuffer?
        /// Whether `data` is this matrix's own (else a caller's scratch).
        private let owned: Bool

        /// Floats an m x k matrix takes packed: whole panels, and eight floats of slack (`columnSums`
        /// reads each step's six values as a vector of eight).
        public static func count(m: Int, k: Int) -> Int { (m + SGEMM.mr - 1) / SGEMM.mr * SGEMM.mr * k + 8 }

        /// An all-zero m x k matrix, to fill with `index(row:column:)`.
        init(m: Int, k: Int) {
            self.m = m
            self.k = k
            owned = true
            let count = Self.count(m: m, k: k)
            if count * MemoryLayout<Float>.stride >= PageBuffer.hugePage, let pages = PageBuffer(count: count * MemoryLayout<Float>.stride) {
                self.pages = pages
                data = pages.base.bindMemory(to: Float.self, capacity: count)
            } else {
                pages = nil
                data = .allocate(capacity: count)
                data.initialize(repeating: 0, count: count)
            }
        }

        /// A matrix packed by `pack` into memory the caller owns (a thread's scratch), for as long as it is used.
        public init(m: Int, k: Int, packedAt data: UnsafeMutablePointer<Float>) {
            (self.m, self.k, self.data) = (m, k, data)
            (pages, owned) = (nil, false)
        }

        deinit { if pages == nil && owned { data.deallocate() } }

        /// Packs the m x k matrix whose element (i, p) is at a[i * rowStride + p * colStride].
        public convenience init(m: Int, k: Int, a: UnsafePointer<Float>, rowStride: Int, colStride: Int) {
            self.init(m: m, k: k)
            Self.pack(m: m, k: k, a: a, rowStride: rowStride, into: data, colStride: colStride)
        }

        /// Packs the m x k matrix whose element (i, p) is at a[i * rowStride + p * colStride] into
        /// `count(m:k:)` floats at `out`, padding and slack zeroed.
        public static func pack(m: Int, k: Int, a: UnsafePointer<Float>, rowStride: Int, into out: UnsafeMutablePointer<Float>,
                                colStride: Int = 1) {
            let panels = (m + SGEMM.mr - 1) / SGEMM.mr
            for panel in 0 ..< panels {
                let packed = out + panel * SGEMM.mr * k
                let rows = min(SGEMM.mr, m - panel * SGEMM.mr)
                if rows < SGEMM.mr { packed.initialize(repeating: 0, count: SGEMM.mr * k) }
                for r in 0 ..< rows {
                    let row = a + (panel * SGEMM.mr + r) * rowStride
                    for p in 0 ..< k { packed[p * SGEMM.mr + r] = row[p * colStride] }
                }
            }
            (out + panels * SGEMM.mr * k).initialize(repeating: 0, count: 8)
        }

        /// Where element (i, p) is stored.
        @inline(__always) func index(row i: Int, column p: Int) -> Int {
            (i / SGEMM.mr) * SGEMM.mr * k + p * SGEMM.mr + i % SGEMM.mr
        }
    }

    /// What happens to each output element as it is stored.
    public struct Epilogue {
        public var bias: UnsafePointer<Float>?
        /// Added element-wise; same layout as C.
        public var residual: UnsafePointer<Float>?
        public var activation: KernelActivation
        public init(bias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil, activation: KernelActivation = .none) {
            self.bias = bias
            self.residual = residual
            self.activation = activation
        }
    }

    /// Columns of B packed at once: up to 64 KiB of panels (L2-resident), so that each row tile then
    /// writes a long run of C. Writing C one 16-column panel at a time for every row touches all m
    /// rows of C per panel, more write streams than the prefetchers follow.
    /// Up to `smallN` columns are packed at once whatever k is: then each panel of A (the weights, which
    /// for the 7x7 and 14x14 layers of the mobile nets outgrow L2) is read once per call, not once per
    /// chunk, as long as those columns stay within 256 KiB (half of L2; past that every row tile would
    /// stream B from L3). Larger n keeps the 64 KiB rule, so B stays in cache while every row tile reads it.
    static func chunkColumns(k: Int, n: Int, panel: Int = panelWidth) -> Int {
        n <= smallN ? max(panel, min(n, 65536 / max(k, 1) / panel * panel)) : max(panel, min(512, 16384 / max(k, 1) / panel * panel))
    }
    static let smallN = 256
    /// Up to this many rows of C (and from this k, below which packing is cheap next to the loads it
    /// saves), B is read in place rather than packed (see `multiply`). Measured on MobileNetV2's
    /// projections: k = 144, m = 24 at 56x56 went from 282 to 247 µs; m = 16, k = 32 at 112x112 got
    /// slower (230 to 263 µs), hence the k bound. Since the next chunk of B is prefetched, up to
    /// `directSmallRows` rows read B in place at any k: with three row panels a packed panel serves too few
    /// tiles to repay its copy (that 16-row projection 0.160-0.163 to 0.136-0.156 ms; MobileNetV2 and
    /// EfficientNet-B0, which open with it, 0.2-0.4% faster in one process).
    static let directRows = 48, directMinK = 64, directSmallRows = 18

    /// Whether `multiply` packs B for a GEMM of `rows` rows of C (all of A's) and this k, rather than
    /// reading it in place.
    public static func packsB(rows: Int, k: Int) -> Bool { !(rows <= directRows && (k >= directMinK || rows <= directSmallRows)) }

    /// Floats of scratch `multiply` needs for a given k and at most n columns of C per call (the packed
    /// B chunk, rounded up to whole panels, with room for a narrow last panel, plus an edge tile). A
    /// chunk is never wider than the columns a call covers, so small planes need little: ResNet-50's
    /// 512@7x7 layers (k = 4608, 49 columns, two panels) 2.4 rather than 5.9 MB a thread.
    /// Rounded up to whole 4 KiB pages and one page more, so that the threads' scratch, laid out one
    /// after another, never meet: sized tightly without the gap, SqueezeNet at two threads in the far
    /// state was 3% slower (`ab.py`, 18 rounds); with it, even (27 rounds).
    public static func scratchCount(k: Int, n: Int = Int.max) -> Int {
        let widest = max(smallN, chunkColumns(k: k, n: Int.max))
        let columns = n >= widest ? widest : (n + panelWidth - 1) / panelWidth * panelWidth
        let floats = k * (columns + 2 * panelWidth) + mr * panelWidth
        return (floats + 1023) / 1024 * 1024 + 1024
    }

    /// C (m x n, element (i, j) at c[i * ldc + j]) = A B with B's element (p, j) at b[p * ldb + j].
    /// Columns `columns` and rows `rows` of C only (for splitting work across threads).
    /// With `packedB` (all of B's panels, from `packPanels`), B is read from there and nothing is packed.
    public static func multiply(_ a: PackedA, b: UnsafePointer<Float>, ldb: Int, n: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue,
                                scratch: UnsafeMutablePointer<Float>, columns: Range<Int>? = nil, rows: Range<Int>? = nil,
                                packedB: UnsafePointer<Float>? = nil) {
        // Rows start on a panel of A.
        precondition((rows?.lowerBound ?? 0) % mr == 0, "row ranges must start at a multiple of \(mr)")
        let rows = rows ?? 0 ..< a.m
        // At most 16 columns, every 6x32 tile would be an edge tile (sums through the edge buffer, the
        // epilogue element by element) where one 6x16 tile of SIMD8 is a full one: as fast per multiply
        // on Zen 4, whose 512-bit FMAs are two 256-bit halves. Winograd's GEMMs on 7x7 planes (16 tiles):
        // ResNet-50's 512@7 3x3 layer alone 2.66 to 1.95 ms, the network about 2% faster at one and two
        // threads (in one process, alternating run by run). Up to 63 columns everywhere made MobileNetV2
        // 1.6% slower (its 7x7 pointwise layers, 49 columns).
        let count = columns?.count ?? n
        if wideTiles && (packedB != nil || count > 16) {
            multiply(a, b, ldb, n, c, ldc, epilogue, scratch, columns, rows, packedB, SIMD16<Float>.self)
        } else {
            multiply(a, b, ldb, n, c, ldc, epilogue, scratch, columns, rows, packedB, SIMD8<Float>.self)
        }
    }

    /// One specialised copy of the loops per common activation: the epilogue then needs no switch and no
    /// spill of the twelve accumulators around it.
    static func multiply<V: TileVector>(_ a: PackedA, _ b: UnsafePointer<Float>, _ ldb: Int, _ n: Int,
                                        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ epilogue: Epilogue,
                                        _ scratch: UnsafeMutablePointer<Float>, _ columns: Range<Int>?, _ rows: Range<Int>,
                                        _ packedB: UnsafePointer<Float>?, _ vector: V.Type) {
        switch epilogue.activation {
        case .none: multiply(a, b, ldb, n, c, ldc, epilogue, scratch, columns, rows, packedB, vector, NoActivation())
        case .relu: multiply(a, b, ldb, n, c, ldc, epilogue, scratch, columns, rows, packedB, vector, ReluActivation())
        case .clip(let lo, let hi):
            multiply(a, b, ldb, n, c, ldc, epilogue, scratch, columns, rows, packedB, vector,
                     ClipActivation(lo: lo, hi: hi))
        case .silu: multiply(a, b, ldb, n, c, ldc, epilogue, scratch, columns, rows, packedB, vector, SiluActivation())
        case .hardSwish: multiply(a, b, ldb, n, c, ldc, epilogue, scratch, columns, rows, packedB, vector, HardSwishActivation())
        default: multiply(a, b, ldb, n, c, ldc, epilogue, scratch, columns, rows, packedB, vector, AnyActivation(activation: epilogue.activation))
        }
    }

    static func multiply<V: TileVector, Act: TileActivation>(_ a: PackedA, _ b: UnsafePointer<Float>, _ ldb: Int, _ n: Int,
                                                             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ epilogue: Epilogue,
                                                             _ scratch: UnsafeMutablePointer<Float>, _ columns: Range<Int>?,
                                                             _ rows: Range<Int>, _ packedB: UnsafePointer<Float>?, _: V.Type,
                                                             _ act: Act) {
        let k = a.k
        // The panel width: two vectors.
        let nr = 2 * V.lanes
        var columns = columns ?? 0 ..< n
        // With few rows each panel of B would serve only a few row tiles, too few to repay copying it:
        // full-width tiles then read B where it is, a panel's width of floats per step (only edge panels,
        // which need zero padding, are packed).
        let direct = packedB == nil && !packsB(rows: rows.count, k: k)
        // Full tiles apply the whole epilogue in registers before their one store when the activation
        // allows (a second pass over the strip cost 5-9% on MobileNets' pointwise layers); otherwise they
        // store the sums and the strip is finished in one pass while it is in L1.
        let inRegisters = Act.inRegisters
        // Two or three panels of rows at a time where B is read in place (see `TallTiles.swift`); the
        // last few columns, fewer than a vector, as below.
        if V.lanes == 16, usesTallTiles(rows: rows.count, direct: direct, activationInRegisters: inRegisters) {
            let tall = columns.count / 16 * 16
            tallTiles(a, b, ldb, c, ldc, epilogue, rows: rows, columns: columns.lowerBound ..< columns.lowerBound + tall, act)
            columns = columns.lowerBound + tall ..< columns.upperBound
            if columns.isEmpty { return }
        }
        // Equal chunks (in whole panels) so that no chunk is a sliver that re-reads all of A.
        let maxChunk = chunkColumns(k: k, n: columns.count, panel: nr)
        let chunks = (columns.count + maxChunk - 1) / maxChunk
        let chunk = ((columns.count + chunks - 1) / max(chunks, 1) + nr - 1) / nr * nr
        // After the chunk's panels, and the narrow panel a chunk may take on (see below).
        let edge = scratch + k * (chunk + nr)
        let bias = epilogue.bias, residual = epilogue.residual
        var start = columns.lowerBound
        while start < columns.upperBound {
            var end = min(columns.upperBound, start + chunk)
            // A last panel narrower than a full one joins the chunk before it rather than making a chunk
            // of its own, for which every row tile would read its panel of A again. With ResNet-50's
            // 3x3 stride-2 layer on 7x7 (49 = 3 * 16 + 1 columns, k = 4608, 9.4 MB of A, chunks of 16
            // columns) A was read four times; a 7% faster layer at one thread, measured in one process.
            if columns.upperBound - end < nr { end = columns.upperBound }
            // This chunk's panels: packed by the caller, or here.
            let panels: UnsafeMutablePointer<Float>
            if let packedB {
                panels = UnsafeMutablePointer(mutating: packedB) + start * k
            } else {
                panels = scratch
                for j0 in stride(from: start, to: end, by: nr) where !direct || end - j0 < nr {
                    packB(b + j0, ldb: ldb, k: k, width: min(nr, end - j0), into: panels + (j0 - start) * k, V.self)
                }
            }
            var j0 = start
            var i0 = rows.lowerBound
            while i0 < rows.upperBound {
                let height = min(mr, rows.upperBound - i0)
                let ap = a.data + (i0 / mr) * mr * k
                j0 = start
                while j0 < end {
                    let width = min(nr, end - j0)
                    let panel = panels + (j0 - start) * k
                    if width == nr {
                        // Full width: rows past `height` are computed on A's zero padding and not stored.
                        let bp = direct ? b + j0 : UnsafePointer(panel), bStride = direct ? ldb : nr
                        // Read in place, B's k rows are more streams than the hardware prefetcher follows: the
                        // first row tile fetches the next chunk's lines at its column (SqueezeNet's 128->16
                        // squeeze at 55x55: 7% faster; prefetching while packing was slower).
                        var ahead: Prefetch? = direct && i0 == rows.lowerBound && end + nr <= columns.upperBound
                            ? (b + j0 + chunk, bStride) : nil
                        // Otherwise a row panel's first tile fetches the next panel of A: in a whole network the
                        // weights come from L3 or memory, and each panel's first tile waited on them (in one
                        // process, alternating run by run: MobileNetV2 2.8%, ResNet-50 3.6%, EfficientNet-B0
                        // 2.7%, SqueezeNet 1.8% faster at one thread).
                        if ahead == nil && j0 == start && i0 + mr < rows.upperBound {
                            ahead = (UnsafePointer(ap + mr * k), mr)
                        }
                        if inRegisters {
                            tile(k: k, a: ap, b: bp, bStride: bStride, c: c + i0 * ldc + j0, ldc: ldc, height: height, bias: bias.map { $0 + i0 },
                                 residual: residual.map { $0 + i0 * ldc + j0 }, prefetch: ahead, V.self, act)
                        } else {
                            tile(k: k, a: ap, b: bp, bStride: bStride, c: c + i0 * ldc + j0, ldc: ldc, height: height, bias: nil, residual: nil,
                                 prefetch: ahead, V.self, NoActivation())
                        }
                    } else {
                        edgeTile(k: k, a: ap, b: panel, c: c, ldc: ldc, i0: i0, j0: j0, height: height, width: width,
                                 epilogue: epilogue, edge: edge, V.self, act)
                    }
                    j0 += nr
                }
                // Otherwise the epilogue once over the strip's full tiles (12 KiB at most, still in L1).
                if !inRegisters {
                    finishTile(c: c + i0 * ldc + start, ldc: ldc, rows: i0, epilogue: epilogue, residualOffset: i0 * ldc + start, ldr: ldc,
                               height: height, columns: (end - start) / nr * nr, act)
                }
                i0 += mr
            }
            start = end
        }
    }

    /// A tile narrower than a panel: its sums computed into `edge` (rows a panel's width apart) in pieces
    /// that skip most of the panel's zero padding, then the epilogue on the valid columns. The pieces
    /// (`edgePiece`): one vector per row while more than nine columns remain, then a vector of eight, and
    /// a last single column as a matrix-vector product (a sixth of a 6x8 tile's multiplies).
    /// 7x7 planes end in 17 columns (49 = 32 + 17): a vector of 16 and a column cost 7 multiplies per step
    /// of k, a whole 6x32 tile 12.
    static func edgeTile<V: TileVector, Act: TileActivation>(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                                             c: UnsafeMutablePointer<Float>, ldc: Int, i0: Int, j0: Int, height: Int,
                                                             width: Int, epilogue: Epilogue, edge: UnsafeMutablePointer<Float>,
                                                             _: V.Type, _ act: Act) {
        let nr = 2 * V.lanes
        var j = 0
        while j < width {
            // Each piece reads its own sub-panel of the packed edge, `piece` floats a step (see `packB`).
            let piece = edgePiece(rest: width - j, V.self)
            let sub = b + k * j
            if piece == 1 {
                columnSums(k: k, a: a, b: sub, bStride: 1, into: edge + j, rowStride: nr)
            } else if piece == 8 {
                storeVectorSums(k: k, a: a, b: sub, bStride: 8, into: edge + j, rowStride: nr, SIMD8<Float>.self)
            } else {
                storeVectorSums(k: k, a: a, b: sub, bStride: V.lanes, into: edge + j, rowStride: nr, V.self)
            }
            j += piece
        }
        // The epilogue in vectors of eight, the activation inlined (`Act`) as in full tiles; the last one to
        // seven columns as one more vector (the edge's rows have room for it), stored lane by lane. Element
        // by element, with a call per row to apply the activation, it was a third of SqueezeNet's edge
        // time, whose GEMMs all end in edges (its 55x55, 27x27 and 13x13 planes, and its Winograd tile
        // counts 196 and 49): SqueezeNet 1.4-1.9% faster at one thread, 1.1% at two (in one process,
        // alternating run by run); MobileNetV2, EfficientNet-B0 and GhostNet even.
        for r in 0 ..< height {
            let row = c + (i0 + r) * ldc + j0, sums = UnsafePointer(edge + r * nr)
            let bias = SIMD8<Float>(repeating: epilogue.bias?[i0 + r] ?? 0)
            let residual = epilogue.residual.map { $0 + (i0 + r) * ldc + j0 }
            var j = 0
            while j + 8 <= width {
                var v = load(sums + j) + bias
                if let residual { v += load(residual + j) }
                store(row + j, act(v))
                j += 8
            }
            if j < width {
                var v = load(sums + j) + bias
                if let residual {
                    var tail = SIMD8<Float>()
                    for q in 0 ..< width - j { tail[q] = residual[j + q] }
                    v += tail
                }
                v = act(v)
                for q in 0 ..< width - j { row[j + q] = v[q] }
            }
        }
    }

    /// The width of the next piece of an edge panel with `rest` columns left: one vector while more than
    /// nine remain, then eight (nine columns, 13x13 planes' 169 = 5 * 32 + 9, as eight and one rather
    /// than a vector of sixteen), then a single column.
    @inline(__always)
    static func edgePiece<V: TileVector>(rest: Int, _: V.Type) -> Int { rest == 1 ? 1 : rest <= 9 ? 8 : V.lanes }

    /// edge[r * rowStride] = sum over p of A[r, p] b[p * bStride] for the six rows of a panel of A and a
    /// column of B. Each step reads the panel's six values as eight (the next step's first two, or
    /// PackedA's slack, fill the unused lanes); eight sums break the FMA latency chain, whose loads
    /// leave room for more than four (with four, SqueezeNet and MobileNetV2 were 0.4-0.8% slower).
    static func columnSums(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, bStride: Int,
                           into edge: UnsafeMutablePointer<Float>, rowStride: Int) {
        /// `sum` plus step p's six values of A times B's value.
        @inline(__always) func plus(_ sum: SIMD8<Float>, _ p: Int) -> SIMD8<Float> {
            sum.addingProduct(load(a + p * mr), SIMD8(repeating: b[p * bStride]))
        }
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var s4 = SIMD8<Float>(), s5 = SIMD8<Float>(), s6 = SIMD8<Float>(), s7 = SIMD8<Float>()
        var p = 0
        while p + 8 <= k {
            (s0, s1, s2, s3) = (plus(s0, p), plus(s1, p + 1), plus(s2, p + 2), plus(s3, p + 3))
            (s4, s5, s6, s7) = (plus(s4, p + 4), plus(s5, p + 5), plus(s6, p + 6), plus(s7, p + 7))
            p += 8
        }
        (s0, s1, s2, s3) = (s0 + s4, s1 + s5, s2 + s6, s3 + s7)
        while p + 4 <= k {
            (s0, s1, s2, s3) = (plus(s0, p), plus(s1, p + 1), plus(s2, p + 2), plus(s3, p + 3))
            p += 4
        }
        while p < k {
            s0 = plus(s0, p)
            p += 1
        }
        let sums = (s0 + s1) + (s2 + s3)
        for r in 0 ..< mr { edge[r * rowStride] = sums[r] }
    }

    /// Floats `packPanels` writes for all of a k x n B.
    public static func packedCount(k: Int, n: Int) -> Int { k * ((n + panelWidth - 1) / panelWidth * panelWidth) }

    /// Packs B's `panelWidth`-column panels `panels` (of an n-column B, the last one possibly narrower)
    /// into `into`, panel p at into + p * panelWidth * k, as `multiply` packs them: for
    /// `multiply(packedB:)`, so that threads splitting C's rows share one packed B instead of each
    /// packing all of it.
    public static func packPanels(_ b: UnsafePointer<Float>, ldb: Int, n: Int, k: Int, panels: Range<Int>, into: UnsafeMutablePointer<Float>) {
        let nr = panelWidth
        for p in panels {
            let width = min(nr, n - p * nr)
            if wideTiles {
                packB(b + p * nr, ldb: ldb, k: k, width: width, into: into + p * nr * k, SIMD16<Float>.self)
            } else {
                packB(b + p * nr, ldb: ldb, k: k, width: width, into: into + p * nr * k, SIMD8<Float>.self)
            }
        }
    }

    /// Copies a k x width block of B into a k-major panel of two vectors' columns; a narrower one (an
    /// edge) into one k-major sub-panel per piece of `edgeTile`, zero-padded (a single column: k
    /// consecutive floats).
    @inline(__always)
    static func packB<V: TileVector>(_ b: UnsafePointer<Float>, ldb: Int, k: Int, width: Int, into panel: UnsafeMutablePointer<Float>, _: V.Type) {
        let nr = 2 * V.lanes
        if width == nr {
            for p in 0 ..< k {
                let src = b + p * ldb, dst = panel + p * nr
                V.load(src).store(dst)
                V.load(src + V.lanes).store(dst + V.lanes)
            }
        } else {
            // An edge panel: the pieces `edgeTile` computes it in, each packed apart as k rows of its own
            // width, zero-padded, so every piece reads contiguous floats. (Packed a panel's width apart, a
            // last single column took a cache line per value: 960 lines a row tile for MobileNetV2's
            // 960->160 at 7x7; this way MobileNetV2 and EfficientNet-B0 0.4-0.6% faster.)
            var j = 0
            while j < width {
                let piece = edgePiece(rest: width - j, V.self)
                let sub = panel + k * j
                for p in 0 ..< k {
                    let src = b + p * ldb + j, dst = sub + p * piece
                    for q in 0 ..< piece { dst[q] = j + q < width ? src[q] : 0 }
                }
                j += piece
            }
        }
    }

    /// What a tile prefetches as it runs: a line at `from` on its first step of k, `stride` floats further
    /// on each next one.
    typealias Prefetch = (from: UnsafePointer<Float>, stride: Int)

    /// The 6-row micro-kernel (two vectors V per row) with the epilogue in registers: sums start from
    /// the rows' bias, and each row gets its residual row and the activation as it is stored. With
    /// `prefetch`, each step of k also prefetches a line (see `Prefetch`). Transparent, so it is always
    /// inlined: with `@inline(__always)` the compiler still left the copies for some activations out of
    /// line, a call per tile (`scripts/check-inlining.sh` checks).
    @_transparent
    static func tile<V: TileVector, Act: TileActivation>(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, bStride: Int,
                                                         c: UnsafeMutablePointer<Float>, ldc: Int, height: Int, bias: UnsafePointer<Float>?,
                                                         residual: UnsafePointer<Float>?, prefetch: Prefetch? = nil,
                                                         _: V.Type, _ act: Act) {
        var sums: TileSums<V> = startingSums(bias: bias, height: height)
        // The residual's lines, which the store reads after the k loop: six rows a plane apart, which the
        // hardware prefetchers do not fetch ahead (ResNet-50 at one thread 1.3-2.3% faster in three runs,
        // in one process alternating run by run; even at two threads; on the Zen 4 VM with AVX-512 a
        // single layer had shown no change).
        if let residual {
            var r = residual
            for _ in 0 ..< height {
                onyx_prefetch(r)
                onyx_prefetch(r + 2 * V.lanes - 1)
                r += ldc
            }
        }
        if height > 4, let prefetch {
            var ap = a, bp = b, pp = prefetch.from
            for _ in 0 ..< k {
                onyx_prefetch(pp)
                accumulate(&sums, ap, V.load(bp), V.load(bp + V.lanes))
                ap += mr
                bp += bStride
                pp += prefetch.stride
            }
        } else {
            sums = tileSums(k: k, a: a, b: b, bStride: bStride, height: height, from: sums)
        }
        storeTile(sums, c: c, ldc: ldc, height: height, residual: residual, act)
    }

    /// The tile's loop: `start` plus, for each of k steps, A's six values (a panel, `mr` floats a step)
    /// times B's two vectors (`bStride` floats a step). Also the blocked pointwise kernel's, whose A is
    /// six pixels and whose B is a panel of weights.
    @inline(__always)
    static func tileSums<V: TileVector>(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, bStride: Int, height: Int,
                                        from start: TileSums<V>) -> TileSums<V> {
        var sums = start
        var ap = a, bp = b
        if height <= 4 {
            // A last panel of at most four rows (16 output channels: 6 + 6 + 4) skips the FMAs of A's
            // padding rows: 3-5% on MobileNet's and SqueezeNet's 16-channel layers.
            for _ in 0 ..< k {
                accumulate4(&sums, ap, V.load(bp), V.load(bp + V.lanes))
                ap += mr
                bp += bStride
            }
        } else {
            for _ in 0 ..< k {
                accumulate(&sums, ap, V.load(bp), V.load(bp + V.lanes))
                ap += mr
                bp += bStride
            }
        }
        return sums
    }

    /// The sums of a 6-row tile of two vectors per row: row r's two halves are elements 2r and 2r + 1.
    typealias TileSums<V: TileVector> = (V, V, V, V, V, V, V, V, V, V, V, V)
    /// The 6x16 tile's (the implicit GEMM's and the blocked pointwise kernel's).
    typealias Accumulators = TileSums<SIMD8<Float>>
    static var zeroAccumulators: Accumulators { zeroSums() }
    @inline(__always) static func zeroSums<V: TileVector>() -> TileSums<V> {
        let z = V()
        return (z, z, z, z, z, z, z, z, z, z, z, z)
    }

    /// Sums that start from the bias of each of the tile's `height` rows (zero without one, and past them).
    @inline(__always)
    static func startingSums<V: TileVector>(bias: UnsafePointer<Float>?, height: Int) -> TileSums<V> {
        guard let bias else { return zeroSums() }
        @inline(__always) func row(_ r: Int) -> V { V(repeating: r < height ? bias[r] : 0) }
        let (r0, r1, r2, r3, r4, r5) = (row(0), row(1), row(2), row(3), row(4), row(5))
        return (r0, r0, r1, r1, r2, r2, r3, r3, r4, r4, r5, r5)
    }

    /// One step of k: row r of the sums += A[r, p] * (b0, b1), for the six values of A's panel at `a`.
    @inline(__always)
    static func accumulate<V: TileVector>(_ s: inout TileSums<V>, _ a: UnsafePointer<Float>, _ b0: V, _ b1: V) {
        accumulate4(&s, a, b0, b1)
        var x = V(repeating: a[4])
        s.8 = s.8.addingProduct(x, b0); s.9 = s.9.addingProduct(x, b1)
        x = V(repeating: a[5])
        s.10 = s.10.addingProduct(x, b0); s.11 = s.11.addingProduct(x, b1)
    }

    /// One step of k for the first four rows only (a panel's last rows may be A's zero padding).
    @inline(__always)
    static func accumulate4<V: TileVector>(_ s: inout TileSums<V>, _ a: UnsafePointer<Float>, _ b0: V, _ b1: V) {
        var x = V(repeating: a[0])
        s.0 = s.0.addingProduct(x, b0); s.1 = s.1.addingProduct(x, b1)
        x = V(repeating: a[1])
        s.2 = s.2.addingProduct(x, b0); s.3 = s.3.addingProduct(x, b1)
        x = V(repeating: a[2])
        s.4 = s.4.addingProduct(x, b0); s.5 = s.5.addingProduct(x, b1)
        x = V(repeating: a[3])
        s.6 = s.6.addingProduct(x, b0); s.7 = s.7.addingProduct(x, b1)
    }

    /// Stores the first `height` rows of a tile's sums.
    @_transparent
    static func storeTile<V: TileVector, Act: TileActivation>(_ s: TileSums<V>, c: UnsafeMutablePointer<Float>, ldc: Int, height: Int,
                                                               residual: UnsafePointer<Float>? = nil, _ act: Act) {
        storeRow(c, residual, s.0, s.1, act)
        if height > 1 { storeRow(c + ldc, residual?.advanced(by: ldc), s.2, s.3, act) }
        if height > 2 { storeRow(c + 2 * ldc, residual?.advanced(by: 2 * ldc), s.4, s.5, act) }
        if height > 3 { storeRow(c + 3 * ldc, residual?.advanced(by: 3 * ldc), s.6, s.7, act) }
        if height > 4 { storeRow(c + 4 * ldc, residual?.advanced(by: 4 * ldc), s.8, s.9, act) }
        if height > 5 { storeRow(c + 5 * ldc, residual?.advanced(by: 5 * ldc), s.10, s.11, act) }
    }

    /// One row of a tile: two vectors of sums, plus the residual's row if any, through the activation.
    /// (Transparent, like `tile`: left to the inliner, it stayed out of line and the sums went through
    /// memory.)
    @_transparent
    static func storeRow<V: TileVector, Act: TileActivation>(_ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                                                              _ low: V, _ high: V, _ act: Act) {
        if let residual {
            (low + V.load(residual)).activated(act).store(out)
            (high + V.load(residual + V.lanes)).activated(act).store(out + V.lanes)
        } else {
            low.activated(act).store(out)
            high.activated(act).store(out + V.lanes)
        }
    }

    /// The epilogue on stored sums, `columns` (a multiple of 8) of each of `height` rows, while they are
    /// in L1: bias (row `rows + r`), residual, activation. (Applied to the accumulators instead, through a
    /// helper taking them as arguments, it was left out of line by the compiler, and a call per row
    /// cost more than the row's FMAs when k is small.)
    @inline(__always)
    static func finishTile<Act: TileActivation>(c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, epilogue: Epilogue, residualOffset: Int,
                                                ldr: Int, height: Int, columns: Int, _ act: Act) {
        // Code left generic over the activation (AnyActivation: the implicit GEMM at stride 2, edge
        // tiles) switches here once per call to a loop specialised for the common ones, instead of once
        // per vector (SqueezeNet's first convolution alone, 3->64 at stride 2 with ReLU: 1.06 to 0.87 ms).
        if Act.self == AnyActivation.self, let any = act as? AnyActivation {
            @inline(__always) func finish<Specific: TileActivation>(_ specific: Specific) {
                finishTile(c: c, ldc: ldc, rows: rows, epilogue: epilogue, residualOffset: residualOffset, ldr: ldr, height: height,
                           columns: columns, specific)
            }
            switch any.activation {
            case .none: return finish(NoActivation())
            case .relu: return finish(ReluActivation())
            case .clip(let lo, let hi): return finish(ClipActivation(lo: lo, hi: hi))
            case .silu: return finish(SiluActivation())
            case .hardSwish: return finish(HardSwishActivation())
            default: break
            }
        }
        // 16 lanes where they are single instructions: SiLU's sigmoid is a quarter faster per float (see
        // `FastMath.sigmoid`); the others are the same either way.
        let wide = wideTiles ? columns / 16 * 16 : 0
        for r in 0 ..< height {
            let out = c + r * ldc
            let bias = epilogue.bias?[rows + r] ?? 0
            let residual = epilogue.residual.map { $0 + residualOffset + r * ldr }
            finishRow(out, 0 ..< wide, bias, residual, act, SIMD16<Float>.self)
            finishRow(out, wide ..< columns, bias, residual, act, SIMD8<Float>.self)
        }
    }

    /// Columns `columns` of one row (a multiple of V's lanes): bias, residual, activation.
    @inline(__always)
    static func finishRow<V: TileVector, Act: TileActivation>(_ out: UnsafeMutablePointer<Float>, _ columns: Range<Int>, _ bias: Float,
                                                              _ residual: UnsafePointer<Float>?, _ act: Act, _: V.Type) {
        let s = V(repeating: bias)
        var j = columns.lowerBound
        while j < columns.upperBound {
            var v = V.load(out + j) + s
            if let residual { v = v + V.load(residual + j) }
            v.activated(act).store(out + j)
            j += V.lanes
        }
    }

    /// The loop of a 6-row tile of one vector per row: `start` plus, for each of k steps, A's six values
    /// times B's vector (`bStride` floats a step).
    @inline(__always)
    static func vectorSums<V: TileVector>(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, bStride: Int,
                                          from start: HalfSums<V>) -> HalfSums<V> {
        var sums = start
        var ap = a, bp = b
        for _ in 0 ..< k {
            accumulate8(&sums, ap, V.load(bp))
            ap += mr
            bp += bStride
        }
        return sums
    }

    /// `vectorSums` from zero, row r stored at `into + r * rowStride`.
    @inline(__always)
    static func storeVectorSums<V: TileVector>(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, bStride: Int,
                                               into c: UnsafeMutablePointer<Float>, rowStride: Int, _: V.Type) {
        let sums: HalfSums<V> = vectorSums(k: k, a: a, b: b, bStride: bStride, from: zeroHalfSums())
        sums.0.store(c); sums.1.store(c + rowStride); sums.2.store(c + 2 * rowStride)
        sums.3.store(c + 3 * rowStride); sums.4.store(c + 4 * rowStride); sums.5.store(c + 5 * rowStride)
    }

    /// The sums of a 6-row tile of one vector per row.
    typealias HalfSums<V: TileVector> = (V, V, V, V, V, V)
    /// The 6x8 tile's.
    typealias HalfAccumulators = HalfSums<SIMD8<Float>>
    static var zeroHalfAccumulators: HalfAccumulators { zeroHalfSums() }
    @inline(__always) static func zeroHalfSums<V: TileVector>() -> HalfSums<V> {
        let z = V()
        return (z, z, z, z, z, z)
    }

    /// One step of k for the tile of one vector per row: row r of the sums += A[r, p] * b0.
    @inline(__always)
    static func accumulate8<V: TileVector>(_ s: inout HalfSums<V>, _ a: UnsafePointer<Float>, _ b0: V) {
        s.0 = s.0.addingProduct(V(repeating: a[0]), b0); s.1 = s.1.addingProduct(V(repeating: a[1]), b0)
        s.2 = s.2.addingProduct(V(repeating: a[2]), b0); s.3 = s.3.addingProduct(V(repeating: a[3]), b0)
        s.4 = s.4.addingProduct(V(repeating: a[4]), b0); s.5 = s.5.addingProduct(V(repeating: a[5]), b0)
    }
}

/// The activation of a GEMM epilogue as a type, so that `multiply` is specialised for it.
protocol TileActivation {
    func callAsFunction(_ v: SIMD8<Float>) -> SIMD8<Float>
    /// For the wide tile (`TileVector`); by default the two halves apart.
    func callAsFunction(_ v: SIMD16<Float>) -> SIMD16<Float>
    /// Whether the GEMM tile applies it to its twelve accumulators before storing them. Not SiLU: on the
    /// 6x16 tile its sigmoid's temporaries spilled the accumulators (EfficientNet-B0 2% slower), and on
    /// the 6x32 tile with the 16-lane sigmoid it was no faster than the pass over the stored strip; not
    /// AnyActivation, which would switch on the activation once per vector.
    static var inRegisters: Bool { get }
}
extension TileActivation {
    static var inRegisters: Bool { true }
    @inline(__always) func callAsFunction(_ v: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: self(v.lowHalf), highHalf: self(v.highHalf))
    }
}
struct NoActivation: TileActivation {
    @inline(__always) func callAsFunction(_ v: SIMD8<Float>) -> SIMD8<Float> { v }
    @inline(__always) func callAsFunction(_ v: SIMD16<Float>) -> SIMD16<Float> { v }
}
struct ReluActivation: TileActivation {
    @inline(__always) func callAsFunction(_ v: SIMD8<Float>) -> SIMD8<Float> { vmax(v, SIMD8(repeating: 0)) }
    @inline(__always) func callAsFunction(_ v: SIMD16<Float>) -> SIMD16<Float> { vmax(v, SIMD16(repeating: 0)) }
}
struct ClipActivation: TileActivation {
    var lo: Float, hi: Float
    @inline(__always) func callAsFunction(_ v: SIMD8<Float>) -> SIMD8<Float> { vmin(vmax(v, SIMD8(repeating: lo)), SIMD8(repeating: hi)) }
    @inline(__always) func callAsFunction(_ v: SIMD16<Float>) -> SIMD16<Float> { vmin(vmax(v, SIMD16(repeating: lo)), SIMD16(repeating: hi)) }
}
struct SiluActivation: TileActivation {
    static var inRegisters: Bool { false }
    @inline(__always) func callAsFunction(_ v: SIMD8<Float>) -> SIMD8<Float> { v * FastMath.sigmoid(v) }
    @inline(__always) func callAsFunction(_ v: SIMD16<Float>) -> SIMD16<Float> { v * FastMath.sigmoid(v) }
}
struct HardSwishActivation: TileActivation {
    @inline(__always) func callAsFunction(_ v: SIMD8<Float>) -> SIMD8<Float> { v * KernelActivation.unitClamp(v * (1.0 / 6) + 0.5) }
    @inline(__always) func callAsFunction(_ v: SIMD16<Float>) -> SIMD16<Float> {
        v * vmin(vmax(v * (1.0 / 6) + 0.5, SIMD16(repeating: 0)), SIMD16(repeating: 1))
    }
}
struct AnyActivation: TileActivation {
    static var inRegisters: Bool { false }
    var activation: KernelActivation
    @inline(__always) func callAsFunction(_ v: SIMD8<Float>) -> SIMD8<Float> { activation.vector(v) }
}
