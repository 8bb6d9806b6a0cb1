import OnnxFormat

/// Conv and ConvTranspose: window attributes with spec defaults (strides and dilations 1, pads 0,
/// auto_pad NOTSET); the kernel size may come from the weights.
enum ConvLowering {
    static let table: [String: OpTable.Lowering] = [
        "Conv": conv,
        "ConvTranspose": convTranspose,
    ]

    /// Reads kernel_shape/strides/dilations/pads/auto_pad. `spatial` is the number of spatial axes when
    /// known from the weights or kernel_shape; otherwise arrays stay empty and kernels fill defaults.
    static func window(_ c: LoweringContext, kernel: [Int]?) throws -> Window {
        let kernel = kernel ?? []
        let n = kernel.count
        let strides = try c.ints("strides") ?? [Int](repeating: 1, count: n)
        let dilations = try c.ints("dilations") ?? [Int](repeating: 1, count: n)
        let pads = try c.ints("pads") ?? [Int](repeating: 0, count: 2 * n)
        var autoPadText = try c.string("auto_pad", "NOTSET")
        if autoPadText.isEmpty { autoPadText = "NOTSET" }
        guard let autoPad = AutoPad(rawValue: autoPadText) else {
            throw c.error("attribute 'auto_pad' has unsupported value '\(autoPadText)'")
        }
        guard strides.count == n, dilations.count == n, pads.count == 2 * n else {
            throw c.error("strides, dilations and pads must match the \(n) spatial axes of the kernel")
        }
        guard strides.allSatisfy({ $0 > 0 }) else { throw c.error("strides must be positive, got \(strides)") }
        guard dilations.allSatisfy({ $0 > 0 }) else { throw c.error("dilations must be positive, got \(dilations)") }
        guard pads.allSatisfy({ $0 >= 0 }) else { throw c.error("pads must not be negative, got \(pads)") }
        guard kernel.allSatisfy({ $0 > 0 }) else { throw c.error("kernel_shape must be positive, got \(kernel)") }
        return Window(kernel: kernel, strides: strides, dilations: dilations, pads: pads, autoPad: autoPad)
    }

    /// kernel_shape, or the weight's spatial dims when it is a constant.
    static func kernelShape(_ c: LoweringContext) throws -> [Int]? {
        if let k = try c.ints("kernel_shape") { return k }
        if let w = c.constantInput(1), w.rank >= 3 { return Array(w.shape.dropFirst(2)) }
        return nil
    }

    static func conv(_ c: inout LoweringContext) throws -> Op {
        try c.requireInputs(2 ... 3)
        let group = try c.int("group", 1)
        guard group >= 1 else { throw c.error("group must be positive, got \(group)") }
        let kernel = try kernelShape(c)
        return .conv(ConvAttributes(window: try window(c, kernel: kernel), group: group, kernelFromWeights: kernel == nil))
    }

    static func convTranspose(_ c: inout LoweringContext) throws -> Op {
        try c.requireInputs(2 ... 3)
        let group = try c.int("group", 1)
        guard group >= 1 else { throw c.error("group must be positive, got \(group)") }
        guard let kernel = try kernelShape(c) else { throw c.error("needs kernel_shape or constant weights") }
        let window = try window(c, kernel: kernel)
        let outputPadding = try c.ints("output_padding") ?? [Int](repeating: 0, count: kernel.count)
        return .convTranspose(ConvTransposeAttributes(window: window, group: group, outputPadding: outputPadding,
                                                      outputShape: try c.ints("output_shape")))
    }
}

/// MaxPool, AveragePool, LpPool and their global forms.
enum PoolLowering {
    static let table: [String: OpTable.Lowering] = [
        "MaxPool": { try pool(&$0, .max) },
        "AveragePool": { try pool(&$0, .average) },
        "LpPool": { try pool(&$0, .lp) },
        "GlobalAveragePool": { c in try c.requireInputs(1 ... 1); return .globalPool(.average) },
        "GlobalMaxPool": { c in try c.requireInputs(1 ... 1); return .globalPool(.max) },
    ]

    static func pool(_ c: inout LoweringContext, _ kind: PoolKind) throws -> Op {
        try c.requireInputs(1 ... 1)
        guard let kernel = try c.ints("kernel_shape") else { throw c.error("missing required attribute 'kernel_shape'") }
        if kind == .max, try c.int("storage_order", 0) != 0, c.node.outputs.count > 1 {
            throw c.error("column-major storage_order for indices is not supported")
        }
        return .pool(PoolAttributes(kind: kind, window: try ConvLowering.window(c, kernel: kernel),
                                    ceilMode: try c.int("ceil_mode", 0) != 0,
                                    countIncludePad: try c.int("count_include_pad", 0) != 0,
                                    p: try c.int("p", 2)))
    }
}
