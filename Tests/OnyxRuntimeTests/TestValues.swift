/// Deterministic test data: multiples of 1/1000 in [-1, 1], from a 64-bit linear congruential generator
/// started at `seed` (the kernel tests' inputs, weights, biases and residuals).
struct TestValues {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int(state >> 40) % 2001 - 1000) / 1000
    }

    /// The next `count` values.
    mutating func callAsFunction(_ count: Int) -> [Float] { (0 ..< count).map { _ in next() } }
}
