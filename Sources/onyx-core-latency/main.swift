import Foundation
import Synchronization

/// Prints the round-trip time (ns, median of batches) of a cache line passed back and forth between two
/// threads: one writes an odd number, the other answers with the next even one.
///
/// `benchmarks/compare.py` runs it around every round to tell the states this VM's two vCPUs go through:
/// about 80-150 ns when they share a last-level cache, about 330-400 ns when the host puts them on
/// different CCDs. In the latter every cache line one thread writes and the other reads costs tens of
/// nanoseconds, and a two-thread run of a whole network loses most of its second thread's gain.
///
/// With one core, or the other core taken, each trip waits for a time slice: the probe then gives up
/// after `deadline` and exits with an error rather than spin for minutes.
final class Line: @unchecked Sendable {
    let value = Atomic<Int>(0)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("onyx-core-latency: \(message)\n".utf8))
    exit(1)
}

guard ProcessInfo.processInfo.activeProcessorCount >= 2 else { fail("needs two cores, found one") }
let line = Line()
let batches = 5, trips = 20_000
let deadline = DispatchTime.now().uptimeNanoseconds + 2_000_000_000
/// The partner answers every odd value with the next even one, and stops at -1.
let partner = Thread {
    var answered = 0
    while true {
        let v = line.value.load(ordering: .acquiring)
        if v < 0 { return }
        if v & 1 == 1 && v != answered {
            answered = v
            line.value.store(v + 1, ordering: .releasing)
        }
    }
}
partner.start()
var times: [Double] = []
for b in 0 ..< batches {
    let start = DispatchTime.now().uptimeNanoseconds
    for j in 0 ..< trips {
        let i = b * trips + j
        line.value.store(2 * i + 1, ordering: .releasing)
        var spins = 0
        while line.value.load(ordering: .acquiring) != 2 * i + 2 {
            spins += 1
            // The clock only now and then: reading it costs as much as a trip.
            if spins & 4095 == 0 && DispatchTime.now().uptimeNanoseconds > deadline {
                line.value.store(-1, ordering: .releasing)
                fail("the two threads did not take turns within 2 s (are both cores free?)")
            }
        }
    }
    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(trips))
}
line.value.store(-1, ordering: .releasing)
print(String(format: "%.0f", times.sorted()[batches / 2]))
