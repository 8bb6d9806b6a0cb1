@testable import OnyxKernels
import Testing

/// The GEMM alone, in one call, against sums in double precision. With k over 1024, B is packed 16
/// columns at a time, and a narrow last panel joins the chunk before it: 49 = 3 * 16 + 1 columns (the
/// one-column edge), 300 = 18 * 16 + 12 (a 12-column edge), and a single chunk (17 columns) to compare.
/// Each call gets only the scratch `scratchCount(k:n:)` names for its columns.
@Suite struct SGEMMTests {
    @Test(arguments: [(13, 4200, 49), (8, 1100, 300), (7, 2000, 17)])
    func largeKMatchesDoubleSums(m: Int, k: Int, n: Int) {
        var values = TestValues(seed: 7)
        let a = values(m * k), b = values(k * n)
        let packed = a.withUnsafeBufferPointer { SGEMM.PackedA(m: m, k: k, a: $0.baseAddress!, rowStride: k, colStride: 1) }
        var c = [Float](repeating: .nan, count: m * n)
        // The scratch `scratchCount(k:n:)` asks for, then a guard that the call must leave alone.
        let needed = SGEMM.scratchCount(k: k, n: n), guardCount = 4 * k
        var scratch = [Float](repeating: .nan, count: needed) + [Float](repeating: 12345, count: guardCount)
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    SGEMM.multiply(packed, b: b.baseAddress!, ldb: n, n: n, c: c.baseAddress!, ldc: n, epilogue: SGEMM.Epilogue(),
                                   scratch: scratch.baseAddress!)
                }
            }
        }
        var worst: Double = 0
        for i in 0 ..< m {
            for j in 0 ..< n {
                var sum: Double = 0
                for p in 0 ..< k { sum += Double(a[i * k + p]) * Double(b[p * n + j]) }
                worst = largest(worst, abs(sum - Double(c[i * n + j])))
            }
        }
        #expect(worst < 1e-3, "largest difference \(worst)")
        #expect(scratch[needed...].allSatisfy { $0 == 12345 }, "multiply wrote past the scratch it asked for")
        if n < SGEMM.smallN { #expect(needed < SGEMM.scratchCount(k: k), "\(n) columns need less than the widest chunk") }
    }

    /// Both tiles, whatever this build was compiled for: the 6x16 of SIMD8 and the 6x32 of SIMD16 (which
    /// AVX-512 builds use), with bias and ReLU, with and without a residual, on every kind of edge: rows in
    /// a last panel of 1-5; columns ending in one column, in at most eight, in one vector, and in a vector
    /// and a remainder (17 = 16 + 1, 25 = 16 + 9, 31 = 16 + 15, 24 = 16 + 8, 41 = 32 + 9, 169 = 5 * 32 + 9).
    /// With SIMD16, 12 to 48 rows read in place go by tall tiles (`TallTiles.swift`): groups of three
    /// panels (16 rows: the last panel's four; 17 and 18), of two (12, 24 as 12 + 12, 23 as 12 + 11),
    /// mixed (40 as 18 + 12 + 10, 32 as 18 + 14), each with columns past the last whole vector.
    @Test(arguments: [(6, 40, 16, true), (10, 33, 49, true), (17, 70, 45, true), (4, 9, 72, true), (23, 130, 100, true),
                      (12, 64, 1, true), (10, 33, 49, false), (7, 50, 25, false), (9, 40, 31, true), (6, 30, 24, false),
                      (5, 12, 57, true), (13, 20, 196, false), (8, 30, 41, true), (7, 25, 169, false),
                      (16, 32, 112, false), (16, 128, 305, true), (18, 16, 40, false), (12, 80, 37, true), (24, 96, 50, false),
                      (32, 64, 33, true), (40, 72, 20, false), (48, 64, 65, true)], [false, true])
    func bothTileWidthsMatchDoubleSums(shape: (m: Int, k: Int, n: Int, residual: Bool), wide: Bool) {
        let (m, k, n, withResidual) = shape
        var values = TestValues(seed: 11)
        let a = values(m * k), b = values(k * n)
        let bias = values(m), residual = values(m * n)
        let packed = a.withUnsafeBufferPointer { SGEMM.PackedA(m: m, k: k, a: $0.baseAddress!, rowStride: k, colStride: 1) }
        var c = [Float](repeating: .nan, count: m * n)
        // Room for either panel width.
        var scratch = [Float](repeating: .nan, count: k * (SGEMM.smallN + 2 * 32 + 512) + SGEMM.mr * 32)
        b.withUnsafeBufferPointer { b in
            bias.withUnsafeBufferPointer { bias in
                residual.withUnsafeBufferPointer { residual in
                    c.withUnsafeMutableBufferPointer { c in
                        scratch.withUnsafeMutableBufferPointer { scratch in
                            let epilogue = SGEMM.Epilogue(bias: bias.baseAddress, residual: withResidual ? residual.baseAddress : nil,
                                                          activation: .relu)
                            if wide {
                                SGEMM.multiply(packed, b.baseAddress!, n, n, c.baseAddress!, n, epilogue, scratch.baseAddress!, nil, 0 ..< m, nil,
                                               SIMD16<Float>.self)
                            } else {
                                SGEMM.multiply(packed, b.baseAddress!, n, n, c.baseAddress!, n, epilogue, scratch.baseAddress!, nil, 0 ..< m, nil,
                                               SIMD8<Float>.self)
                            }
                        }
                    }
                }
            }
        }
        var worst: Double = 0
        for i in 0 ..< m {
            for j in 0 ..< n {
                var sum = Double(bias[i]) + (withResidual ? Double(residual[i * n + j]) : 0)
                for p in 0 ..< k { sum += Double(a[i * k + p]) * Double(b[p * n + j]) }
                worst = largest(worst, abs(max(sum, 0) - Double(c[i * n + j])))
            }
        }
        #expect(worst < 1e-4, "largest difference \(worst)")
    }
}
