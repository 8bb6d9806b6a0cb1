/// 2-D convolution in NCHW, chosen by shape:
/// - pointwise (1x1, stride 1, no padding): a GEMM straight on the input planes, no copy;
/// - depthwise (one input and one output channel per group): a direct kernel;
/// - 3x3 stride 1 with enough channels: Winograd (`Winograd.swift`);
/// - dense convolutions with more input channels (ResNet's 3x3 stride-2 layers), or on small planes:
///   six-pixel tiles times panels of output channels, the input read in place (`PixelTiles.swift`);
/// - other dense convolutions at stride 1 or 2 with at least 16 output columns: a GEMM reading B from a
///   padded copy of the input (`ImplicitGEMM.swift`);
/// - everything else: im2col into scratch, then a GEMM per group.
/// Bias, residual and activation are applied as each output tile is stored.
public final class Convolution: @unchecked Sendable {
    public struct Geometry: Sendable, Equatable {
        public var batch: Int, inChannels: Int, inH: Int, inW: Int
        public var outChannels: Int, outH: Int, outW: Int
        public var kernelH: Int, kernelW: Int, strideH: Int, strideW: Int
        public var dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int
        public var groups: Int

        public init(batch: Int, inChannels: Int, inH: Int, inW: Int, outChannels: Int, outH: Int, outW: Int,
                    kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, dilationH: Int, dilationW: Int,
                    padTop: Int, padLeft: Int, groups: Int) {
            (self.batch, self.inChannels, self.inH, self.inW) = (batch, inChannels, inH, inW)
            (self.outChannels, self.outH, self.outW) = (outChannels, outH, outW)
            (self.kernelH, self.kernelW, self.strideH, self.strideW) = (kernelH, kernelW, strideH, strideW)
            (self.dilationH, self.dilationW, self.padTop, self.padLeft, self.groups) = (dilationH, dilationW, padTop, padLeft, groups)
        }

        var groupIn: Int { inChannels / groups }
        var groupOut: Int { outChannels / groups }
        public var isPointwise: Bool {
            kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0
        }
        public var isDepthwise: Bool { groupIn == 1 && groupOut == 1 }
    }

    public let geometry: Geometry
    public let activation: KernelActivation
    let packed: [SGEMM.PackedA]
    /// The Winograd form of a 3x3 stride-1 convolution with enough channels (see `Winograd.applies`).
    let winograd: Winograd?
    /// Dense layers with many input channels that neither Winograd nor the implicit GEMM takes (see
    /// `PixelTiles`).
    let pixelTiles: PixelTiles?
    let weights: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>

    /// Threads whose scratch `scratchCount` reserves (the pool's size when compiled).
    public let threads: Int

    /// Whether the input is in `Depthwise.blockedInputLayout(geometry)`, written so by a `BlockedPointwise`
    /// (see `acceptsBlockedInput`).
    public let blockedInput: Bool

    /// Whether a depthwise convolution of this geometry reads its input channel-blocked when its producer
    /// can write it so: whole blocks of 8 channels, one image, and not a wide plane at stride 1, where the
    /// per-plane ring stays faster (72@56: 96 against 102 µs). It then runs the blocked path whatever the
    /// plane's size: without the transposes, it beats the ring at stride 2 (MobileNetV2's 144@56: 113 to
    /// 66 µs, MobileNetV3's 64@112: 144 to 101 µs).
    public static func acceptsBlockedInput(_ g: Geometry) -> Bool {
        g.isDepthwise && g.batch == 1 && g.inChannels % 8 == 0 && !(g.strideW == 1 && Depthwise.usesRing(g))
    }

    /// The layout a depthwise convolution that `acceptsBlockedInput` reads its input in.
    public static func blockedInputLayout(_ g: Geometry) -> ChannelBlockedLayout { Depthwise.blockedInputLayout(g) }

    /// Where the output is written as the packed B of the pointwise convolution that alone reads it (a
    /// depthwise layer, see `writesPackedOutput`); nil for NCHW.
    public let packedOutput: PackedBLayout?
    /// Whether the input is in `PackedBLayout` (a pointwise layer, see `readsPackedInput`).
    public let packedInput: Bool

    /// Whether a depthwise convolution of this geometry can write its output as a `PackedBLayout`: the
    /// blocked path's 3x3 and 5x5 kernels (small planes, or a channel-blocked input), whole blocks of 8
    /// channels, one image, no residual, and an activation applied in registers.
    public static func writesPackedOutput(_ g: Geometry, activation: KernelActivation, residual: Bool, blockedInput: Bool) -> Bool {
        let inRegisters = switch activation {
        case .none, .relu, .clip, .hardSwish: true
        default: false
        }
        return g.isDepthwise && g.batch == 1 && g.inChannels % 8 == 0 && (Depthwise.usesBlocked(g) || blockedInput) && !residual
            && inRegisters && g.kernelH == g.kernelW && (g.kernelH == 3 || g.kernelH == 5) && g.strideH == g.strideW
            && (g.strideW == 1 || g.strideW == 2) && g.dilationH == 1 && g.dilationW == 1
    }

    /// Whether a pointwise convolution of this geometry gains by reading its input packed: one image, one
    /// group, and as many output channels as make `SGEMM.multiply` pack B rather than read it in place.
    public static func readsPackedInput(_ g: Geometry) -> Bool {
        g.isPointwise && g.groups == 1 && g.batch == 1 && SGEMM.packsB(rows: g.outChannels, k: g.inChannels)
    }

    /// Whether the implicit GEMM uses the 6x32 tile of SIMD16 on rows of at least 32 outputs (see
    /// `implicitRows`), rather than the 6x16 of SIMD8.
    let wideImplicitTiles: Bool

    /// - Parameters: weights [M, C/groups, kH, kW]; bias [M] or nil; `blockedInput` as the property;
    ///   `wideTiles`: the implicit GEMM's wide tile (by default where compiled for AVX-512; tests ask for both).
    public init(_ g: Geometry, weights w: [Float], bias b: [Float]?, activation: KernelActivation,
                threads: Int = ThreadPool.shared.workers, blockedInput: Bool = false, packedOutput: PackedBLayout? = nil,
                packedInput: Bool = false, wideTiles: Bool? = nil) {
        precondition(!blockedInput || Self.acceptsBlockedInput(g), "blocked input for a geometry that cannot take it")
        precondition(packedOutput == nil || Self.writesPackedOutput(g, activation: activation, residual: false, blockedInput: blockedInput),
                     "packed output for a geometry that cannot write it")
        precondition(!packedInput || Self.readsPackedInput(g), "packed input for a geometry that does not read it")
        self.blockedInput = blockedInput
        self.packedOutput = packedOutput
        self.packedInput = packedInput
        wideImplicitTiles = wideTiles ?? SGEMM.wideTiles
        geometry = g
        self.threads = max(1, threads)
        self.activation = activation
        // Depthwise kernels read the weights as given; the others keep only their packed form.
        weights = .allocate(capacity: g.isDepthwise ? w.count : 0)
        if g.isDepthwise { weights.initialize(from: w, count: w.count) }
        bias = .allocate(capacity: g.outChannels)
        bias.initialize(from: b ?? [Float](repeating: 0, count: g.outChannels), count: g.outChannels)
        let k = g.groupIn * g.kernelH * g.kernelW
        (winograd, pixelTiles, packed) = w.withUnsafeBufferPointer { w in
            if g.isDepthwise { return (nil, nil, []) }
            if Winograd.applies(g) { return (Winograd(g, weights: w.baseAddress!, outputTile: Winograd.outputTile(g)), nil, []) }
            if PixelTiles.applies(g) { return (nil, PixelTiles(g, weights: w.baseAddress!, bias: b, wideTiles: wideTiles ?? SGEMM.wideTiles), []) }
            return (nil, nil, (0 ..< g.groups).map { group in
                SGEMM.PackedA(m: g.groupOut, k: k, a: w.baseAddress! + group * g.groupOut * k, rowStride: k, colStride: 1)
            })
        }
    }

    deinit {
        pixelTiles?.deallocate()
        weights.deallocate()
        bias.deallocate()
    }

    /// Floats of scratch `run` needs: the im2col matrix, then one GEMM panel (or padded plane) per thread.
    public var scratchCount: Int {
        if let winograd { return winograd.sharedScratch + threads * winograd.perThreadScratch }
        if let pixelTiles { return pixelTiles.scratchCount }
        if usesImplicitGEMM { return implicitScratchCount }
        let g = geometry
        let sharedB = splitsRows ? SGEMM.packedCount(k: g.groupIn * g.kernelH * g.kernelW, n: g.outH * g.outW) : 0
        return (g.isPointwise || g.isDepthwise ? 0 : columnsCount) + threads * perThreadScratch + sharedB
    }

    /// Whether the GEMM splits the output channels across threads rather than the pixels: on small planes
    /// (the 7x7 and 14x14 layers), and layers with more output channels than pixels, so each thread reads
    /// only its share of the weights (SqueezeNet's 1000-channel classifier on 13x13: the whole network
    /// 2.5% faster on two threads, EfficientNet-B0 4%) and no thread gets a sliver of columns.
    var splitsRows: Bool {
        let g = geometry
        let outPlane = g.outH * g.outW
        return threads > 1 && !g.isDepthwise && (outPlane < 64 * threads || g.groupOut >= outPlane) && g.groupOut >= 2 * SGEMM.mr
    }

    var columnsCount: Int { geometry.groupIn * geometry.kernelH * geometry.kernelW * geometry.outH * geometry.outW }
    var perThreadScratch: Int {
        let g = geometry
        if blockedInput { return Depthwise.paddedInputScratchCount(g) }
        if g.isDepthwise { return Depthwise.scratchCount(g) }
        return SGEMM.scratchCount(k: g.groupIn * g.kernelH * g.kernelW, n: g.outH * g.outW)
    }

    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                    scratch: UnsafeMutablePointer<Float>) {
        let g = geometry
        let pool = ThreadPool.shared
        let per = perThreadScratch
        if let winograd {
            winograd.run(x: x, y: y, bias: bias, residual: residual, activation: activation, threads: threads, scratch: scratch)
            return
        }
        if let pixelTiles {
            pixelTiles.run(x: x, y: y, residual: residual, activation: activation, threads: threads, scratch: scratch)
            return
        }
        if g.isDepthwise {
            // Whole blocks of 8 channels: a piece ending mid-block sent its last planes one by one
            // through the general path.
            let ranges = pool.pieces(g.batch * g.inChannels, granularity: 8, threads: threads)
            pool.parallelFor(ranges.count, slots: threads) { t, slot in
                let run = self.blockedInput ? Depthwise.runPaddedInput : Depthwise.run
                run(g, x, self.weights, self.bias, y, residual, self.activation, ranges[t], scratch + slot * per, self.packedOutput)
            }
            return
        }
        let inPlane = g.inH * g.inW, outPlane = g.outH * g.outW
        if usesImplicitGEMM {
            runImplicit(x: x, y: y, residual: residual, scratch: scratch)
            return
        }
        let columns = scratch
        let gemmScratch = g.isPointwise ? scratch : scratch + columnsCount
        // Columns of the output in whole panels, one range per thread, or rows (see `splitsRows`).
        let splitRows = splitsRows
        let ranges = splitRows ? pool.pieces(g.groupOut, granularity: SGEMM.mr, threads: threads)
                               : pool.pieces(outPlane, granularity: SGEMM.panelWidth, threads: threads)
        for n in 0 ..< g.batch {
            for group in 0 ..< g.groups {
                let input = x + (n * g.inChannels + group * g.groupIn) * inPlane
                let a = packed[group]
                var b = input, packedB: UnsafePointer<Float>? = nil
                if !g.isPointwise {
                    // The rows of the column matrix, (c, kh, kw), split across the threads.
                    let rowRanges = pool.pieces(a.k, threads: threads)
                    pool.parallelFor(rowRanges.count) { t in Self.im2col(g, input, into: columns, rows: rowRanges[t]) }
                    b = UnsafePointer(columns)
                }
                if packedInput {
                    packedB = b
                } else if splitRows {
                    // Every thread needs all of B: it is packed once, by all of them, first (each used to pack
                    // all of it; 960->160 and 960->320 at 7x7 and the 512->1000 classifier 1-4% faster).
                    let shared = gemmScratch + threads * per
                    let panelRanges = pool.pieces((outPlane + SGEMM.panelWidth - 1) / SGEMM.panelWidth, threads: threads)
                    pool.parallelFor(panelRanges.count) { t in
                        SGEMM.packPanels(b, ldb: outPlane, n: outPlane, k: a.k, panels: panelRanges[t], into: shared)
                    }
                    packedB = UnsafePointer(shared)
                }
                let offset = (n * g.outChannels + group * g.groupOut) * outPlane
                let epilogue = SGEMM.Epilogue(bias: bias + group * g.groupOut, residual: residual.map { $0 + offset },
                                              activation: activation)
                pool.parallelFor(ranges.count, slots: threads) { t, slot in
                    SGEMM.multiply(a, b: b, ldb: outPlane, n: outPlane, c: y + offset, ldc: outPlane, epilogue: epilogue,
                                   scratch: gemmScratch + slot * per, columns: splitRows ? nil : ranges[t], rows: splitRows ? ranges[t] : nil,
                                   packedB: packedB)
                }
            }
        }
    }

    /// Rows (c, kh, kw), columns (oh, ow): the input pixel each tap reads, 0 in the padding. Row r of the
    /// matrix starts at col + r * outH * outW.
    static func im2col(_ g: Geometry, _ x: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        let ld = g.outH * g.outW
        let taps = g.kernelH * g.kernelW
        for row in rows {
            let (c, kh, kw) = (row / taps, row % taps / g.kernelW, row % g.kernelW)
            let plane = x + c * g.inH * g.inW
            let dst = col + row * ld
            let offset = kw * g.dilationW - g.padLeft
            // Output columns whose input column lies inside the image.
            let owStart = offset >= 0 ? 0 : min(g.outW, (-offset + g.strideW - 1) / g.strideW)
            let owEnd = g.inW - offset <= 0 ? 0 : min(g.outW, (g.inW - offset + g.strideW - 1) / g.strideW)
            for oh in 0 ..< g.outH {
                let ih = oh * g.strideH - g.padTop + kh * g.dilationH
                let out = dst + oh * g.outW
                if ih < 0 || ih >= g.inH || owStart >= owEnd {
                    out.update(repeating: 0, count: g.outW)
                    continue
                }
                let src = plane + ih * g.inW + offset
                if owStart > 0 { out.update(repeating: 0, count: owStart) }
                if g.strideW == 1 {
                    (out + owStart).update(from: src + owStart, count: owEnd - owStart)
                } else if g.strideW == 2 {
                    // Even lanes of 16-wide loads while they stay inside the row, then one at a time.
                    var ow = owStart
                    while ow + 8 <= owEnd && offset + 2 * ow + 16 <= g.inW { store(out + ow, load16(src + 2 * ow).evenHalf); ow += 8 }
                    while ow < owEnd { out[ow] = src[ow * 2]; ow += 1 }
                } else {
                    for ow in owStart ..< owEnd { out[ow] = src[ow * g.strideW] }
                }
                if owEnd < g.outW { (out + owEnd).update(repeating: 0, count: g.outW - owEnd) }
            }
        }
    }
}

/// Depthwise convolution. Three paths, by shape: small planes and 5x5 kernels eight channels at a time
/// (`DepthwiseBlocked.swift`); wide 3x3 planes through a ring of rows (`DepthwiseRing.swift`); anything
/// else one channel at a time, copied first into a zero-padded plane in scratch, so every output
/// chunk of 8 columns is interior: its kernel taps accumulate in one SIMD8 register (stride 2
/// deinterleaves a SIMD16 load with `evenHalf`), with no bounds checks.
enum Depthwise {
    /// Loads 8 outputs' worth of input columns at a fixed stride.
    protocol ColumnStride {
        static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float>
        static func load8(_ p: UnsafePointer<Float>, _ stride: Int) -> SIMD8<Float>
        static func stride(_ runtime: Int) -> Int
        static var step: Int { get }
    }
    enum Stride1: ColumnStride {
        @inline(__always) static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { load(p) }
        @inline(__always) static func load8(_ p: UnsafePointer<Float>, _: Int) -> SIMD8<Float> { load(p) }
        @inline(__always) static func stride(_: Int) -> Int { 1 }
        static var step: Int { 1 }
    }
    /// Reads p[0 ..< 16] (callers leave 16 floats of slack past each padded row) and keeps the even lanes.
    enum Stride2: ColumnStride {
        @inline(__always) static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { load16(p).evenHalf }
        @inline(__always) static func load8(_ p: UnsafePointer<Float>, _: Int) -> SIMD8<Float> { load16(p).evenHalf }
        @inline(__always) static func stride(_: Int) -> Int { 2 }
        static var step: Int { 2 }
    }
    /// Strides above 2: eight scalar loads.
    enum AnyStride: ColumnStride {
        @inline(__always) static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { load(p) }
        @inline(__always) static func load8(_ p: UnsafePointer<Float>, _ s: Int) -> SIMD8<Float> {
            SIMD8(p[0], p[s], p[2 * s], p[3 * s], p[4 * s], p[5 * s], p[6 * s], p[7 * s])
        }
        @inline(__always) static func stride(_ runtime: Int) -> Int { runtime }
        static var step: Int { 0 }
    }

    /// The epilogue of output elements: add the residual, then the activation.
    @inline(__always)
    static func finish(_ out: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?, _ count: Int, _ activation: KernelActivation) {
        if let residual {
            var i = 0
            while i + 8 <= count { store(out + i, load(out + i) + load(residual + i)); i += 8 }
            while i < count { out[i] += residual[i]; i += 1 }
        }
        activation.apply(out, count)
    }

    /// Any kernel size, stride and dilation on the padded plane: each chunk of 8 outputs accumulates
    /// every tap in one register; the stride is a type, so the loop has no branch per tap.
    static func paddedRows<S: ColumnStride>(_ g: Convolution.Geometry, _ padded: UnsafeMutablePointer<Float>, _ pw: Int,
                                            _ w: UnsafePointer<Float>, _ bias: Float, _ out: UnsafeMutablePointer<Float>,
                                            _ tail: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                                            _ activation: KernelActivation, _: S.Type) {
        let (kH, kW) = (g.kernelH, g.kernelW)
        let b = SIMD8<Float>(repeating: bias)
        for oh in 0 ..< g.outH {
            let row = out + oh * g.outW
            let top = UnsafePointer(padded + oh * g.strideH * pw)
            var ow = 0
            while ow < g.outW {
                var acc = b
                let base = top + ow * S.stride(g.strideW)
                for kh in 0 ..< kH {
                    let line = base + kh * g.dilationH * pw
                    let wr = w + kh * kW
                    for kw in 0 ..< kW {
                        acc = acc.addingProduct(SIMD8(repeating: wr[kw]), S.load8(line + kw * g.dilationW, g.strideW))
                    }
                }
                if ow + 8 <= g.outW {
                    store(row + ow, acc)
                } else {
                    store(tail, acc)
                    (row + ow).update(from: tail, count: g.outW - ow)
                }
                ow += 8
            }
        }
        finish(out, residual, g.outH * g.outW, activation)
    }

    /// Width and height of the padded plane, with room for the last chunk's over-read.
    static func paddedSize(_ g: Convolution.Geometry) -> (h: Int, w: Int) {
        let chunks = (g.outW + 7) / 8
        let w = max(g.inW + g.padLeft, (chunks * 8 - 1) * g.strideW + (g.kernelW - 1) * g.dilationW + 1) + 16
        let h = max(g.inH + g.padTop, (g.outH - 1) * g.strideH + (g.kernelH - 1) * g.dilationH + 1)
        return (h, w)
    }

    static func scratchCount(_ g: Convolution.Geometry) -> Int {
        let (h, w) = paddedSize(g)
        return max(h * w + 8, usesBlocked(g) ? blockedScratchCount(g) : 0,
                   usesRing(g) ? ringCount(g) : 0)
    }

    /// Small planes: blocks of eight channels that lie in one image, the rest one plane at a time.
    static func runBlocked(_ g: Convolution.Geometry, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                           bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                           activation: KernelActivation, channels: Range<Int>, scratch: UnsafeMutablePointer<Float>,
                           packedOutput: PackedBLayout? = nil) {
        let (h, w) = blockedSize(g)
        let padded = scratch, taps = scratch + 8 * h * w, results = taps + 8 * g.kernelH * g.kernelW
        padded.update(repeating: 0, count: 8 * h * w)
        if packedOutput != nil { clearPackedTail(g, results) }
        var nc = channels.lowerBound
        while nc < channels.upperBound {
            let (n, c) = (nc / g.inChannels, nc % g.inChannels)
            if nc + 8 <= channels.upperBound && c + 8 <= g.inChannels {
                blocked8(g, n: n, first: c, x: x, weights: weights, bias: bias, y: y, residual: residual, activation: activation,
                         padded: padded, taps: taps, results: results, packedOutput: packedOutput)
                nc += 8
            } else {
                // One plane through the general path, which lays the scratch out its own way.
                precondition(packedOutput == nil, "packed output in whole blocks of 8 channels")
                runPlanes(g, x: x, weights: weights, bias: bias, y: y, residual: residual, activation: activation,
                          channels: nc ..< nc + 1, scratch: scratch)
                padded.update(repeating: 0, count: 8 * h * w)
                nc += 1
            }
        }
    }

    /// Blocks of eight channels from an input already in `blockedInputLayout(g)` (one image, whole blocks).
    static func runPaddedInput(_ g: Convolution.Geometry, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                               activation: KernelActivation, channels: Range<Int>, scratch: UnsafeMutablePointer<Float>,
                               packedOutput: PackedBLayout?) {
        let blockStride = blockedInputLayout(g).blockStride
        let taps = scratch, results = taps + 8 * g.kernelH * g.kernelW
        if packedOutput != nil { clearPackedTail(g, results) }
        for c in stride(from: channels.lowerBound, to: channels.upperBound, by: 8) {
            blocked8(g, n: 0, first: c, x: x, weights: weights, bias: bias, y: y, residual: residual, activation: activation,
                     padded: UnsafeMutablePointer(mutating: x) + c / 8 * blockStride, taps: taps, results: results, inputIsPadded: true,
                     packedOutput: packedOutput)
        }
    }

    static func run(_ g: Convolution.Geometry, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                    bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                    activation: KernelActivation, channels: Range<Int>, scratch: UnsafeMutablePointer<Float>,
                    packedOutput: PackedBLayout? = nil) {
        if usesBlocked(g) {
            runBlocked(g, x: x, weights: weights, bias: bias, y: y, residual: residual, activation: activation, channels: channels,
                       scratch: scratch, packedOutput: packedOutput)
        } else {
            precondition(packedOutput == nil, "packed output from the blocked path only")
            runPlanes(g, x: x, weights: weights, bias: bias, y: y, residual: residual, activation: activation, channels: channels, scratch: scratch)
        }
    }

    /// One channel plane at a time: 3x3 through the ring of rows, other kernels from a zero-padded copy.
    static func runPlanes(_ g: Convolution.Geometry, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                          bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                          activation: KernelActivation, channels: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
        let (ph, pw) = paddedSize(g)
        let (kH, kW) = (g.kernelH, g.kernelW)
        let outPlane = g.outH * g.outW
        if usesRing(g) {
            clearRing(g, scratch)
            for nc in channels {
                let (n, c) = (nc / g.inChannels, nc % g.inChannels)
                let plane = x + (n * g.inChannels + c) * g.inH * g.inW
                let out = y + (n * g.outChannels + c) * outPlane
                ringPlane(g, plane, weights + c * 9, bias[c], out, residual.map { $0 + (n * g.outChannels + c) * outPlane }, activation,
                          ring: scratch)
            }
            return
        }
        let padded = scratch
        let tail = scratch + ph * pw
        padded.update(repeating: 0, count: ph * pw + 8)
        for nc in channels {
            let (n, c) = (nc / g.inChannels, nc % g.inChannels)
            let plane = x + (n * g.inChannels + c) * g.inH * g.inW
            // Interior rows are overwritten each time; the zero border stays.
            for ih in 0 ..< g.inH {
                copyFloats(padded + (ih + g.padTop) * pw + g.padLeft, from: plane + ih * g.inW, count: g.inW)
            }
            let w = weights + c * kH * kW
            let out = y + (n * g.outChannels + c) * outPlane
            let r = residual.map { $0 + (n * g.outChannels + c) * outPlane }
            switch g.strideW {
            case 1: paddedRows(g, padded, pw, w, bias[c], out, tail, r, activation, Stride1.self)
            case 2: paddedRows(g, padded, pw, w, bias[c], out, tail, r, activation, Stride2.self)
            default: paddedRows(g, padded, pw, w, bias[c], out, tail, r, activation, AnyStride.self)
            }
        }
    }
}
