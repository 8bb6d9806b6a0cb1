import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import OnnxFormat
import PageMemory
import CMalloc

/// Decoding borrows tensors' raw data, from the buffer the model's bytes were read into (see
/// `LiftedRawData`) or from protobuf-c's arena, instead of copying it; these check that the borrowed
/// bytes outlive everything else decoded with them and behave like owned ones. Serialized:
/// `deferredBuffersStartSmallAndCollapseUnchanged` flips the process-wide deferral, which would change
/// the page advice another of these tests checks.
@Suite(.serialized) struct DecodedMemoryTests {
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
        // The model, its graph and the input array are gone; the tensor keeps the bytes it borrows alive.
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

    /// A model whose raw data is most of its bytes, with what surrounds the lifted fields: a tensor
    /// without raw data, an empty one, one whose raw data is stored twice (the last counts), fields
    /// after the initializers, and a tensor-valued attribute (not lifted).
    func weightedModel() -> OnnxModel {
        var model = OnnxModel()
        model.irVersion = 8
        model.opsetImports = [OperatorSetId(version: 13)]
        model.producerName = "test"
        var graph = OnnxGraph()
        graph.name = "g"
        var typed = OnnxTensor(name: "typed", dataType: .float, shape: [2], rawBytes: [])
        typed.raw = nil
        typed.floatData = [1, 2]
        graph.initializers = [
            OnnxTensor(name: "w", floats: (0 ..< 30_000).map { Float($0) * 0.25 }, shape: [300, 100]),
            typed,
            OnnxTensor(name: "empty", floats: [], shape: [0]),
            OnnxTensor(name: "b", floats: (0 ..< 300).map { -Float($0) }, shape: [300]),
        ]
        graph.nodes = [OnnxNode("Constant", inputs: [], outputs: ["c"], attributes: [.tensor("value", OnnxTensor(name: "", floats: [7], shape: [1]))])]
        graph.inputs = [OnnxValueInfo(name: "x", type: OnnxType(.tensor(elemType: 1, shape: nil)))]
        graph.docString = "after the initializers"
        model.graph = graph
        return model
    }

    @Test func liftedRawDataDecodesAsWithout() throws {
        let model = weightedModel()
        let bytes = OnnxFile.encode(model)
        let lifted = try #require(bytes.withUnsafeBytes { LiftedRawData($0) })
        #expect(lifted.payloads.map { $0?.count } == [120_000, nil, 0, 1_200])
        #expect(lifted.rest.count < 2_000)
        let pages = try #require(PageBuffer(count: bytes.count, zeroed: false))
        bytes.withUnsafeBytes { pages.base.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        let decoded = try ProtoDecoder.decodeModel(pages, count: bytes.count, maxDepth: 64)
        #expect(decoded == model)
        // The weights are borrowed from the buffer the bytes were in, not copied.
        let w = try #require(decoded.graph?.initializers[0].raw)
        let start = w.withUnsafeBytes { Int(bitPattern: $0.baseAddress!) } - Int(bitPattern: pages.base)
        #expect(start > 0 && start + w.count <= bytes.count)

    }

    func varint(_ v: Int) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        return out + [UInt8(v)]
    }
    /// A length-delimited field.
    func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] { varint(number << 3 | 2) + varint(payload.count) + payload }

    @Test func rawDataStoredTwiceLiftsTheLast() throws {
        // Concatenated messages merge, and the last of a non-repeated field counts.
        let first = OnnxTensor(name: "w", floats: (0 ..< 1000).map(Float.init), shape: [1000])
        let second = (0 ..< 1000).map { -Float($0) }
        let tensor = OnnxFile.encode(first) + field(9, second.withUnsafeBytes { Array($0) })
        var header = OnnxModel()
        header.irVersion = 8
        header.opsetImports = [OperatorSetId(version: 13)]
        let bytes = OnnxFile.encode(header) + field(7, field(5, tensor))
        let lifted = try #require(bytes.withUnsafeBytes { LiftedRawData($0) })
        #expect(lifted.payloads.count == 1)
        let decoded = try OnnxFile.decodeModel(bytes)
        #expect(try decoded.graph?.initializers.first?.decodedBytes(baseDirectory: nil).values(as: Float.self) == second)
    }

    @Test func modelsNotWorthLiftingDecodeUnlifted() throws {
        // Weights in a typed field, and a graph stored in two fields (decoders merge them): no lift.
        var typed = weightedModel()
        var weights = OnnxTensor(name: "w", dataType: .float, shape: [30_000], rawBytes: [])
        weights.raw = nil
        weights.floatData = (0 ..< 30_000).map(Float.init)
        typed.graph!.initializers = [weights]
        let typedBytes = OnnxFile.encode(typed)
        #expect(typedBytes.withUnsafeBytes { LiftedRawData($0) } == nil)
        #expect(try OnnxFile.decodeModel(typedBytes) == typed)

        var more = OnnxModel()
        more.graph = weightedModel().graph
        let twoGraphs = OnnxFile.encode(weightedModel()) + OnnxFile.encode(more)
        #expect(twoGraphs.withUnsafeBytes { LiftedRawData($0) } == nil)
        let merged = try OnnxFile.decodeModel(twoGraphs)
        #expect(merged.graph?.initializers.count == 8)
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

    @Test func largeFilesReadInHalvesMatchTheFile() throws {
        // From 16 MiB a file is read as two halves on two threads; an odd size checks the second half's end.
        let count = (17 << 20) + 12_345
        let bytes = (0 ..< count).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let path = "/tmp/onyx-halves-\(getpid()).bin"
        try OnnxFile.writeFile(path, bytes)
        defer { unlink(path) }
        let (pages, read) = try OnnxFile.readPages(path, limit: count)
        #expect(read == count)
        #expect(UnsafeRawBufferPointer(start: pages.base, count: count).elementsEqual(bytes))
    }

    /// The VmFlags of the mapping holding `address`, from /proc/self/smaps.
    func mappingFlags(_ address: Int) throws -> [Substring] {
        // Read to the end: /proc files report no size.
        let fd = open("/proc/self/smaps", O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 1 << 16)
        while case let n = read(fd, &chunk, chunk.count), n > 0 { bytes += chunk[..<n] }
        let smaps = String(decoding: bytes, as: UTF8.self)
        var inside = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let ends = range.split(separator: "-").compactMap { Int($0, radix: 16) }
                inside = ends.count == 2 && ends[0] <= address && address < ends[1]
            } else if inside, fields.first == "VmFlags:" {
                return Array(fields.dropFirst())
            }
        }
        return []
    }

    @Test func deferredBuffersStartSmallAndCollapseUnchanged() throws {
        // With deferral a 6 MiB buffer is advised `nh` (small pages) as it is made; the collapse advises
        // its whole 2 MiB pages `hg` and keeps every byte. Other tests' buffers made meanwhile may be
        // collapsed too, which changes nothing of theirs.
        PageBuffer.deferHugePages.store(true, ordering: .relaxed)
        let buffer = try #require(PageBuffer(count: 6 << 20, zeroed: false))
        PageBuffer.deferHugePages.store(false, ordering: .relaxed)
        let count = (6 << 20) / 4
        let words = buffer.base.bindMemory(to: UInt32.self, capacity: count)
        for i in 0 ..< count { words[i] = UInt32(truncatingIfNeeded: i &* 2_654_435_761) }
        let middle = Int(bitPattern: buffer.base) + (3 << 20)
        #expect(try mappingFlags(middle).contains("nh"))
        PageBuffer.collapseDeferred()
        #expect(try mappingFlags(middle).contains("hg"))
        #expect((0 ..< count).allSatisfy { words[$0] == UInt32(truncatingIfNeeded: $0 &* 2_654_435_761) })
        // Without deferral a buffer is advised huge pages at once.
        let eager = try #require(PageBuffer(count: 4 << 20))
        #expect(try mappingFlags(Int(bitPattern: eager.base) + (1 << 20)).contains("hg"))
    }

    @Test func largeDecodedArraysAskForSmallPages() throws {
        // 6 MiB of floats hold at least two whole 2 MiB pages, advised `nh` before the copy fills them.
        let floats = (0 ..< (3 << 19)).map { Float($0) * 0.5 }
        let tensor = OnnxTensor(name: "w", floats: floats, shape: [floats.count])
        let values = try tensor.decodedBytes(baseDirectory: nil).values(as: Float.self)
        #expect(values == floats)
        let middle = values.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress!) + $0.count * 2 }
        #expect(try mappingFlags(middle).contains("nh"))
        let small = try OnnxTensor(name: "b", floats: [1, 2, 3], shape: [3]).decodedBytes(baseDirectory: nil).values(as: Float.self)
        #expect(small == [1, 2, 3])
    }
}
