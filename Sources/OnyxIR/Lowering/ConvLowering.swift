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
        let given = try (c.ints("strides"), c.ints("dilations"), c.ints("pads"))
        // Without kernel_shape the spatial rank comes from whichever attribute is present.
        let n = kernel?.count ?? given.0?.count ?? given.1?.count ?? given.2.map { $0.count / 2 } ?? 0
        if kernel == nil && n == 0 {
            return Window(kernel: [], strides: [], dilations: [], pads: [], autoPad: try autoPad(c))
        }
        let strides = given.0 ?? [Int](repeating: 1, count: n)
        let dilations = given.1 ?? [Int](repeating: 1, count: n)
        let pads = given.2 ?? [Int](repeating: 0, count: 2 * n)
        let autoPad = try autoPad(c)
        guard let kernel else {
            guard strides.count == n, dilations.count == n, pads.count == 2 * n else {
                throw c.error("strides, dilations and pads must agree on the number of spatial axes")
            }
            return Window(kernel: [], strides: strides, dilations: dilations, pads: pads, autoPad: autoPad)
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

    static func autoPad(_ c: LoweringContext) throws -> AutoPad {
        var text = try c.string("auto_pad", "NOTSET")
        if text.isEmpty { text = "NOTSET" }
        guard let autoPad = AutoPad(rawValue: text) else { throw c.error("attribute 'auto_pad' has unsupported value '\(text)'") }
        return autoPad
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
        let window = try window(c, kernel: try kernelShape(c))
        let outputPadding = try c.ints("output_padding") ?? []
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
        return .pool(PoolAttributes(kind: kind, window: try ConvLowering.window(c, kernel: kernel),
                                    ceilMode: try c.int("ceil_mode", 0) != 0,
                                    countIncludePad: try c.int("count_include_pad", 0) != 0,
                                    p: try c.int("p", 2),
                                    columnMajorIndices: try c.int("storage_order", 0) != 0))
    }
}
