import CPUHints

/// The vector a GEMM tile is built from: a 6x16 tile of `SIMD8` (two per row, 12 of AVX2's 16
/// registers), or, compiled for AVX-512, a 6x32 tile of `SIMD16` (12 of its 32 zmm registers). On this
/// project's Zen 4 machine the 6x32 tile ran a pre-packed GEMM at 95-108 GFLOP/s where the 6x16 ran
/// at 88-105 (one thread, 1x1-convolution shapes of ResNet-50 and SqueezeNet): each step of k broadcasts
/// the six values of A once for twice the columns. Every requirement is a concrete operation of the
/// vector type, so the generic tile code compiles to the same instructions as code written for it.
protocol TileVector {
    static var lanes: Int { get }
    init(repeating: Float)
    init()
    static func + (a: Self, b: Self) -> Self
    func addingProduct(_ a: Self, _ b: Self) -> Self
    static func load(_ p: UnsafePointer<Float>) -> Self
    func store(_ p: UnsafeMutablePointer<Float>)
    func activated<Act: TileActivation>(_ act: Act) -> Self
}

extension SIMD8: TileVector where Scalar == Float {
    static var lanes: Int { 8 }
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self) }
    @inline(__always) func activated<Act: TileActivation>(_ act: Act) -> Self { act(self) }
}

extension SIMD16: TileVector where Scalar == Float {
    static var lanes: Int { 16 }
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
    @inline(__always) func store(_ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self) }
    @inline(__always) func activated<Act: TileActivation>(_ act: Act) -> Self { act(self) }
}

extension SGEMM {
    /// Whether `multiply` uses the 6x32 tile of `SIMD16` (see `TileVector`): fixed when compiling.
    static let wideTiles = ONYX_WIDE_VECTORS != 0
    /// Columns of B in one packed panel of `multiply` (and `packPanels`): two vectors.
    public static let panelWidth = wideTiles ? 32 : 16
}
