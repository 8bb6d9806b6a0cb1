/// Pad in edge, reflect or wrap mode (style-transfer and super-resolution nets pad with reflections):
/// every output element copies an input element, output index i along axis a reading the input at
/// offset `maps[a][i]` (the mode's index formula, applied when the model is compiled, times the input's
/// stride). Along the last axis a row copies its interior as one run and gathers its few border elements.
public struct MappedPad: Sendable {
    /// Each output row's input offset (the outer axes' maps summed), and the last axis's map.
    let rowSources: [Int], lastMap: [Int]
    /// Output columns whose inputs are consecutive: lastMap[j] = lastMap[interior.lowerBound] + j - lowerBound.
    let interior: Range<Int>

    /// - Parameter maps: per axis of the output, the input offset of each index (index times stride).
    ///   The last axis's stride is 1.
    public init(maps: [[Int]]) {
        precondition(!maps.isEmpty, "Pad of a scalar")
        rowSources = maps.dropLast().reduce([0]) { sources, map in sources.flatMap { s in map.map { s + $0 } } }
        lastMap = maps.last!
        // The longest run of consecutive inputs.
        var best = 0 ..< 0, start = 0
        for j in 0 ... lastMap.count {
            if j == lastMap.count || (j > start && lastMap[j] != lastMap[j - 1] + 1) {
                if j - start > best.count { best = start ..< j }
                start = j
            }
        }
        interior = best
    }

    /// Output rows (every axis but the last).
    public var rows: Int { rowSources.count }

    /// Output rows `rows` (a sub-range, for threads) of y.
    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        let width = lastMap.count, (first, end) = (interior.lowerBound, interior.upperBound)
        lastMap.withUnsafeBufferPointer { map in
            rowSources.withUnsafeBufferPointer { sources in
                for r in rows {
                    let row = x + sources[r], out = y + r * width
                    for j in 0 ..< first { out[j] = row[map[j]] }
                    if first < end { copyFloats(out + first, from: row + map[first], count: end - first) }
                    for j in end ..< width { out[j] = row[map[j]] }
                }
            }
        }
    }
}
