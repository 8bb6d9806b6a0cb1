import OnyxIR
import OnyxKernels

/// Direct convolution and transposed convolution over 1-D and 2-D inputs (1-D runs as 2-D with H = 1).
/// Plain loops: the reference the fast kernels are tested against.
enum ConvKernels {
    /// A 1-D or 2-D problem lifted to 2-D.
    struct Geometry {
        var batch: Int, inChannels: Int, inH: Int, inW: Int
        var kernelH: Int, kernelW: Int
        var strideH: Int, strideW: Int, dilationH: Int, dilationW: Int
        var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
    }

    /// The window with defaults filled from the weight's spatial dims when the model left them out.
    static func completeWindow(_ window: Window, weightSpatial: [Int]) throws -> Window {
        let n = weightSpatial.count
        var w = window
        if w.kernel.isEmpty { w.kernel = weightSpatial }
        if w.strides.count != n && w.strides.isEmpty == false { throw KernelError("strides \(w.strides) do not match the \(n) spatial axes") }
        if w.strides.isEmpty { w.strides = [Int](repeating: 1, count: n) }
        if w.dilations.isEmpty { w.dilations = [Int](repeating: 1, count: n) }
        if w.pads.isEmpty { w.pads = [Int](repeating: 0, count: 2 * n) }
        guard w.fits(spatial: n) else { throw KernelError("strides, dilations, pads and kernel_shape must match the \(n) spatial axes") }
        guard w.kernel == weightSpatial else {
            throw KernelError("kernel_shape \(w.kernel) does not match the weight's spatial shape \(weightSpatial)")
        }
        guard w.strides.count == n, w.dilations.count == n, w.pads.count == 2 * n else {
            throw KernelError("strides, dilations and pads must have one entry per spatial axis")
        }
        return w
    }

    static func lift(_ shape: [Int]) -> [Int] { shape.count == 3 ? [shape[0], shape[1], 1, shape[2]] : shape }
    static func lift(_ window: Window) -> Window {
        guard window.kernel.count == 1 else { return window }
        return Window(kernel: [1] + window.kernel, strides: [1] + window.strides, dilations: [1] + window.dilations,
                      pads: [0, window.pads[0], 0, window.pads[1]], autoPad: window.autoPad)
    }

    static func conv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ attributes: ConvAttributes) throws -> Tensor {
        let xs = try x.requireFloat32("X"), ws = try w.requireFloat32("W")
        guard x.rank == 3 || x.rank == 4 else { throw KernelError("only 1-D and 2-D convolution is supported, X is \(x.shape)") }
        guard w.rank == x.rank else { throw KernelError("W \(w.shape) and X \(x.shape) differ in rank") }
        let window = lift(try completeWindow(attributes.window, weightSpatial: Array(w.shape.dropFirst(2))))
        let xShape = lift(x.shape), wShape = lift(w.shape)
        let (batch, channels, inH, inW) = (xShape[0], xShape[1], xShape[2], xShape[3])
        let (outChannels, groupChannels) = (wShape[0], wShape[1])
        let group = attributes.group
        guard channels == groupChannels * group else {
            throw KernelError("X has \(channels) channels but W \(w.shape) with group \(group) expects \(groupChannels * group)")
        }
        guard outChannels % group == 0 else { throw KernelError("group \(group) does not divide the \(outChannels) output channels") }
        let bias = try b?.requireFloat32("B")
        if let bias, bias.count != outChannels { throw KernelError("B has \(bias.count) values for \(outChannels) output channels") }
        let (out, pads) = window.resolve(input: [inH, inW])
        let (outH, outW) = (out[0], out[1])
        guard outH > 0, outW > 0 else { throw KernelError("the kernel is larger than the padded input \(x.shape)") }
        _ = try Shapes.checkedCount([batch, outChannels, outH, outW])
        let (kH, kW) = (window.kernel[0], window.kernel[1])
        let (sH, sW, dH, dW) = (window.strides[0], window.strides[1], window.dilations[0], window.dilations[1])
        let (padTop, padLeft) = (pads[0], pads[1])
        let perGroupOut = outChannels / group
        var y = [Float](repeating: 0, count: batch * outChannels * outH * outW)
        xs.withUnsafeBufferPointer { xp in
            ws.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    for n in 0 ..< batch {
                        for m in 0 ..< outChannels {
                            let g = m / perGroupOut
                            let plane = yp.baseAddress! + (n * outChannels + m) * outH * outW
                            let start = bias?[m] ?? 0
                            for i in 0 ..< outH * outW { plane[i] = start }
                            for c in 0 ..< groupChannels {
                                let input = xp.baseAddress! + (n * channels + g * groupChannels + c) * inH * inW
                                for kh in 0 ..< kH {
                                    for kw in 0 ..< kW {
                                        let weight = wp[((m * groupChannels + c) * kH + kh) * kW + kw]
                                        // Output columns whose input column ow*sW - padLeft + kw*dW lies in [0, inW).
                                        let offset = kw * dW - padLeft
                                        let owStart = offset >= 0 ? 0 : (-offset + sW - 1) / sW
                                        let owEnd = inW - offset <= 0 ? 0 : min(outW, (inW - offset + sW - 1) / sW)
                                        if owStart >= owEnd { continue }
                                        for oh in 0 ..< outH {
                                            let ih = oh * sH - padTop + kh * dH
                                            if ih < 0 || ih >= inH { continue }
                                            let row = input + ih * inW + offset
                                            let outRow = plane + oh * outW
                                            for ow in owStart ..< owEnd {
                                                outRow[ow] += weight * row[ow * sW]
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let shape = x.rank == 3 ? [batch, outChannels, outW] : [batch, outChannels, outH, outW]
        return Tensor(shape: shape, y)
    }

    /// A transposed convolution's geometry from its input and weight shapes: output size
    /// stride*(in-1) + output_padding + (k-1)*d + 1 - pads, or output_shape (or SAME) fixing it and the
    /// pads derived instead: SAME_UPPER puts the smaller half first, SAME_LOWER and an output_shape
    /// without auto_pad the larger (as the operator's spec computes them). 1-D lifted to 2-D, H of 1.
    static func transposeGeometry(x: [Int], w: [Int], _ attributes: ConvTransposeAttributes) throws -> TransposedConvolution.Geometry {
        guard x.count == 3 || x.count == 4 else { throw KernelError("only 1-D and 2-D transposed convolution is supported, X is \(x)") }
        guard w.count == x.count else { throw KernelError("W \(w) and X \(x) differ in rank") }
        let spatial = x.count - 2
        let window = try completeWindow(attributes.window, weightSpatial: Array(w.dropFirst(2)))
        let group = attributes.group
        let channels = x[1]
        guard w[0] == channels else { throw KernelError("W \(w) does not match the \(channels) input channels") }
        guard group > 0, channels % group == 0 else { throw KernelError("group \(group) does not divide the \(channels) input channels") }
        let outChannels = w[1] * group
        var pads = window.pads
        var outSpatial = [Int](repeating: 0, count: spatial)
        let outputPadding = attributes.outputPadding.isEmpty ? [Int](repeating: 0, count: spatial) : attributes.outputPadding
        guard outputPadding.count == spatial else { throw KernelError("output_padding \(outputPadding) does not match \(spatial) spatial axes") }
        let requested = attributes.outputShape.map { Array($0.suffix(spatial)) }
        if let requested, requested.count != spatial { throw KernelError("output_shape \(attributes.outputShape!) has fewer than \(spatial) spatial sizes") }
        for i in 0 ..< spatial {
            let input = x[2 + i]
            let full = window.strides[i] * (input - 1) + outputPadding[i] + (window.kernel[i] - 1) * window.dilations[i] + 1
            if let requested {
                outSpatial[i] = requested[i]
            } else if window.autoPad == .sameUpper || window.autoPad == .sameLower {
                outSpatial[i] = input * window.strides[i]
            }
            if requested != nil || window.autoPad == .sameUpper || window.autoPad == .sameLower {
                let total = max(0, full - outSpatial[i])
                let upper = window.autoPad == .sameUpper
                pads[i] = upper ? total / 2 : total - total / 2
                pads[i + spatial] = total - pads[i]
            } else {
                if window.autoPad == .valid { pads[i] = 0; pads[i + spatial] = 0 }
                outSpatial[i] = full - pads[i] - pads[i + spatial]
            }
            guard outSpatial[i] > 0 else { throw KernelError("output size \(outSpatial[i]) is not positive") }
        }
        _ = try Shapes.checkedCount([x[0], outChannels] + outSpatial)
        let lifted = lift(Window(kernel: window.kernel, strides: window.strides, dilations: window.dilations, pads: pads, autoPad: .notSet))
        let xShape = lift(x)
        let (outH, outW) = spatial == 1 ? (1, outSpatial[0]) : (outSpatial[0], outSpatial[1])
        return TransposedConvolution.Geometry(
            batch: xShape[0], inChannels: channels, inH: xShape[2], inW: xShape[3], outChannels: outChannels, outH: outH, outW: outW,
            kernelH: lifted.kernel[0], kernelW: lifted.kernel[1], strideH: lifted.strides[0], strideW: lifted.strides[1],
            dilationH: lifted.dilations[0], dilationW: lifted.dilations[1], padTop: lifted.pads[0], padLeft: lifted.pads[1], groups: group)
    }

    static func convTranspose(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ attributes: ConvTransposeAttributes) throws -> Tensor {
        let xs = try x.requireFloat32("X"), ws = try w.requireFloat32("W")
        let g = try transposeGeometry(x: x.shape, w: w.shape, attributes)
        let bias = try b?.requireFloat32("B")
        if let bias, bias.count != g.outChannels { throw KernelError("B has \(bias.count) values for \(g.outChannels) output channels") }
        let (batch, channels, inH, inW, outChannels, outH, outW) = (g.batch, g.inChannels, g.inH, g.inW, g.outChannels, g.outH, g.outW)
        let (kH, kW, sH, sW, dH, dW, padTop, padLeft) = (g.kernelH, g.kernelW, g.strideH, g.strideW, g.dilationH, g.dilationW, g.padTop, g.padLeft)
        let perGroupOut = outChannels / g.groups
        let inPerGroup = channels / g.groups
        let outSpatial = x.rank == 3 ? [outW] : [outH, outW]
        var y = [Float](repeating: 0, count: batch * outChannels * outH * outW)
        for n in 0 ..< batch {
            for m in 0 ..< outChannels {
                let base = (n * outChannels + m) * outH * outW
                for i in 0 ..< outH * outW { y[base + i] = bias?[m] ?? 0 }
            }
            for c in 0 ..< channels {
                let group = c / inPerGroup
                for ih in 0 ..< inH {
                    for iw in 0 ..< inW {
                        let v = xs[((n * channels + c) * inH + ih) * inW + iw]
                        for mLocal in 0 ..< perGroupOut {
                            let m = group * perGroupOut + mLocal
                            for kh in 0 ..< kH {
                                let oh = ih * sH - padTop + kh * dH
                                if oh < 0 || oh >= outH { continue }
                                for kw in 0 ..< kW {
                                    let ow = iw * sW - padLeft + kw * dW
                                    if ow < 0 || ow >= outW { continue }
                                    y[((n * outChannels + m) * outH + oh) * outW + ow] += v * ws[((c * perGroupOut + mLocal) * kH + kh) * kW + kw]
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [batch, outChannels] + outSpatial, y)
    }
}
