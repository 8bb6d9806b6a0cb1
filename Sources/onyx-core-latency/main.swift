import Foundation
import Synchronization

/// Prints the round-trip time (ns, median of batches) of a cache line passed back and forth between two
/// threads: one writes an odd number, the other answers with the next even one.
///
/// `benchmarks/compare.py` runs it around every round to tell the states this VM's two vCPUs go through:
/// about 80-150 ns when they share a last-level cache, about 330-400 ns when the host puts them on
/// different CCDs. In the latter every cache line one thread writes and the other reads costs tens of
/// nanoseconds, and a two-thread run of a whole network loses most of its second thread's gain.
final class Line: @unchecked Sendable {
    let value = Atomic<Int>(0)
}

let line = Line()
let batches = 5, trips = 20_000
let partner = Thread {
    for i in 0 ..< batches * trips {
        while line.value.load(ordering: .acquiring) != 2 * i + 1 {}
        line.value.store(2 * i + 2, ordering: .releasing)
    }
}
partner.start()
var times: [Double] = []
for b in 0 ..< batches {
    let start = DispatchTime.now().uptimeNanoseconds
    for j in 0 ..< trips {
        let i = b * trips + j
        line.value.store(2 * i + 1, ordering: .releasing)
        while line.value.load(ordering: .acquiring) != 2 * i + 2 {}
    }
    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(trips))
}
print(String(format: "%.0f", times.sorted()[batches / 2]))
