import CapgateCore
import CapgateTesting
import Testing
@testable import CapgateHTTP2

/// Stream-scoped limits: the offending stream is answered (413/431) or reset, and the
/// connection keeps serving.
@Suite struct H2RequestLimitsTests {
    static func smallBodyLimits() -> GatewayLimits {
        var l = GatewayLimits()
        l.defaultMaxBodyBytes = 1_000
        return l
    }

    /// Declared content-length over the cap: early 413 with the application's error body, then the
    /// connection serves the next request.
    @Test func declaredOversizedBodyGets413() throws {
        let lb = try Loopback(limits: Self.smallBodyLimits())
        let big = try #require(lb.client.submitRequest(path: "/v1/list_capabilities", authority: "a",
                                                       body: [UInt8](repeating: 1, count: 5_000)))
        lb.pump()
        let r = try #require(lb.responses[big])
        #expect(r.status == 413)
        #expect(r.header("content-type") == "application/json")
        // The body is the application's rendering of the trip (the wire's one error shape is
        // pinned in CapgateServerTests); the session only picks status and trip.
        #expect(String(decoding: r.body, as: UTF8.self) == "refused: bodyTooLarge(limit: 1000)")
        #expect(lb.requests.isEmpty)
        #expect(lb.serverEvents.contains(.streamError(streamID: big, code: .noError, trip: .bodyTooLarge(limit: 1_000))))
        // Connection still usable; a per-verb entry raises the cap for invoke only.
        let ok = try #require(lb.client.submitRequest(path: "/v1/list_capabilities", authority: "a", body: [1, 2, 3]))
        lb.pump()
        #expect(lb.responses[ok]?.status == 200)
        #expect(lb.responses[ok]?.body == [1, 2, 3])
        #expect(!lb.server.isClosed)
    }

    /// No content-length: the 413 goes out when the received body passes the cap; the rest of
    /// the body is consumed (windows reopen) and dropped, with no reset.
    @Test func streamedOversizedBodyGets413AndIsDiscarded() throws {
        let peer = try RawPeer(limits: Self.smallBodyLimits())
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request()))
        for i in 0..<4 {
            peer.send(HostilePeer.data(stream: 1, [UInt8](repeating: 0x20, count: 600), endStream: i == 3))
        }
        peer.flush()
        #expect(peer.status(stream: 1) == 413)
        #expect(peer.frames(.rstStream).isEmpty)
        #expect(peer.requests.isEmpty)
        #expect(peer.streamTrips.map(\.2) == [.bodyTooLarge(limit: 1_000)])
        // Connection-level window credit came back for the discarded bytes.
        let credit = peer.frames(.windowUpdate, stream: 0).compactMap(\.windowIncrement).reduce(0, +)
        #expect(credit >= UInt32(1_048_576 - 65_535))
        peer.send(HostilePeer.headers(stream: 3, block: HPACKWriter.request(), endStream: true))
        #expect(peer.requests.map(\.streamID) == [3])
    }

    @Test func tooManyHeaderFieldsGets431() throws {
        let peer = try RawPeer()
        var block = HPACKWriter.request()
        for i in 0..<150 { block += HPACKWriter.literal("x-h\(i)", "") }  // CVE-2019-9516 shape
        peer.send(HostilePeer.headers(stream: 1, block: block, endStream: true))
        peer.flush()
        #expect(peer.status(stream: 1) == 431)
        #expect(peer.streamTrips.map(\.2) == [.tooManyHeaderFields])
        #expect(peer.requests.isEmpty)
        peer.send(HostilePeer.headers(stream: 3, block: HPACKWriter.request(), endStream: true))
        #expect(peer.requests.map(\.streamID) == [3])
        #expect(peer.goaway == nil)
    }

    /// Small HPACK bomb: one ~4 KiB dynamic-table entry referenced by 1-byte indexes. The
    /// decoded list passes 16 KiB after a few references: 431, and the HPACK context stays in
    /// sync (the next request reuses the entry legitimately). Ten references (~44 KB decoded)
    /// stay under the connection cut of H2HeaderFloodTests (4 x 16 KiB).
    @Test func hpackBombGets431AndConnectionSurvives() throws {
        let peer = try RawPeer()
        let bombValue = String(repeating: "b", count: 4_000)
        var block = HPACKWriter.request() + HPACKWriter.literalIndexed("x-bomb", bombValue)
        for _ in 0..<10 { block += HPACKWriter.indexed(HPACKWriter.firstDynamicIndex) }  // ~44 KB decoded
        #expect(block.count < 6_000)
        peer.send(HostilePeer.headers(stream: 1, block: block, endStream: true))
        peer.flush()
        #expect(peer.status(stream: 1) == 431)
        #expect(peer.streamTrips.map(\.2) == [.headerListTooLarge])
        let next = HPACKWriter.request() + HPACKWriter.indexed(HPACKWriter.firstDynamicIndex)
        peer.send(HostilePeer.headers(stream: 3, block: next, endStream: true))
        let req = try #require(peer.requests.first)
        #expect(req.streamID == 3)
        #expect(req.headers.first { $0.name == "x-bomb" }?.value == bombValue)
        #expect(peer.goaway == nil)
    }

    @Test func missingPathIsReset() throws {
        let peer = try RawPeer()
        let block = HPACKWriter.literal(":method", "POST") + HPACKWriter.literal(":scheme", "https")
            + HPACKWriter.literal(":authority", "a")
        peer.send(HostilePeer.headers(stream: 1, block: block, endStream: true))
        peer.flush()
        #expect(peer.frames(.rstStream, stream: 1).first?.errorCode == H2ErrorCode.protocolError.rawValue)
        #expect(peer.requests.isEmpty)
        #expect(!peer.streamTrips.isEmpty)
        peer.send(HostilePeer.headers(stream: 3, block: HPACKWriter.request(), endStream: true))
        #expect(peer.requests.map(\.streamID) == [3])
    }

    @Test func contentLengthMismatchIsReset() throws {
        let peer = try RawPeer()
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request(extra: [("content-length", "10")])))
        peer.send(HostilePeer.data(stream: 1, [1, 2, 3, 4, 5], endStream: true))
        peer.flush()
        #expect(peer.requests.isEmpty)
        #expect(peer.frames(.rstStream, stream: 1).first?.errorCode == H2ErrorCode.protocolError.rawValue)
        #expect(peer.streamTrips.map(\.2) == [.protocolReset])
    }

    @Test func stalledRequestTimesOut() throws {
        let peer = try RawPeer()
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request()))  // body never ends
        #expect(peer.server.nextRequestDeadline == peer.clock.now + 15)
        peer.clock.advance(14)
        #expect(peer.server.expireStalledStreams().isEmpty)
        peer.clock.advance(1)
        #expect(peer.server.expireStalledStreams()
                == [.streamError(streamID: 1, code: .cancel, trip: .requestTimeout)])
        peer.flush()
        #expect(peer.frames(.rstStream, stream: 1).first?.errorCode == H2ErrorCode.cancel.rawValue)
        #expect(peer.server.nextRequestDeadline == nil)
    }
}
