import CapgateCore
import CapgateTesting
import Testing
@testable import CapgateHTTP2

/// `H2ServerSession.liveStream` answers the stream looked up last without hashing: it must
/// always be what `streams` holds, across interleaved streams, answers and closes.
@Suite struct H2LiveStreamTests {
    @Test func theRecentStreamIsAlwaysTheOpenOne() throws {
        let lb = try Loopback(handler: nil)
        var rng = SplitMix64(seed: 0x11fe)
        var open: [Int32] = []
        for round in 0..<200 {
            if open.count < 4, open.isEmpty || Int.random(in: 0..<2, using: &rng) == 0 {
                _ = lb.client.submitRequest(path: "/v1/s\(round)", authority: "capgate.test", body: Array("{}".utf8))
                lb.pump()
                if let id = lb.requests.last?.streamID, !open.contains(id) { open.append(id) }
            } else {
                let id = open.remove(at: Int.random(in: 0..<open.count, using: &rng))
                #expect(lb.server.respond(streamID: id, status: 200, body: Array("ok".utf8)))
                lb.pump()
                // Closed: gone from the table and from the recent slot, even right after a
                // look-up made it the recent one.
                #expect(lb.server.liveStream(id) == nil)
                #expect(!lb.server.respond(streamID: id, status: 200, body: []))
            }
            // Every id, asked in any order (each ask makes it the recent one), is the table's.
            for id in open.shuffled(using: &rng) + open.shuffled(using: &rng) {
                #expect(lb.server.liveStream(id) === lb.server.streams[id])
                #expect(lb.server.liveStream(id)?.id == id)
            }
            #expect(Set(lb.server.streams.keys) == Set(open))
            #expect(lb.server.liveStream(9_999) == nil)
        }
    }
}
