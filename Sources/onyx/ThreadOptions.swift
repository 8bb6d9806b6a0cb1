import ArgumentParser
import Onyx

/// `--threads N` and `--one-arena`, shared by the commands that run models.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Worker threads (default: the machine's cores).") var threads: Int?
    @Flag(help: "With more than one thread, run on the plan's arena only: no separated layout for runs to choose when it is faster (saves its memory; see the README).")
    var oneArena = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func apply() {
        if let threads { ThreadPool.shared.setWorkers(threads) }
    }
}
