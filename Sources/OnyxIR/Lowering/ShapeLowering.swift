import OnnxFormat

/// Ops that change only shape or type: Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Expand, Tile,
/// Shape, ConstantOfShape, Cast, Identity, Dropout, Where.
enum ShapeLowering {
    static let table: [String: OpTable.Lowering] = [
        "Reshape": { c in
            if c.opset < 5 {
                try c.requireInputs(1 ... 1)
                guard let shape = try c.ints("shape") else { throw c.error("missing required attribute 'shape'") }
                c.inputs.append(c.constant(Tensor(shape: [shape.count], shape.map(Int64.init)), suffix: "shape"))
            } else {
                try c.requireInputs(2 ... 2)
            }
            return .reshape(allowZero: try c.int("allowzero", 0) != 0)
        },
        "Flatten": { c in try c.requireInputs(1 ... 1); return .flatten(axis: try c.int("axis", 1)) },
        "Transpose": { c in try c.requireInputs(1 ... 1); return .transpose(permutation: try c.ints("perm")) },
        "Squeeze": { c in try axesToInput(&c, required: false); return .squeeze },
        "Unsqueeze": { c in try axesToInput(&c, required: true); return .unsqueeze },
        "Expand": { c in try c.requireInputs(2 ... 2); return .expand },
        "Tile": { c in try c.requireInputs(2 ... 2); return .tile },
        "Shape": { c in
            try c.requireInputs(1 ... 1)
            return .shape(start: try c.int("start", 0), end: c.has("end") ? try c.int("end", 0) : nil)
        },
        "Size": { c in throw c.error("operator 'Size' is not supported") },
        "ConstantOfShape": { c in
            try c.requireInputs(1 ... 1)
            let value = try c.tensor("value") ?? .scalar(Float(0))
            guard value.count == 1 else { throw c.error("attribute 'value' must hold one element") }
            return .constantOfShape(value: value)
        },
        "Cast": { c in
            try c.requireInputs(1 ... 1)
            let to = try c.requiredInt("to")
            guard let dtype = DType(onnx: Int32(clamping: to)) else {
                throw c.error("cast to \(DataType.name(of: Int32(clamping: to))) is not supported")
            }
            return .cast(to: dtype)
        },
        "Identity": { c in try c.requireInputs(1 ... 1); return .identity },
        "Dropout": { c in
            // Inference: the output is the input; the optional mask is all true.
            if let training = c.constantInput(2), training.doubles.first != 0 {
                throw c.error("training mode is not supported (inference only)")
            }
            if c.input(2) != nil && c.constantInput(2) == nil { throw c.error("a non-constant training_mode is not supported") }
            c.inputs = [c.inputs.first ?? nil]
            return .identity
        },
        "Where": { c in try c.requireInputs(3 ... 3); return .where },
    ]

    /// Squeeze/Unsqueeze before opset 13 take `axes` as an attribute; afterwards as an input.
    static func axesToInput(_ c: inout LoweringContext, required: Bool) throws {
        if c.opset < 13 {
            try c.requireInputs(1 ... 1)
            if let axes = try c.ints("axes") {
                c.inputs.append(c.constant(Tensor(shape: [axes.count], axes.map(Int64.init)), suffix: "axes"))
            } else if required {
                throw c.error("missing required attribute 'axes'")
            }
        } else {
            try c.requireInputs(required ? 2 ... 2 : 1 ... 2)
        }
    }
}

/// Concat, Split, Slice, Gather, Pad, DepthToSpace, SpaceToDepth.
enum DataMovementLowering {
    static let table: [String: OpTable.Lowering] = [
        "Concat": { c in
            guard !c.inputs.isEmpty, c.inputs.allSatisfy({ $0 != nil }) else { throw c.error("needs at least one input") }
            return .concat(axis: try c.requiredInt("axis"))
        },
        "Split": split,
        "Slice": slice,
        "Gather": { c in try c.requireInputs(2 ... 2); return .gather(axis: try c.int("axis", 0)) },
        "Pad": pad,
        "DepthToSpace": { c in
            let (block, crd) = try blockRearrangement(c)
            return .depthToSpace(blockSize: block, columnRowDepth: crd)
        },
        "SpaceToDepth": { c in
            let (block, crd) = try blockRearrangement(c)
            return .spaceToDepth(blockSize: block, columnRowDepth: crd)
        },
    ]

    /// DepthToSpace and SpaceToDepth: a positive blocksize and the mode, DCR (default) or CRD
    /// (SpaceToDepth takes a mode from opset 28).
    static func blockRearrangement(_ c: LoweringContext) throws -> (block: Int, columnRowDepth: Bool) {
        try c.requireInputs(1 ... 1)
        let block = try c.requiredInt("blocksize")
        guard block > 0 else { throw c.error("blocksize must be positive") }
        let mode = try c.string("mode", "DCR")
        guard mode == "DCR" || mode == "CRD" else { throw c.error("attribute 'mode' has unsupported value '\(mode)'") }
        return (block, mode == "CRD")
    }

    /// Split sizes: attribute before opset 13, input after; opset 18 adds num_outputs.
    static func split(_ c: inout LoweringContext) throws -> Op {
        if c.opset < 13 {
            try c.requireInputs(1 ... 2)
            if let sizes = try c.ints("split"), c.inputs.count == 1 {
                c.inputs.append(c.constant(Tensor(shape: [sizes.count], sizes.map(Int64.init)), suffix: "split"))
            }
        } else {
            try c.requireInputs(1 ... 2)
        }
        let outputs = try c.int("num_outputs", c.node.outputs.count)
        guard outputs >= 1, outputs == c.node.outputs.count else {
            throw c.error("num_outputs \(outputs) does not match the \(c.node.outputs.count) outputs")
        }
        return .split(axis: try c.int("axis", 0), outputs: outputs)
    }

    /// Slice before opset 10 takes starts/ends/axes as attributes.
    static func slice(_ c: inout LoweringContext) throws -> Op {
        if c.opset < 10 {
            try c.requireInputs(1 ... 1)
            guard let starts = try c.ints("starts"), let ends = try c.ints("ends") else {
                throw c.error("missing required attributes 'starts' and 'ends'")
            }
            c.inputs.append(c.constant(Tensor(shape: [starts.count], starts.map(Int64.init)), suffix: "starts"))
            c.inputs.append(c.constant(Tensor(shape: [ends.count], ends.map(Int64.init)), suffix: "ends"))
            if let axes = try c.ints("axes") {
                c.inputs.append(c.constant(Tensor(shape: [axes.count], axes.map(Int64.init)), suffix: "axes"))
            }
        } else {
            try c.requireInputs(3 ... 5)
        }
        return .slice
    }

    /// Pad before opset 11 takes pads and value as attributes.
    static func pad(_ c: inout LoweringContext) throws -> Op {
        let mode = try c.choice("mode", PadMode.constant)
        if c.opset < 11 {
            try c.requireInputs(1 ... 1)
            guard let pads = try c.ints("pads") ?? c.ints("paddings") else { throw c.error("missing required attribute 'pads'") }
            c.inputs.append(c.constant(Tensor(shape: [pads.count], pads.map(Int64.init)), suffix: "pads"))
            c.inputs.append(c.constant(.scalar(try c.float("value", 0)), suffix: "value"))
        } else {
            try c.requireInputs(2 ... 4)
        }
        return .pad(mode: mode)
    }
}

/// Reductions and ArgMax/ArgMin. ReduceSum takes axes as an input from opset 13, the others from 18.
enum ReduceLowering {
    static let table: [String: OpTable.Lowering] = {
        var t: [String: OpTable.Lowering] = [:]
        for f in [ReduceFunction.mean, .sum, .max, .min, .prod, .l1, .l2, .logSum, .logSumExp, .sumSquare] {
            t[f.rawValue] = { c in
                let axesAreInput = c.opset >= (f == .sum ? 13 : 18)
                if axesAreInput {
                    try c.requireInputs(1 ... 2)
                } else {
                    try c.requireInputs(1 ... 1)
                    if let axes = try c.ints("axes") {
                        c.inputs.append(c.constant(Tensor(shape: [axes.count], axes.map(Int64.init)), suffix: "axes"))
                    }
                }
                return .reduce(f, keepDims: try c.int("keepdims", 1) != 0,
                               noopWithEmptyAxes: try c.int("noop_with_empty_axes", 0) != 0)
            }
        }
        t["ArgMax"] = { c in
            try c.requireInputs(1 ... 1)
            return .argMax(axis: try c.int("axis", 0), keepDims: try c.int("keepdims", 1) != 0,
                           selectLastIndex: try c.int("select_last_index", 0) != 0)
        }
        t["ArgMin"] = { c in
            try c.requireInputs(1 ... 1)
            return .argMin(axis: try c.int("axis", 0), keepDims: try c.int("keepdims", 1) != 0,
                           selectLastIndex: try c.int("select_last_index", 0) != 0)
        }
        return t
    }()
}

/// Resize (opsets 10, 11, 13, 18, 19) and Upsample (7, 9): all become Resize with inputs x, roi, scales, sizes.
enum ResizeLowering {
    static let table: [String: OpTable.Lowering] = [
        "Resize": resize,
        "Upsample": upsample,
    ]

    static func mode(_ c: LoweringContext) throws -> ResizeMode {
        let text = try c.string("mode", "nearest")
        switch text {
        case "nearest": return .nearest
        case "linear", "bilinear", "trilinear": return .linear
        case "cubic", "bicubic": return .cubic
        default: throw c.error("attribute 'mode' has unsupported value '\(text)'")
        }
    }

    static func resize(_ c: inout LoweringContext) throws -> Op {
        if c.opset < 11 {
            // Resize-10: inputs X, scales; asymmetric coordinates, nearest rounds down (as Upsample).
            try c.requireInputs(2 ... 2)
            c.inputs = [c.inputs[0], nil, c.inputs[1]]
            return .resize(ResizeAttributes(mode: try mode(c), coordinateTransform: .asymmetric, nearestMode: .floor))
        }
        try c.requireInputs(1 ... 4)
        return .resize(ResizeAttributes(
            mode: try mode(c),
            coordinateTransform: try c.choice("coordinate_transformation_mode", CoordinateTransform.halfPixel),
            nearestMode: try c.choice("nearest_mode", NearestMode.roundPreferFloor),
            cubicCoefficient: try c.float("cubic_coeff_a", -0.75),
            excludeOutside: try c.int("exclude_outside", 0) != 0,
            extrapolationValue: try c.float("extrapolation_value", 0),
            antialias: try c.int("antialias", 0) != 0,
            axes: try c.ints("axes"),
            aspectRatioPolicy: try c.choice("keep_aspect_ratio_policy", AspectRatioPolicy.stretch)))
    }

    static func upsample(_ c: inout LoweringContext) throws -> Op {
        if c.opset < 9 {
            try c.requireInputs(1 ... 1)
            guard let scales = try c.floats("scales") else { throw c.error("missing required attribute 'scales'") }
            c.inputs = [c.inputs[0], nil, c.constant(Tensor(shape: [scales.count], scales), suffix: "scales")]
        } else {
            try c.requireInputs(2 ... 2)
            c.inputs = [c.inputs[0], nil, c.inputs[1]]
        }
        return .resize(ResizeAttributes(mode: try mode(c), coordinateTransform: .asymmetric, nearestMode: .floor))
    }
}
