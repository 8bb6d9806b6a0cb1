import COnnxProto
import PageMemory

// protobuf-c structs -> Swift values. Every function copies what it reads; the caller frees the C tree.
// Recursion follows message nesting, which WireScan has already bounded.

private func text(_ p: UnsafePointer<CChar>?) -> String {
    guard let p else { return "" }
    return String(cString: p)
}

private func bytes(_ b: ProtobufCBinaryData) -> [UInt8] {
    guard b.len > 0, let data = b.data else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: b.len))
}

private func array<T>(_ count: Int, _ p: UnsafeMutablePointer<T>?) -> [T] {
    guard count > 0, let p else { return [] }
    return Array(UnsafeBufferPointer(start: p, count: count))
}

private func texts(_ count: Int, _ p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
    array(count, p).map { text($0) }
}

private func messages<C, S>(_ count: Int, _ p: UnsafeMutablePointer<UnsafeMutablePointer<C>?>?,
                            _ convert: (C) -> S) -> [S] {
    array(count, p).compactMap { $0.map { convert($0.pointee) } }
}

private func pairs(_ count: Int, _ p: UnsafeMutablePointer<UnsafeMutablePointer<Onnx__StringStringEntryProto>?>?) -> [StringPair] {
    messages(count, p) { StringPair(text($0.key), text($0.value)) }
}

private func opsets(_ count: Int, _ p: UnsafeMutablePointer<UnsafeMutablePointer<Onnx__OperatorSetIdProto>?>?) -> [OperatorSetId] {
    messages(count, p) { OperatorSetId(domain: text($0.domain), version: $0.has_version != 0 ? $0.version : 0) }
}

extension OnnxModel {
    init(c m: Onnx__ModelProto, owner: UnpackArena) {
        self.init()
        irVersion = m.has_ir_version != 0 ? m.ir_version : 0
        opsetImports = opsets(m.n_opset_import, m.opset_import)
        producerName = text(m.producer_name)
        producerVersion = text(m.producer_version)
        domain = text(m.domain)
        modelVersion = m.has_model_version != 0 ? m.model_version : 0
        docString = text(m.doc_string)
        graph = m.graph.map { OnnxGraph(c: $0.pointee, owner: owner) }
        metadataProps = pairs(m.n_metadata_props, m.metadata_props)
        trainingInfo = messages(m.n_training_info, m.training_info, { OnnxTrainingInfo(c: $0, owner: owner) })
        functions = messages(m.n_functions, m.functions, { OnnxFunction(c: $0, owner: owner) })
    }
}

extension OnnxGraph {
    init(c g: Onnx__GraphProto, owner: UnpackArena) {
        self.init()
        name = text(g.name)
        docString = text(g.doc_string)
        nodes = messages(g.n_node, g.node, { OnnxNode(c: $0, owner: owner) })
        initializers = messages(g.n_initializer, g.initializer, { OnnxTensor(c: $0, owner: owner) })
        sparseInitializers = messages(g.n_sparse_initializer, g.sparse_initializer, { OnnxSparseTensor(c: $0, owner: owner) })
        inputs = messages(g.n_input, g.input, OnnxValueInfo.init(c:))
        outputs = messages(g.n_output, g.output, OnnxValueInfo.init(c:))
        valueInfo = messages(g.n_value_info, g.value_info, OnnxValueInfo.init(c:))
        quantizationAnnotations = messages(g.n_quantization_annotation, g.quantization_annotation) {
            var a = OnnxTensorAnnotation()
            a.tensorName = text($0.tensor_name)
            a.quantParameterTensorNames = pairs($0.n_quant_parameter_tensor_names, $0.quant_parameter_tensor_names)
            return a
        }
        metadataProps = pairs(g.n_metadata_props, g.metadata_props)
    }
}

extension OnnxNode {
    init(c n: Onnx__NodeProto, owner: UnpackArena) {
        self.init()
        name = text(n.name)
        opType = text(n.op_type)
        domain = text(n.domain)
        overload = text(n.overload)
        inputs = texts(n.n_input, n.input)
        outputs = texts(n.n_output, n.output)
        attributes = messages(n.n_attribute, n.attribute, { OnnxAttribute(c: $0, owner: owner) })
        docString = text(n.doc_string)
        metadataProps = pairs(n.n_metadata_props, n.metadata_props)
    }
}

extension OnnxAttribute {
    init(c a: Onnx__AttributeProto, owner: UnpackArena) {
        self.init(name: text(a.name))
        refAttrName = text(a.ref_attr_name)
        docString = text(a.doc_string)
        typeCode = a.has_type != 0 ? Int32(bitPattern: a.type.rawValue) : 0
        f = a.has_f != 0 ? a.f : 0
        i = a.has_i != 0 ? a.i : 0
        s = a.has_s != 0 ? bytes(a.s) : []
        t = a.t.map { OnnxTensor(c: $0.pointee, owner: owner) }
        g = a.g.map { OnnxGraph(c: $0.pointee, owner: owner) }
        sparseTensor = a.sparse_tensor.map { OnnxSparseTensor(c: $0.pointee, owner: owner) }
        tp = a.tp.map { OnnxType(c: $0.pointee) }
        floats = array(a.n_floats, a.floats)
        ints = array(a.n_ints, a.ints)
        strings = array(a.n_strings, a.strings).map(bytes)
        tensors = messages(a.n_tensors, a.tensors, { OnnxTensor(c: $0, owner: owner) })
        graphs = messages(a.n_graphs, a.graphs, { OnnxGraph(c: $0, owner: owner) })
        sparseTensors = messages(a.n_sparse_tensors, a.sparse_tensors, { OnnxSparseTensor(c: $0, owner: owner) })
        typeProtos = messages(a.n_type_protos, a.type_protos, OnnxType.init(c:))
    }
}

extension OnnxTensor {
    init(c t: Onnx__TensorProto, owner: UnpackArena) {
        self.init()
        name = text(t.name)
        docString = text(t.doc_string)
        dims = array(t.n_dims, t.dims)
        dataTypeCode = t.has_data_type != 0 ? t.data_type : 0
        if let s = t.segment {
            segment = OnnxTensorSegment(begin: s.pointee.has_begin != 0 ? s.pointee.begin : 0,
                                        end: s.pointee.has_end != 0 ? s.pointee.end : 0)
        }
        floatData = array(t.n_float_data, t.float_data)
        int32Data = array(t.n_int32_data, t.int32_data)
        stringData = array(t.n_string_data, t.string_data).map(bytes)
        int64Data = array(t.n_int64_data, t.int64_data)
        raw = t.has_raw_data != 0 ? owner.borrow(t.raw_data) : nil
        doubleData = array(t.n_double_data, t.double_data)
        uint64Data = array(t.n_uint64_data, t.uint64_data)
        externalData = pairs(t.n_external_data, t.external_data)
        dataLocation = t.has_data_location != 0 ? Int32(bitPattern: t.data_location.rawValue) : 0
        metadataProps = pairs(t.n_metadata_props, t.metadata_props)
    }
}

extension OnnxSparseTensor {
    init(c s: Onnx__SparseTensorProto, owner: UnpackArena) {
        self.init()
        values = s.values.map { OnnxTensor(c: $0.pointee, owner: owner) }
        indices = s.indices.map { OnnxTensor(c: $0.pointee, owner: owner) }
        dims = array(s.n_dims, s.dims)
    }
}

private func shape(_ p: UnsafeMutablePointer<Onnx__TensorShapeProto>?) -> [OnnxDimension]? {
    guard let p else { return nil }
    return messages(p.pointee.n_dim, p.pointee.dim) { d in
        let value: OnnxDimValue
        switch d.value_case {
        case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE: value = .value(d.dim_value)
        case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM: value = .param(text(d.dim_param))
        default: value = .unknown
        }
        return OnnxDimension(value, denotation: text(d.denotation))
    }
}

extension OnnxType {
    init(c t: Onnx__TypeProto) {
        let kind: Kind
        switch t.value_case {
        case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
            let tt = t.tensor_type.pointee
            kind = .tensor(elemType: tt.has_elem_type != 0 ? tt.elem_type : 0, shape: shape(tt.shape))
        case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
            let st = t.sparse_tensor_type.pointee
            kind = .sparseTensor(elemType: st.has_elem_type != 0 ? st.elem_type : 0, shape: shape(st.shape))
        case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
            kind = .sequence(t.sequence_type.pointee.elem_type.map { OnnxType(c: $0.pointee) })
        case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
            let mt = t.map_type.pointee
            kind = .map(keyType: mt.has_key_type != 0 ? mt.key_type : 0,
                        valueType: mt.value_type.map { OnnxType(c: $0.pointee) })
        case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
            kind = .optional(t.optional_type.pointee.elem_type.map { OnnxType(c: $0.pointee) })
        default:
            kind = .none
        }
        self.init(kind, denotation: text(t.denotation))
    }
}

extension OnnxValueInfo {
    init(c v: Onnx__ValueInfoProto) {
        self.init(name: text(v.name), type: v.type.map { OnnxType(c: $0.pointee) })
        docString = text(v.doc_string)
        metadataProps = pairs(v.n_metadata_props, v.metadata_props)
    }
}

extension OnnxTrainingInfo {
    init(c t: Onnx__TrainingInfoProto, owner: UnpackArena) {
        self.init()
        initialization = t.initialization.map { OnnxGraph(c: $0.pointee, owner: owner) }
        algorithm = t.algorithm.map { OnnxGraph(c: $0.pointee, owner: owner) }
        initializationBinding = pairs(t.n_initialization_binding, t.initialization_binding)
        updateBinding = pairs(t.n_update_binding, t.update_binding)
    }
}

extension OnnxFunction {
    init(c f: Onnx__FunctionProto, owner: UnpackArena) {
        self.init()
        name = text(f.name)
        domain = text(f.domain)
        overload = text(f.overload)
        inputs = texts(f.n_input, f.input)
        outputs = texts(f.n_output, f.output)
        attributeNames = texts(f.n_attribute, f.attribute)
        attributeProtos = messages(f.n_attribute_proto, f.attribute_proto, { OnnxAttribute(c: $0, owner: owner) })
        nodes = messages(f.n_node, f.node, { OnnxNode(c: $0, owner: owner) })
        docString = text(f.doc_string)
        opsetImports = opsets(f.n_opset_import, f.opset_import)
        valueInfo = messages(f.n_value_info, f.value_info, OnnxValueInfo.init(c:))
        metadataProps = pairs(f.n_metadata_props, f.metadata_props)
    }
}

/// Decodes protobuf bytes of `root` kind via protobuf-c, after the structural scan.
enum ProtoDecoder {
    /// Decodes the model in the first `count` bytes of `pages`, which must not change afterwards: the
    /// initializers' raw data is lifted out before decoding and borrowed from them (see `LiftedRawData`).
    static func decodeModel(_ pages: PageBuffer, count: Int, maxDepth: Int) throws -> OnnxModel {
        let bytes = UnsafeRawBufferPointer(start: pages.base, count: count)
        try WireScan.check(bytes, root: .ModelProto, maxDepth: maxDepth)
        if let lifted = LiftedRawData(bytes) {
            var model = try lifted.rest.withUnsafeBytes(unpackModel)
            if var graph = model.graph, graph.initializers.count == lifted.payloads.count {
                model.graph = nil
                for (i, payload) in lifted.payloads.enumerated() {
                    guard let payload else { continue }
                    graph.initializers[i].raw = payload.isEmpty
                        ? RawBytes([]) : RawBytes(borrowing: UnsafeRawBufferPointer(rebasing: bytes[payload]), owner: pages)
                }
                model.graph = graph
                return model
            }
        }
        return try unpackModel(bytes)
    }

    private static func unpackModel(_ bytes: UnsafeRawBufferPointer) throws -> OnnxModel {
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // The decoded tree lives in one arena, which tensors' raw data borrow from (see RawBytes).
        let arena = UnpackArena(expectedBytes: bytes.count)
        var allocator = arena.allocator
        guard let message = onnx__model_proto__unpack(&allocator, bytes.count, base) else {
            throw OnnxError("protobuf-c could not decode the model")
        }
        return OnnxModel(c: message.pointee, owner: arena)
    }

    static func decodeTensor(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) throws -> OnnxTensor {
        try WireScan.check(bytes, root: .TensorProto, maxDepth: maxDepth)
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let arena = UnpackArena(expectedBytes: bytes.count)
        var allocator = arena.allocator
        guard let message = onnx__tensor_proto__unpack(&allocator, bytes.count, base) else {
            throw OnnxError("protobuf-c could not decode the tensor")
        }
        return OnnxTensor(c: message.pointee, owner: arena)
    }
}
