import Foundation
import OnyxIR

/// Resize in any rank: each axis maps output coordinates to input coordinates (the coordinate
/// transform), then to weighted taps (nearest, linear or cubic); the output is the sum over the
/// product of every axis's taps. Axes whose scale is 1 map to themselves.
enum ResizeKernel {
    struct Tap { var index: Int; var weight: Double }

    static func resize(_ x: Tensor, roi: Tensor?, scales: Tensor?, sizes: Tensor?, _ a: ResizeAttributes) throws -> Tensor {
        if a.antialias { throw KernelError("antialias is not supported") }
        guard x.dtype.isFloatingPoint || a.mode == .nearest else { throw KernelError("X must be floating point for \(a.mode.rawValue) mode") }
        let (outShape, taps) = try plan(x.shape, roi: roi, scales: scales, sizes: sizes, a)
        let rank = x.rank
        let values = x.doubles
        let inStrides = Shapes.strides(x.shape)
        let total = outShape.reduce(1, *)
        var out = [Double](repeating: 0, count: total)
        var position = [Int](repeating: 0, count: rank)
        for o in 0 ..< total {
            var rest = o
            for axis in stride(from: rank - 1, through: 0, by: -1) { position[axis] = rest % outShape[axis]; rest /= outShape[axis] }
            let axisTaps = (0 ..< rank).map { taps[$0][position[$0]] }
            if axisTaps.contains(where: \.isEmpty) { out[o] = Double(a.extrapolationValue); continue }
            // Sum over the cartesian product of the axes' taps.
            var choice = [Int](repeating: 0, count: rank)
            var sum = 0.0
            outer: while true {
                var weight = 1.0, offset = 0
                for axis in 0 ..< rank {
                    let t = axisTaps[axis][choice[axis]]
                    weight *= t.weight
                    offset += t.index * inStrides[axis]
                }
                if weight != 0 { sum += weight * values[offset] }
                var axis = rank - 1
                while axis >= 0 {
                    choice[axis] += 1
                    if choice[axis] < axisTaps[axis].count { continue outer }
                    choice[axis] = 0
                    axis -= 1
                }
                break
            }
            out[o] = sum
        }
        return try ElementwiseKernels.cast(Tensor(shape: outShape, out), to: x.dtype)
    }

    /// The output shape and, per axis, each output index's input taps (empty where tf_crop_and_resize
    /// extrapolates) for an input of `shape`: what `resize` computes, and what the fast kernel's tables
    /// are made from (`PointerKernels`), so that both take the same pixels.
    static func plan(_ shape: [Int], roi: Tensor?, scales: Tensor?, sizes: Tensor?, _ a: ResizeAttributes) throws -> (shape: [Int], taps: [[[Tap]]]) {
        let rank = shape.count
        let axes = try (a.axes ?? Array(0 ..< rank)).map { try Shapes.axis($0, rank: rank) }
        var scale = [Double](repeating: 1, count: rank)
        var outShape = shape
        let scaleValues = scales.flatMap { $0.count > 0 ? $0.doubles : nil }
        let sizeValues = try sizes.flatMap { $0.count > 0 ? try $0.requireInts("sizes") : nil }
        var roiStart = [Double](repeating: 0, count: rank), roiEnd = [Double](repeating: 1, count: rank)
        if let roi, roi.count > 0, a.coordinateTransform == .tfCropAndResize {
            let r = roi.doubles
            guard r.count == 2 * axes.count else { throw KernelError("roi must have 2 values per axis") }
            for (i, axis) in axes.enumerated() { roiStart[axis] = r[i]; roiEnd[axis] = r[i + axes.count] }
        }
        if let sizeValues {
            guard scaleValues == nil else { throw KernelError("only one of scales and sizes may be given") }
            guard sizeValues.count == axes.count else { throw KernelError("sizes must have \(axes.count) values") }
            if a.aspectRatioPolicy == .stretch {
                for (i, axis) in axes.enumerated() {
                    outShape[axis] = sizeValues[i]
                    scale[axis] = Double(sizeValues[i]) / Double(shape[axis])
                }
            } else {
                let ratios = axes.enumerated().map { Double(sizeValues[$0.offset]) / Double(shape[$0.element]) }
                let s = a.aspectRatioPolicy == .notLarger ? ratios.min()! : ratios.max()!
                for axis in axes {
                    scale[axis] = s
                    outShape[axis] = try size((s * Double(shape[axis])).rounded(.toNearestOrAwayFromZero))
                }
            }
        } else if let scaleValues {
            guard scaleValues.count == axes.count else { throw KernelError("scales must have \(axes.count) values") }
            for (i, axis) in axes.enumerated() {
                guard scaleValues[i] > 0 else { throw KernelError("scales must be positive, got \(scaleValues)") }
                scale[axis] = scaleValues[i]
                outShape[axis] = try size((Double(shape[axis]) * (roiEnd[axis] - roiStart[axis]) * scaleValues[i]).rounded(.down))
            }
        } else {
            throw KernelError("one of scales and sizes is required")
        }
        _ = try Shapes.checkedCount(outShape)

        var taps: [[[Tap]]] = []
        for axis in 0 ..< rank {
            let (inSize, outSize) = (shape[axis], outShape[axis])
            if inSize == outSize && scale[axis] == 1 && a.coordinateTransform != .tfCropAndResize {
                taps.append((0 ..< outSize).map { [Tap(index: $0, weight: 1)] })
                continue
            }
            taps.append((0 ..< outSize).map { o in
                let coordinate = sourceCoordinate(Double(o), inSize: inSize, outSize: outSize, scale: scale[axis],
                                                  roiStart: roiStart[axis], roiEnd: roiEnd[axis], transform: a.coordinateTransform)
                if a.coordinateTransform == .tfCropAndResize && (coordinate < 0 || coordinate > Double(inSize - 1)) {
                    return []  // extrapolated
                }
                return axisTaps(coordinate, inSize: inSize, a)
            })
        }

        return (outShape, taps)
    }

    /// A computed output size as an Int, refusing NaN, infinities and absurd values.
    static func size(_ value: Double) throws -> Int {
        guard value.isFinite, value >= 0, value < Double(1 << 40) else { throw KernelError("output size \(value) is invalid") }
        return Int(value)
    }

    /// The input coordinate an output coordinate maps to (ONNX Resize's coordinate_transformation_mode).
    static func sourceCoordinate(_ o: Double, inSize: Int, outSize: Int, scale: Double, roiStart: Double, roiEnd: Double,
                                 transform: CoordinateTransform) -> Double {
        let inLength = Double(inSize), outLength = Double(outSize)
        switch transform {
        case .halfPixel: return (o + 0.5) / scale - 0.5
        case .halfPixelSymmetric:
            let adjustment = outLength / (scale * inLength)
            let center = inLength / 2
            let offset = center * (1 - adjustment)
            return offset + (o + 0.5) / scale - 0.5
        case .pytorchHalfPixel: return outSize > 1 ? (o + 0.5) / scale - 0.5 : 0
        case .alignCorners:
            // The spec's length_resized is scale * length_original, before flooring to the output size.
            return outSize == 1 ? 0 : o * (inLength - 1) / (scale * inLength - 1)
        case .asymmetric: return o / scale
        case .tfCropAndResize:
            return outSize > 1
                ? roiStart * (inLength - 1) + o * (roiEnd - roiStart) * (inLength - 1) / (outLength - 1)
                : 0.5 * (roiStart + roiEnd) * (inLength - 1)
        }
    }

    static func axisTaps(_ x: Double, inSize: Int, _ a: ResizeAttributes) -> [Tap] {
        func clamp(_ i: Int) -> Int { min(max(i, 0), inSize - 1) }
        switch a.mode {
        case .nearest:
            let index: Int
            switch a.nearestMode {
            case .roundPreferFloor: index = x == x.rounded(.down) + 0.5 ? Int(x.rounded(.down)) : Int(x.rounded())
            case .roundPreferCeil: index = x == x.rounded(.down) + 0.5 ? Int(x.rounded(.up)) : Int(x.rounded())
            case .floor: index = Int(x.rounded(.down))
            case .ceil: index = Int(x.rounded(.up))
            }
            return [Tap(index: clamp(index), weight: 1)]
        case .linear:
            let clamped = min(max(x, 0), Double(inSize - 1))
            let lo = Int(clamped.rounded(.down))
            let frac = clamped - Double(lo)
            return [Tap(index: clamp(lo), weight: 1 - frac), Tap(index: clamp(lo + 1), weight: frac)]
        case .cubic:
            let lo = Int(x.rounded(.down))
            let t = x - Double(lo)
            let A = Double(a.cubicCoefficient)
            // Keys' cubic convolution weights for distances 1+t, t, 1-t, 2-t.
            func w(_ d: Double) -> Double {
                let d = Swift.abs(d)
                if d <= 1 { return ((A + 2) * d - (A + 3)) * d * d + 1 }
                if d < 2 { return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A }
                return 0
            }
            var taps = (-1 ... 2).map { k in Tap(index: lo + k, weight: w(t - Double(k))) }
            if a.excludeOutside {
                let total = taps.filter { $0.index >= 0 && $0.index < inSize }.reduce(0) { $0 + $1.weight }
                taps = taps.map { ($0.index >= 0 && $0.index < inSize) ? Tap(index: $0.index, weight: $0.weight / total) : Tap(index: 0, weight: 0) }
            }
            return taps.map { Tap(index: clamp($0.index), weight: $0.weight) }
        }
    }
}
