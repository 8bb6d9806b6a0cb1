import ArgumentParser
import Onyx

/// `--threads N`, shared by the commands that run models.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Worker threads (default: the machine's cores).") var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func apply() {
        if let threads { ThreadPool.shared.setWorkers(threads) }
    }
}
