import CapgateConnection
import CapgateCore
import CapgateHTTP2
import CapgateTesting
import Testing

/// Issue 14 finding 8 from outside: a client that announces INITIAL_WINDOW_SIZE = 0 and never
/// opens it pins a response. Its stream is reset after `responseStallTimeout` even though the
/// response was queued after the request was delivered (the handler answers asynchronously)
/// and no later stream re-arms the connection's timer (make attack's window0_stalled row).
@Suite(.timeLimit(.minutes(2))) struct ResponseStallServerTests {
    @Test func aPinnedResponseIsResetWithoutAnotherStream() async throws {
        var limits = GatewayLimits()
        limits.responseStallTimeout = 0.5
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let port = fixture.port
        let peer = try await runBlocking {
            let peer = try RawTLSPeer(port: port, settings: [(0x4, 0)])
            let body = [UInt8](repeating: 0x62, count: 100)
            try peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request(
                path: "/v1/echo", extra: [("content-length", "100")])) + HostilePeer.data(stream: 1, body, endStream: true))
            // The answer's HEADERS arrive; its DATA cannot; then the server gives up on it.
            guard try peer.read(until: { frames in frames.contains { $0.kind == .rstStream && $0.stream == 1 } }) else {
                throw TestFailure("the server closed instead of resetting the stream")
            }
            return peer
        }
        defer { peer.close() }
        #expect(peer.frames(.headers, stream: 1).count == 1)
        #expect(peer.frames(.data, stream: 1).isEmpty)
        #expect(peer.frames(.rstStream, stream: 1).first?.errorCode == H2ErrorCode.cancel.rawValue)
        let line = await fixture.logger.waitForLine(containing: "trip=response_stalled")
        #expect(line.contains("code=CANCEL"))
    }
}
