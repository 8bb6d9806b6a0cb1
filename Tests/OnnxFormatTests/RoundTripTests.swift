import Testing
@testable import OnnxFormat

@Suite struct RoundTripTests {
    func sampleModel() -> OnnxModel {
        var model = OnnxModel()
        model.irVersion = 8
        model.producerName = "onyx-tests"
        model.opsetImports = [OperatorSetId(version: 13)]
        model.metadataProps = [StringPair("k", "v"), StringPair("empty", "")]
        var graph = OnnxGraph()
        graph.name = "g"
        graph.inputs = [OnnxValueInfo(name: "x", type: .tensor(.float, [.param("N"), .value(3)]))]
        graph.outputs = [OnnxValueInfo(name: "y", type: .tensor(.float, nil))]
        graph.initializers = [OnnxTensor(name: "w", floats: [1, 2, 3], shape: [3])]
        var sub = OnnxGraph()
        sub.name = "body"
        sub.nodes = [OnnxNode("Identity", inputs: ["x"], outputs: ["z"])]
        var graphAttribute = OnnxAttribute(name: "then_branch")
        graphAttribute.typeCode = AttributeType.graph.rawValue
        graphAttribute.g = sub
        graph.nodes = [
            OnnxNode("Add", name: "add", inputs: ["x", "w"], outputs: ["a"]),
            OnnxNode("LeakyRelu", inputs: ["a"], outputs: ["b"], attributes: [.float("alpha", 0.5)]),
            OnnxNode("Pad", inputs: ["b", "", ""], outputs: ["y"],
                     attributes: [.string("mode", "reflect"), .ints("pads", [0, 1, 0, 1]), graphAttribute]),
        ]
        model.graph = graph
        return model
    }

    @Test func modelSurvivesEncodeAndDecode() throws {
        let model = sampleModel()
        let decoded = try OnnxFile.decodeModel(OnnxFile.encode(model))
        #expect(decoded == model)
    }

    @Test func emptyOptionalInputsAreKept() throws {
        let decoded = try OnnxFile.decodeModel(OnnxFile.encode(sampleModel()))
        #expect(decoded.graph?.nodes[2].inputs == ["b", "", ""])
    }

    @Test func tensorRoundTrip() throws {
        let tensor = OnnxTensor(name: "t", int64s: [1, -2, 3, Int64.max], shape: [2, 2])
        let bytes = OnnxFile.encode(tensor)
        let decoded = try bytes.withUnsafeBytes { try ProtoDecoder.decodeTensor($0, maxDepth: 10) }
        #expect(decoded == tensor)
        #expect(try decoded.decodedBytes(baseDirectory: nil).values(as: Int64.self) == [1, -2, 3, Int64.max])
    }
}

@Suite struct TensorDataTests {
    @Test func typedFieldsDecodeToLittleEndianBytes() throws {
        var t = OnnxTensor()
        t.name = "h"
        t.dataTypeCode = DataType.float16.rawValue
        t.dims = [2]
        t.int32Data = [0x3C00, 0xC000]  // 1.0 and -2.0 in IEEE half precision
        #expect(try t.decodedBytes(baseDirectory: nil).bytes == [0x00, 0x3C, 0x00, 0xC0])
    }

    @Test func boolsFromInt32Data() throws {
        var t = OnnxTensor()
        t.dataTypeCode = DataType.bool.rawValue
        t.dims = [3]
        t.int32Data = [1, 0, 1]
        #expect(try t.decodedBytes(baseDirectory: nil).bytes == [1, 0, 1])
    }

    @Test func scalarHasOneElement() throws {
        let t = OnnxTensor(name: "s", floats: [4], shape: [])
        #expect(try t.decodedBytes(baseDirectory: nil).elementCount == 1)
    }

    @Test func mismatchedCountIsAnError() {
        var t = OnnxTensor()
        t.name = "w"
        t.dataTypeCode = DataType.int64.rawValue
        t.dims = [3]
        t.int64Data = [1, 2]
        #expect(throws: OnnxError("tensor 'w': int64_data holds 2 values but shape [3] of int64 needs 3")) {
            try t.decodedBytes(baseDirectory: nil)
        }
    }

    @Test func unsupportedTypeIsNamed() {
        var t = OnnxTensor()
        t.name = "q"
        t.dataTypeCode = DataType.int4.rawValue
        t.dims = [2]
        #expect(throws: OnnxError("tensor 'q': data type int4 is not supported")) {
            try t.decodedBytes(baseDirectory: nil)
        }
    }
}

@Suite struct WireScanTests {
    func scan(_ bytes: [UInt8], depth: Int = 100) throws {
        try bytes.withUnsafeBytes { try WireScan.check($0, maxDepth: depth) }
    }

    @Test func acceptsUnknownFieldsOfEveryWireType() throws {
        // field 99 as varint, fixed64, bytes, fixed32
        try scan([0x98, 0x06, 0x01, 0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0x9A, 0x06, 0x01, 0xAA, 0x9D, 0x06, 1, 2, 3, 4])
    }

    @Test func rejectsPackedFloatsOfWrongLength() {
        // TensorProto inside a graph inside a model: float_data (field 4) packed with 3 bytes.
        let tensor: [UInt8] = [0x22, 0x03, 0, 0, 0]
        let graph: [UInt8] = [0x2A, UInt8(tensor.count)] + tensor
        let model: [UInt8] = [0x3A, UInt8(graph.count)] + graph
        #expect(throws: OnnxError("invalid protobuf at byte 4 in ModelProto.GraphProto#7.TensorProto#5: packed TensorProto field 4 length 3 is not a multiple of 4")) {
            try scan(model)
        }
    }

    @Test func depthLimitCountsMessages() {
        let graph: [UInt8] = [0x3A, 0x00]  // ModelProto.graph, empty: depth 2
        #expect(throws: Never.self) { try scan(graph, depth: 2) }
        #expect(throws: OnnxError.self) { try scan(graph, depth: 1) }
    }
}
