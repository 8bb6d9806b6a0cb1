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
/// runs where the last axis steps by 1 (a Slice of channels or rows), runs of one repeated float where it
/// steps by 0 (an Expand along the last axes), else one float at a time. Which loop, and the walk over
/// the runs, are decided once, when the model is compiled.
public struct StridedCopy: Sendable {
    /// The walk over the runs' starts (all of `shape` when runs are single floats), and a run's length.
    let outer: [Int], outerStrides: [Int], start: Int, run: Int, count: Int
    /// Whether a run repeats its first float (the last axis steps by 0).
    let fills: Bool

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
        if let last = shape.last, let step = strides.last, step == 0 || step == 1 {
            (outer, outerStrides, run, fills) = (Array(shape.dropLast()), Array(strides.dropLast()), last, step == 0)
        } else {
            (outer, outerStrides, run, fills) = (shape, strides, 1, false)
        }
    }

    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        guard count > 0 else { return }
        var walk = StridedWalk(shape: outer, strides: outerStrides, start: start)
        if run == 1 {
            for k in 0 ..< count { y[k] = x[walk.offset]; walk.advance() }
        } else if fills {
            for k in 0 ..< count / run { (y + k * run).update(repeating: x[walk.offset], count: run); walk.advance() }
        } else {
            for k in 0 ..< count / run { copyFloats(y + k * run, from: x + walk.offset, count: run); walk.advance() }
        }
    }
}

/// A copy of a block of the source into a block of the destination, both strided (Pad's interior, its
/// border filled first): the block's outer axes walked on both sides, its last axis copied as one run.
public struct BlockCopy: Sendable {
    let outer: [Int], sourceStrides: [Int], destinationStrides: [Int]
    let sourceStart: Int, destinationStart: Int, run: Int, count: Int

    /// - Parameters: the block's shape; the strides and the block's first offset in the source and in the
    ///   destination. The last axis steps by 1 on both sides.
    public init(shape: [Int], source: (strides: [Int], start: Int), destination: (strides: [Int], start: Int)) {
        count = shape.reduce(1, *)
        run = shape.last ?? 1
        (outer, sourceStrides, destinationStrides) = (Array(shape.dropLast()), Array(source.strides.dropLast()),
                                                      Array(destination.strides.dropLast()))
        (sourceStart, destinationStart) = (source.start, destination.start)
    }

    public func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        guard count > 0 else { return }
        var from = StridedWalk(shape: outer, strides: sourceStrides, start: sourceStart)
        var to = StridedWalk(shape: outer, strides: destinationStrides, start: destinationStart)
        for _ in 0 ..< count / run {
            copyFloats(y + to.offset, from: x + from.offset, count: run)
            from.advance()
            to.advance()
        }
    }
}
