import CPUHints

/// 3x3 stride-1 convolution by Winograd's minimal filtering F(m x m, 3x3), m = 2 or 4: each m x m block
/// of outputs comes from an n x n input tile (n = m + 2) with n² multiplies per input channel instead
/// of 9m², so the GEMM work is 2.25x (m = 2) or 4x (m = 4) smaller than im2col's. With d an input tile
/// and g a 3x3 kernel:
///   U = G g G^T, V = B^T d B, Y = A^T [sum over channels of U ⊙ V] A
/// F(2x2, 3x3):
///   G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
///   B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
///   A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]
/// F(4x4, 3x3) (Lavin and Gray; interpolation points 0, ±1, ±2 and infinity): see `transformInput4`.
/// The channel sum of each of the n² positions ξ of the tile is one GEMM, U_ξ [M x C] times
/// V_ξ [C x tiles]. The transforms run eight tiles at a time (a row of tiles is a row of vectors).
struct Winograd {
    let geometry: Convolution.Geometry
    /// Outputs per tile side (m).
    let outputTile: Int
    /// U_ξ for ξ = 0 ..< n², packed for the GEMM.
    let transformed: [SGEMM.PackedA]

    /// Whether this convolution is one Winograd does better: 3x3, stride 1, no dilation, one group, and
    /// enough channels that the transforms are small next to the GEMMs: at least 32, or 16 on planes of
    /// 48x48 and more (some 144 tiles of F(4x4), see `outputTile`, share each U_ξ). SqueezeNet's 16->64
    /// at 55x55 took 0.55 ms as an implicit GEMM; with F(4x4) the whole network ran 3% faster, with
    /// F(2x2) 2.5% slower (in one process, alternating run by run).
    static func applies(_ g: Convolution.Geometry) -> Bool {
        g.kernelH == 3 && g.kernelW == 3 && g.strideH == 1 && g.strideW == 1 && g.dilationH == 1 && g.dilationW == 1
            && g.groups == 1 && g.outChannels >= 32 && g.outW >= 4 && g.outH >= 4
            && (g.inChannels >= 32 || g.inChannels >= 16 && g.outW >= 48 && g.outH >= 48)
    }

    /// The output tile for a geometry Winograd applies to: 4 on planes of at least 24x24 (ResNet-50's 3x3
    /// layers at 56x56 and 28x28, SqueezeNet's at 55x55 and 27x27), 2 on smaller ones. There the GEMMs,
    /// 44% smaller, outweigh the costlier transforms and the 2.25x larger U. Measured in one process,
    /// alternating run by run (F(4x4) against F(2x2), one thread): 64@56 2.04 against 2.52 ms, 128@28
    /// 2.40 against 2.87; SqueezeNet with its 32->128 at 27x27 so, 1.6% faster (6.49 against 6.39 ms;
    /// slower when F(4x4) came in, in the tenth session). At 256@14 they tie, and on 13x13 planes, where
    /// few tiles share each U_ξ, F(4x4) is 7.5% slower on SqueezeNet (ResNet-50's 14x14 layers: 1.4%).
    static func outputTile(_ g: Convolution.Geometry) -> Int { g.outW >= 24 && g.outH >= 24 ? 4 : 2 }

    /// G's columns, lanes 0 ..< m + 2 (G is (m + 2) x 3):
    ///   F(2x2): G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    ///   F(4x4): G = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6], [1/24, 1/12, 1/6],
    ///               [1/24, -1/12, 1/6], [0, 0, 1]]
    static func kernelTransformColumns(_ m: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        if m == 2 { return (SIMD8(1, 0.5, 0.5, 0, 0, 0, 0, 0), SIMD8(0, 0.5, -0.5, 0, 0, 0, 0, 0), SIMD8(0, 0.5, 0.5, 1, 0, 0, 0, 0)) }
        let (sixth, twelfth, twentyFourth): (Float, Float, Float) = (1.0 / 6, 1.0 / 12, 1.0 / 24)
        return (SIMD8(0.25, -sixth, -sixth, twentyFourth, twentyFourth, 0, 0, 0), SIMD8(0, -sixth, sixth, twelfth, -twelfth, 0, 0, 0),
                SIMD8(0, -sixth, -sixth, sixth, sixth, 1, 0, 0))
    }

    /// - Parameter weights: [M, C, 3, 3].
    init(_ g: Convolution.Geometry, weights: UnsafePointer<Float>, outputTile m: Int = 2) {
        geometry = g
        outputTile = m
        let n = m + 2
        let (outs, c) = (g.outChannels, g.inChannels)
        let packed = (0 ..< n * n).map { _ in SGEMM.PackedA(m: outs, k: c) }
        // U = G k G^T for the six output channels of a packed panel at once, one per lane (lanes 6 and 7
        // are zero): T = G k, then U[r][s] = sum over j of T[r][j] G[s][j]. U[r][s] is U_ξ for
        // ξ = r n + s; every U_ξ has the same packed layout, where a panel's rows for an input channel
        // are adjacent, so each U[r][s] is one vector store. Its two zero lanes land on the next input
        // channel's first rows, written after, or in the slack after the last. (Kernel by kernel, lane
        // by lane, this was a sixth of SqueezeNet's load.)
        @inline(__always) func transformAll(_ n: Int, _ u: UnsafeBufferPointer<UnsafeMutablePointer<Float>>) {
            let (gc, mr) = (Self.kernelTransformColumns(n - 2), SGEMM.mr)
            for panel in 0 ..< (outs + mr - 1) / mr {
                let rows = min(mr, outs - panel * mr)
                for i in 0 ..< c {
                    let first = weights + (panel * mr * c + i) * 9
                    @inline(__always) func taps(_ j: Int) -> SIMD8<Float> {
                        var v = SIMD8<Float>()
                        for lane in 0 ..< rows { v[lane] = first[lane * c * 9 + j] }
                        return v
                    }
                    let k = (taps(0), taps(1), taps(2), taps(3), taps(4), taps(5), taps(6), taps(7), taps(8))
                    let at = packed[0].index(row: panel * mr, column: i)
                    for r in 0 ..< n {
                        let t0 = gc.0[r] * k.0 + gc.1[r] * k.3 + gc.2[r] * k.6
                        let t1 = gc.0[r] * k.1 + gc.1[r] * k.4 + gc.2[r] * k.7
                        let t2 = gc.0[r] * k.2 + gc.1[r] * k.5 + gc.2[r] * k.8
                        for s in 0 ..< n { store(u[r * n + s] + at, t0 * gc.0[s] + t1 * gc.1[s] + t2 * gc.2[s]) }
                    }
                }
            }
        }
        precondition(SGEMM.mr <= 8, "a packed panel's rows fit in one vector")
        packed.map(\.data).withUnsafeBufferPointer { u in if m == 2 { transformAll(4, u) } else { transformAll(6, u) } }
        transformed = packed
    }

    /// Tile positions, n².
    var positions: Int { (outputTile + 2) * (outputTile + 2) }
    var tilesH: Int { (geometry.outH + outputTile - 1) / outputTile }
    var tilesW: Int { (geometry.outW + outputTile - 1) / outputTile }
    var tiles: Int { tilesH * tilesW }
    /// The padded input plane: every tile, and the loads of the last chunk of 8 tiles, lies inside (from
    /// the chunk's first column, F(2x2) loads 18 floats and F(4x4) 36).
    var paddedH: Int { outputTile * tilesH + 2 }
    var paddedW: Int { outputTile * ((tilesW + 7) / 8 * 8) + (outputTile == 2 ? 18 : 24) }

    /// Shared scratch (V and the GEMM products) and per-thread scratch (padded plane, GEMM panels).
    /// V's rows are 8 floats longer than the tiles: a chunk of fewer than 8 tiles is stored whole, its
    /// lanes past the tile row landing on the next row's first tiles (transformed after it) or, from the
    /// last row, in the slack.
    var vRowStride: Int { tiles + 8 }
    var sharedScratch: Int { positions * (geometry.inChannels * vRowStride + geometry.outChannels * tiles) + 16 }
    var perThreadScratch: Int { max(paddedH * paddedW, SGEMM.scratchCount(k: geometry.inChannels, n: tiles)) }

    func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?,
             activation: KernelActivation, threads: Int, scratch: UnsafeMutablePointer<Float>) {
        let g = geometry
        let pool = ThreadPool.shared
        let (c, m, t) = (g.inChannels, g.outChannels, tiles)
        let v = scratch, products = scratch + positions * c * vRowStride
        let perThread = scratch + sharedScratch
        let per = perThreadScratch
        let channelRanges = pool.pieces(c, threads: threads), outRanges = pool.pieces(m, threads: threads)
        let outPlane = g.outH * g.outW
        // ReLU and clips in registers as each row is stored; a residual (added first) or any other
        // activation in a pass over the plane after it. With that pass for every activation, and partial
        // chunks stored lane by lane (all of them at 27x27, half at 55x55), the output transform was
        // most of the layer: 16->64 at 55x55 0.53 -> 0.36 ms, 32->128 at 27x27 0.40 -> 0.29 ms (one
        // thread, `bench --profile`); SqueezeNet 9% faster at one and two threads (`ab.py`).
        let inRegisters: KernelActivation, rest: KernelActivation?
        switch activation {
        case .relu, .clip, .none: (inRegisters, rest) = residual == nil ? (activation, nil) : (.none, activation)
        default: (inRegisters, rest) = (.none, activation)
        }
        for n in 0 ..< g.batch {
            let input = x + n * c * g.inH * g.inW
            pool.parallelFor(channelRanges.count, slots: threads) { k, slot in
                let padded = perThread + slot * per
                padded.update(repeating: 0, count: paddedH * paddedW)
                for ch in channelRanges[k] {
                    if outputTile == 2 {
                        transformInput(input + ch * g.inH * g.inW, channel: ch, padded: padded, into: v)
                    } else {
                        transformInput4(input + ch * g.inH * g.inW, channel: ch, padded: padded, into: v)
                    }
                }
            }
            // The n² products, one item each: a thread the host holds up keeps back one GEMM, not every
            // other one (SqueezeNet 2% faster at two threads with the second core busy).
            pool.parallelFor(positions, slots: threads) { xi, slot in
                SGEMM.multiply(transformed[xi], b: v + xi * c * vRowStride, ldb: vRowStride, n: t, c: products + xi * m * t, ldc: t,
                               epilogue: SGEMM.Epilogue(), scratch: perThread + slot * per)
            }
            pool.parallelFor(outRanges.count, slots: threads) { k, slot in
                let tail = perThread + slot * per
                for o in outRanges[k] {
                    let out = y + (n * m + o) * outPlane
                    transformOutputChannel(products, channel: o, bias: bias[o], into: out, tail: tail, activation: inRegisters)
                    if let rest { Depthwise.finish(out, residual.map { $0 + (n * m + o) * outPlane }, outPlane, rest) }
                }
            }
        }
    }

    /// Channel `o`'s output transform, F(2x2) or F(4x4), with the activation applied in registers
    /// (`.none`, `.relu` or `.clip`).
    private func transformOutputChannel(_ products: UnsafeMutablePointer<Float>, channel o: Int, bias: Float, into out: UnsafeMutablePointer<Float>,
                                 tail: UnsafeMutablePointer<Float>, activation: KernelActivation) {
        @inline(__always) func run<Act: TileActivation>(_ act: Act) {
            if outputTile == 2 {
                transformOutput(products, channel: o, bias: bias, into: out, tail: tail, act)
            } else {
                transformOutput4(products, channel: o, bias: bias, into: out, tail: tail, act)
            }
        }
        switch activation {
        case .relu: run(ReluActivation())
        case .clip(let lo, let hi): run(ClipActivation(lo: lo, hi: hi))
        default: run(NoActivation())
        }
    }

    /// V_ξ[channel, tile] for every tile of one input plane, eight tiles of a tile row at a time.
    private func transformInput(_ plane: UnsafePointer<Float>, channel: Int, padded: UnsafeMutablePointer<Float>,
                                into v: UnsafeMutablePointer<Float>) {
        let g = geometry
        let (pw, stride, c) = (paddedW, vRowStride, g.inChannels)
        for ih in 0 ..< g.inH {
            copyFloats(padded + (ih + g.padTop) * pw + g.padLeft, from: plane + ih * g.inW, count: g.inW)
        }
        forEachChunkOfTiles { i, j, _ in
            // Row r of the tile for 8 tiles: columns 2(j + lane) + s, s = 0 ..< 4; then B^T over rows.
            @inline(__always) func row(_ r: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
                let p = UnsafePointer(padded + (2 * i + r) * pw + 2 * j)
                let (a, b) = (load16(p), load16(p + 2))
                return (onyx_opaque8(a.evenHalf), onyx_opaque8(a.oddHalf), onyx_opaque8(b.evenHalf), onyx_opaque8(b.oddHalf))
            }
            let (d0, d1, d2, d3) = (row(0), row(1), row(2), row(3))
            let w0 = (d0.0 - d2.0, d0.1 - d2.1, d0.2 - d2.2, d0.3 - d2.3)
            let w1 = (d1.0 + d2.0, d1.1 + d2.1, d1.2 + d2.2, d1.3 + d2.3)
            let w2 = (d2.0 - d1.0, d2.1 - d1.1, d2.2 - d1.2, d2.3 - d1.3)
            let w3 = (d1.0 - d3.0, d1.1 - d3.1, d1.2 - d3.2, d1.3 - d3.3)
            let base = v + channel * stride + i * tilesW + j
            // Then B over columns: V[r][0 ..< 4] = (w0 - w2, w1 + w2, w2 - w1, w1 - w3) of row r.
            @inline(__always) func emit(_ r: Int, _ w: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
                store(base + (r * 4) * c * stride, w.0 - w.2)
                store(base + (r * 4 + 1) * c * stride, w.1 + w.2)
                store(base + (r * 4 + 2) * c * stride, w.2 - w.1)
                store(base + (r * 4 + 3) * c * stride, w.1 - w.3)
            }
            emit(0, w0); emit(1, w1); emit(2, w2); emit(3, w3)
        }
    }

    /// Y = A^T M A for every tile of output channel `o`, plus the bias, then `act`, clipped to the output's
    /// size. A row of a chunk that would pass the plane's end goes through `tail` (as in `transformOutput4`).
    private func transformOutput<Act: TileActivation>(_ products: UnsafeMutablePointer<Float>, channel o: Int, bias: Float,
                                                      into out: UnsafeMutablePointer<Float>, tail: UnsafeMutablePointer<Float>, _ act: Act) {
        let g = geometry
        let (t, m) = (tiles, g.outChannels)
        let b = SIMD8<Float>(repeating: bias), outPlane = g.outH * g.outW
        forEachChunkOfTiles { i, j, lanes in
            // Products may be read past the last tile: the buffer has 16 floats of slack.
            let base = UnsafePointer(products) + o * t + i * tilesW + j
            @inline(__always) func column(_ s: Int) -> (SIMD8<Float>, SIMD8<Float>) {
                let (m0, m1, m2, m3) = (load(base + s * m * t), load(base + (4 + s) * m * t),
                                        load(base + (8 + s) * m * t), load(base + (12 + s) * m * t))
                return (m0 + m1 + m2, m1 - m2 - m3)
            }
            let (u0, u1, u2, u3) = (column(0), column(1), column(2), column(3))
            let inside = min(2 * lanes, g.outW - 2 * j)
            @inline(__always) func emit(_ oh: Int, _ left: SIMD8<Float>, _ right: SIMD8<Float>) {
                guard oh < g.outH else { return }
                // Whole vectors, past the row's end too while inside the plane (see `forEachChunkOfTiles`).
                let row = out + oh * g.outW + 2 * j
                let whole = oh * g.outW + 2 * j + 16 <= outPlane
                store16(whole ? row : tail, interleave(onyx_opaque8(act(left)), onyx_opaque8(act(right))))
                if !whole { row.update(from: tail, count: inside) }
            }
            emit(2 * i, u0.0 + u1.0 + u2.0 + b, u1.0 - u2.0 - u3.0 + b)
            emit(2 * i + 1, u0.1 + u1.1 + u2.1 + b, u1.1 - u2.1 - u3.1 + b)
        }
    }

    /// Calls body(i, j, lanes) for each chunk of up to eight tiles, tiles j ..< j + lanes of tile row i:
    /// the transforms' unit of work (a row of tiles is a row of vectors). Tile rows top to bottom, the
    /// chunks of a row right to left, so that a chunk which passes the end of its row may store whole
    /// vectors: what lands past the row's end lands on the first columns of the next rows, which a
    /// chunk written after it overwrites (the one to its left, the same chunk's next row, or a later
    /// tile row), as long as it stays inside the plane.
    @inline(__always)
    func forEachChunkOfTiles(_ body: (_ i: Int, _ j: Int, _ lanes: Int) -> Void) {
        for i in 0 ..< tilesH {
            var j = (tilesW - 1) / 8 * 8
            while j >= 0 {
                body(i, j, min(8, tilesW - j))
                j -= 8
            }
        }
    }

    @inline(__always)
    private func interleave(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD16<Float> {
        SIMD16(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
    }

    @inline(__always)
    private func store16(_ p: UnsafeMutablePointer<Float>, _ v: SIMD16<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }
}
