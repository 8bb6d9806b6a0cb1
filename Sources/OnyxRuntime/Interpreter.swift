import OnyxIR

/// Runs one IR node on the reference kernels. Inputs are the node's input tensors (nil where omitted).
enum Interpreter {
    static func execute(_ op: Op, _ inputs: [Tensor?], outputCount: Int) throws -> [Tensor] {
        func input(_ i: Int) throws -> Tensor {
            guard i < inputs.count, let t = inputs[i] else { throw KernelError("input \(i) is missing") }
            return t
        }
        func optional(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }

        switch op {
        case .conv(let a):
            var y = try ConvKernels.conv(input(0), input(1), optional(2), a)
            if let residual = optional(3) { y = try ElementwiseKernels.binary(.add, y, residual) }
            return [try ElementwiseKernels.activate(y, a.activation)]
        case .convTranspose(let a): return [try ConvKernels.convTranspose(input(0), input(1), optional(2), a)]
        case .batchNormalization(let epsilon):
            return [try NormalizationKernels.batchNormalization(input(0), scale: input(1), bias: input(2), mean: input(3),
                                                                variance: input(4), epsilon: epsilon)]
        case .instanceNormalization(let epsilon):
            return [try NormalizationKernels.instanceNormalization(input(0), scale: input(1), bias: input(2), epsilon: epsilon)]
        case .lrn(let size, let alpha, let beta, let bias):
            return [try PoolKernels.lrn(input(0), size: size, alpha: alpha, beta: beta, bias: bias)]
        case .unary(let f): return [try ElementwiseKernels.unary(f, input(0))]
        case .binary(let f): return [try ElementwiseKernels.binary(f, input(0), input(1))]
        case .variadic(let f): return [try ElementwiseKernels.variadic(f, inputs.map { $0! })]
        case .clip: return [try ElementwiseKernels.clip(input(0), min: optional(1), max: optional(2))]
        case .prelu: return [try ElementwiseKernels.prelu(input(0), input(1))]
        case .matMul: return [try MatrixKernels.matMul(input(0), input(1))]
        case .gemm(let g):
            let y = try MatrixKernels.gemm(input(0), input(1), optional(2), alpha: g.alpha, beta: g.beta, transA: g.transA, transB: g.transB)
            return [try ElementwiseKernels.activate(y, g.activation)]
        case .channelShuffle(let groups): return [try ShapeKernels.channelShuffle(input(0), groups: groups)]
        case .squeezeExcite(let hidden, let gate):
            let x = try input(0)
            let unit = Window(kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: .notSet)
            let pooled = try PoolKernels.globalPool(x, .average)
            var h = try ConvKernels.conv(pooled, input(1), input(2), ConvAttributes(window: unit, group: 1, kernelFromWeights: false))
            h = try ElementwiseKernels.activate(h, hidden)
            var s = try ConvKernels.conv(h, input(3), input(4), ConvAttributes(window: unit, group: 1, kernelFromWeights: false))
            s = try ElementwiseKernels.activate(s, gate)
            return [try ElementwiseKernels.binary(.mul, x, s)]
        case .pool(let a): return try PoolKernels.pool(input(0), a, wantIndices: outputCount > 1)
        case .globalPool(let kind): return [try PoolKernels.globalPool(input(0), kind)]
        case .concat(let axis): return [try ShapeKernels.concat(inputs.map { $0! }, axis: axis)]
        case .split(let axis, let outputs): return try ShapeKernels.split(input(0), sizes: optional(1), axis: axis, outputs: outputs)
        case .slice: return [try ShapeKernels.slice(input(0), starts: input(1), ends: input(2), axes: optional(3), steps: optional(4))]
        case .reshape(let allowZero): return [try ShapeKernels.reshape(input(0), input(1), allowZero: allowZero)]
        case .flatten(let axis): return [try ShapeKernels.flatten(input(0), axis: axis)]
        case .transpose(let permutation): return [try ShapeKernels.transpose(input(0), permutation)]
        case .squeeze: return [try ShapeKernels.squeeze(input(0), axes: optional(1))]
        case .unsqueeze: return [try ShapeKernels.unsqueeze(input(0), axes: input(1))]
        case .expand: return [try ShapeKernels.expand(input(0), input(1))]
        case .tile: return [try ShapeKernels.tile(input(0), input(1))]
        case .gather(let axis): return [try ShapeKernels.gather(input(0), input(1), axis: axis)]
        case .shape(let start, let end): return [ShapeKernels.shape(try input(0), start: start, end: end)]
        case .constantOfShape(let value): return [try ShapeKernels.constantOfShape(input(0), value: value)]
        case .cast(let to): return [try ElementwiseKernels.cast(input(0), to: to)]
        case .identity:
            let x = try input(0)
            // Dropout's optional mask output: all true at inference.
            return [x] + (outputCount > 1 ? [Tensor(shape: x.shape, [Bool](repeating: true, count: x.count))] : [])
        case .pad(let mode): return [try ShapeKernels.pad(input(0), pads: input(1), value: optional(2), axes: optional(3), mode: mode)]
        case .resize(let a): return [try ResizeKernel.resize(input(0), roi: optional(1), scales: optional(2), sizes: optional(3), a)]
        case .softmax(let axis, let coerce): return [try NormalizationKernels.softmax(input(0), axis: axis, coerceTo2D: coerce, log: false)]
        case .logSoftmax(let axis, let coerce): return [try NormalizationKernels.softmax(input(0), axis: axis, coerceTo2D: coerce, log: true)]
        case .reduce(let f, let keepDims, let noop):
            return [try ReduceKernels.reduce(input(0), axes: optional(1), f, keepDims: keepDims, noopWithEmptyAxes: noop)]
        case .argMax(let axis, let keepDims, let last):
            return [try ReduceKernels.argExtremum(input(0), axis: axis, keepDims: keepDims, selectLastIndex: last, isMax: true)]
        case .argMin(let axis, let keepDims, let last):
            return [try ReduceKernels.argExtremum(input(0), axis: axis, keepDims: keepDims, selectLastIndex: last, isMax: false)]
        case .depthToSpace(let b, let crd): return [try ShapeKernels.depthToSpace(input(0), blockSize: b, columnRowDepth: crd)]
        case .spaceToDepth(let b, let crd): return [try ShapeKernels.spaceToDepth(input(0), blockSize: b, columnRowDepth: crd)]
        case .where: return [try ElementwiseKernels.where(input(0), input(1), input(2))]
        }
    }
}
