@testable import CapgateConnection
import Testing

/// A partial plaintext write must neither drop nor reorder bytes (docs/hardening.md
/// "Small leaks": the engine's byte count used to be ignored).
@Suite struct PlaintextBacklogTests {
    /// A sink that takes at most `quota` bytes per call, like an engine returning early.
    final class Sink {
        var received: [UInt8] = []
        var quota: Int
        init(quota: Int) { self.quota = quota }
        func take(_ raw: UnsafeRawBufferPointer) -> Int {
            let n = min(quota, raw.count)
            received.append(contentsOf: raw.prefix(n))
            return n
        }
    }

    @Test func partialWritesKeepEveryByteInOrder() {
        var backlog = PlaintextBacklog()
        let sink = Sink(quota: 3)
        let first = Array(0..<10 as Range<UInt8>)
        #expect(backlog.write(first) { sink.take($0) } == 3)
        #expect(backlog.count == 7)
        var rounds = 0
        while !backlog.isEmpty {
            let before = backlog.count
            #expect(backlog.drain { sink.take($0) } == min(3, before))
            #expect(backlog.count == before - min(3, before))
            rounds += 1
        }
        #expect(rounds == 3)
        #expect(sink.received == first)
        // Fully taken writes leave nothing behind.
        sink.quota = 100
        #expect(backlog.write([42, 43]) { sink.take($0) } == 2)
        #expect(backlog.isEmpty)
        #expect(sink.received == first + [42, 43])
    }

    @Test func anEngineThatTakesNothingKeepsEverything() {
        var backlog = PlaintextBacklog()
        let sink = Sink(quota: 0)
        #expect(backlog.write([1, 2, 3]) { sink.take($0) } == 0)
        #expect(backlog.drain { sink.take($0) } == 0)
        #expect(backlog.count == 3)
        sink.quota = 2
        #expect(backlog.drain { sink.take($0) } == 2)
        #expect(backlog.drain { sink.take($0) } == 1)
        #expect(backlog.isEmpty && sink.received == [1, 2, 3])
    }

    @Test func errorsPropagateAndKeepTheBacklog() {
        struct Boom: Error {}
        var backlog = PlaintextBacklog()
        #expect(backlog.write([1, 2, 3]) { _ in 1 } == 1)
        #expect(throws: Boom.self) { try backlog.drain { (_) throws(Boom) -> Int in throw Boom() } }
        #expect(backlog.count == 2)
    }
}
