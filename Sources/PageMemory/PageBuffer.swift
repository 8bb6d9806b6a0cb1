#if canImport(Glibc)
import Glibc
#endif

/// Memory straight from the kernel, for large buffers written once: a model file's bytes, protobuf-c's
/// decoded tree, packed weights. Fresh pages cost a fault each, about 0.9 ms per MiB in 4 KiB pages on
/// the development machine (a third of loading ResNet-50); in 2 MiB transparent huge pages the same
/// memory costs about 0.15 ms per MiB. Buffers of at least 2 MiB are aligned to 2 MiB and advised as huge
/// pages, which the kernel honours when `/sys/kernel/mm/transparent_hugepage/enabled` is `madvise`
/// or `always`; elsewhere they are ordinary pages.
public final class PageBuffer: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let count: Int
    private let mapping: UnsafeMutableRawPointer
    private let mappedCount: Int

    public static let hugePage = 2 << 20

    /// nil when the kernel refuses the mapping (out of address space or memory).
    public init?(count: Int) {
        let size = max(count, 1)
        let huge = size >= Self.hugePage
        // Map one huge page more than needed, to start at a 2 MiB boundary inside the mapping.
        let (padded, overflow) = size.addingReportingOverflow(huge ? Self.hugePage : 0)
        guard !overflow, let p = mmap(nil, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            return nil
        }
        mapping = p
        mappedCount = padded
        if huge {
            let address = Int(bitPattern: p)
            base = p + ((address + Self.hugePage - 1) / Self.hugePage * Self.hugePage - address)
            _ = madvise(base, size, MADV_HUGEPAGE)
        } else {
            base = p
        }
        self.count = size
    }

    deinit { munmap(mapping, mappedCount) }
}

