/// Which of a compiled model's arena layouts its runs use, chosen by timing them.
///
/// With more than one thread a model has two layouts: the plan's, where buffers whose lifetimes do not
/// overlap share bytes, and a separated one (`MemoryPlan.separated`), where every buffer has bytes of
/// its own. Sharing keeps the working set small. But a line one thread wrote in one layer and the other
/// writes in a later one must cross between the cores' caches. On this VM that costs little while the
/// vCPUs share a last-level cache, and a great deal while the host runs them on different CCDs (the far
/// state, see benchmarks/RESULTS.md): SqueezeNet at two threads took 5.80 ms separated against 6.91
/// shared there, and 4.08 against 3.79 near. The host switches state every few seconds to minutes, so
/// the choice is measured and revisited: after at least `period` runs and `seconds` seconds, a trial
/// alternates the layouts for `trials` runs each, and the following runs use the one with the lowest
/// time. The plan's layout, the smaller, keeps the runs unless another was faster by at least `margin`.
/// Each trial costs the near state about a percent over 64 runs (its slower runs, and the caches they
/// disturb), so small models wait half a second, 100-150 runs; ResNet-50's 64 take 2.5 s.
struct LayoutChoice {
    static let period = 64, trials = 3
    static let seconds = 0.5
    static let margin = 0.02
    let layouts: Int
    private(set) var current = 0
    /// Runs of `current` left before the next trial, which also waits until `due` (seconds).
    private var left = 0
    private var due = -Double.infinity
    private var inTrial = false
    private var started = 0, recorded = 0
    private var best: [Double] = []

    init(layouts: Int) { self.layouts = layouts }

    /// The layout the next run, starting at `now` (seconds on any steady clock), uses. The first runs are
    /// a trial.
    mutating func next(now: Double) -> Int {
        guard layouts > 1 else { return 0 }
        if !inTrial {
            if left > 0 || now < due {
                left = max(left - 1, 0)
                return current
            }
            (inTrial, started, recorded) = (true, 0, 0)
            best = [Double](repeating: .infinity, count: layouts)
        }
        guard started < Self.trials * layouts else { return current }  // the trial's last runs are finishing
        defer { started += 1 }
        return started % layouts
    }

    /// A finished run's time, and when it finished (concurrent runs may finish out of order; every run is
    /// recorded once).
    mutating func record(_ layout: Int, ms: Double, now: Double) {
        guard inTrial else { return }
        best[layout] = min(best[layout], ms)
        recorded += 1
        guard recorded >= Self.trials * layouts else { return }
        let fastest = best.indices.min { best[$0] < best[$1] }!
        current = best[fastest] < best[0] * (1 - Self.margin) ? fastest : 0
        (inTrial, left, due) = (false, Self.period, now + Self.seconds)
    }
}
