import COnnxProto
import PageMemory

/// A bump allocator that protobuf-c unpacks into: allocations are carved from `PageBuffer`s and all
/// released together when the arena goes. The decoded tree is written once, during unpacking, then
/// only read: tensors whose raw data was not lifted out before decoding (see `LiftedRawData`) borrow
/// it from here (`RawBytes`) instead of copying it. protobuf-c's per-field `free` calls are no-ops.
final class UnpackArena: @unchecked Sendable {
    private var chunks: [PageBuffer] = []
    private var next: UnsafeMutableRawPointer?
    private var remaining = 0
    private var chunkSize: Int

    /// - Parameter expectedBytes: the encoded size; a tree of weights decodes to about as much, so the
    ///   first chunk usually holds it all. Later chunks double, for trees of many small messages (and
    ///   for the structure left once raw data is lifted out, which decodes to more than its bytes).
    init(expectedBytes: Int) {
        chunkSize = expectedBytes + expectedBytes / 8 + (64 << 10)
    }

    func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        let rounded = (max(size, 1) + 15) & ~15
        if rounded > remaining {
            if !chunks.isEmpty { chunkSize *= 2 }
            guard let chunk = PageBuffer(count: max(chunkSize, rounded), zeroed: false) else { return nil }
            chunks.append(chunk)
            next = chunk.base
            remaining = chunk.count
        }
        let p = next!
        next = p + rounded
        remaining -= rounded
        return p
    }

    /// Raw bytes of the decoded tree, borrowed for as long as the tensor holding them lives.
    func borrow(_ data: ProtobufCBinaryData) -> RawBytes {
        guard data.len > 0, let start = data.data else { return RawBytes([]) }
        return RawBytes(borrowing: UnsafeRawBufferPointer(start: start, count: data.len), owner: self)
    }

    /// The allocator to pass to `*_unpack`; valid while the arena lives.
    var allocator: ProtobufCAllocator {
        ProtobufCAllocator(
            alloc: { data, size in Unmanaged<UnpackArena>.fromOpaque(data!).takeUnretainedValue().allocate(size) },
            free: { _, _ in },
            allocator_data: Unmanaged.passUnretained(self).toOpaque())
    }
}
