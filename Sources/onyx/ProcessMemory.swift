#if canImport(CMalloc)
import CMalloc
#endif
#if canImport(Glibc)
import Glibc
#endif
import PageMemory

/// glibc returns large freed blocks to the kernel (blocks over the mmap threshold are unmapped, the
/// heap's top is trimmed), so loading a second model in the same process pays a page fault per 4 KiB
/// again, which was most of a warm load (ResNet-50: 170 ms, of which about 90 ms faults). Raising both
/// thresholds keeps freed memory in the heap for the next allocation, as onnxruntime's arena keeps its
/// own. A command-line process owns its heap; the library leaves this choice to its host.
enum ProcessMemory {
    /// glibc's malloc backs its heap with transparent huge pages when the `glibc.malloc.hugetlb=1`
    /// tunable is set (glibc 2.35 and later): fresh memory then costs a fault per 2 MiB instead of per
    /// 4 KiB. Loading ResNet-50 took 50,635 page faults and 216-249 ms, with it 2,188 and 129-143 ms
    /// (MobileNetV2 53 -> 26 ms); runs were 1-4% faster too (fewer TLB misses). Tunables are read only
    /// as a process starts, so the command line starts itself again, once, with the tunable added to
    /// the environment (the variable then has it, and a failed exec just carries on). The library
    /// leaves this choice to its host, like the thresholds below.
    static func useHugePages() {
        #if os(Linux)
        let tunable = "glibc.malloc.hugetlb=1"
        let current = getenv("GLIBC_TUNABLES").map { String(cString: $0) } ?? ""
        guard !current.contains("glibc.malloc.hugetlb") else { return }
        guard setenv("GLIBC_TUNABLES", current.isEmpty ? tunable : current + ":" + tunable, 1) == 0 else { return }
        _ = execv("/proc/self/exe", CommandLine.unsafeArgv)
        #endif
    }

    static func keepFreedMemory() {
        #if os(Linux)
        _ = mallopt(M_MMAP_THRESHOLD, Int32(PageBuffer.heapLimit))
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
        #endif
    }
}
