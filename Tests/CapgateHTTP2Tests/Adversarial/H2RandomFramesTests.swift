import CapgateCore
import CapgateTesting
import Testing
@testable import CapgateHTTP2

/// A seeded random-frame smoke test (the fuzzer's little sibling, runs on every test run):
/// random frame types, flags, stream ids and payloads after a valid preface. Invariants: no
/// crash, `produce` never passes `max`, and once the session stops reading it reports nothing.
@Suite struct H2RandomFramesTests {
    @Test(arguments: 0..<8)
    func randomFramesKeepInvariants(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &* 7919)
        var closedCount = 0
        for _ in 0..<40 {
            let peer = try RawPeer()
            for _ in 0..<60 {
                let frame: [UInt8]
                let stream = UInt32(rng.below(8))
                switch rng.below(6) {
                case 0: frame = HostilePeer.headers(stream: stream | 1, block: HPACKWriter.request(),
                                                    endStream: rng.below(2) == 0, endHeaders: rng.below(4) != 0)
                case 1: frame = HostilePeer.data(stream: stream, (0..<rng.below(40)).map { _ in UInt8(rng.below(256)) },
                                                 endStream: rng.below(2) == 0)
                case 2: frame = HostilePeer.rstStream(stream: stream, code: UInt32(rng.below(14)))
                default:
                    let payload = (0..<rng.below(24)).map { _ in UInt8(rng.below(256)) }
                    frame = HostilePeer.frame(rawType: UInt8(rng.below(12)), flags: UInt8(rng.below(256)),
                                              stream: stream, payload: payload)
                }
                let wasReading = peer.server.wantsRead
                let events = peer.server.receive(frame)
                if !wasReading { #expect(events.isEmpty) }
                for case .request(let r) in events {
                    peer.server.respond(streamID: r.streamID, status: 200, body: [1, 2, 3])
                }
                var out: [UInt8] = []
                let max = 1 + rng.below(300)
                peer.server.produce(into: &out, max: max)
                #expect(out.count <= max)
            }
            if peer.server.isClosed { closedCount += 1 }
        }
        #expect(closedCount > 0)  // random garbage does get connections closed
    }
}
