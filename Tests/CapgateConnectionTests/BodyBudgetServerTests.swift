import CapgateConnection
import CapgateCore
import CapgateTesting
import Testing

/// Buffered request bodies from outside (issue 14 finding 7): real sockets, real TLS
/// handshakes, hostile peers writing raw frames. Streams that declare large bodies and send
/// part of them get flow-control credit only within the per-connection and server-wide
/// budgets; the rest wait uncredited (their windows stop them) until earlier streams complete.
/// A legit agent on another connection, and on the attacker's connection once its streams are
/// reset, still gets its answers.
@Suite(.timeLimit(.minutes(2))) struct BodyBudgetServerTests {
    /// 16 KiB stream windows (so a 10 KB chunk shows up as credit or its absence), two 30 KB
    /// bodies per connection, three on the whole server.
    static func limits() -> GatewayLimits {
        var l = GatewayLimits()
        l.initialStreamWindow = 16_384
        l.connectionWindow = 65_535
        l.maxBufferedBodyBytesPerConnection = 70_000
        l.maxBufferedBodyBytesGlobal = 100_000
        return l
    }

    static let chunk = [UInt8](repeating: 0x61, count: 10_000)

    static func post(_ stream: UInt32, length: Int) -> [UInt8] {
        HostilePeer.headers(stream: stream, block: HPACKWriter.request(
            path: "/v1/invoke", extra: [("content-length", String(length))]))
    }

    /// A body-less request and its answer: everything the server queued before it (credit,
    /// resets) has reached the peer once the answer is in.
    static func sync(_ peer: RawTLSPeer, stream: UInt32) throws -> Bool {
        try peer.send(HostilePeer.headers(stream: stream, block: HPACKWriter.request(path: "/sync"), endStream: true))
        return try peer.read(until: RawTLSPeer.responded(stream))
    }

    @Test func partialBodiesStayWithinTheBudgetsAndAgentsAreServed() async throws {
        let fixture = try TestServer(limits: Self.limits())
        defer { fixture.stop() }
        let port = fixture.port

        // Attacker A: three streams declaring 30 KB, 10 KB sent on each. Two fit its
        // connection's budget, the third waits uncredited.
        let a = try await runBlocking {
            let a = try RawTLSPeer(port: port)
            for id: UInt32 in [1, 3, 5] { try a.send(Self.post(id, length: 30_000) + HostilePeer.data(stream: id, Self.chunk)) }
            guard try Self.sync(a, stream: 7) else { throw TestFailure("no answer on A") }
            return a
        }
        #expect(a.credit(stream: 1) == 10_000)
        #expect(a.credit(stream: 3) == 10_000)
        #expect(a.credit(stream: 5) == 0)

        // Attacker B: its first stream is always admitted; its second fits B's budget but not
        // the server's (90 KB of 100 KB reserved): it waits.
        let b = try await runBlocking {
            let b = try RawTLSPeer(port: port)
            for id: UInt32 in [1, 3] { try b.send(Self.post(id, length: 30_000) + HostilePeer.data(stream: id, Self.chunk)) }
            guard try Self.sync(b, stream: 5) else { throw TestFailure("no answer on B") }
            return b
        }
        #expect(b.credit(stream: 1) == 10_000)
        #expect(b.credit(stream: 3) == 0)
        #expect(fixture.server.stats.bodyBytesReserved == 90_000)
        #expect(fixture.server.stats.bodyAdmissionsDeferred == 2)

        // A legit agent on its own connection: a 40 KB body (more than one stream window, so
        // it needs credit) is answered although the server's budget is spent.
        let agent = try fixture.client()
        defer { agent.close() }
        let answer = try await agent.send(path: "/v1/invoke", body: [UInt8](repeating: 0x7a, count: 40_000))
        #expect(answer.status == 200)
        #expect(echoField(answer.body, "body_length") == "40000")

        // A's stream 5 gets no credit until stream 1 completes, then it is admitted.
        let creditBeforeCompletion = try await runBlocking {
            try a.send(HostilePeer.data(stream: 1, Self.chunk))
            guard try a.read(until: { _ in a.credit(stream: 1) == 20_000 }), try Self.sync(a, stream: 9) else {
                throw TestFailure("stream 1 not credited")
            }
            return a.credit(stream: 5)
        }
        #expect(creditBeforeCompletion == 0)
        let admittedAfterCompletion = try await runBlocking {
            try a.send(HostilePeer.data(stream: 1, Self.chunk, endStream: true))
            return try a.read(until: RawTLSPeer.responded(1)) && a.read { _ in a.credit(stream: 5) == 10_000 }
        }
        #expect(admittedAfterCompletion)
        #expect(a.responseBody(stream: 1)?.contains(#""body_length":30000"#) == true)

        // A resets its open streams: their reservations go back. B's waiting stream is then
        // admitted (room freed on another connection), and A itself is served again.
        let (bAdmitted, aCredited, aAnswered) = try await runBlocking {
            try a.send(HostilePeer.rstStream(stream: 3) + HostilePeer.rstStream(stream: 5))
            let bAdmitted = try b.read { _ in b.credit(stream: 3) == 10_000 }
            try a.send(Self.post(11, length: 20_000) + HostilePeer.data(stream: 11, Self.chunk))
            let aCredited = try a.read { _ in a.credit(stream: 11) == 10_000 }
            try a.send(HostilePeer.data(stream: 11, Self.chunk, endStream: true))
            return (bAdmitted, aCredited, try a.read(until: RawTLSPeer.responded(11)))
        }
        #expect(bAdmitted && aCredited && aAnswered)
        #expect(a.responseBody(stream: 11)?.contains(#""body_length":20000"#) == true)
        #expect(a.frames(.goaway).isEmpty && b.frames(.goaway).isEmpty)
        #expect(fixture.server.stats.bodyBytesReserved == 60_000)  // B's two streams

        // Connections that end give everything back.
        a.close()
        b.close()
        await eventually { fixture.server.stats.bodyBytesReserved == 0 }
    }

    /// Past what its connection window can spare, a waiting stream is refused (REFUSED_STREAM,
    /// trip `body_budget`), not buffered; the connection stays usable.
    @Test func waitingStreamsPastTheWindowShareAreRefused() async throws {
        let fixture = try TestServer(limits: Self.limits())
        defer { fixture.stop() }
        let port = fixture.port
        let peer = try await runBlocking {
            let p = try RawTLSPeer(port: port)
            // Stream 1 (60 KB declared) is admitted; 3, 5, 7, 9 wait (40 KB uncredited); 11
            // passes the ceiling (connection window 65535 - stream window 16384). 60 KB sent
            // in all: within the connection window the peer was given.
            try p.send(Self.post(1, length: 60_000) + HostilePeer.data(stream: 1, Self.chunk))
            for id: UInt32 in stride(from: 3, through: 11, by: 2) {
                try p.send(Self.post(id, length: 30_000) + HostilePeer.data(stream: id, Self.chunk))
            }
            guard try Self.sync(p, stream: 15) else { throw TestFailure("no answer") }
            return p
        }
        defer { peer.close() }
        let resets = peer.frames(.rstStream)
        #expect(resets.map(\.stream) == [11])
        #expect(resets.first?.errorCode == 0x7)  // REFUSED_STREAM: not processed, retry is safe
        #expect(fixture.server.stats.trips["body_budget"] == 1)
        #expect(peer.responseBody(stream: 15) != nil)
        #expect(peer.credit(stream: 1) == 10_000)
        #expect(fixture.server.stats.bodyBytesReserved == 60_000)
        #expect(peer.frames(.goaway).isEmpty)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
