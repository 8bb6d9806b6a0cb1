import CPUHints

/// Tall tiles for GEMMs of few rows that read B in place (the pointwise projections and squeezes:
/// 12 to 48 output channels over thousands of pixels): two or three panels of A (12 or 18 rows) by
/// one 16-float vector of B's columns, in up to 18 of AVX-512's 32 registers. Each step of k loads
/// one vector of B for up to 18 multiply-adds, and B is read once per two or three panels, where the
/// 6x32 tiles read each chunk of it once per panel (the first time from L3). Alone, MobileNetV2's 32->16
/// at 112x112 0.137 to 0.118 ms, SqueezeNet's 64->16 at 55x55 0.072 to 0.057 (per step). Whole networks,
/// in one process, alternating run by run: at one thread MobileNetV2 0.8-2.4% faster, SqueezeNet and
/// MobileNetV3-Large 0.8-1.0%, EfficientNet-B0 0-0.4%, ShuffleNetV2 and GhostNet even; at two threads
/// MobileNetV2 3% and EfficientNet-B0 2.4% faster, SqueezeNet even.
extension SGEMM {
    /// Up to 18 rows of sums, one vector each.
    typealias TallSums = (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
                          SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
                          SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)

    /// Whether `multiply` on 16-float vectors (the AVX-512 build's) computes rows `rows` of C with tall
    /// tiles: where it reads B in place, the activation is applied in registers and there are at least
    /// two panels.
    static func usesTallTiles(rows: Int, direct: Bool, activationInRegisters: Bool) -> Bool {
        direct && activationInRegisters && rows >= 12
    }

    /// C's rows `rows` (starting on a panel of A) and columns `columns` (a multiple of 16) by tall tiles,
    /// the rows in groups of as even a number of panels as three at most allow (24 rows as 12 and 12, not
    /// 18 and 6), each group's tiles left to right. Epilogue in registers, as `tile`'s.
    static func tallTiles<Act: TileActivation>(_ a: PackedA, _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                                               _ epilogue: Epilogue, rows: Range<Int>, columns: Range<Int>, _ act: Act) {
        let panels = (rows.count + mr - 1) / mr
        let groups = (panels + 2) / 3
        var i0 = rows.lowerBound
        for g in 0 ..< groups {
            let count = (g + 1) * panels / groups - g * panels / groups
            let height = min(count * mr, rows.upperBound - i0)
            let ap = UnsafePointer(a.data + (i0 / mr) * mr * a.k)
            var j = columns.lowerBound
            while j < columns.upperBound {
                let bias = epilogue.bias.map { $0 + i0 }, residual = epilogue.residual.map { $0 + i0 * ldc + j }
                let (bp, cp) = (b + j, c + i0 * ldc + j)
                // Constant panel counts, so that each copy keeps only its accumulators.
                if count == 2 {
                    tallTile(k: a.k, a: ap, panels: 2, lastRows: 6, b: bp, ldb: ldb, c: cp, ldc: ldc, height: height, bias: bias,
                             residual: residual, act)
                } else if height <= 16 {
                    tallTile(k: a.k, a: ap, panels: 3, lastRows: 4, b: bp, ldb: ldb, c: cp, ldc: ldc, height: height, bias: bias,
                             residual: residual, act)
                } else {
                    tallTile(k: a.k, a: ap, panels: 3, lastRows: 6, b: bp, ldb: ldb, c: cp, ldc: ldc, height: height, bias: bias,
                             residual: residual, act)
                }
                j += 16
            }
            i0 += height
        }
    }

    /// `panels` panels of A (the last with `lastRows` rows computed, the rest of it zero padding) times
    /// 16 columns of B read in place, rows `ldb` apart; the first `height` rows stored. Each step of k
    /// prefetches B's row 256 bytes ahead: the k rows are more streams than the hardware follows.
    @_transparent
    static func tallTile<Act: TileActivation>(k: Int, a: UnsafePointer<Float>, panels: Int, lastRows: Int, b: UnsafePointer<Float>,
                                               ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, height: Int,
                                               bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, _ act: Act) {
        @inline(__always) func start(_ r: Int) -> SIMD16<Float> { SIMD16(repeating: r < height ? bias?[r] ?? 0 : 0) }
        var s: TallSums = (start(0), start(1), start(2), start(3), start(4), start(5), start(6), start(7), start(8),
                           start(9), start(10), start(11), start(12), start(13), start(14), start(15), start(16), start(17))
        let panel = mr * k
        var a0 = a, bp = b
        for _ in 0 ..< k {
            onyx_prefetch(bp + 64)
            let v = load16(bp)
            s.0 = s.0.addingProduct(SIMD16(repeating: a0[0]), v); s.1 = s.1.addingProduct(SIMD16(repeating: a0[1]), v)
            s.2 = s.2.addingProduct(SIMD16(repeating: a0[2]), v); s.3 = s.3.addingProduct(SIMD16(repeating: a0[3]), v)
            s.4 = s.4.addingProduct(SIMD16(repeating: a0[4]), v); s.5 = s.5.addingProduct(SIMD16(repeating: a0[5]), v)
            let a1 = a0 + panel
            s.6 = s.6.addingProduct(SIMD16(repeating: a1[0]), v); s.7 = s.7.addingProduct(SIMD16(repeating: a1[1]), v)
            s.8 = s.8.addingProduct(SIMD16(repeating: a1[2]), v); s.9 = s.9.addingProduct(SIMD16(repeating: a1[3]), v)
            s.10 = s.10.addingProduct(SIMD16(repeating: a1[4]), v); s.11 = s.11.addingProduct(SIMD16(repeating: a1[5]), v)
            if panels == 3 {
                let a2 = a1 + panel
                s.12 = s.12.addingProduct(SIMD16(repeating: a2[0]), v); s.13 = s.13.addingProduct(SIMD16(repeating: a2[1]), v)
                s.14 = s.14.addingProduct(SIMD16(repeating: a2[2]), v); s.15 = s.15.addingProduct(SIMD16(repeating: a2[3]), v)
                if lastRows > 4 {
                    s.16 = s.16.addingProduct(SIMD16(repeating: a2[4]), v); s.17 = s.17.addingProduct(SIMD16(repeating: a2[5]), v)
                }
            }
            a0 += mr
            bp += ldb
        }
        storeTallRow(s.0, 0, c, ldc, height, residual, act); storeTallRow(s.1, 1, c, ldc, height, residual, act)
        storeTallRow(s.2, 2, c, ldc, height, residual, act); storeTallRow(s.3, 3, c, ldc, height, residual, act)
        storeTallRow(s.4, 4, c, ldc, height, residual, act); storeTallRow(s.5, 5, c, ldc, height, residual, act)
        storeTallRow(s.6, 6, c, ldc, height, residual, act); storeTallRow(s.7, 7, c, ldc, height, residual, act)
        storeTallRow(s.8, 8, c, ldc, height, residual, act); storeTallRow(s.9, 9, c, ldc, height, residual, act)
        storeTallRow(s.10, 10, c, ldc, height, residual, act); storeTallRow(s.11, 11, c, ldc, height, residual, act)
        storeTallRow(s.12, 12, c, ldc, height, residual, act); storeTallRow(s.13, 13, c, ldc, height, residual, act)
        storeTallRow(s.14, 14, c, ldc, height, residual, act); storeTallRow(s.15, 15, c, ldc, height, residual, act)
        storeTallRow(s.16, 16, c, ldc, height, residual, act); storeTallRow(s.17, 17, c, ldc, height, residual, act)
    }

    /// Row r of a tall tile, if below `height`: plus the residual's row, through the activation. (A
    /// nested function, it stayed out of line for ReLU6 and h-swish, a call per row.)
    @_transparent
    static func storeTallRow<Act: TileActivation>(_ v: SIMD16<Float>, _ r: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ height: Int,
                                                   _ residual: UnsafePointer<Float>?, _ act: Act) {
        guard r < height else { return }
        if let residual {
            store16(c + r * ldc, act(v + load16(residual + r * ldc)))
        } else {
            store16(c + r * ldc, act(v))
        }
    }
}
