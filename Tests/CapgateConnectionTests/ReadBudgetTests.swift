import CapgateConnection
import CapgateIO
import Testing

/// The per-wakeup read budget (ConnectionCore.readBudgetBytes): a connection sending a burst
/// yields its loop between budgets, and the edge-triggered socket is still read to the end
/// (an explicit continuation, since leftover data makes no new edge). These run the real loop.
@Suite(.timeLimit(.minutes(1))) struct ReadBudgetTests {
    /// Runs `loop` until `done` holds (checked once per loop iteration) or 20 s pass.
    static func run(_ loop: EventLoop, until done: @escaping () -> Bool, each: @escaping () -> Void = {}) throws {
        let limit = loop.scheduleTimer(after: .seconds(20)) { loop.stop() }
        func probe() {
            each()
            if done() { loop.stop() } else { loop.executeLater(probe) }
        }
        loop.executeLater(probe)
        try loop.run()
        loop.cancelTimer(limit)
    }

    /// 2 MB read 16 KiB per wakeup arrives whole and in order: the last bytes, left in the
    /// socket after the sender stopped, are read by the continuation, not by a new edge.
    @Test func budgetedReadLosesNoData() throws {
        let pair = try CorePair()
        defer { pair.closeAll() }
        pair.server.readBudgetBytes = 16 * 1024
        let big = (0..<2_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        pair.clientDriver.toSend = big
        pair.client.begin()
        pair.server.begin()
        try Self.run(pair.loop) { pair.serverDriver.received.count >= big.count }
        #expect(pair.serverDriver.received.count == big.count)
        #expect(pair.serverDriver.received == big)
        #expect(pair.server.readBudgetYields > 0)  // the budget really bound
    }

    /// A second connection on the same loop is served while the first one's burst is still
    /// being read: its ping arrives before the burst is complete.
    @Test func burstDoesNotStarveANeighbour() throws {
        let loop = try EventLoop()
        let burst = try CorePair(loop: loop)
        let neighbour = try CorePair(loop: loop)
        defer {
            burst.closeAll()
            neighbour.closeAll()
        }
        burst.server.readBudgetBytes = 16 * 1024
        let big = [UInt8](repeating: 0x5a, count: 2_000_000)
        burst.clientDriver.toSend = big
        burst.client.begin()
        burst.server.begin()
        var neighbourStarted = false
        var burstReceivedWhenPingArrived: Int?
        try Self.run(loop, until: {
            burst.serverDriver.received.count >= big.count && burstReceivedWhenPingArrived != nil
        }, each: {
            if !neighbourStarted, !burst.serverDriver.received.isEmpty {
                neighbourStarted = true  // the burst is flowing: now the neighbour connects
                neighbour.clientDriver.toSend = Array("ping".utf8)
                neighbour.client.begin()
                neighbour.server.begin()
            }
            if burstReceivedWhenPingArrived == nil, neighbour.serverDriver.received == Array("ping".utf8) {
                burstReceivedWhenPingArrived = burst.serverDriver.received.count
            }
        })
        let atPing = try #require(burstReceivedWhenPingArrived)
        #expect(atPing < big.count)
        #expect(burst.serverDriver.received == big)
        #expect(burst.server.readBudgetYields > 0)
    }
}
