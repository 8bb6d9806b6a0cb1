/// The linear offsets a row-major walk over `shape` visits when axis i steps by `strides[i]` (any sign):
/// a transpose's or a slice's source offsets, one step at a time.
public struct StridedWalk {
    let shape: [Int], strides: [Int]
    var index: [Int]
    /// The current position's offset.
    public private(set) var offset: Int

    public init(shape: [Int], strides: [Int], start: Int = 0) {
        (self.shape, self.strides, offset) = (shape, strides, start)
        index = [Int](repeating: 0, count: shape.count)
    }

    /// Moves to the next position in row-major order (past the last, back to the first).
    @inline(__always)
    public mutating func advance() {
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < shape[axis] { return }
            offset -= strides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}
