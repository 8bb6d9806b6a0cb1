#if canImport(Glibc)
import Glibc
#endif

/// Large buffers written once: a model file's bytes, protobuf-c's decoded tree, packed weights. Fresh
/// pages cost a fault each, about 0.9 ms per MiB in 4 KiB pages on the development machine (a third of
/// loading ResNet-50); in 2 MiB transparent huge pages the same
/// memory costs about 0.15 ms per MiB. Buffers of at least 2 MiB are aligned to 2 MiB and advised as huge
/// pages, which the kernel honours when `/sys/kernel/mm/transparent_hugepage/enabled` is `madvise`
/// or `always`; elsewhere they are ordinary pages. With `deferHugePages` (the command line's choice)
/// they start in small pages and `collapseDeferred` makes them huge once the model is loaded.
///
/// Below `heapLimit` the buffer comes from the heap instead (aligned to 2 MiB and advised the same way),
/// where the CLI's glibc settings keep freed memory (see the README): a file buffer freed after
/// decoding is then reused by the allocations that follow it, and a later load in the same process
/// finds its pages present. Unmapped, freed huge pages go back to the guest's free lists, where this
/// VM's host reclaims them and faulting them in again costs 1-2 ms each. With the heap, loads (first
/// and further) of MobileNetV2, EfficientNet-B0 and GhostNet got faster, most with `hog.py` on the other
/// CPU, and their peak memory fell (GhostNet 161 -> 145 MB). The limit was 64 MiB at first, which left
/// ResNet-50's 100 MB file buffer mapped fresh for every load; at 1 GiB the packed weights that follow
/// the import reuse its pages: peak 579 -> 481 MB, further loads 60-248 -> 56-68 ms, and with `hog.py`
/// on the other CPU 85-652 -> 67-76 ms.
public final class PageBuffer: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let count: Int
    private let mapping: UnsafeMutableRawPointer
    private let mappedCount: Int

    public static let hugePage = 2 << 20
    /// The CLI's glibc mmap threshold (`ProcessMemory` sets it from this): larger buffers would be mapped
    /// by malloc anyway. Without that setting (a host embedding the library) malloc maps buffers over
    /// its own threshold, as this type would.
    public static let heapLimit = 1 << 30
    private let fromHeap: Bool

    /// nil when the heap or the kernel refuses the memory (out of address space or memory).
    /// - Parameter zeroed: whether the bytes must read as zero (fresh mappings do; heap memory is cleared
    ///   only when asked).
    public init?(count: Int, zeroed: Bool = true) {
        let size = max(count, 1)
        let huge = size >= Self.hugePage
        if huge && size < Self.heapLimit {
            var p: UnsafeMutableRawPointer?
            guard posix_memalign(&p, Self.hugePage, size) == 0, let p else { return nil }
            Self.advise(p, size)
            if zeroed { p.initializeMemory(as: UInt8.self, repeating: 0, count: size) }
            (mapping, mappedCount, base, self.count, fromHeap) = (p, size, p, size, true)
            Self.rememberForCollapse(p, size)
            return
        }
        fromHeap = false
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
            Self.advise(base, size)
        } else {
            base = p
        }
        self.count = size
        if huge { Self.rememberForCollapse(base, size) }
    }

    deinit { if fromHeap { free(mapping) } else { munmap(mapping, mappedCount) } }
}

extension PageBuffer {
    /// Asks for 4 KiB pages in the whole 2 MiB pages inside `count` bytes at `start`, which must not be
    /// touched yet: for large memory written once at load and seldom read after (the graph's copy of
    /// the weights, which runs read only in their packed form). After this VM has idled a few seconds a
    /// fresh huge page costs 3.8-4.1 ms per MiB (the host hands it back: see benchmarks/RESULTS.md),
    /// 4 KiB pages 0.6-1.3; the main heap's huge pages (`glibc.malloc.hugetlb`) pay off only where
    /// runs walk the memory. ResNet-50's first load after a pause of 6 s, one thread, alternating over
    /// ten pauses: 358-535 against 454-632 ms; its runs no slower (`ab.py`, one and two threads). A
    /// `PageBuffer` later made from the same heap memory advises huge pages again.
    public static func adviseSmallPages(_ start: UnsafeMutableRawPointer, count: Int) {
        let address = Int(bitPattern: start)
        let first = (address + hugePage - 1) / hugePage * hugePage, end = (address + count) / hugePage * hugePage
        guard end > first, let page = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(page, end - first, MADV_NOHUGEPAGE)
    }
}
