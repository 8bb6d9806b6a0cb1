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

/// A copy, in row-major order of `shape`, of the floats a walk with `strides` from `start` visits: whole
/// runs where the last axis steps by 1 (a Slice of channels or rows), else one float at a time. Which
/// loop, and the walk over the runs, are decided once, when the model is compiled.
public struct StridedCopy: Sendable {
    /// The walk over the runs' starts (all of `shape` when runs are single floats), and a run's length.
    let outer: [Int], outerStrides: [Int], start: Int, run: Int, count: Int

    public init(shape fullShape: [Int], strides fullStrides: [Int], start: Int) {
        count = fullShape.reduce(1, *)
        self.start = start
        // Drop axes of size 1, and merge an axis into the one after it when the source steps over it as one
        // block (strides[i] == shape[i+1] * strides[i+1]), so runs are as long as the source allows.
        var shape: [Int] = [], strides: [Int] = []
        for (size, stride) in zip(fullShape, fullStrides) where size != 1 {
            if let outer = strides.last, outer == size * stride {
                shape[shape.count - 1] *= size
                strides[strides.count - 1] = stride
            } else {
                shape.append(size)
                strides.append(stride)
            }
        }
        if let last = shape.last, strides.last == 1 {
            (outer, outerStrides, run) = (Array(shape.dropLast()), Array(strides.dropLast()), last)
        } else {
            (outer, outerStrides, run) = (shape, strides, 1)
        }
    }

    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        guard count > 0 else { return }
        var walk = StridedWalk(shape: outer, strides: outerStrides, start: start)
        if run == 1 {
            for k in 0 ..< count { y[k] = x[walk.offset]; walk.advance() }
        } else {
            for k in 0 ..< count / run { copyFloats(y + k * run, from: x + walk.offset, count: run); walk.advance() }
        }
    }
}
