import ArgumentParser
import Foundation
import Onyx
import PageMemory

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a model on random inputs: load and compile time, then median, p90 and min latency."
    )

    @Argument(help: "The .onnx file.") var model: String
    @Option(help: "Seconds of timed runs (after warm-up).") var seconds: Double = 3
    @Option(help: "Untimed runs first.") var warmup: Int = 3
    @Option(name: .customLong("shape"), help: "NAME=D1,D2,...: the shape of an input with symbolic dims (default: 1 for each).")
    var shapes: [String] = []
    @OptionGroup var threading: ThreadOptions
    @OptionGroup var limitOptions: LimitOptions
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Flag(help: "Run the graph as imported, without the optimizer.") var noOptimize = false
    @Flag(help: "Print a per-step table (op, output shape, ms, % of total, GFLOP/s), slowest first.") var profile = false
    @Option(help: "Load the model this many more times in the same process and report the median as the warm load time.")
    var reloads: Int = 0
    @Option(help: "Alternate run by run between this many variants of a kernel under test (KernelExperiment.variant) and print each one's median.")
    var variants: Int = 1
    @Flag(help: "After warm-up, read a number of seconds per line from stdin, time runs for that long and print their median (ms) on a line; the summary follows at end of input. For side-by-side benchmarks that alternate with another runtime in short slices.")
    var slices = false

    func validate() throws {
        guard seconds > 0, warmup >= 0, reloads >= 0, variants >= 1 else {
            throw ValidationError("--seconds and --variants must be positive, --warmup and --reloads not negative")
        }
        for spec in shapes {
            let parts = spec.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[1].split(separator: ",").allSatisfy({ Int($0).map { $0 > 0 } ?? false }) else {
                throw ValidationError("--shape takes NAME=D1,D2,... with positive sizes, got '\(spec)'")
            }
        }
    }

    func run() throws {
        threading.apply()
        let loadStart = Date()
        let session = try Session(path: model, optimize: !noOptimize, limits: limitOptions.limits, separatedArena: !threading.oneArena)
        var given: [String: [Int]] = [:]
        for spec in shapes {
            let parts = spec.split(separator: "=", maxSplits: 1)
            given[String(parts[0])] = parts[1].split(separator: ",").map { Int($0)! }
        }
        var generator = SeededRandom(seed: 42)
        var feeds: [String: Tensor] = [:]
        for input in session.inputs {
            guard let declared = input.shape else { throw ValidationError("input '\(input.name)' has no declared shape; give --shape") }
            let shape = given[input.name] ?? declared.map { $0.value ?? 1 }
            feeds[input.name] = Self.random(input.dtype ?? .float32, shape, &generator)
        }
        // Specialising, optimising, planning and packing weights for these shapes is part of the load.
        try session.prepare(feeds.mapValues(\.shape))
        let loadMs = Date().timeIntervalSince(loadStart) * 1000
        // Later loads find the allocator and the pages of the first: what a server loading models sees.
        var warmLoads: [Double] = []
        for _ in 0 ..< reloads {
            let start = Date()
            try Session(path: model, optimize: !noOptimize, limits: limitOptions.limits, separatedArena: !threading.oneArena).prepare(feeds.mapValues(\.shape))
            warmLoads.append(Date().timeIntervalSince(start) * 1000)
        }
        let warmLoadMs = warmLoads.sorted().dropFirst(warmLoads.count / 2).first
        let firstStart = Date()
        _ = try session.run(feeds)
        let firstRunMs = Date().timeIntervalSince(firstStart) * 1000
        // Runs are timed on huge pages (see `PageBuffer.collapseDeferred`): the load faulted small ones,
        // and buffers made from here on (a second layout's arena) are the runs' own.
        let collapseStart = Date()
        PageBuffer.collapseDeferred()
        PageBuffer.deferHugePages.store(false, ordering: .relaxed)
        let collapseMs = Date().timeIntervalSince(collapseStart) * 1000
        for _ in 0 ..< warmup { _ = try session.run(feeds) }
        var times: [Double] = []
        var variantTimes = [[Double]](repeating: [], count: variants)
        /// Timed runs for `seconds` (and at least one per variant); returns this call's times.
        func timeRuns(_ seconds: Double) throws -> [Double] {
            var slice: [Double] = []
            let start = Date()
            repeat {
                let variant = times.count % variants
                KernelExperiment.variant = variant
                let t = Date()
                _ = try session.run(feeds)
                let ms = Date().timeIntervalSince(t) * 1000
                times.append(ms)
                slice.append(ms)
                variantTimes[variant].append(ms)
            } while (Date().timeIntervalSince(start) < seconds || slice.count < variants) && slice.count < 100_000
            KernelExperiment.variant = 0
            return slice
        }
        if slices {
            while let line = readLine() {
                guard let sliceSeconds = Double(line.trimmingCharacters(in: .whitespaces)), sliceSeconds > 0 else {
                    throw OnnxError("--slices reads a positive number of seconds per line, got '\(line)'")
                }
                let slice = try timeRuns(sliceSeconds).sorted()
                print(String(format: "%.4f", slice[slice.count / 2]))
                fflush(nil)  // stdout is a pipe: the reader waits for this line
            }
        } else {
            _ = try timeRuns(seconds)
        }
        guard !times.isEmpty else { throw OnnxError("--slices: no slice was asked for on stdin") }
        times.sort()
        if variants > 1 {
            for (variant, runs) in variantTimes.enumerated() {
                let sorted = runs.sorted()
                print(String(format: "variant %d: median %.3f ms, p25 %.3f ms, min %.3f ms over %d runs", variant, sorted[sorted.count / 2],
                             sorted[sorted.count / 4], sorted[0], sorted.count))
            }
        }
        if profile, let rows = try session.profile(feeds, runs: max(3, min(times.count, 50))) {
            let total = rows.reduce(0) { $0 + $1.ms }
            print("step  op                    output shape            ms      %   GFLOP/s  kernel")
            for (step, r) in rows.enumerated().sorted(by: { $0.element.ms > $1.element.ms }) {
                let gflops = r.ms > 0 && r.macs > 0 ? String(format: "%8.1f", 2 * Double(r.macs) / r.ms / 1e6) : "        "
                print(String(format: "%4d  %@ %@ %7.3f %5.1f %@  %@", step, r.op.padding(to: 20), "\(r.shape)".padding(to: 22), r.ms, 100 * r.ms / total,
                             gflops, r.kernel))
            }
        }
        let median = times[times.count / 2], p90 = times[min(times.count - 1, times.count * 9 / 10)], minimum = times[0]
        let peak = Self.peakMemoryMB()
        if json {
            print(JSON.object([
                ("model", .string(model)), ("median_ms", .double(median)), ("p90_ms", .double(p90)), ("min_ms", .double(minimum)),
                ("load_ms", .double(loadMs)), ("warm_load_ms", warmLoadMs.map(JSON.double) ?? .null), ("first_run_ms", .double(firstRunMs)), ("huge_pages_ms", .double(collapseMs)), ("runs", .int(times.count)), ("threads", .int(ThreadPool.shared.workers)),
                ("peak_memory_mb", .double(peak)),
            ]).text)
        } else {
            print(String(format: "%@: median %.3f ms, p90 %.3f ms, min %.3f ms over %d runs (%d threads); load+compile %.1f ms%@; first run %.1f ms; huge pages %.1f ms; peak memory %.1f MB",
                         model, median, p90, minimum, times.count, ThreadPool.shared.workers, loadMs,
                         warmLoadMs.map { String(format: " (warm %.1f ms)", $0) } ?? "", firstRunMs, collapseMs, peak))
        }
    }

    static func random(_ dtype: DType, _ shape: [Int], _ g: inout SeededRandom) -> Tensor {
        let count = shape.reduce(1, *)
        switch dtype {
        case .float32: return Tensor(shape: shape, (0 ..< count).map { _ in Float(g.unit() * 2 - 1) })
        case .int64: return Tensor(shape: shape, (0 ..< count).map { _ in Int64(g.next() % 4) })
        case .bool: return Tensor(shape: shape, (0 ..< count).map { _ in g.next() % 2 == 0 })
        default: return Tensor(shape: shape, storage: .zeros(dtype, count: count))
        }
    }

    /// The process's peak resident set (VmHWM), in MB.
    static func peakMemoryMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }
}
