import Testing
@testable import OnnxFormat
import PageMemory
import CMalloc

/// Decoding borrows tensors' raw data from protobuf-c's arena instead of copying it; these check that
/// the borrowed bytes outlive everything else decoded with them and behave like owned ones.
@Suite struct DecodedMemoryTests {
    func modelBytes(initializers: [OnnxTensor], nodes: [OnnxNode] = []) -> [UInt8] {
        var model = OnnxModel()
        model.irVersion = 8
        model.opsetImports = [OperatorSetId(version: 13)]
        var graph = OnnxGraph()
        graph.initializers = initializers
        graph.nodes = nodes
        model.graph = graph
        return OnnxFile.encode(model)
    }

    @Test func borrowedRawDataOutlivesTheDecodedModel() throws {
        let floats = (0 ..< 10_000).map { Float($0) * 0.5 }
        var tensor: OnnxTensor? = nil
        do {
            let model = try OnnxFile.decodeModel(modelBytes(initializers: [OnnxTensor(name: "w", floats: floats, shape: [100, 100])]))
            tensor = model.graph?.initializers.first
        }
        // The model, its graph and the input bytes are gone; the tensor keeps the arena alive.
        let data = try #require(tensor).decodedBytes(baseDirectory: nil)
        #expect(data.byteCount == 40_000)
        #expect(data.values(as: Float.self) == floats)
    }

    @Test func borrowedAndOwnedBytesCompareByContent() throws {
        let owned = OnnxTensor(name: "w", floats: [1, 2, 3], shape: [3])
        let decoded = try #require(try OnnxFile.decodeModel(modelBytes(initializers: [owned])).graph?.initializers.first)
        #expect(decoded == owned)
        var changed = decoded
        changed.rawData = [0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 0, 0]  // 1, 2, 0
        #expect(changed != owned)
        #expect(changed.rawData?.count == 12)
        #expect(RawBytes([]) == RawBytes([]))
    }

    @Test func treesLargerThanTheFirstChunkDecode() throws {
        // 1,000 nodes of 20 attributes each: a few bytes apiece in the file, hundreds of bytes apiece
        // decoded, so the arena must grow past its first chunk (sized from the file).
        let attributes = (0 ..< 20).map { OnnxAttribute.int("a\($0)", Int64($0)) }
        let nodes = (0 ..< 1000).map { OnnxNode("Relu", inputs: ["x\($0)"], outputs: ["x\($0 + 1)"], attributes: attributes) }
        let model = try OnnxFile.decodeModel(modelBytes(initializers: [], nodes: nodes))
        #expect(model.graph?.nodes.count == 1000)
        #expect(model.graph?.nodes[999].attributes[19].i == 19)
        #expect(model.graph?.nodes[999].outputs == ["x1000"])
    }

    @Test func pageBuffersAreZeroedAndLargeOnesHugePageAligned() throws {
        let small = try #require(PageBuffer(count: 100))
        #expect(small.count == 100)
        #expect(UnsafeRawBufferPointer(start: small.base, count: 100).allSatisfy { $0 == 0 })
        let large = try #require(PageBuffer(count: 3 << 20))
        #expect(Int(bitPattern: large.base) % (2 << 20) == 0)
        large.base.storeBytes(of: 7, toByteOffset: (3 << 20) - 1, as: UInt8.self)
        #expect(large.base.load(fromByteOffset: (3 << 20) - 2, as: UInt8.self) == 0)
        #expect(PageBuffer(count: Int.max) == nil)
    }

    @Test func reusedHeapBuffersAreZeroedWhenAsked() throws {
        // Below `heapLimit` buffers come from the heap, which, with the CLI's glibc settings, keeps a
        // freed block and hands it out again: whichever block the second buffer gets, it must read as zero.
        _ = mallopt(M_MMAP_THRESHOLD, Int32(PageBuffer.heapLimit))
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
        var written: PageBuffer? = try #require(PageBuffer(count: 5 << 20, zeroed: false))
        #expect(Int(bitPattern: written!.base) % PageBuffer.hugePage == 0)
        written!.base.initializeMemory(as: UInt8.self, repeating: 0xAB, count: 5 << 20)
        written = nil
        let again = try #require(PageBuffer(count: 5 << 20))
        #expect(UnsafeRawBufferPointer(start: again.base, count: 5 << 20).allSatisfy { $0 == 0 })
    }
}
