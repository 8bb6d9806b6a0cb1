import ArgumentParser
import PageMemory

@main
struct OnyxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onyx",
        abstract: "Convert and run ONNX models on the CPU.",
        subcommands: [InspectCommand.self, ConvertCommand.self, RunCommand.self, CheckCommand.self, BenchCommand.self, ZooCommand.self]
    )

    static func main() {
        ProcessMemory.useHugePages()
        ProcessMemory.keepFreedMemory()
        // Loads fault small pages; `bench` collapses them into huge pages before its timed runs.
        PageBuffer.deferHugePages.store(true, ordering: .relaxed)
        main(nil)
    }
}
