import Foundation
import Synchronization

/// A persistent pool of worker threads that splits a loop across cores.
///
/// Workers stay alive across runs; after a job they spin for a short while before sleeping, so the
/// next layer's job starts without a wake-up. The calling thread takes part in every job. One job runs
/// at a time: a caller that finds the pool busy (another thread's run) does its loop alone.
public final class ThreadPool: @unchecked Sendable {
    public static let shared = ThreadPool(workers: ProcessInfo.processInfo.activeProcessorCount)

    /// Threads that take part in a job, the caller included.
    public private(set) var workers: Int

    /// One loop. It points at the caller's closure rather than holding it: the caller waits until
    /// every worker has let go, so the closure never outlives its `parallelFor`.
    private final class Job: @unchecked Sendable {
        let count: Int
        let body: UnsafePointer<(Int) -> Void>
        let next = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        init(count: Int, body: UnsafePointer<(Int) -> Void>) {
            self.count = count
            self.body = body
        }

        /// Takes items until none is left.
        func work() {
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= count { return }
                body.pointee(i)
                finished.wrappingAdd(1, ordering: .releasing)
            }
        }
    }

    private let condition = NSCondition()
    private let generation = Atomic<Int>(0)
    private nonisolated(unsafe) var current: Job?
    private let busy = Atomic<Bool>(false)
    /// Workers holding the current job; the caller waits for 0 before the job's closure goes away.
    private let holding = Atomic<Int>(0)
    private var threads: [Thread] = []

    public init(workers: Int) {
        self.workers = max(1, workers)
        startThreads(self.workers - 1)
    }

    /// Changes the number of threads taking part (at least 1: the caller alone).
    public func setWorkers(_ n: Int) {
        let n = max(1, n)
        if n - 1 > threads.count { startThreads(n - 1 - threads.count) }
        workers = n
    }

    private func startThreads(_ count: Int) {
        for _ in 0 ..< count {
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.stackSize = 1 << 20
            thread.start()
            threads.append(thread)
        }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            // Spin briefly for the next job, then sleep.
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < 20_000 { spins += 1 }
            condition.lock()
            while generation.load(ordering: .acquiring) == seen { condition.wait() }
            seen = generation.load(ordering: .acquiring)
            var job = current
            if job != nil { holding.wrappingAdd(1, ordering: .relaxed) }
            condition.unlock()
            if let held = job {
                held.work()
                job = nil
                holding.wrappingSubtract(1, ordering: .releasing)
            }
        }
    }

    /// Runs body(i) for every i in 0 ..< count, spread over the workers; returns when all are done.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 || workers <= 1 || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            for i in 0 ..< count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
          withUnsafePointer(to: escapable) { pointer in
            let job = Job(count: count, body: pointer)
            condition.lock()
            current = job
            generation.wrappingAdd(1, ordering: .releasing)
            condition.broadcast()
            condition.unlock()
            job.work()
            while job.finished.load(ordering: .acquiring) < count {}
            condition.lock()
            current = nil
            condition.unlock()
            while holding.load(ordering: .acquiring) > 0 {}
          }
        }
        busy.store(false, ordering: .releasing)
    }

    /// Splits 0 ..< total into about `workers` contiguous chunks of `granularity` multiples.
    public func chunks(_ total: Int, granularity: Int = 1) -> [Range<Int>] {
        let units = (total + granularity - 1) / granularity
        let parts = max(1, min(workers, units))
        return (0 ..< parts).map { p in
            let lo = units * p / parts * granularity, hi = min(total, units * (p + 1) / parts * granularity)
            return lo ..< hi
        }
    }
}
