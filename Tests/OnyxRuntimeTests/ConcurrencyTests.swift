import Dispatch
import Foundation
import Onyx
import Synchronization
import Testing

@Suite struct ConcurrencyTests {
    /// A small conv net with a residual, a depthwise conv, a Winograd-sized 3x3 conv, squeeze-and-
    /// excitation, pooling and a classifier: every kernel that splits work across the pool.
    func makeNet() -> TestNet {
        var net = TestNet()
        let x = net.input("x", [1, 4, 12, 12])
        let a = net.node(.unary(.relu), [net.conv(x, in: 4, out: 8)])
        let d = net.conv(a, in: 8, out: 8, group: 8)
        let s = net.node(.binary(.add), [d, a])
        let wide = net.node(.unary(.relu), [net.conv(net.conv(s, in: 8, out: 32), in: 32, out: 32)])
        let excited = net.node(.squeezeExcite(hidden: .unary(.relu), gate: .unary(.sigmoid)),
                               [wide, net.constant([8, 32, 1, 1]), net.constant([8]), net.constant([32, 8, 1, 1]), net.constant([32])])
        let p = net.node(.globalPool(.average), [excited])
        let f = net.node(.flatten(axis: 1), [p])
        net.output(net.node(.gemm(GemmAttributes(transB: true)), [f, net.constant([5, 32]), net.constant([5])]))
        return net
    }

    @Test func oneSessionServesEightThreadsAtOnce() throws {
        let net = makeNet()
        let session = Session(graph: net.graph)
        let expected = try session.run(net.feeds)[0].tensor
        let mismatches = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let feeds = net.feeds
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0 ..< 50 {
                guard let output = try? session.run(feeds)[0].tensor else { failures.add(1, ordering: .relaxed); continue }
                if output != expected { mismatches.add(1, ordering: .relaxed) }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(mismatches.load(ordering: .relaxed) == 0)
    }

    @Test func runsAreBitwiseDeterministic() throws {
        let net = makeNet()
        let first = try Session(graph: net.graph).run(net.feeds)[0].tensor
        let session = Session(graph: net.graph)
        for _ in 0 ..< 5 { #expect(try session.run(net.feeds)[0].tensor == first) }
    }

    /// An input of at least 256 KiB is copied into the arena by every pool thread, a piece each: 3 x 151 x
    /// 149 floats (270 KB, not a whole number of cache lines) come out of a ReLU exactly.
    @Test func largeInputsAreCopiedWhole() throws {
        var net = TestNet()
        let x = net.input("x", [1, 3, 151, 149])
        net.output(net.node(.unary(.relu), [x]))
        let input = net.feeds["x"]!.floats!
        let output = try Session(graph: net.graph).run(net.feeds)[0].tensor
        #expect(output.floats! == input.map { max($0, 0) })
    }

    @Test func nanAndInfinityPropagateWithoutCrashing() throws {
        var net = makeNet()
        var x = net.feeds["x"]!.floats!
        x[0] = .nan
        x[5] = .infinity
        net.feeds["x"] = Tensor(shape: [1, 4, 12, 12], x)
        let output = try Session(graph: net.graph).run(net.feeds)[0].tensor
        #expect(output.floats!.contains { $0.isNaN })
    }
}

@Suite struct ThreadPoolTests {
    /// The pieces cover 0 ..< total once, in order, start on granularity multiples, and cut each thread's
    /// share into pieces of 1/2, 1/4, 1/8 and 1/8 of it.
    @Test func piecesCoverTheRangeOnceInSharesOfShrinkingPieces() {
        let pool = ThreadPool(workers: 2)
        for (total, granularity) in [(196, 16), (3136, 16), (160, 6), (72, 8), (7, 8), (1, 1), (0, 1), (33, 1)] {
            let pieces = pool.pieces(total, granularity: granularity, threads: 2)
            #expect(pieces.first?.lowerBound == 0)
            #expect(pieces.last?.upperBound == total)
            #expect(zip(pieces, pieces.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(pieces.allSatisfy { $0.lowerBound % granularity == 0 && ($0.isEmpty == (total == 0)) })
        }
        // 3136 columns in panels of 16: 196 panels, shares of 98 panels cut into 49, 24, 12 and 13.
        #expect(pool.pieces(3136, granularity: 16, threads: 2).map(\.count) == [784, 384, 192, 208, 784, 384, 192, 208])
        #expect(pool.pieces(100, threads: 1) == [0 ..< 100])
    }

    /// Every item runs once, and each thread's slot stays below the slots asked for, so per-thread
    /// scratch indexed by slot is never shared.
    @Test func everyItemOnceWithSlotsBelowTheLimit() {
        let pool = ThreadPool(workers: 3)
        for slots in [1, 2, 3, 2, 2, 2] {
            let runs = LockedCounts(64), busy = LockedCounts(3)
            let clashes = Atomic<Int>(0), badSlots = Atomic<Int>(0)
            pool.parallelFor(64, slots: slots) { item, slot in
                guard slot < slots else { badSlots.add(1, ordering: .relaxed); return }
                if busy.add(1, at: slot) != 1 { clashes.add(1, ordering: .relaxed) }
                _ = runs.add(1, at: item)
                for _ in 0 ..< 20_000 { _ = clashes.load(ordering: .relaxed) }  // long enough for every thread to join
                _ = busy.add(-1, at: slot)
            }
            #expect(runs.values == [Int](repeating: 1, count: 64))
            #expect(badSlots.load(ordering: .relaxed) == 0)
            #expect(clashes.load(ordering: .relaxed) == 0)
        }
    }

    /// A thread held up in its first item (as when the host preempts it) holds up the job by that item
    /// only: the other thread takes the rest of its block from the back.
    @Test func aHeldUpThreadLosesTheRestOfItsBlock() {
        let pool = ThreadPool(workers: 2)
        for _ in 0 ..< 5 {
            let done = Atomic<Int>(0), workerItems = Atomic<Int>(0), heldUntilTheRestWasDone = Atomic<Int>(0)
            pool.parallelFor(8) { item, slot in
                if slot == 1 {
                    workerItems.add(1, ordering: .relaxed)
                    let deadline = Date().addingTimeInterval(5)
                    while done.load(ordering: .sequentiallyConsistent) < 7 && Date() < deadline {}
                    if done.load(ordering: .sequentiallyConsistent) == 7 { heldUntilTheRestWasDone.add(1, ordering: .relaxed) }
                }
                done.add(1, ordering: .sequentiallyConsistent)
            }
            #expect(done.load(ordering: .relaxed) == 8)
            // The worker ran one item at most (none if it woke after the caller had taken them all), and the
            // caller did every other one meanwhile.
            #expect(workerItems.load(ordering: .relaxed) <= 1)
            #expect(heldUntilTheRestWasDone.load(ordering: .relaxed) == workerItems.load(ordering: .relaxed))
        }
    }

    /// A worker that fell asleep between jobs (after its 0.3 ms of spinning) wakes for the next one: each
    /// job's two items wait for each other, so they finish together only when two threads run them.
    @Test func sleepingWorkersWakeForTheNextJob() {
        let pool = ThreadPool(workers: 2)
        for pause in [0, 5_000, 0, 0, 5_000, 20_000, 5_000] {
            usleep(useconds_t(pause))
            let started = Atomic<Int>(0), met = Atomic<Int>(0)
            pool.parallelFor(2) { _ in
                started.add(1, ordering: .sequentiallyConsistent)
                let deadline = Date().addingTimeInterval(5)
                while started.load(ordering: .sequentiallyConsistent) < 2 && Date() < deadline {}
                if started.load(ordering: .sequentiallyConsistent) == 2 { met.add(1, ordering: .relaxed) }
            }
            #expect(met.load(ordering: .relaxed) == 2, "after \(pause) µs idle")
        }
    }
}

/// Counters behind a pthread lock (which the thread sanitizer understands).
final class LockedCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int]
    init(_ n: Int) { counts = [Int](repeating: 0, count: n) }
    func add(_ delta: Int, at i: Int) -> Int { lock.withLock { counts[i] += delta; return counts[i] } }
    var values: [Int] { lock.withLock { counts } }
}
