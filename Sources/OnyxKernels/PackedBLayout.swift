/// A pointwise convolution's input (k channels of n pixels: the GEMM's B, k x n) laid out as
/// `SGEMM.multiply` packs B: panels of `SGEMM.panelWidth` columns, panel q at q * panelWidth * k, each
/// k-major (row p's columns side by side); the last, narrower panel as `edgeTile`'s pieces, each k-major
/// at its own width, zero past the columns. A depthwise convolution or squeeze-and-excitation block
/// whose only reader is such a GEMM writes its output in this layout (`PackedPairs` in OnyxRuntime),
/// and the GEMM reads it as its packed B instead of packing it: MobileNetV2's projections at 14x14 and
/// 7x7 spent 1.8% of the network's time at one thread (3.5% at two) packing their input.
public struct PackedBLayout: Sendable, Equatable {
    public let k: Int, n: Int
    /// Columns in whole panels; the edge panel's start.
    let fullColumns: Int
    /// The edge panel's pieces, as `SGEMM.edgeTile` computes them: their first column within the panel
    /// and their width (8 or 16 for vectors of columns, or 1).
    let edgePieces: [Piece]

    struct Piece: Sendable, Equatable {
        let start: Int, width: Int
    }

    public init(k: Int, n: Int) {
        (self.k, self.n) = (k, n)
        fullColumns = n / SGEMM.panelWidth * SGEMM.panelWidth
        var pieces: [Piece] = []
        var start = 0
        while start < n - fullColumns {
            let rest = n - fullColumns - start
            let width = SGEMM.wideTiles ? SGEMM.edgePiece(rest: rest, SIMD16<Float>.self) : SGEMM.edgePiece(rest: rest, SIMD8<Float>.self)
            pieces.append(Piece(start: start, width: width))
            start += width
        }
        edgePieces = pieces
    }

    /// Floats the matrix takes (`SGEMM.packedCount`).
    public var count: Int { SGEMM.packedCount(k: k, n: n) }

    /// Where element (p, j) of a full panel (j < `fullColumns`) is.
    @inline(__always) func index(row p: Int, column j: Int) -> Int {
        let width = SGEMM.panelWidth
        return (j / width) * width * k + p * width + j % width
    }

    /// Stores rows `c ..< c + 8` from `pixels`, where pixel (column) j holds the eight rows' values at
    /// pixels[8 j ..< 8 j + 8] and is zero past n, up to the last edge piece's end: the full panels and the edge
    /// pieces eight columns at a time through a transpose, a single-column piece as one vector.
    func storeEightRows(_ c: Int, from pixels: UnsafePointer<Float>, into b: UnsafeMutablePointer<Float>) {
        @inline(__always) func eightColumns(_ j: Int, _ to: UnsafeMutablePointer<Float>, rowStride: Int) {
            let t = Depthwise.transpose8(pixels + j * 8, stride: 8)
            store(to, t.0); store(to + rowStride, t.1); store(to + 2 * rowStride, t.2); store(to + 3 * rowStride, t.3)
            store(to + 4 * rowStride, t.4); store(to + 5 * rowStride, t.5); store(to + 6 * rowStride, t.6); store(to + 7 * rowStride, t.7)
        }
        var j = 0
        while j < fullColumns {
            eightColumns(j, b + index(row: c, column: j), rowStride: SGEMM.panelWidth)
            j += 8
        }
        for piece in edgePieces {
            let first = b + fullColumns * k + piece.start * k
            if piece.width == 1 {
                store(first + c, load(pixels + (fullColumns + piece.start) * 8))
                continue
            }
            for q in stride(from: 0, to: piece.width, by: 8) {
                eightColumns(fullColumns + piece.start + q, first + c * piece.width + q, rowStride: piece.width)
            }
        }
    }

    /// Stores rows `rows`, row p from x[p * n ..< p * n + n] times scales[p]: eight columns at a time,
    /// the edge's last ones one by one, zeros past n.
    func storeRows(_ rows: Range<Int>, from x: UnsafePointer<Float>, scales: UnsafePointer<Float>, into b: UnsafeMutablePointer<Float>) {
        let pieces = edgePieces, edge = b + fullColumns * k
        for p in rows {
            let row = x + p * n, scale = scales[p], s = SIMD8<Float>(repeating: scale)
            var j = 0
            while j < fullColumns {
                store(b + index(row: p, column: j), load(row + j) * s)
                j += 8
            }
            for piece in pieces {
                let to = edge + piece.start * k + p * piece.width
                var q = 0
                while q < piece.width {
                    let column = fullColumns + piece.start + q
                    if piece.width >= 8 && column + 8 <= n {
                        store(to + q, load(row + column) * s)
                        q += 8
                    } else {
                        to[q] = column < n ? row[column] * scale : 0
                        q += 1
                    }
                }
            }
        }
    }
}
