import Onyx
import Testing

/// Importing a model's initializers: from 16 MiB of weights two threads decode them, and the result and
/// the errors must be those of decoding them in file order.
@Suite struct ImportTests {
    func model(_ initializers: [OnnxTensor]) -> OnnxModel {
        var model = OnnxModel()
        model.irVersion = 8
        model.opsetImports = [OperatorSetId(version: 13)]
        var graph = OnnxGraph()
        graph.initializers = initializers
        model.graph = graph
        return model
    }

    func floats(_ name: String, _ values: [Float]) -> OnnxTensor {
        OnnxTensor(name: name, dataType: .float, shape: [values.count], rawBytes: values.withUnsafeBytes { Array($0) })
    }

    @Test func largeModelsImportTheirWeightsInOrder() throws {
        let large = (0 ..< (5 << 20)).map { Float($0 % 1_000) }
        let tensors = [floats("large", large), floats("small", [1, 2, 3])] + (0 ..< 9).map { floats("w\($0)", [Float]((0 ..< 100_000).map { Float($0) })) }
        let graph = try Importer.importModel(model(tensors), baseDirectory: nil)
        for t in tensors {
            let value = try #require(graph.values.first { $0.name == t.name })
            #expect(value.constant == Tensor(shape: [Int(t.dims[0])], try #require(t.raw).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }))
        }
    }

    @Test func theFirstBrokenInitializerInFileOrderIsReported() throws {
        var first = floats("first", [1, 2])
        first.dims = [3]
        var second = floats("second", [1])
        second.dims = [5]
        let large = floats("large", [Float](repeating: 0, count: 5 << 20))
        for tensors in [[large, first, second], [second, large, first]] {
            let error = #expect(throws: OnnxError.self) { try Importer.importModel(model(tensors), baseDirectory: nil) }
            let expected = tensors[0].name == "second" ? "tensor 'second': raw_data holds 4 bytes but shape [5] of float32 needs 20"
                                                      : "tensor 'first': raw_data holds 8 bytes but shape [3] of float32 needs 12"
            #expect(error?.message == expected)
        }
        let twice = #expect(throws: OnnxError.self) { try Importer.importModel(model([large, floats("a", [1]), floats("a", [2]), second]), baseDirectory: nil) }
        #expect(twice?.message == "initializer 'a' is declared twice")
    }
}
