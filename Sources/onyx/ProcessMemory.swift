#if canImport(CMalloc)
import CMalloc
#endif

/// glibc returns large freed blocks to the kernel (blocks over the mmap threshold are unmapped, the
/// heap's top is trimmed), so loading a second model in the same process pays a page fault per 4 KiB
/// again, which was most of a warm load (ResNet-50: 170 ms, of which about 90 ms faults). Raising both
/// thresholds keeps freed memory in the heap for the next allocation, as onnxruntime's arena keeps its
/// own. A command-line process owns its heap; the library leaves this choice to its host.
enum ProcessMemory {
    static func keepFreedMemory() {
        #if os(Linux)
        _ = mallopt(M_MMAP_THRESHOLD, 64 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
        #endif
    }
}
