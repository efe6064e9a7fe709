import CapgateHTTPClient
import Testing

/// The client's per-request deadline: a server that never answers fails the request with
/// `.timedOut` (the stream is reset), and the connection keeps serving other requests.
struct ClientTimeoutTests {
    @Test func unansweredRequestTimesOutAndTheConnectionStaysUsable() async throws {
        let server = try TestServer()
        defer {
            server.handler.slowGate.fire()  // let the parked handler finish before teardown
            server.stop()
        }
        let client = try server.client()
        defer { client.close() }
        await #expect(throws: HTTPClientError.timedOut) {
            _ = try await client.send(path: "/slow", body: Array("{}".utf8), timeout: .milliseconds(300))
        }
        let ok = try await client.send(path: "/echo", body: Array("{}".utf8))
        #expect(ok.status == 200)
    }
}
