import CapgateCore
import CapgateTesting
import Testing
@testable import CapgateHTTP2

/// Every stream has a deadline: neither a window-0 client nor a body that never ends (after the
/// session answered 413) keeps a stream, and its connection, alive on the peer's goodwill.
@Suite struct H2StreamDeadlineTests {
    /// INITIAL_WINDOW_SIZE = 0 and no WINDOW_UPDATE: the response head goes out, the body never
    /// can. After `responseStallTimeout` without progress the stream is reset (CANCEL).
    @Test func windowZeroClientIsResetAfterTheStallTimeout() throws {
        let peer = try RawPeer(handshake: false)
        peer.send(HostilePeer.handshake(settings: [(0x4, 0)]))
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request(), endStream: true))
        let req = try #require(peer.requests.first)
        #expect(peer.server.respond(streamID: req.streamID, status: 200, body: [UInt8](repeating: 7, count: 100)))
        peer.flush()
        #expect(peer.status(stream: 1) == 200)
        #expect(peer.frames(.data, stream: 1).isEmpty)
        #expect(peer.server.nextRequestDeadline == peer.clock.now + 30)
        peer.clock.advance(29)
        #expect(peer.server.expireStalledStreams().isEmpty)
        peer.clock.advance(1)
        #expect(peer.server.expireStalledStreams()
                == [.streamError(streamID: 1, code: .cancel, trip: .responseStalled)])
        peer.flush()
        #expect(peer.frames(.rstStream, stream: 1).first?.errorCode == H2ErrorCode.cancel.rawValue)
        #expect(peer.server.openStreamCount == 0)
        #expect(peer.server.nextRequestDeadline == nil)
        #expect(peer.connectionTrips.isEmpty)  // the connection itself is fine
    }

    /// A window that opens in time is progress: the deadline moves and the body completes.
    @Test func progressingResponseIsNotReset() throws {
        let peer = try RawPeer(handshake: false)
        peer.send(HostilePeer.handshake(settings: [(0x4, 0)]))
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request(), endStream: true))
        #expect(peer.server.respond(streamID: 1, status: 200, body: [UInt8](repeating: 7, count: 100)))
        peer.flush()
        for _ in 0..<4 {
            peer.clock.advance(20)
            peer.send(HostilePeer.windowUpdate(stream: 1, increment: 25))
            #expect(peer.server.expireStalledStreams().isEmpty)
            peer.flush()
        }
        #expect(peer.frames(.data, stream: 1).map(\.payload.count).reduce(0, +) == 100)
        #expect(peer.frames(.rstStream).isEmpty)
        #expect(peer.server.nextRequestDeadline == nil)
    }

    /// The session answered 413 but the peer never ends its body: the DATA is consumed and
    /// dropped only until `requestTimeout`, then the stream is reset (CANCEL).
    @Test func oversizedBodyThatNeverEndsIsReset() throws {
        var limits = GatewayLimits()
        limits.defaultMaxBodyBytes = 1_000
        let peer = try RawPeer(limits: limits)
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request()))
        peer.send(HostilePeer.data(stream: 1, [UInt8](repeating: 0x20, count: 1_500)))
        peer.flush()
        #expect(peer.status(stream: 1) == 413)
        for _ in 0..<14 {
            peer.clock.advance(1)
            peer.send(HostilePeer.data(stream: 1, [UInt8](repeating: 0x20, count: 1_000)))
            #expect(peer.server.expireStalledStreams().isEmpty)
            peer.flush()
        }
        #expect(peer.frames(.rstStream).isEmpty)
        peer.clock.advance(1)
        #expect(peer.server.expireStalledStreams()
                == [.streamError(streamID: 1, code: .cancel, trip: .requestTimeout)])
        peer.flush()
        #expect(peer.frames(.rstStream, stream: 1).first?.errorCode == H2ErrorCode.cancel.rawValue)
        #expect(peer.server.openStreamCount == 0)
        #expect(peer.server.nextRequestDeadline == nil)
    }
}
