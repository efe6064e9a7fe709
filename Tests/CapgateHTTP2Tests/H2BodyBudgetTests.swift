import CapgateCore
import CapgateTesting
import Testing
@testable import CapgateHTTP2

/// Buffered request bodies (issue 14 finding 7, docs/hardening.md "Buffered request bodies"):
/// a stream's DATA is credited only against a reservation in the connection's and the
/// server's body budgets; a stream that does not fit waits with no credit, so the peer's
/// windows stop it. Observed as the peer sees it: which streams get WINDOW_UPDATEs.
@Suite struct H2BodyBudgetTests {
    /// Small windows so a few 10 KB chunks show the mechanism: 16 KiB per stream, the minimum
    /// connection window, room for one 30 KB body per connection.
    static func limits(perConnection: Int = 40_000, global: Int = 1_000_000) -> GatewayLimits {
        var l = GatewayLimits()
        l.initialStreamWindow = 16_384
        l.connectionWindow = 65_535
        l.maxBufferedBodyBytesPerConnection = perConnection
        l.maxBufferedBodyBytesGlobal = global
        return l
    }

    static let chunk = [UInt8](repeating: 0x61, count: 10_000)

    /// A raw peer that acknowledged the server's SETTINGS: nghttp2 applies the small windows
    /// only from then on.
    static func peer(_ limits: GatewayLimits = limits(), bodyBudget: BodyBudget? = nil) throws -> RawPeer {
        let peer = try RawPeer(limits: limits, bodyBudget: bodyBudget)
        peer.flush()
        peer.send(HostilePeer.settings(ack: true))
        return peer
    }

    /// HEADERS of a POST /v1/invoke declaring `length` body bytes, then `chunks` chunks.
    static func open(_ peer: RawPeer, stream: UInt32, length: Int, chunks: Int = 1) {
        peer.send(HostilePeer.headers(stream: stream, block: HPACKWriter.request(
            path: "/v1/invoke", extra: [("content-length", String(length))])))
        for _ in 0..<chunks {
            peer.send(HostilePeer.data(stream: stream, chunk))
            peer.flush()
        }
    }

    static func credit(_ peer: RawPeer, stream: UInt32) -> UInt32 {
        peer.frames(.windowUpdate, stream: stream).compactMap(\.windowIncrement).reduce(0, +)
    }

    /// Stream 1 fits and is credited as it arrives; stream 3 does not fit and gets no credit
    /// (its 10 KB stay uncredited) until stream 1 is handed off, then it is admitted.
    @Test func laterStreamIsCreditedOnlyAfterTheEarlierOneCompletes() throws {
        let peer = try Self.peer()
        Self.open(peer, stream: 1, length: 30_000)
        Self.open(peer, stream: 3, length: 30_000)
        #expect(Self.credit(peer, stream: 1) == 10_000)
        #expect(Self.credit(peer, stream: 3) == 0)
        #expect(peer.server.reservedBodyBytes == 30_000)
        #expect(peer.server.bufferedBodyBytes == 20_000)
        #expect(peer.server.waitsForBodyBudget)
        #expect(!peer.server.waitsForSharedBodyBudget)  // its own stream 1 frees the room: no polling

        peer.send(HostilePeer.data(stream: 1, Self.chunk))
        peer.flush()
        #expect(Self.credit(peer, stream: 3) == 0)  // stream 1 not complete yet
        peer.send(HostilePeer.data(stream: 1, Self.chunk, endStream: true))
        peer.flush()
        #expect(peer.requests.map(\.streamID) == [1])
        #expect(peer.requests.first?.body.count == 30_000)
        // Stream 1 handed off: its reservation went to stream 3, whose bytes are now credited.
        #expect(Self.credit(peer, stream: 3) == 10_000)
        #expect(peer.server.reservedBodyBytes == 30_000)
        #expect(!peer.server.waitsForBodyBudget)
        #expect(peer.streamTrips.isEmpty)
    }

    /// The first stream of a connection holding nothing is admitted even when its body is
    /// larger than the whole per-connection budget: no connection can starve.
    @Test func firstStreamIsAlwaysAdmitted() throws {
        let peer = try Self.peer(Self.limits(perConnection: 1_000))
        Self.open(peer, stream: 1, length: 30_000, chunks: 3)
        peer.send(HostilePeer.data(stream: 1, [UInt8](repeating: 0x61, count: 0), endStream: true))
        peer.flush()
        #expect(Self.credit(peer, stream: 1) >= 20_000)
        #expect(peer.requests.map(\.streamID) == [1])
        #expect(peer.server.reservedBodyBytes == 0)
    }

    /// The server-wide budget is shared: room taken on one connection makes a stream of
    /// another wait, and room given back there admits it on retry.
    @Test func globalBudgetIsSharedAcrossConnections() throws {
        let shared = BodyBudget(limit: 50_000)
        let a = try Self.peer(bodyBudget: shared)
        let b = try Self.peer(bodyBudget: shared)
        Self.open(a, stream: 1, length: 30_000)
        Self.open(b, stream: 1, length: 30_000)  // always admitted: overdraws the shared budget
        #expect(shared.reserved == 60_000)
        Self.open(b, stream: 3, length: 10_000)  // fits its connection, not the server
        #expect(Self.credit(b, stream: 3) == 0)
        #expect(b.server.waitsForBodyBudget)
        #expect(b.server.waitsForSharedBodyBudget)  // only room elsewhere admits it: retried
        #expect(shared.deferrals == 1)

        a.send(HostilePeer.data(stream: 1, Self.chunk))
        a.flush()
        a.send(HostilePeer.data(stream: 1, Self.chunk, endStream: true))
        a.flush()
        #expect(a.requests.map(\.streamID) == [1])
        #expect(shared.reserved == 30_000)
        b.events += b.server.retryBodyAdmission()
        b.flush()
        #expect(Self.credit(b, stream: 3) == 10_000)
        #expect(shared.reserved == 40_000)
        #expect(!b.server.waitsForSharedBodyBudget)
    }

    /// A peer resetting its admitted stream gives the reservation back: the waiting one is
    /// admitted. A session that goes away gives everything back to the shared budget.
    @Test func resetAndTeardownReleaseReservations() throws {
        let shared = BodyBudget(limit: 1_000_000)
        var peer: RawPeer? = try Self.peer(bodyBudget: shared)
        Self.open(peer!, stream: 1, length: 30_000)
        Self.open(peer!, stream: 3, length: 30_000)
        #expect(Self.credit(peer!, stream: 3) == 0)
        peer!.send(HostilePeer.rstStream(stream: 1))
        peer!.flush()
        #expect(Self.credit(peer!, stream: 3) == 10_000)
        #expect(shared.reserved == 30_000)
        peer = nil
        #expect(shared.reserved == 0)
    }

    /// A waiting stream whose whole body fits in its initial window completes without credit
    /// and is delivered: small requests never wait on the budget.
    @Test func smallBodyCompletesWhileWaiting() throws {
        let peer = try Self.peer()
        Self.open(peer, stream: 1, length: 30_000)
        peer.send(HostilePeer.headers(stream: 3, block: HPACKWriter.request(
            path: "/v1/invoke", extra: [("content-length", "12000")])))
        peer.send(HostilePeer.data(stream: 3, [UInt8](repeating: 0x62, count: 12_000), endStream: true))
        peer.flush()
        #expect(peer.requests.map(\.streamID) == [3])
        #expect(peer.server.reservedBodyBytes == 30_000)  // only stream 1's
        #expect(!peer.server.waitsForBodyBudget)
    }

    /// Waiting streams may not take the connection window from the admitted ones: the one
    /// whose bytes pass the ceiling is refused (REFUSED_STREAM, `body_budget`), its bytes are
    /// credited back, and the connection stays usable.
    @Test func waitingStreamsPastTheCeilingAreRefused() throws {
        let peer = try Self.peer()
        Self.open(peer, stream: 1, length: 30_000)
        for id: UInt32 in [3, 5, 7, 9] { Self.open(peer, stream: id, length: 30_000) }
        #expect(peer.frames(.rstStream).isEmpty)  // 40 KB waiting: under the ceiling
        Self.open(peer, stream: 11, length: 30_000)
        let rst = peer.frames(.rstStream)
        #expect(rst.map(\.stream) == [11])
        #expect(rst.first?.errorCode == H2ErrorCode.refusedStream.rawValue)
        #expect(peer.streamTrips.map(\.2) == [.bodyBudget])
        #expect(H2StreamTrip.bodyBudget.code == "body_budget")
        #expect(peer.server.bufferedBodyBytes == 50_000)  // stream 1 and the four waiting
        peer.send(HostilePeer.headers(stream: 13, block: HPACKWriter.request(), endStream: true))
        peer.flush()
        #expect(peer.requests.map(\.streamID) == [13])
        #expect(peer.goaway == nil)
    }
}
