@testable import OnyxKernels
import Testing

/// The GEMM alone, in one call, against sums in double precision. With k over 1024, B is packed 16
/// columns at a time, and a narrow last panel joins the chunk before it: 49 = 3 * 16 + 1 columns (the
/// one-column edge), 300 = 18 * 16 + 12 (a 12-column edge), and a single chunk (17 columns) to compare.
@Suite struct SGEMMTests {
    @Test(arguments: [(13, 4200, 49), (8, 1100, 300), (7, 2000, 17)])
    func largeKMatchesDoubleSums(m: Int, k: Int, n: Int) {
        var state: UInt64 = 7
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) % 2001 - 1000) / 1000
        }
        let a = (0 ..< m * k).map { _ in next() }, b = (0 ..< k * n).map { _ in next() }
        let packed = a.withUnsafeBufferPointer { SGEMM.PackedA(m: m, k: k, a: $0.baseAddress!, rowStride: k, colStride: 1) }
        var c = [Float](repeating: .nan, count: m * n)
        var scratch = [Float](repeating: .nan, count: SGEMM.scratchCount(k: k))
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
                worst = max(worst, abs(sum - Double(c[i * n + j])))
            }
        }
        #expect(worst < 1e-3, "largest difference \(worst)")
    }
}
