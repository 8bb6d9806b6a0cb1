import CPUHints

/// The transforms of F(4x4, 3x3), eight tiles at a time (a row of tiles is a row of vectors):
///   B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
///          [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
///   A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
/// Each applies along the rows of a tile, then along its columns. Tiles are 4 columns apart, so the
/// six columns of eight tiles are read as eight vectors of a row (from the chunk's first column and
/// four floats on) and regrouped by their place in a tile (`Shuffles.deinterleave4`).
extension Winograd {
    typealias Six = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
    typealias Four = Shuffles.Four

    /// B^T x, as few operations as the matrix's repeated coefficients allow.
    @inline(__always)
    static func inputRows(_ x: Six) -> Six {
        let four = SIMD8<Float>(repeating: 4), five = SIMD8<Float>(repeating: 5), two = SIMD8<Float>(repeating: 2)
        let t1 = x.4 - four * x.2, t2 = x.3 - four * x.1
        let t3 = x.4 - x.2, t4 = two * (x.3 - x.1)
        return (four * x.0 - five * x.2 + x.4, t1 + t2, t1 - t2, t3 + t4, t3 - t4, four * x.1 - five * x.3 + x.5)
    }

    /// A^T m.
    @inline(__always)
    static func outputRows(_ m: Six) -> Four {
        let s12 = m.1 + m.2, d12 = m.1 - m.2, s34 = m.3 + m.4, d34 = m.3 - m.4
        return (m.0 + s12 + s34, d12 + SIMD8(repeating: 2) * d34, s12 + SIMD8(repeating: 4) * s34, d12 + SIMD8(repeating: 8) * d34 + m.5)
    }

    /// V_ξ[channel, tile] for every tile of one input plane (ξ = 6 * row + column of the tile).
    func transformInput4(_ plane: UnsafePointer<Float>, channel: Int, padded: UnsafeMutablePointer<Float>,
                         into v: UnsafeMutablePointer<Float>) {
        let g = geometry
        let (pw, stride, c) = (paddedW, vRowStride, g.inChannels)
        for ih in 0 ..< g.inH {
            copyFloats(padded + (ih + g.padTop) * pw + g.padLeft, from: plane + ih * g.inW, count: g.inW)
        }
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 36) { rows in
            let w = rows.baseAddress!
            forEachChunkOfTiles { i, j, _ in
                // Row r of eight tiles: columns 4(j + lane) + s for s = 0 ..< 6, then B^T along the row.
                for r in 0 ..< 6 {
                    let p = UnsafePointer(padded + (4 * i + r) * pw + 4 * j)
                    // Columns 0-3 of the eight tiles, then 4-5 (columns 0-1 of the next tile).
                    let x = Shuffles.deinterleave4((load(p), load(p + 8), load(p + 16), load(p + 24)))
                    let next = Shuffles.deinterleave4((load(p + 4), load(p + 12), load(p + 20), load(p + 28)))
                    let y = Self.inputRows((onyx_opaque8(x.0), onyx_opaque8(x.1), onyx_opaque8(x.2), onyx_opaque8(x.3),
                                            onyx_opaque8(next.0), onyx_opaque8(next.1)))
                    (w + 6 * r).initialize(to: y.0); (w + 6 * r + 1).initialize(to: y.1); (w + 6 * r + 2).initialize(to: y.2)
                    (w + 6 * r + 3).initialize(to: y.3); (w + 6 * r + 4).initialize(to: y.4); (w + 6 * r + 5).initialize(to: y.5)
                }
                // Then B^T down each column of the tile.
                let base = v + channel * stride + i * tilesW + j
                for s in 0 ..< 6 {
                    let y = Self.inputRows((w[s], w[6 + s], w[12 + s], w[18 + s], w[24 + s], w[30 + s]))
                    store(base + s * c * stride, y.0)
                    store(base + (6 + s) * c * stride, y.1)
                    store(base + (12 + s) * c * stride, y.2)
                    store(base + (18 + s) * c * stride, y.3)
                    store(base + (24 + s) * c * stride, y.4)
                    store(base + (30 + s) * c * stride, y.5)
                }
            }
        }
    }

    /// Y = A^T M A for every tile of output channel `o`, plus the bias, then `act`, clipped to the output's
    /// size. Each output row of a chunk is four vectors interleaved (tile by tile); a row that would pass
    /// the plane's end goes through `tail` and only its columns inside are copied out.
    func transformOutput4<Act: TileActivation>(_ products: UnsafeMutablePointer<Float>, channel o: Int, bias: Float,
                                               into out: UnsafeMutablePointer<Float>, tail: UnsafeMutablePointer<Float>, _ act: Act) {
        let g = geometry
        let (t, m) = (tiles, g.outChannels)
        let b = SIMD8<Float>(repeating: bias), outPlane = g.outH * g.outW
        forEachChunkOfTiles { i, j, lanes in
            // Products may be read past the last tile: the buffer has 16 floats of slack.
            let base = UnsafePointer(products) + o * t + i * tilesW + j
            @inline(__always) func product(_ xi: Int) -> SIMD8<Float> { load(base + xi * m * t) }
            // A^T along each row of M, then down each column.
            @inline(__always) func row(_ r: Int) -> Four {
                Self.outputRows((product(6 * r), product(6 * r + 1), product(6 * r + 2), product(6 * r + 3), product(6 * r + 4),
                                 product(6 * r + 5)))
            }
            let (r0, r1, r2, r3, r4, r5) = (row(0), row(1), row(2), row(3), row(4), row(5))
            let y0 = Self.outputRows((r0.0, r1.0, r2.0, r3.0, r4.0, r5.0))
            let y1 = Self.outputRows((r0.1, r1.1, r2.1, r3.1, r4.1, r5.1))
            let y2 = Self.outputRows((r0.2, r1.2, r2.2, r3.2, r4.2, r5.2))
            let y3 = Self.outputRows((r0.3, r1.3, r2.3, r3.3, r4.3, r5.3))
            let inside = min(4 * lanes, g.outW - 4 * j)
            // Output row 4i + a holds, for each tile, its columns y0.a, y1.a, y2.a, y3.a.
            @inline(__always) func emit(_ a: Int, _ c0: SIMD8<Float>, _ c1: SIMD8<Float>, _ c2: SIMD8<Float>, _ c3: SIMD8<Float>) {
                let oh = 4 * i + a
                guard oh < g.outH else { return }
                let y = Shuffles.interleave4((act(c0 + b), act(c1 + b), act(c2 + b), act(c3 + b)))
                // Whole vectors, past the row's end too while inside the plane (see `forEachChunkOfTiles`).
                let row = out + oh * g.outW + 4 * j
                let whole = oh * g.outW + 4 * j + 32 <= outPlane
                let to = whole ? row : tail
                store(to, y.0); store(to + 8, y.1); store(to + 16, y.2); store(to + 24, y.3)
                if !whole { row.update(from: tail, count: inside) }
            }
            emit(0, y0.0, y1.0, y2.0, y3.0)
            emit(1, y0.1, y1.1, y2.1, y3.1)
            emit(2, y0.2, y1.2, y2.2, y3.2)
            emit(3, y0.3, y1.3, y2.3, y3.3)
        }
    }
}
