import COnnxProto
#if canImport(Glibc)
import Glibc
#endif

/// Owns every C allocation made while building one protobuf-c message tree; frees them all at once.
private final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit { for block in blocks { free(block) } }

    func allocate<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = calloc(max(count, 1), MemoryLayout<T>.stride)!
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// A NUL-terminated copy of `s`.
    func cString(_ s: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(s.utf8)
        let p = allocate(CChar.self, count: utf8.count + 1)
        for (i, byte) in utf8.enumerated() { p[i] = CChar(bitPattern: byte) }
        return p
    }

    /// A C string, or nil for "" so that empty optional fields are left out of the output.
    func string(_ s: String) -> UnsafeMutablePointer<CChar>? {
        s.isEmpty ? nil : cString(s)
    }

    func binary(_ b: [UInt8]) -> ProtobufCBinaryData {
        b.withUnsafeBytes { binary($0) }
    }

    func binary(_ b: UnsafeRawBufferPointer) -> ProtobufCBinaryData {
        let p = allocate(UInt8.self, count: b.count)
        if b.count > 0 { UnsafeMutableRawPointer(p).copyMemory(from: b.baseAddress!, byteCount: b.count) }
        return ProtobufCBinaryData(len: b.count, data: p)
    }

    func array<T>(_ values: [T]) -> (Int, UnsafeMutablePointer<T>?) {
        guard !values.isEmpty else { return (0, nil) }
        let p = allocate(T.self, count: values.count)
        p.initialize(from: values, count: values.count)
        return (values.count, p)
    }

    func strings(_ values: [String]) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        // Repeated strings keep empty entries (a node's omitted optional input is ""), so never nil.
        array(values.map { Optional(cString($0)) })
    }

    /// A message struct initialised by protobuf-c's `__init` function.
    func message<T>(_ initialize: (UnsafeMutablePointer<T>) -> Void) -> UnsafeMutablePointer<T> {
        let p = allocate(T.self, count: 1)
        initialize(p)
        return p
    }

    func messages<S, T>(_ values: [S], _ build: (S) -> UnsafeMutablePointer<T>) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<T>?>?) {
        array(values.map { Optional(build($0)) })
    }

    func pairs(_ values: [StringPair]) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<Onnx__StringStringEntryProto>?>?) {
        messages(values) { pair in
            let p: UnsafeMutablePointer<Onnx__StringStringEntryProto> = message(onnx__string_string_entry_proto__init)
            // Keys and values are written even when empty: an entry with an empty value is still an entry.
            p.pointee.key = cString(pair.key)
            p.pointee.value = cString(pair.value)
            return p
        }
    }

    func opsets(_ values: [OperatorSetId]) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<Onnx__OperatorSetIdProto>?>?) {
        messages(values) { opset in
            let p: UnsafeMutablePointer<Onnx__OperatorSetIdProto> = message(onnx__operator_set_id_proto__init)
            p.pointee.domain = cString(opset.domain)
            p.pointee.has_version = 1
            p.pointee.version = opset.version
            return p
        }
    }

    func model(_ m: OnnxModel) -> UnsafeMutablePointer<Onnx__ModelProto> {
        let p: UnsafeMutablePointer<Onnx__ModelProto> = message(onnx__model_proto__init)
        p.pointee.has_ir_version = 1
        p.pointee.ir_version = m.irVersion
        (p.pointee.n_opset_import, p.pointee.opset_import) = opsets(m.opsetImports)
        p.pointee.producer_name = string(m.producerName)
        p.pointee.producer_version = string(m.producerVersion)
        p.pointee.domain = string(m.domain)
        if m.modelVersion != 0 { p.pointee.has_model_version = 1; p.pointee.model_version = m.modelVersion }
        p.pointee.doc_string = string(m.docString)
        p.pointee.graph = m.graph.map(graph)
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = pairs(m.metadataProps)
        (p.pointee.n_training_info, p.pointee.training_info) = messages(m.trainingInfo, trainingInfo)
        (p.pointee.n_functions, p.pointee.functions) = messages(m.functions, function)
        return p
    }

    func graph(_ g: OnnxGraph) -> UnsafeMutablePointer<Onnx__GraphProto> {
        let p: UnsafeMutablePointer<Onnx__GraphProto> = message(onnx__graph_proto__init)
        (p.pointee.n_node, p.pointee.node) = messages(g.nodes, node)
        p.pointee.name = string(g.name)
        (p.pointee.n_initializer, p.pointee.initializer) = messages(g.initializers, tensor)
        (p.pointee.n_sparse_initializer, p.pointee.sparse_initializer) = messages(g.sparseInitializers, sparseTensor)
        p.pointee.doc_string = string(g.docString)
        (p.pointee.n_input, p.pointee.input) = messages(g.inputs, valueInfo)
        (p.pointee.n_output, p.pointee.output) = messages(g.outputs, valueInfo)
        (p.pointee.n_value_info, p.pointee.value_info) = messages(g.valueInfo, valueInfo)
        (p.pointee.n_quantization_annotation, p.pointee.quantization_annotation) = messages(g.quantizationAnnotations) { a in
            let q: UnsafeMutablePointer<Onnx__TensorAnnotation> = message(onnx__tensor_annotation__init)
            q.pointee.tensor_name = string(a.tensorName)
            (q.pointee.n_quant_parameter_tensor_names, q.pointee.quant_parameter_tensor_names) = pairs(a.quantParameterTensorNames)
            return q
        }
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = pairs(g.metadataProps)
        return p
    }

    func node(_ n: OnnxNode) -> UnsafeMutablePointer<Onnx__NodeProto> {
        let p: UnsafeMutablePointer<Onnx__NodeProto> = message(onnx__node_proto__init)
        (p.pointee.n_input, p.pointee.input) = strings(n.inputs)
        (p.pointee.n_output, p.pointee.output) = strings(n.outputs)
        p.pointee.name = string(n.name)
        p.pointee.op_type = string(n.opType)
        p.pointee.domain = string(n.domain)
        p.pointee.overload = string(n.overload)
        (p.pointee.n_attribute, p.pointee.attribute) = messages(n.attributes, attribute)
        p.pointee.doc_string = string(n.docString)
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = pairs(n.metadataProps)
        return p
    }

    func attribute(_ a: OnnxAttribute) -> UnsafeMutablePointer<Onnx__AttributeProto> {
        let p: UnsafeMutablePointer<Onnx__AttributeProto> = message(onnx__attribute_proto__init)
        p.pointee.name = string(a.name)
        p.pointee.ref_attr_name = string(a.refAttrName)
        p.pointee.doc_string = string(a.docString)
        p.pointee.has_type = 1
        p.pointee.type = Onnx__AttributeProto__AttributeType(rawValue: UInt32(bitPattern: a.typeCode))
        // Only the field that `type` names is written, as ONNX's own serializer does.
        switch a.type {
        case .float?: p.pointee.has_f = 1; p.pointee.f = a.f
        case .int?: p.pointee.has_i = 1; p.pointee.i = a.i
        case .string?: p.pointee.has_s = 1; p.pointee.s = binary(a.s)
        case .tensor?: p.pointee.t = a.t.map(tensor)
        case .graph?: p.pointee.g = a.g.map(graph)
        case .sparseTensor?: p.pointee.sparse_tensor = a.sparseTensor.map(sparseTensor)
        case .typeProto?: p.pointee.tp = a.tp.map(type)
        default:
            (p.pointee.n_floats, p.pointee.floats) = array(a.floats)
            (p.pointee.n_ints, p.pointee.ints) = array(a.ints)
            (p.pointee.n_strings, p.pointee.strings) = array(a.strings.map(binary))
            (p.pointee.n_tensors, p.pointee.tensors) = messages(a.tensors, tensor)
            (p.pointee.n_graphs, p.pointee.graphs) = messages(a.graphs, graph)
            (p.pointee.n_sparse_tensors, p.pointee.sparse_tensors) = messages(a.sparseTensors, sparseTensor)
            (p.pointee.n_type_protos, p.pointee.type_protos) = messages(a.typeProtos, type)
        }
        return p
    }

    func tensor(_ t: OnnxTensor) -> UnsafeMutablePointer<Onnx__TensorProto> {
        let p: UnsafeMutablePointer<Onnx__TensorProto> = message(onnx__tensor_proto__init)
        (p.pointee.n_dims, p.pointee.dims) = array(t.dims)
        p.pointee.has_data_type = 1
        p.pointee.data_type = t.dataTypeCode
        if let s = t.segment {
            let seg: UnsafeMutablePointer<Onnx__TensorProto__Segment> = message(onnx__tensor_proto__segment__init)
            seg.pointee.has_begin = 1; seg.pointee.begin = s.begin
            seg.pointee.has_end = 1; seg.pointee.end = s.end
            p.pointee.segment = seg
        }
        (p.pointee.n_float_data, p.pointee.float_data) = array(t.floatData)
        (p.pointee.n_int32_data, p.pointee.int32_data) = array(t.int32Data)
        (p.pointee.n_string_data, p.pointee.string_data) = array(t.stringData.map(binary))
        (p.pointee.n_int64_data, p.pointee.int64_data) = array(t.int64Data)
        p.pointee.name = string(t.name)
        if let raw = t.raw { p.pointee.has_raw_data = 1; p.pointee.raw_data = raw.withUnsafeBytes { binary($0) } }
        (p.pointee.n_double_data, p.pointee.double_data) = array(t.doubleData)
        (p.pointee.n_uint64_data, p.pointee.uint64_data) = array(t.uint64Data)
        p.pointee.doc_string = string(t.docString)
        (p.pointee.n_external_data, p.pointee.external_data) = pairs(t.externalData)
        if t.dataLocation != 0 {
            p.pointee.has_data_location = 1
            p.pointee.data_location = Onnx__TensorProto__DataLocation(rawValue: UInt32(bitPattern: t.dataLocation))
        }
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = pairs(t.metadataProps)
        return p
    }

    func sparseTensor(_ s: OnnxSparseTensor) -> UnsafeMutablePointer<Onnx__SparseTensorProto> {
        let p: UnsafeMutablePointer<Onnx__SparseTensorProto> = message(onnx__sparse_tensor_proto__init)
        p.pointee.values = s.values.map(tensor)
        p.pointee.indices = s.indices.map(tensor)
        (p.pointee.n_dims, p.pointee.dims) = array(s.dims)
        return p
    }

    func shape(_ dims: [OnnxDimension]?) -> UnsafeMutablePointer<Onnx__TensorShapeProto>? {
        guard let dims else { return nil }
        let p: UnsafeMutablePointer<Onnx__TensorShapeProto> = message(onnx__tensor_shape_proto__init)
        (p.pointee.n_dim, p.pointee.dim) = messages(dims) { d in
            let q: UnsafeMutablePointer<Onnx__TensorShapeProto__Dimension> = message(onnx__tensor_shape_proto__dimension__init)
            q.pointee.denotation = string(d.denotation)
            switch d.value {
            case .value(let v):
                q.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                q.pointee.dim_value = v
            case .param(let name):
                q.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                q.pointee.dim_param = cString(name)
            case .unknown:
                break
            }
            return q
        }
        return p
    }

    func type(_ t: OnnxType) -> UnsafeMutablePointer<Onnx__TypeProto> {
        let p: UnsafeMutablePointer<Onnx__TypeProto> = message(onnx__type_proto__init)
        p.pointee.denotation = string(t.denotation)
        switch t.kind {
        case .tensor(let elemType, let dims):
            let q: UnsafeMutablePointer<Onnx__TypeProto__Tensor> = message(onnx__type_proto__tensor__init)
            q.pointee.has_elem_type = 1; q.pointee.elem_type = elemType
            q.pointee.shape = shape(dims)
            p.pointee.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
            p.pointee.tensor_type = q
        case .sparseTensor(let elemType, let dims):
            let q: UnsafeMutablePointer<Onnx__TypeProto__SparseTensor> = message(onnx__type_proto__sparse_tensor__init)
            q.pointee.has_elem_type = 1; q.pointee.elem_type = elemType
            q.pointee.shape = shape(dims)
            p.pointee.value_case = ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE
            p.pointee.sparse_tensor_type = q
        case .sequence(let elem):
            let q: UnsafeMutablePointer<Onnx__TypeProto__Sequence> = message(onnx__type_proto__sequence__init)
            q.pointee.elem_type = elem.map(type)
            p.pointee.value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE
            p.pointee.sequence_type = q
        case .map(let keyType, let valueType):
            let q: UnsafeMutablePointer<Onnx__TypeProto__Map> = message(onnx__type_proto__map__init)
            q.pointee.has_key_type = 1; q.pointee.key_type = keyType
            q.pointee.value_type = valueType.map(type)
            p.pointee.value_case = ONNX__TYPE_PROTO__VALUE_MAP_TYPE
            p.pointee.map_type = q
        case .optional(let elem):
            let q: UnsafeMutablePointer<Onnx__TypeProto__Optional> = message(onnx__type_proto__optional__init)
            q.pointee.elem_type = elem.map(type)
            p.pointee.value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE
            p.pointee.optional_type = q
        case .none:
            break
        }
        return p
    }

    func valueInfo(_ v: OnnxValueInfo) -> UnsafeMutablePointer<Onnx__ValueInfoProto> {
        let p: UnsafeMutablePointer<Onnx__ValueInfoProto> = message(onnx__value_info_proto__init)
        p.pointee.name = string(v.name)
        p.pointee.type = v.type.map(type)
        p.pointee.doc_string = string(v.docString)
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = pairs(v.metadataProps)
        return p
    }

    func trainingInfo(_ t: OnnxTrainingInfo) -> UnsafeMutablePointer<Onnx__TrainingInfoProto> {
        let p: UnsafeMutablePointer<Onnx__TrainingInfoProto> = message(onnx__training_info_proto__init)
        p.pointee.initialization = t.initialization.map(graph)
        p.pointee.algorithm = t.algorithm.map(graph)
        (p.pointee.n_initialization_binding, p.pointee.initialization_binding) = pairs(t.initializationBinding)
        (p.pointee.n_update_binding, p.pointee.update_binding) = pairs(t.updateBinding)
        return p
    }

    func function(_ f: OnnxFunction) -> UnsafeMutablePointer<Onnx__FunctionProto> {
        let p: UnsafeMutablePointer<Onnx__FunctionProto> = message(onnx__function_proto__init)
        p.pointee.name = string(f.name)
        p.pointee.domain = string(f.domain)
        p.pointee.overload = string(f.overload)
        (p.pointee.n_input, p.pointee.input) = strings(f.inputs)
        (p.pointee.n_output, p.pointee.output) = strings(f.outputs)
        (p.pointee.n_attribute, p.pointee.attribute) = strings(f.attributeNames)
        (p.pointee.n_attribute_proto, p.pointee.attribute_proto) = messages(f.attributeProtos, attribute)
        (p.pointee.n_node, p.pointee.node) = messages(f.nodes, node)
        p.pointee.doc_string = string(f.docString)
        (p.pointee.n_opset_import, p.pointee.opset_import) = opsets(f.opsetImports)
        (p.pointee.n_value_info, p.pointee.value_info) = messages(f.valueInfo, valueInfo)
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = pairs(f.metadataProps)
        return p
    }
}

/// Serialises Swift values through protobuf-c.
enum ProtoEncoder {
    static func encode(_ model: OnnxModel) -> [UInt8] {
        let arena = CArena()
        let message = arena.model(model)
        return pack(UnsafeRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self))
    }

    static func encode(_ tensor: OnnxTensor) -> [UInt8] {
        let arena = CArena()
        let message = arena.tensor(tensor)
        return pack(UnsafeRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self))
    }

    private static func pack(_ message: UnsafePointer<ProtobufCMessage>) -> [UInt8] {
        let size = protobuf_c_message_get_packed_size(message)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = protobuf_c_message_pack(message, buffer.baseAddress)
        }
    }
}
