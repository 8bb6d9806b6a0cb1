import OnnxFormat

extension Exporter {
    struct Unexportable: Error, CustomStringConvertible {
        var description: String
    }

    func exportNode(_ node: Node, _ inputs: [String], _ outputs: [String], _ ir: Graph, _ w: inout Writer) throws {
        let n = node.name
        func fail(_ why: String) -> Unexportable { Unexportable(description: "\(ir.label(node)): \(why) at opset \(opset)") }
        func ints(_ name: String, _ v: [Int]) -> OnnxAttribute { .ints(name, v.map(Int64.init)) }
        func windowAttributes(_ window: Window, includeKernel: Bool) -> [OnnxAttribute] {
            var a: [OnnxAttribute] = []
            if includeKernel && !window.kernel.isEmpty { a.append(ints("kernel_shape", window.kernel)) }
            if !window.strides.isEmpty { a.append(ints("strides", window.strides)) }
            if window.autoPad == .notSet {
                if !window.pads.isEmpty { a.append(ints("pads", window.pads)) }
            } else {
                a.append(.string("auto_pad", window.autoPad.rawValue))
            }
            return a
        }
        /// Below opset 13, Split's sizes and Squeeze/Unsqueeze's axes are attributes: the IR's constant input.
        func constantInts(_ index: Int, _ what: String) throws -> [Int64]? {
            guard index < node.inputs.count, let id = node.inputs[index] else { return nil }
            guard let values = ir.constant(id)?.int64s else { throw fail("\(node.op.onnxName) with computed \(what) needs opset 13 or newer") }
            return values
        }
        /// Writes `op` to a fresh intermediate when a fused activation follows; returns that name.
        func producerOutput(_ hasEpilogue: Bool) -> String { hasEpilogue ? w.fresh(outputs[0] + "/pre") : outputs[0] }

        switch node.op {
        case .conv(let a):
            var attributes = windowAttributes(a.window, includeKernel: !a.kernelFromWeights)
            if !a.window.dilations.isEmpty { attributes.append(ints("dilations", a.window.dilations)) }
            attributes.append(.int("group", Int64(a.group)))
            let residual = inputs.count > 3 ? inputs[3] : ""
            let convOut = producerOutput(!residual.isEmpty || a.activation != nil)
            w.add("Conv", Array(inputs.prefix(3)).reversed().drop(while: \.isEmpty).reversed(), [convOut], attributes, name: n)
            var current = convOut
            if !residual.isEmpty {
                let sum = a.activation == nil ? outputs[0] : w.fresh(outputs[0] + "/sum")
                w.add("Add", [current, residual], [sum], name: n + "/residual")
                current = sum
            }
            if let activation = a.activation { try exportActivation(activation, current, outputs[0], n, &w) }
        case .convTranspose(let a):
            var attributes = windowAttributes(a.window, includeKernel: true)
            if !a.window.dilations.isEmpty { attributes.append(ints("dilations", a.window.dilations)) }
            attributes.append(.int("group", Int64(a.group)))
            if !a.outputPadding.isEmpty { attributes.append(ints("output_padding", a.outputPadding)) }
            if let shape = a.outputShape { attributes.append(ints("output_shape", shape)) }
            w.add("ConvTranspose", inputs, outputs, attributes, name: n)
        case .batchNormalization(let epsilon):
            w.add("BatchNormalization", inputs, outputs, [.float("epsilon", epsilon)], name: n)
        case .instanceNormalization(let epsilon):
            w.add("InstanceNormalization", inputs, outputs, [.float("epsilon", epsilon)], name: n)
        case .lrn(let size, let alpha, let beta, let bias):
            w.add("LRN", inputs, outputs, [.int("size", Int64(size)), .float("alpha", alpha), .float("beta", beta), .float("bias", bias)], name: n)
        case .unary(let f):
            try exportActivation(.unary(f), inputs[0], outputs[0], n, &w)
        case .binary(let f):
            switch f {
            case .mod: w.add("Mod", inputs, outputs, name: n)
            case .fmod: w.add("Mod", inputs, outputs, [.int("fmod", 1)], name: n)
            default: w.add(f.rawValue, inputs, outputs, name: n)
            }
        case .variadic(let f):
            w.add(f.rawValue, inputs, outputs, name: n)
        case .identity where outputs.count > 1:
            w.add("Dropout", [inputs[0]], outputs, name: n)  // inference Dropout with its all-true mask
        case .clip, .prelu, .matMul, .expand, .tile, .where, .identity, .slice:
            w.add(node.op.onnxName, inputs, outputs, name: n)
        case .gemm(let g):
            let out = producerOutput(g.activation != nil)
            w.add("Gemm", inputs, [out], [.float("alpha", g.alpha), .float("beta", g.beta),
                                          .int("transA", g.transA ? 1 : 0), .int("transB", g.transB ? 1 : 0)], name: n)
            if let activation = g.activation { try exportActivation(activation, out, outputs[0], n, &w) }
        case .pool(let p):
            var attributes = windowAttributes(p.window, includeKernel: true)
            if p.ceilMode { attributes.append(.int("ceil_mode", 1)) }
            if p.window.dilations.contains(where: { $0 != 1 }) {
                guard p.kind == .max || opset >= 19 else { throw fail("AveragePool with dilations") }
                attributes.append(ints("dilations", p.window.dilations))
            }
            switch p.kind {
            case .max:
                if p.columnMajorIndices { attributes.append(.int("storage_order", 1)) }
                w.add("MaxPool", inputs, outputs, attributes, name: n)
            case .average:
                if p.countIncludePad { attributes.append(.int("count_include_pad", 1)) }
                w.add("AveragePool", inputs, outputs, attributes, name: n)
            case .lp:
                w.add("LpPool", inputs, outputs, attributes + [.int("p", Int64(p.p))], name: n)
            }
        case .globalPool(let kind):
            w.add(kind == .max ? "GlobalMaxPool" : "GlobalAveragePool", inputs, outputs, name: n)
        case .concat(let axis):
            w.add("Concat", inputs, outputs, [.int("axis", Int64(axis))], name: n)
        case .split(let axis, let count):
            var attributes: [OnnxAttribute] = [.int("axis", Int64(axis))]
            if opset < 13 {
                if let sizes = try constantInts(1, "sizes") { attributes.append(.ints("split", sizes)) }
                w.add("Split", [inputs[0]], outputs, attributes, name: n)
            } else {
                if (inputs.count < 2 || inputs[1].isEmpty) && opset >= 18 { attributes.append(.int("num_outputs", Int64(count))) }
                w.add("Split", inputs, outputs, attributes, name: n)
            }
        case .reshape(let allowZero):
            guard !allowZero || opset >= 14 else { throw fail("Reshape with allowzero") }
            w.add("Reshape", inputs, outputs, allowZero ? [.int("allowzero", 1)] : [], name: n)
        case .flatten(let axis):
            w.add("Flatten", inputs, outputs, [.int("axis", Int64(axis))], name: n)
        case .transpose(let perm):
            w.add("Transpose", inputs, outputs, perm.map { [ints("perm", $0)] } ?? [], name: n)
        case .squeeze, .unsqueeze:
            if opset < 13 {
                let axes = try constantInts(1, "axes")
                w.add(node.op.onnxName, [inputs[0]], outputs, axes.map { [.ints("axes", $0)] } ?? [], name: n)
            } else {
                w.add(node.op.onnxName, inputs, outputs, name: n)
            }
        case .gather(let axis):
            w.add("Gather", inputs, outputs, [.int("axis", Int64(axis))], name: n)
        case .shape(let start, let end):
            var attributes: [OnnxAttribute] = []
            if start != 0 { attributes.append(.int("start", Int64(start))) }
            if let end { attributes.append(.int("end", Int64(end))) }
            guard attributes.isEmpty || opset >= 15 else { throw fail("Shape with start or end") }
            w.add("Shape", inputs, outputs, attributes, name: n)
        case .constantOfShape(let value):
            w.add("ConstantOfShape", inputs, outputs, [.tensor("value", value.onnx(name: "value"))], name: n)
        case .cast(let to):
            w.add("Cast", inputs, outputs, [.int("to", Int64(to.onnx.rawValue))], name: n)
        case .pad(let mode):
            guard mode != .wrap || opset >= 19 else { throw fail("Pad mode wrap") }
            guard inputs.count < 4 || inputs[3].isEmpty || opset >= 18 else { throw fail("Pad with axes") }
            w.add("Pad", inputs, outputs, [.string("mode", mode.rawValue)], name: n)
        case .resize(let r):
            var attributes: [OnnxAttribute] = [
                .string("mode", r.mode.rawValue), .string("coordinate_transformation_mode", r.coordinateTransform.rawValue),
                .string("nearest_mode", r.nearestMode.rawValue), .float("cubic_coeff_a", r.cubicCoefficient),
                .int("exclude_outside", r.excludeOutside ? 1 : 0), .float("extrapolation_value", r.extrapolationValue),
            ]
            if r.antialias || r.axes != nil || r.aspectRatioPolicy != .stretch {
                guard opset >= 18 else { throw fail("Resize with antialias, axes or keep_aspect_ratio_policy") }
                if r.antialias { attributes.append(.int("antialias", 1)) }
                if let axes = r.axes { attributes.append(ints("axes", axes)) }
                if r.aspectRatioPolicy != .stretch { attributes.append(.string("keep_aspect_ratio_policy", r.aspectRatioPolicy.rawValue)) }
            }
            guard r.coordinateTransform != .halfPixelSymmetric || opset >= 19 else { throw fail("half_pixel_symmetric") }
            // Opset 13 needs the roi and scales slots present, even empty; below 13 they must be tensors
            // (an empty roi, and empty scales when sizes are given).
            var args = inputs
            while args.count < 3 { args.append("") }
            if opset < 13 {
                for slot in 1 ... 2 where args[slot].isEmpty {
                    args[slot] = w.constant(Tensor(shape: [0], [Float]()), n + (slot == 1 ? "/roi" : "/scales"))
                }
            }
            w.add("Resize", args, outputs, attributes, name: n)
        case .softmax(let axis, let coerce), .logSoftmax(let axis, let coerce):
            let op = node.op.onnxName
            if !coerce {
                // Below 13 the axis coerces to 2-D, which is the same only for the last axis.
                if opset < 13 {
                    let rank = node.inputs[0].flatMap { ir.values[$0].shape?.count }
                    guard axis == -1 || rank.map({ axis == $0 - 1 }) == true else { throw fail("\(op) over a middle axis needs opset 13 or newer") }
                }
                w.add(op, inputs, outputs, [.int("axis", Int64(axis))], name: n)
            } else {
                // Opset < 13 semantics: softmax over everything from `axis` on, as Flatten, Softmax, Reshape.
                let flat = w.fresh(outputs[0] + "/flat"), soft = w.fresh(outputs[0] + "/soft")
                let shape = w.fresh(outputs[0] + "/shape")
                w.add("Flatten", [inputs[0]], [flat], [.int("axis", Int64(axis))], name: n + "/flatten")
                w.add(op, [flat], [soft], [.int("axis", 1)], name: n)
                w.add("Shape", [inputs[0]], [shape], name: n + "/shape")
                w.add("Reshape", [soft, shape], outputs, name: n + "/reshape")
            }
        case .reduce(let f, let keepDims, let noop):
            var attributes: [OnnxAttribute] = [.int("keepdims", keepDims ? 1 : 0)]
            let axesAreInput = (f == .sum && opset >= 13) || opset >= 18
            if axesAreInput {
                if noop { attributes.append(.int("noop_with_empty_axes", 1)) }
                w.add(f.rawValue, inputs, outputs, attributes, name: n)
            } else {
                if inputs.count > 1, !inputs[1].isEmpty {
                    guard let axesID = node.inputs[1], let axes = ir.constant(axesID)?.int64s else { throw fail("\(f.rawValue) with computed axes") }
                    attributes.append(.ints("axes", axes))
                }
                w.add(f.rawValue, [inputs[0]], outputs, attributes, name: n)
            }
        case .argMax(let axis, let keepDims, let last), .argMin(let axis, let keepDims, let last):
            w.add(node.op.onnxName, inputs, outputs, [.int("axis", Int64(axis)), .int("keepdims", keepDims ? 1 : 0),
                                                      .int("select_last_index", last ? 1 : 0)], name: n)
        case .depthToSpace(let b, let crd):
            w.add("DepthToSpace", inputs, outputs, [.int("blocksize", Int64(b)), .string("mode", crd ? "CRD" : "DCR")], name: n)
        case .spaceToDepth(let b, let crd):
            guard !crd || opset >= 28 else { throw fail("SpaceToDepth mode CRD") }
            w.add("SpaceToDepth", inputs, outputs, [.int("blocksize", Int64(b))] + (crd ? [.string("mode", "CRD")] : []), name: n)
        case .squeezeExcite(let hidden, let gate):
            let pooled = w.fresh(outputs[0] + "/pooled"), reduced = w.fresh(outputs[0] + "/reduced")
            let expanded = w.fresh(outputs[0] + "/expanded"), scale = w.fresh(outputs[0] + "/scale")
            w.add("GlobalAveragePool", [inputs[0]], [pooled], name: n + "/pool")
            let hiddenOut = hidden == nil ? reduced : w.fresh(outputs[0] + "/reduced_pre")
            w.add("Conv", [pooled, inputs[1], inputs[2]], [hiddenOut], [.ints("kernel_shape", [1, 1])], name: n + "/fc1")
            if let hidden { try exportActivation(hidden, hiddenOut, reduced, n + "/fc1", &w) }
            w.add("Conv", [reduced, inputs[3], inputs[4]], [expanded], [.ints("kernel_shape", [1, 1])], name: n + "/fc2")
            try exportActivation(gate, expanded, scale, n + "/fc2", &w)
            w.add("Mul", [inputs[0], scale], outputs, name: n + "/excite")
        case .channelShuffle(let groups):
            guard let x = node.inputs[0], let shape = ir.fixedShape(x), shape.count >= 3 else { throw fail("ChannelShuffle without a fixed shape") }
            let grouped = [shape[0], groups, shape[1] / groups] + Array(shape.dropFirst(2))
            let s1 = w.constant(Tensor(shape: [grouped.count], grouped.map(Int64.init)), n + "/grouped_shape")
            let s2 = w.constant(Tensor(shape: [shape.count], shape.map(Int64.init)), n + "/shape")
            let a = w.fresh(outputs[0] + "/grouped"), t = w.fresh(outputs[0] + "/transposed")
            w.add("Reshape", [inputs[0], s1], [a], name: n + "/group")
            w.add("Transpose", [a], [t], [ints("perm", [0, 2, 1] + Array(3 ..< grouped.count))], name: n + "/transpose")
            w.add("Reshape", [t, s2], outputs, name: n + "/ungroup")
        }
    }

    /// y = f(x) in standard operators.
    func exportActivation(_ activation: Activation, _ x: String, _ y: String, _ n: String, _ w: inout Writer) throws {
        switch activation {
        case .clip(let lo, let hi):
            let l = w.constant(.scalar(lo), n + "/min"), h = w.constant(.scalar(hi), n + "/max")
            w.add("Clip", [x, l, h], [y], name: n + "/clip")
        case .unary(let f):
            switch f {
            case .silu:
                let s = w.fresh(y + "/sigmoid")
                w.add("Sigmoid", [x], [s], name: n + "/sigmoid")
                w.add("Mul", [x, s], [y], name: n + "/silu")
            case .mish where opset < 18:
                let s = w.fresh(y + "/softplus"), t = w.fresh(y + "/tanh")
                w.add("Softplus", [x], [s], name: n + "/softplus")
                w.add("Tanh", [s], [t], name: n + "/tanh")
                w.add("Mul", [x, t], [y], name: n + "/mish")
            case .hardSwish where opset < 14:
                let s = w.fresh(y + "/hardsigmoid")
                w.add("HardSigmoid", [x], [s], [.float("alpha", 1.0 / 6), .float("beta", 0.5)], name: n + "/hardsigmoid")
                w.add("Mul", [x, s], [y], name: n + "/hardswish")
            case .leakyRelu(let alpha), .elu(let alpha), .celu(let alpha), .thresholdedRelu(let alpha):
                w.add(f.onnxName, [x], [y], [.float("alpha", alpha)], name: n + "/" + f.onnxName)
            case .selu(let alpha, let gamma):
                w.add("Selu", [x], [y], [.float("alpha", alpha), .float("gamma", gamma)], name: n + "/Selu")
            case .hardSigmoid(let alpha, let beta):
                w.add("HardSigmoid", [x], [y], [.float("alpha", alpha), .float("beta", beta)], name: n + "/HardSigmoid")
            default:
                w.add(f.onnxName, [x], [y], name: n + "/" + f.onnxName)
            }
        }
    }
}
