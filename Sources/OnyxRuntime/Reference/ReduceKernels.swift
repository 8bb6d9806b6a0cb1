import Foundation
import OnyxIR

/// Reductions over a set of axes, and ArgMax/ArgMin along one axis.
enum ReduceKernels {
    static func reduce(_ x: Tensor, axes axesTensor: Tensor?, _ f: ReduceFunction, keepDims: Bool, noopWithEmptyAxes: Bool) throws -> Tensor {
        var axes = try axesTensor.map { try $0.requireInts("axes").map { try Shapes.axis($0, rank: x.rank) } } ?? []
        if axes.isEmpty {
            if noopWithEmptyAxes { return x }
            axes = Array(0 ..< x.rank)
        }
        let reduced = Set(axes)
        let outShapeKept = x.shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        if x.dtype == .bool && f != .max && f != .min { throw KernelError("\(f.rawValue) is not defined for bool") }
        let values = x.doubles
        let outCount = outShapeKept.reduce(1, *)
        let initial: Double
        switch f {
        case .max: initial = -.infinity
        case .min: initial = .infinity
        case .prod: initial = 1
        default: initial = 0
        }
        var acc = [Double](repeating: initial, count: outCount)
        var counts = [Int](repeating: 0, count: outCount)
        let outStrides = Shapes.strides(outShapeKept)
        let inStrides = Shapes.strides(x.shape)
        for i in 0 ..< values.count {
            var o = 0
            for a in 0 ..< x.rank where !reduced.contains(a) { o += (i / inStrides[a]) % x.shape[a] * outStrides[a] }
            let v = values[i]
            counts[o] += 1
            switch f {
            case .max: acc[o] = v.isNaN || acc[o].isNaN ? .nan : Swift.max(acc[o], v)
            case .min: acc[o] = v.isNaN || acc[o].isNaN ? .nan : Swift.min(acc[o], v)
            case .prod: acc[o] *= v
            case .l1: acc[o] += Swift.abs(v)
            case .l2, .sumSquare: acc[o] += v * v
            case .logSumExp: acc[o] += Foundation.exp(v)
            case .mean, .sum, .logSum: acc[o] += v
            }
        }
        for o in 0 ..< outCount {
            switch f {
            case .mean: acc[o] = counts[o] > 0 ? acc[o] / Double(counts[o]) : .nan
            case .l2: acc[o] = acc[o].squareRoot()
            case .logSum, .logSumExp: acc[o] = Foundation.log(acc[o])
            default: break
            }
        }
        if x.dtype == .bool {
            // max is "any", min is "all"; over an empty set, false and true.
            for o in 0 ..< outCount where acc[o].isInfinite { acc[o] = f == .max ? 0 : 1 }
        }
        let shape = keepDims ? outShapeKept : x.shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element)
        return try ElementwiseKernels.cast(Tensor(shape: shape, acc), to: x.dtype)
    }

    static func argExtremum(_ x: Tensor, axis: Int, keepDims: Bool, selectLastIndex: Bool, isMax: Bool) throws -> Tensor {
        let a = try Shapes.axis(axis, rank: x.rank)
        let values = x.doubles
        let length = x.shape[a]
        guard length > 0 else { throw KernelError("cannot take the arg\(isMax ? "max" : "min") of an empty axis") }
        let inner = x.shape[(a + 1)...].reduce(1, *)
        let outer = x.shape[..<a].reduce(1, *)
        var out = [Int64](repeating: 0, count: outer * inner)
        for o in 0 ..< outer {
            for i in 0 ..< inner {
                var best = 0
                for k in 1 ..< length {
                    let v = values[(o * length + k) * inner + i], b = values[(o * length + best) * inner + i]
                    let better = isMax ? (v > b || (selectLastIndex && v == b)) : (v < b || (selectLastIndex && v == b))
                    if better { best = k }
                }
                out[o * inner + i] = Int64(best)
            }
        }
        var shape = x.shape
        if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
        return Tensor(shape: shape, out)
    }
}
