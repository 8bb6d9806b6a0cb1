import Dispatch
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
