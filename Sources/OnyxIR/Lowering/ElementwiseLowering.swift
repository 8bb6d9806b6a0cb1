import OnnxFormat

/// Unary functions (with their parameters), broadcasting binary ops, variadic ops, Clip and PRelu.
enum ElementwiseLowering {
    static let table: [String: OpTable.Lowering] = {
        var t: [String: OpTable.Lowering] = [:]
        let plain: [(String, UnaryFunction)] = [
            ("Relu", .relu), ("Sigmoid", .sigmoid), ("Tanh", .tanh), ("Exp", .exp), ("Log", .log), ("Sqrt", .sqrt),
            ("Neg", .neg), ("Abs", .abs), ("Reciprocal", .reciprocal), ("Floor", .floor), ("Ceil", .ceil),
            ("Round", .round), ("Sign", .sign), ("Erf", .erf), ("Softplus", .softplus), ("Softsign", .softsign), ("Mish", .mish),
            ("HardSwish", .hardSwish), ("Not", .not), ("Sin", .sin), ("Cos", .cos),
        ]
        for (name, f) in plain { t[name] = { c in try c.requireInputs(1 ... 1); return .unary(f) } }
        t["LeakyRelu"] = { c in try c.requireInputs(1 ... 1); return .unary(.leakyRelu(alpha: try c.float("alpha", 0.01))) }
        t["Elu"] = { c in try c.requireInputs(1 ... 1); return .unary(.elu(alpha: try c.float("alpha", 1))) }
        t["Celu"] = { c in try c.requireInputs(1 ... 1); return .unary(.celu(alpha: try c.float("alpha", 1))) }
        t["ThresholdedRelu"] = { c in try c.requireInputs(1 ... 1); return .unary(.thresholdedRelu(alpha: try c.float("alpha", 1))) }
        t["Selu"] = { c in
            try c.requireInputs(1 ... 1)
            return .unary(.selu(alpha: try c.float("alpha", 1.67326319217681884765625),
                                gamma: try c.float("gamma", 1.05070102214813232421875)))
        }
        t["HardSigmoid"] = { c in
            try c.requireInputs(1 ... 1)
            return .unary(.hardSigmoid(alpha: try c.float("alpha", 0.2), beta: try c.float("beta", 0.5)))
        }
        let binary: [BinaryFunction] = [.add, .sub, .mul, .div, .pow, .equal, .greater, .less, .greaterOrEqual,
                                        .lessOrEqual, .and, .or, .xor]
        for f in binary {
            t[f.rawValue] = { c in
                try c.requireInputs(2 ... 2)
                // Opsets before 7 broadcast only with broadcast=1 and an axis; exporters since 2017 use 7+.
                if c.opset < 7, try c.int("broadcast", 0) != 0, c.has("axis") {
                    throw c.error("legacy broadcasting with 'axis' is not supported")
                }
                return .binary(f)
            }
        }
        t["Mod"] = { c in try c.requireInputs(2 ... 2); return .binary(try c.int("fmod", 0) != 0 ? .fmod : .mod) }
        for f in [VariadicFunction.sum, .min, .max, .mean] {
            t[f.rawValue] = { c in
                guard !c.inputs.isEmpty, c.inputs.allSatisfy({ $0 != nil }) else { throw c.error("needs at least one input") }
                return .variadic(f)
            }
        }
        t["Clip"] = clip
        t["PRelu"] = { c in try c.requireInputs(2 ... 2); return .prelu }
        return t
    }()

    /// Clip before opset 11 takes min and max as attributes; afterwards as optional inputs.
    static func clip(_ c: inout LoweringContext) throws -> Op {
        if c.opset < 11 {
            try c.requireInputs(1 ... 1)
            let lo = try c.float("min", -Float.greatestFiniteMagnitude)
            let hi = try c.float("max", Float.greatestFiniteMagnitude)
            c.inputs.append(c.constant(.scalar(lo), suffix: "min"))
            c.inputs.append(c.constant(.scalar(hi), suffix: "max"))
        } else {
            try c.requireInputs(1 ... 3)
        }
        return .clip
    }
}

/// BatchNormalization, InstanceNormalization, LRN, Softmax, LogSoftmax.
enum NormalizationLowering {
    static let table: [String: OpTable.Lowering] = [
        "BatchNormalization": { c in
            try c.requireInputs(5 ... 5)
            if try c.int("training_mode", 0) != 0 { throw c.error("training mode is not supported (inference only)") }
            if c.opset < 9, try c.int("spatial", 1) == 0 { throw c.error("spatial=0 is not supported") }
            return .batchNormalization(epsilon: try c.float("epsilon", 1e-5))
        },
        "InstanceNormalization": { c in
            try c.requireInputs(3 ... 3)
            return .instanceNormalization(epsilon: try c.float("epsilon", 1e-5))
        },
        "LRN": { c in
            try c.requireInputs(1 ... 1)
            let size = try c.requiredInt("size")
            guard size > 0 else { throw c.error("size must be positive, got \(size)") }
            return .lrn(size: size, alpha: try c.float("alpha", 1e-4), beta: try c.float("beta", 0.75), bias: try c.float("bias", 1))
        },
        "Softmax": { c in
            try c.requireInputs(1 ... 1)
            // Before opset 13 Softmax flattens to 2-D at `axis` (default 1); from 13 it is per-axis (default -1).
            return .softmax(axis: try c.int("axis", c.opset < 13 ? 1 : -1), coerceTo2D: c.opset < 13)
        },
        "LogSoftmax": { c in
            try c.requireInputs(1 ... 1)
            return .logSoftmax(axis: try c.int("axis", c.opset < 13 ? 1 : -1), coerceTo2D: c.opset < 13)
        },
    ]
}

/// MatMul and Gemm.
enum MatrixLowering {
    static let table: [String: OpTable.Lowering] = [
        "MatMul": { c in try c.requireInputs(2 ... 2); return .matMul },
        "Gemm": { c in
            try c.requireInputs(2 ... 3)
            return .gemm(GemmAttributes(alpha: try c.float("alpha", 1), beta: try c.float("beta", 1),
                                        transA: try c.int("transA", 0) != 0, transB: try c.int("transB", 0) != 0))
        },
    ]
}
