@testable import OnyxRuntime
import OnyxKernels
import Testing

/// `LayoutChoice`: trials alternate the layouts, the fastest (by the margin) keeps the next period.
@Suite struct LayoutChoiceTests {
    /// A choice and a clock that every run moves on by `step` seconds.
    struct Runs {
        var choice: LayoutChoice
        var now = 0.0
        var step = 0.01

        /// Starts and finishes one run that takes `ms(layout)`; returns its layout.
        mutating func run(_ ms: (Int) -> Double) -> Int {
            let layout = choice.next(now: now)
            now += step
            choice.record(layout, ms: ms(layout), now: now)
            return layout
        }

        /// A whole trial's runs, each layout taking `times[layout]`.
        mutating func trial(_ times: [Double]) -> [Int] {
            (0 ..< LayoutChoice.trials * choice.layouts).map { _ in run { times[$0] } }
        }
    }

    @Test func theFirstRunsAreATrialThenTheFastestKeepsAPeriod() {
        var runs = Runs(choice: LayoutChoice(layouts: 2), step: 1)  // slow runs: the period counts runs
        #expect(runs.trial([10, 8]) == [0, 1, 0, 1, 0, 1])
        #expect(runs.choice.current == 1)
        let period = (0 ..< LayoutChoice.period).map { _ in runs.run { _ in 30 } }  // outside a trial, times change nothing
        #expect(period == [Int](repeating: 1, count: LayoutChoice.period))
        // The next trial finds the plan's layout faster again.
        #expect(runs.trial([7, 8]) == [0, 1, 0, 1, 0, 1])
        #expect(runs.choice.current == 0)
    }

    @Test func fastRunsWaitForTheSecondsToPass() {
        var runs = Runs(choice: LayoutChoice(layouts: 2), step: 1.0 / 1024)  // exact in binary
        _ = runs.trial([1, 2])
        let waiting = Int(LayoutChoice.seconds / runs.step)
        #expect((0 ..< waiting).allSatisfy { _ in runs.run { _ in 1 } == 0 }, "more than `period` runs, less than the seconds")
        #expect(runs.trial([1, 2]) == [0, 1, 0, 1, 0, 1])
    }

    @Test func thePlansLayoutStaysUnlessAnotherIsFasterByTheMargin() {
        var runs = Runs(choice: LayoutChoice(layouts: 2))
        _ = runs.trial([10, 10 * (1 - LayoutChoice.margin / 2)])
        #expect(runs.choice.current == 0)
    }

    @Test func aTrialWaitsForItsRunsToFinish() {
        var choice = LayoutChoice(layouts: 2)
        let started = (0 ..< 2 * LayoutChoice.trials).map { _ in choice.next(now: 0) }
        // Concurrent runs asking meanwhile get the current layout, not more trial runs.
        #expect(choice.next(now: 0) == 0 && choice.next(now: 0) == 0)
        for layout in started.dropLast(2) { choice.record(layout, ms: layout == 1 ? 5 : 9, now: 0.1) }
        #expect(choice.current == 0, "still in the trial: two runs have yet to be recorded")
        for layout in started.suffix(2) { choice.record(layout, ms: layout == 1 ? 5 : 9, now: 0.1) }
        #expect(choice.current == 1)
    }

    @Test func oneLayoutIsNeverTried() {
        var runs = Runs(choice: LayoutChoice(layouts: 1))
        #expect((0 ..< 200).allSatisfy { _ in runs.run { _ in 1 } == 0 })
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
