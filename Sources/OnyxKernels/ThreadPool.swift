import Foundation
import Synchronization
import CPUHints

/// A persistent pool of worker threads that splits a loop across cores.
///
/// Workers stay alive across runs; after a job they spin for about 0.3 ms before sleeping, so the
/// next layer's job starts without a wake-up. The calling thread takes part in every job. One job runs
/// at a time: a caller that finds the pool busy (another thread's run) does its loop alone.
///
/// Each thread owns an even block of a job's items and takes them in order; a thread done with its own
/// takes the others' from the back (see `Job.work`), so a loop split into more items than threads (see
/// `pieces`) balances itself: on this VM the two cores' halves of a layer differed by 10-30% (edge
/// tiles, cache state, the host), and the faster thread used to wait for the slower.
public final class ThreadPool: @unchecked Sendable {
    public static let shared = ThreadPool(workers: ProcessInfo.processInfo.activeProcessorCount)

    /// Threads that take part in a job, the caller included.
    public private(set) var workers: Int

    /// One loop. It points at the caller's closure rather than holding it: the caller waits until
    /// every worker has let go, so the closure never outlives its `parallelFor`.
    private final class Job: @unchecked Sendable {
        let count: Int
        /// Threads with a slot below this take part (the caller's per-thread scratch has that many).
        let slots: Int
        let body: UnsafePointer<(Int, Int) -> Void>
        let next = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        /// Bit i is set once item i is taken (jobs of at most 64 items).
        let taken = Atomic<UInt64>(0)
        init(count: Int, slots: Int, body: UnsafePointer<(Int, Int) -> Void>) {
            self.count = count
            self.slots = slots
            self.body = body
        }

        @inline(__always) private func run(_ i: Int, _ slot: Int) {
            body.pointee(i, slot)
            finished.wrappingAdd(1, ordering: .releasing)
        }

        /// Whether this thread took item i (no other had).
        @inline(__always) private func take(_ i: Int) -> Bool {
            taken.bitwiseOr(1 << UInt64(i), ordering: .acquiringAndReleasing).oldValue & (1 << UInt64(i)) == 0
        }

        /// Items of the block thread `slot` owns: the items split evenly among the `slots` threads, in order.
        private func block(_ slot: Int) -> Range<Int> { slot * count / slots ..< (slot + 1) * count / slots }

        /// Takes items until none is left: its own block front to back, then the others' back to front.
        /// An owner that finds an item taken stops (the rest of its block went to a thief, which works from
        /// the back), and so does a thief (the owner or another thief has the rest). A thread the host
        /// preempts then holds up the job by at most the item it is in, not its whole share.
        func work(slot: Int) {
            guard count <= 64 else {
                while true {
                    let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if i >= count { return }
                    run(i, slot)
                }
            }
            for i in block(slot) {
                guard take(i) else { break }
                run(i, slot)
            }
            for k in 1 ..< slots {
                for i in block((slot + k) % slots).reversed() {
                    guard take(i) else { break }
                    run(i, slot)
                }
            }
        }
    }

    /// Where sleeping workers wait for the next job (see `workerLoop`).
    private let condition = NSCondition()
    /// Bumped for every job; workers spin on it.
    private let generation = Atomic<Int>(0)
    /// The running job, unretained (the caller owns it and waits for `holding` to drop to 0).
    private let current = Atomic<UnsafeMutableRawPointer?>(nil)
    /// Workers asleep on `condition`: only then does a new job take the lock to wake them.
    private let sleepers = Atomic<Int>(0)
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
            let slot = threads.count + 1  // the caller is slot 0
            // The thread holds the pool: a pool lives as long as its threads, that is, for good.
            let thread = Thread { self.workerLoop(slot: slot) }
            thread.stackSize = 1 << 20
            thread.start()
            threads.append(thread)
        }
    }

    /// Spins for the next job, then sleeps. A job starts without a lock: the caller publishes it and bumps
    /// `generation`; a spinning worker sees the bump, declares itself in `holding`, then reads `current`.
    /// Both sides use sequentially consistent operations, so either the caller sees the worker in
    /// `holding` and waits for it, or the worker sees `current` already cleared. The caller takes the
    /// lock only to wake sleepers, who count themselves in `sleepers` before their last look at the
    /// generation. (With the job published under the lock, a worker that saw the new generation while
    /// the caller still held the lock blocked on it: about 0.7-0.85 µs per job.)
    private func workerLoop(slot: Int) {
        var seen = 0
        while true {
            // 10,000 pauses are about 0.3 ms here: a layer's job rarely waits that long, so the worker is
            // awake when it comes. (Spinning 20,000 plain loads, about 20 µs, it slept 3-6 times a run on
            // SqueezeNet and the next job waited for its wake-up: medians 1% lower at two threads on
            // SqueezeNet, MobileNetV2 and V3, EfficientNet-B0.)
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < 10_000 {
                spins += 1
                onyx_pause()
            }
            if generation.load(ordering: .sequentiallyConsistent) == seen {
                condition.lock()
                sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { condition.wait() }
                sleepers.wrappingSubtract(1, ordering: .relaxed)
                condition.unlock()
            }
            seen = generation.load(ordering: .acquiring)
            holding.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if let pointer = current.load(ordering: .sequentiallyConsistent) {
                let job = Unmanaged<Job>.fromOpaque(pointer).takeUnretainedValue()
                if slot < job.slots { job.work(slot: slot) }
            }
            holding.wrappingSubtract(1, ordering: .releasing)
        }
    }

    /// Runs body(i) for every i in 0 ..< count, spread over the workers; returns when all are done.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        parallelFor(count) { item, _ in body(item) }
    }

    /// Runs body(item, slot) for every item in 0 ..< count; `slot` (0 for the caller, below `slots`
    /// and `workers`) names the thread running it, for per-thread scratch. Returns when all are done.
    public func parallelFor(_ count: Int, slots: Int = .max, _ body: (_ item: Int, _ slot: Int) -> Void) {
        let slots = min(slots, workers)
        if count <= 1 || slots <= 1 || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            for i in 0 ..< count { body(i, 0) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
          withUnsafePointer(to: escapable) { pointer in
            let job = Job(count: count, slots: slots, body: pointer)
            withExtendedLifetime(job) {
                current.store(Unmanaged.passUnretained(job).toOpaque(), ordering: .sequentiallyConsistent)
                generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
                if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                    condition.lock()
                    condition.broadcast()
                    condition.unlock()
                }
                job.work(slot: 0)
                while job.finished.load(ordering: .acquiring) < count {}
                current.store(nil, ordering: .sequentiallyConsistent)
                while holding.load(ordering: .sequentiallyConsistent) > 0 {}
            }
          }
        }
        busy.store(false, ordering: .releasing)
    }

    /// Splits 0 ..< total into pieces of `granularity` multiples for `threads` threads: one contiguous
    /// share per thread, cut into pieces of 1/2, 1/4, 1/8 and 1/8 of it. In a job of these pieces each
    /// thread owns its share's (see `Job.work`): it takes them in order, largest first, and a thread done
    /// with its own takes the others' from the back, smallest first. The shares keep each thread on the
    /// same part of every layer; the small last pieces absorb the threads' different speeds and a thread
    /// the host preempts. Measured in one process, alternating run by run at two threads, against 7/8 of
    /// the work in shares and the rest in threads² small pieces taken in order: with the host's second
    /// core busy MobileNetV2 7.31 to 6.78 ms and SqueezeNet 6.73 to 6.38; with it free 3.91 to 3.90 and
    /// 3.49 to 3.45. (Those shares had been 2-6% faster than plain halves; pieces shrinking to the end,
    /// guided scheduling, had made EfficientNet-B0 5% slower.)
    public func pieces(_ total: Int, granularity: Int = 1, threads: Int) -> [Range<Int>] {
        let units = (total + granularity - 1) / granularity
        let threads = min(threads, workers)
        if threads <= 1 || units <= 1 { return [0 ..< total] }
        // One array per call (every layer calls this on every run): units converted and empty pieces
        // dropped as they are added.
        var pieces = [Range<Int>]()
        pieces.reserveCapacity(4 * threads)
        func add(_ from: Int, _ to: Int) {
            if from < to { pieces.append(from * granularity ..< min(total, to * granularity)) }
        }
        for t in 0 ..< threads {
            let start = units * t / threads, n = units * (t + 1) / threads - start
            add(start, start + n / 2)
            add(start + n / 2, start + 3 * n / 4)
            add(start + 3 * n / 4, start + 7 * n / 8)
            add(start + 7 * n / 8, start + n)
        }
        return pieces
    }
}
