// Swift value types mirroring the ONNX messages of schemas/onnx.proto, field for field.
// Nothing here knows about protobuf-c: ProtoDecoding.swift and ProtoEncoding.swift convert.

/// A key/value pair (`StringStringEntryProto`).
public struct StringPair: Sendable, Equatable, Hashable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) { self.key = key; self.value = value }
}

/// An operator set the model's nodes refer to. The empty domain means the default `ai.onnx` set.
public struct OperatorSetId: Sendable, Equatable {
    public var domain: String
    public var version: Int64
    public init(domain: String = "", version: Int64) { self.domain = domain; self.version = version }
}

/// Value semantics for a recursive field (a graph inside an attribute inside a graph).
public indirect enum Indirect<Wrapped: Sendable & Equatable>: Sendable, Equatable {
    case value(Wrapped)
    public var wrapped: Wrapped { switch self { case .value(let v): return v } }
}

/// `ModelProto`: the top-level file content.
public struct OnnxModel: Sendable, Equatable {
    public var irVersion: Int64 = 0
    public var opsetImports: [OperatorSetId] = []
    public var producerName = ""
    public var producerVersion = ""
    public var domain = ""
    public var modelVersion: Int64 = 0
    public var docString = ""
    public var graph: OnnxGraph?
    public var metadataProps: [StringPair] = []
    public var trainingInfo: [OnnxTrainingInfo] = []
    public var functions: [OnnxFunction] = []

    public init() {}

    /// The version of the default (`ai.onnx`) operator set, or nil when the model does not import it.
    public var defaultOpsetVersion: Int64? {
        opsetImports.first { $0.domain == "" || $0.domain == "ai.onnx" }?.version
    }
}

/// `GraphProto`.
public struct OnnxGraph: Sendable, Equatable {
    public var name = ""
    public var docString = ""
    public var nodes: [OnnxNode] = []
    public var initializers: [OnnxTensor] = []
    public var sparseInitializers: [OnnxSparseTensor] = []
    public var inputs: [OnnxValueInfo] = []
    public var outputs: [OnnxValueInfo] = []
    public var valueInfo: [OnnxValueInfo] = []
    public var quantizationAnnotations: [OnnxTensorAnnotation] = []
    public var metadataProps: [StringPair] = []
    public init() {}
}

/// `NodeProto`: one operator application.
public struct OnnxNode: Sendable, Equatable {
    public var name = ""
    public var opType = ""
    public var domain = ""
    public var overload = ""
    public var inputs: [String] = []
    public var outputs: [String] = []
    public var attributes: [OnnxAttribute] = []
    public var docString = ""
    public var metadataProps: [StringPair] = []
    public init() {}

    public init(_ opType: String, name: String = "", inputs: [String], outputs: [String], attributes: [OnnxAttribute] = []) {
        self.opType = opType
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    public func attribute(_ name: String) -> OnnxAttribute? { attributes.first { $0.name == name } }
}

/// `AttributeProto.AttributeType`.
public enum AttributeType: Int32, Sendable, Equatable, CustomStringConvertible {
    case undefined = 0, float = 1, int = 2, string = 3, tensor = 4, graph = 5
    case floats = 6, ints = 7, strings = 8, tensors = 9, graphs = 10
    case sparseTensor = 11, sparseTensors = 12, typeProto = 13, typeProtos = 14

    public var description: String {
        ["UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS", "STRINGS", "TENSORS",
         "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"][Int(rawValue)]
    }
}

/// `AttributeProto`. Only the field named by `type` carries the value; the others keep their defaults.
public struct OnnxAttribute: Sendable, Equatable {
    public var name = ""
    public var refAttrName = ""
    public var docString = ""
    /// The declared type as stored (an unknown number stays visible so validation can name it).
    public var typeCode: Int32 = 0
    public var f: Float = 0
    public var i: Int64 = 0
    public var s: [UInt8] = []
    public var t: OnnxTensor?
    private var boxedGraph: Indirect<OnnxGraph>?
    public var sparseTensor: OnnxSparseTensor?
    public var tp: OnnxType?
    public var floats: [Float] = []
    public var ints: [Int64] = []
    public var strings: [[UInt8]] = []
    public var tensors: [OnnxTensor] = []
    public var graphs: [OnnxGraph] = []
    public var sparseTensors: [OnnxSparseTensor] = []
    public var typeProtos: [OnnxType] = []

    public init(name: String = "") { self.name = name }

    public var type: AttributeType? { AttributeType(rawValue: typeCode) }

    public var g: OnnxGraph? {
        get { boxedGraph?.wrapped }
        set { boxedGraph = newValue.map { .value($0) } }
    }

    /// The string value decoded as UTF-8 (ONNX attribute strings are bytes).
    public var stringValue: String { String(decoding: s, as: UTF8.self) }

    public static func int(_ name: String, _ value: Int64) -> OnnxAttribute {
        var a = OnnxAttribute(name: name); a.typeCode = AttributeType.int.rawValue; a.i = value; return a
    }
    public static func float(_ name: String, _ value: Float) -> OnnxAttribute {
        var a = OnnxAttribute(name: name); a.typeCode = AttributeType.float.rawValue; a.f = value; return a
    }
    public static func string(_ name: String, _ value: String) -> OnnxAttribute {
        var a = OnnxAttribute(name: name); a.typeCode = AttributeType.string.rawValue; a.s = Array(value.utf8); return a
    }
    public static func ints(_ name: String, _ value: [Int64]) -> OnnxAttribute {
        var a = OnnxAttribute(name: name); a.typeCode = AttributeType.ints.rawValue; a.ints = value; return a
    }
    public static func floats(_ name: String, _ value: [Float]) -> OnnxAttribute {
        var a = OnnxAttribute(name: name); a.typeCode = AttributeType.floats.rawValue; a.floats = value; return a
    }
    public static func tensor(_ name: String, _ value: OnnxTensor) -> OnnxAttribute {
        var a = OnnxAttribute(name: name); a.typeCode = AttributeType.tensor.rawValue; a.t = value; return a
    }
}

/// `TensorProto`, exactly as stored: the data may sit in `rawData`, in one of the typed fields, or in
/// an external file. `TensorData.swift` turns it into validated bytes.
public struct OnnxTensor: Sendable, Equatable {
    public var name = ""
    public var docString = ""
    public var dims: [Int64] = []
    public var dataTypeCode: Int32 = 0
    public var segment: OnnxTensorSegment?
    public var floatData: [Float] = []
    public var int32Data: [Int32] = []
    public var stringData: [[UInt8]] = []
    public var int64Data: [Int64] = []
    public var raw: RawBytes?
    public var doubleData: [Double] = []
    public var uint64Data: [UInt64] = []
    public var externalData: [StringPair] = []
    /// 0: data in this message; 1: data in an external file described by `externalData`.
    public var dataLocation: Int32 = 0
    public var metadataProps: [StringPair] = []
    public init() {}

    public var dataType: DataType? { DataType(rawValue: dataTypeCode) }
    public var isExternal: Bool { dataLocation == 1 }

    /// `raw` as an array (a copy when it is borrowed from a decoded file).
    public var rawData: [UInt8]? {
        get { raw?.array }
        set { raw = newValue.map(RawBytes.init) }
    }
}

public struct OnnxTensorSegment: Sendable, Equatable {
    public var begin: Int64
    public var end: Int64
    public init(begin: Int64, end: Int64) { self.begin = begin; self.end = end }
}

/// `SparseTensorProto`: kept so files that carry one survive a round trip; Onyx does not compute with them.
public struct OnnxSparseTensor: Sendable, Equatable {
    public var values: OnnxTensor?
    public var indices: OnnxTensor?
    public var dims: [Int64] = []
    public init() {}
}

/// One dimension of a declared shape: a number, a symbolic name (`batch`), or unknown.
public enum OnnxDimValue: Sendable, Equatable, Hashable {
    case value(Int64)
    case param(String)
    case unknown
}

public struct OnnxDimension: Sendable, Equatable {
    public var value: OnnxDimValue
    public var denotation: String
    public init(_ value: OnnxDimValue, denotation: String = "") { self.value = value; self.denotation = denotation }
}

/// `TypeProto`: what a graph input, output or value holds.
public struct OnnxType: Sendable, Equatable {
    public indirect enum Kind: Sendable, Equatable {
        /// `shape` nil means the rank is unknown; an empty array is a scalar.
        case tensor(elemType: Int32, shape: [OnnxDimension]?)
        case sparseTensor(elemType: Int32, shape: [OnnxDimension]?)
        case sequence(OnnxType?)
        case map(keyType: Int32, valueType: OnnxType?)
        case optional(OnnxType?)
        case none
    }
    public var kind: Kind
    public var denotation: String
    public init(_ kind: Kind, denotation: String = "") { self.kind = kind; self.denotation = denotation }

    public static func tensor(_ type: DataType, _ shape: [OnnxDimValue]?) -> OnnxType {
        OnnxType(.tensor(elemType: type.rawValue, shape: shape?.map { OnnxDimension($0) }))
    }
}

/// `ValueInfoProto`: a named, typed value (graph inputs and outputs, intermediate annotations).
public struct OnnxValueInfo: Sendable, Equatable {
    public var name: String
    public var type: OnnxType?
    public var docString = ""
    public var metadataProps: [StringPair] = []
    public init(name: String, type: OnnxType?) { self.name = name; self.type = type }
}

public struct OnnxTensorAnnotation: Sendable, Equatable {
    public var tensorName = ""
    public var quantParameterTensorNames: [StringPair] = []
    public init() {}
}

public struct OnnxTrainingInfo: Sendable, Equatable {
    private var boxedInitialization: Indirect<OnnxGraph>?
    private var boxedAlgorithm: Indirect<OnnxGraph>?
    public var initializationBinding: [StringPair] = []
    public var updateBinding: [StringPair] = []
    public init() {}
    public var initialization: OnnxGraph? {
        get { boxedInitialization?.wrapped }
        set { boxedInitialization = newValue.map { .value($0) } }
    }
    public var algorithm: OnnxGraph? {
        get { boxedAlgorithm?.wrapped }
        set { boxedAlgorithm = newValue.map { .value($0) } }
    }
}

/// `FunctionProto`: a model-local function (kept through a round trip; not executed).
public struct OnnxFunction: Sendable, Equatable {
    public var name = ""
    public var domain = ""
    public var overload = ""
    public var inputs: [String] = []
    public var outputs: [String] = []
    public var attributeNames: [String] = []
    public var attributeProtos: [OnnxAttribute] = []
    public var nodes: [OnnxNode] = []
    public var docString = ""
    public var opsetImports: [OperatorSetId] = []
    public var valueInfo: [OnnxValueInfo] = []
    public var metadataProps: [StringPair] = []
    public init() {}
}
