/// One run's working memory: a single 64-byte-aligned allocation sized by the plan, reused across runs.
/// From 2 MiB on it is a `PageBuffer` (2 MiB-aligned, in huge pages, or collapsed into them later).
final class Arena: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let bytes: Int
    private let pages: PageBuffer?

    init(bytes: Int) {
        self.bytes = bytes
        pages = bytes >= PageBuffer.hugePage ? PageBuffer(count: bytes, zeroed: false) : nil
        base = pages?.base ?? UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
    }

    deinit { if pages == nil { base.deallocate() } }
}

/// Element storage to and from raw memory, for the steps that run reference kernels.
enum RawTensor {
    static func read(_ pointer: UnsafeRawPointer, dtype: DType, shape: [Int]) -> Tensor {
        let count = shape.reduce(1, *)
        func load<T: TensorElement>(_: T.Type) -> Tensor {
            Tensor(shape: shape, Array(UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: T.self), count: count)))
        }
        switch dtype {
        case .float32: return load(Float.self)
        case .float64: return load(Double.self)
        case .float16: return load(Float16.self)
        case .int8: return load(Int8.self)
        case .int16: return load(Int16.self)
        case .int32: return load(Int32.self)
        case .int64: return load(Int64.self)
        case .uint8: return load(UInt8.self)
        case .uint16: return load(UInt16.self)
        case .uint32: return load(UInt32.self)
        case .uint64: return load(UInt64.self)
        case .bool: return load(Bool.self)
        case .string: return Tensor(shape: shape, [String](repeating: "", count: count))
        }
    }

    /// Copies the tensor's elements to `pointer`; from 256 KiB (a 224x224 image's 600 KB) split into one
    /// piece per pool thread (SqueezeNet and ShuffleNetV2 at two threads 0-1.2% faster, in one process).
    static func write(_ tensor: Tensor, to pointer: UnsafeMutableRawPointer) {
        tensor.storage.visit(Writer(pointer: pointer))
    }

    private struct Writer: StorageVisitor {
        let pointer: UnsafeMutableRawPointer
        func visit<T: TensorElement>(_ values: [T]) {
            values.withUnsafeBytes { bytes in
                guard bytes.count >= 1 << 18 else { return pointer.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
                // Pieces of whole cache lines, the last one taking the rest.
                let pool = ThreadPool.shared
                let pieces = pool.pieces(bytes.count / 64, threads: pool.workers)
                pool.parallelFor(pieces.count) { i in
                    let start = pieces[i].lowerBound * 64
                    let end = i == pieces.count - 1 ? bytes.count : pieces[i].upperBound * 64
                    (pointer + start).copyMemory(from: bytes.baseAddress! + start, byteCount: end - start)
                }
            }
        }
    }
}

import OnyxIR
import OnyxKernels
import PageMemory
