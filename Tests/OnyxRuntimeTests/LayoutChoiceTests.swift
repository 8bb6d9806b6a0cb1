@testable import OnyxRuntime
import OnyxKernels
import Testing

/// `LayoutChoice`: trials alternate the layouts, the fastest (by the margin) keeps the next period.
@Suite struct LayoutChoiceTests {
    /// Runs `count` trial runs, recording `times[layout]` for each, and returns the layouts they used.
    func trial(_ choice: inout LayoutChoice, times: [Double]) -> [Int] {
        let used = (0 ..< LayoutChoice.trials * choice.layouts).map { _ in choice.next() }
        for layout in used { choice.record(layout, ms: times[layout]) }
        return used
    }

    @Test func theFirstRunsAreATrialThenTheFastestKeepsAPeriod() {
        var choice = LayoutChoice(layouts: 2)
        #expect(trial(&choice, times: [10, 8]) == [0, 1, 0, 1, 0, 1])
        #expect(choice.current == 1)
        let period = (0 ..< LayoutChoice.period).map { _ in choice.next() }
        #expect(period == [Int](repeating: 1, count: LayoutChoice.period))
        for layout in period { choice.record(layout, ms: 30) }  // outside a trial, times change nothing
        #expect(choice.current == 1)
        // The next trial finds the plan's layout faster again.
        #expect(trial(&choice, times: [7, 8]) == [0, 1, 0, 1, 0, 1])
        #expect(choice.current == 0)
    }

    @Test func thePlansLayoutStaysUnlessAnotherIsFasterByTheMargin() {
        var choice = LayoutChoice(layouts: 2)
        _ = trial(&choice, times: [10, 10 * (1 - LayoutChoice.margin / 2)])
        #expect(choice.current == 0)
    }

    @Test func aTrialWaitsForItsRunsToFinish() {
        var choice = LayoutChoice(layouts: 2)
        let started = (0 ..< 2 * LayoutChoice.trials).map { _ in choice.next() }
        // Concurrent runs asking meanwhile get the current layout, not more trial runs.
        #expect(choice.next() == 0 && choice.next() == 0)
        for layout in started.dropLast(2) { choice.record(layout, ms: layout == 1 ? 5 : 9) }
        #expect(choice.current == 0, "still in the trial: two runs have yet to be recorded")
        for layout in started.suffix(2) { choice.record(layout, ms: layout == 1 ? 5 : 9) }
        #expect(choice.current == 1)
    }

    @Test func oneLayoutIsNeverTried() {
        var choice = LayoutChoice(layouts: 1)
        #expect((0 ..< 200).allSatisfy { _ in choice.next() == 0 })
    }

    @Test func aSessionWithoutTheSeparatedArenaCompilesOneLayout() throws {
        var net = TestNet()
        let x = net.input("x", [1, 4, 8, 8])
        net.output(net.conv(x, in: 4, out: 4))
        for separated in [true, false] {
            let model = try Session(graph: net.graph, separatedArena: separated).compiledModel(for: [[1, 4, 8, 8]])
            #expect(model?.layoutCount == (separated && ThreadPool.shared.workers > 1 ? 2 : 1))
        }
    }
}
