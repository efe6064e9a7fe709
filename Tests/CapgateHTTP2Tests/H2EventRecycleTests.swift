import CapgateCore
import Testing
@testable import CapgateHTTP2

/// `H2ServerSession.recycle`: an events array given back holds the next events (no new
/// allocation), never loses or repeats one, and is not kept when it grew large or when
/// events are already pending.
@Suite struct H2EventRecycleTests {
    /// One request through a session whose events arrays are given back after each round.
    static func roundTrip(_ lb: Loopback, path: String) -> [H2Event] {
        var seen: [H2Event] = []
        _ = lb.client.submitRequest(path: path, authority: "capgate.test",
                                    headers: [("content-type", "application/json")], body: Array("{}".utf8))
        for _ in 0..<10 {
            var c2s: [UInt8] = []
            lb.clientEvents += lb.client.produce(into: &c2s, max: 1 << 20)
            var events = lb.server.receive(c2s)
            seen += events
            lb.handle(events)
            lb.server.recycle(&events)
            #expect(events.isEmpty)
            var s2c: [UInt8] = []
            events = lb.server.produce(into: &s2c, max: 1 << 20)
            seen += events
            lb.handle(events)
            lb.server.recycle(&events)
            if !s2c.isEmpty { lb.clientEvents += lb.client.receive(s2c) }
            if c2s.isEmpty && s2c.isEmpty { break }
        }
        return seen
    }

    @Test func recycledArraysCarryEveryEventOnce() throws {
        let lb = try Loopback()
        for i in 0..<5 {
            let events = Self.roundTrip(lb, path: "/v1/verb\(i)")
            let requests = events.compactMap { if case .request(let r) = $0 { r.path } else { nil } }
            let closed = events.filter { if case .streamClosed = $0 { true } else { false } }
            #expect(requests == ["/v1/verb\(i)"])
            #expect(closed.count == 1)
        }
        #expect(lb.responses.count == 5)
        #expect(lb.responses.values.allSatisfy { $0.status == 200 && $0.body == Array("{}".utf8) })
        // The session holds one small, empty array for the next events.
        #expect(lb.server.pending.isEmpty)
        #expect(lb.server.pending.capacity > 0)
        #expect(lb.server.pending.capacity <= H2ServerSession.recycledEventCapacity)
    }

    @Test func largeOrUnneededArraysAreDropped() throws {
        let lb = try Loopback()
        var large = [H2Event](repeating: .goaway(lastStreamID: 0, code: .noError),
                              count: H2ServerSession.recycledEventCapacity + 1)
        lb.server.recycle(&large)
        #expect(large.isEmpty)
        #expect(lb.server.pending.capacity == 0)
        // With events pending, a given-back array is dropped and the pending ones stay.
        lb.server.pending = [.goaway(lastStreamID: 1, code: .noError)]
        var small: [H2Event] = [.goaway(lastStreamID: 2, code: .noError)]
        lb.server.recycle(&small)
        #expect(small.isEmpty)
        #expect(lb.server.takeEvents() == [.goaway(lastStreamID: 1, code: .noError)])
        // An array still shared with the caller: its events stay with the caller's copy.
        var shared: [H2Event] = [.goaway(lastStreamID: 3, code: .noError)]
        let kept = shared
        lb.server.recycle(&shared)
        #expect(kept == [.goaway(lastStreamID: 3, code: .noError)])
        #expect(lb.server.takeEvents().isEmpty)
    }
}
