#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Huge pages after the load rather than during it.
///
/// After this VM idles for a few seconds, a fresh 2 MiB page costs 2-4 ms per MiB to fault (the host
/// has taken the guest's free huge pages back), a fresh 4 KiB page 0.4-1.3 ms per MiB: ResNet-50's
/// load spent most of its 400-600 ms zeroing the huge pages its file buffer is read into, which the
/// packed weights then reuse. With `deferHugePages` set (the command line sets it), buffers of 2 MiB
/// and more are faulted in 4 KiB pages and remembered; `collapseDeferred` then turns them into huge
/// pages in place (`MADV_COLLAPSE`, Linux 6.1 and later), once the model is ready: for runs, which
/// read the packed weights through fewer TLB entries (runs on 4 KiB pages were 1-3% slower). A
/// process that runs a model once (`onyx run`) never needs the collapse.
extension PageBuffer {
    /// Whether new buffers of 2 MiB and more start in 4 KiB pages, for `collapseDeferred`.
    public static let deferHugePages = Atomic<Bool>(false)
    /// The 2 MiB pages of the buffers made since the last collapse, start and end addresses. Ranges, not
    /// buffers: a buffer freed to the heap (the file's bytes, after decoding) leaves small pages that the
    /// packed weights, the arena and smaller allocations then reuse, and its range covers them all.
    static let deferred = Mutex<[Range<Int>]>([])

    /// `madvise(MADV_COLLAPSE)`'s advice number (Linux's uapi `mman-common.h`); older glibc headers lack it.
    static let collapseAdvice: Int32 = 25

    /// How a buffer of at least 2 MiB asks for its pages: huge now, or small until `collapseDeferred`.
    static func advise(_ start: UnsafeMutableRawPointer, _ count: Int) {
        _ = madvise(start, count, deferHugePages.load(ordering: .relaxed) ? MADV_NOHUGEPAGE : MADV_HUGEPAGE)
    }

    /// Notes, while deferring, the whole 2 MiB pages of a buffer just made, for `collapseDeferred`.
    static func rememberForCollapse(_ start: UnsafeMutableRawPointer, _ count: Int) {
        guard deferHugePages.load(ordering: .relaxed) else { return }
        let address = Int(bitPattern: start)
        let first = (address + hugePage - 1) / hugePage * hugePage, end = (address + count) / hugePage * hugePage
        if end > first { deferred.withLock { $0.append(first ..< end) } }
    }

    /// Collapses the whole 2 MiB pages of the buffers made since the last call (see `deferred`) into huge
    /// pages, and returns the bytes it collapsed. Call it once a model is ready, while no other thread
    /// allocates. Contents never change; a range since returned to the kernel just fails. A kernel
    /// without `MADV_COLLAPSE` leaves the pages small (advised huge, so `khugepaged` may collapse them
    /// later).
    @discardableResult
    public static func collapseDeferred() -> Int {
        let ranges = deferred.withLock { list in
            defer { list.removeAll() }
            return list.sorted { $0.lowerBound < $1.lowerBound }
        }
        // Overlapping ranges merged: a freed file buffer's holds the packed weights made in it.
        var merged: [Range<Int>] = []
        for range in ranges {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound ..< max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        var bytes = 0
        for range in merged {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound) else { continue }
            _ = madvise(start, range.count, MADV_HUGEPAGE)
            if madvise(start, range.count, collapseAdvice) == 0 { bytes += range.count }
        }
        return bytes
    }
}
