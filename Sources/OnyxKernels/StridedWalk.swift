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

extension StridedWalk {
    /// Copies, in row-major order of `shape`, the floats of x a walk with `strides` from `start` visits
    /// into y: whole runs where the last axis steps by 1 (a Slice of channels or rows), else one by one.
    public static func copy(_ x: UnsafePointer<Float>, shape: [Int], strides: [Int], start: Int, into y: UnsafeMutablePointer<Float>) {
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        if let run = shape.last, strides.last == 1 {
            var walk = StridedWalk(shape: Array(shape.dropLast()), strides: Array(strides.dropLast()), start: start)
            for k in 0 ..< count / run {
                copyFloats(y + k * run, from: x + walk.offset, count: run)
                walk.advance()
            }
        } else {
            var walk = StridedWalk(shape: shape, strides: strides, start: start)
            for k in 0 ..< count {
                y[k] = x[walk.offset]
                walk.advance()
            }
        }
    }
}
