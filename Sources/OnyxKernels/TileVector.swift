import CPUHints

/// The vector a GEMM tile is built from: a 6x16 tile of `SIMD8` (two per row, 12 of AVX2's 16
/// registers), or, compiled for AVX-512, a 6x32 tile of `SIMD16` (12 of its 32 zmm registers). On this
/// project's Zen 4 machine the 6x32 tile ran a pre-packed GEMM at 95-108 GFLOP/s where the 6x16 ran
/// at 88-105 (one thread, 1x1-convolution shapes of ResNet-50 and SqueezeNet): each step of k broadcasts
/// the six values of A once for twice the columns. Every requirement is a concrete operation of the
/// vector type, so the generic tile code compiles to the same instructions as code written for it. Loads
/// and stores go through the concrete `load`/`store` functions: the witnesses' own bodies are generic over
/// the scalar, so the raw-pointer call in them was specialised only inside the caller, where large loops
/// (the blocked pointwise kernel) left it out of line, a call per vector.
protocol TileVector {
    static var lanes: Int { get }
    init(repeating: Float)
    init()
    static func + (a: Self, b: Self) -> Self
    func addingProduct(_ a: Self, _ b: Self) -> Self
    static func load(_ p: UnsafePointer<Float>) -> Self
    func store(_ p: UnsafeMutablePointer<Float>)
    func activated<Act: TileActivation>(_ act: Act) -> Self
    /// Stores the first `count` groups of eight lanes, `stride` floats apart (into blocks of 8 channels).
    func storeEights(_ p: UnsafeMutablePointer<Float>, stride: Int, count: Int)
}

extension SIMD8: TileVector where Scalar == Float {
    static var lanes: Int { 8 }
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { OnyxKernels.load(p) }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { OnyxKernels.store(p, self) }
    @inline(__always) func activated<Act: TileActivation>(_ act: Act) -> Self { act(self) }
    @inline(__always) func storeEights(_ p: UnsafeMutablePointer<Float>, stride: Int, count: Int) { store(p) }
}

extension SIMD16: TileVector where Scalar == Float {
    static var lanes: Int { 16 }
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { load16(p) }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { store16(p, self) }
    @inline(__always) func activated<Act: TileActivation>(_ act: Act) -> Self { act(self) }
    /// The halves through a bit cast: `lowHalf` and `highHalf` were left out of line in the blocked
    /// pointwise kernel's loops for some activations, two calls per pixel with the sums spilled around them.
    @inline(__always) func storeEights(_ p: UnsafeMutablePointer<Float>, stride: Int, count: Int) {
        let halves = unsafeBitCast(self, to: (SIMD8<Float>, SIMD8<Float>).self)
        halves.0.store(p)
        if count > 1 { halves.1.store(p + stride) }
    }
}

extension SGEMM {
    /// Whether `multiply` uses the 6x32 tile of `SIMD16` (see `TileVector`): fixed when compiling.
    public static let wideTiles = ONYX_WIDE_VECTORS != 0
    /// Columns of B in one packed panel of `multiply` (and `packPanels`): two vectors.
    public static let panelWidth = wideTiles ? 32 : 16
}
