import CapgateConnection
import CapgateHTTPClient
import Testing

@Suite("Round trips over real TLS + HTTP/2")
struct RoundTripTests {
    @Test func echoRoundTrip() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = try fixture.client()
        defer { client.close() }
        let body = Array("{\"hello\":1}".utf8)
        let response = try await client.send(path: "/v1/echo", headers: [("content-type", "application/json")], body: body)
        #expect(response.status == 200)
        #expect(echoField(response.body, "path") == "/v1/echo")
        #expect(echoField(response.body, "identity") == TestCertificates.agentID)
        #expect(echoField(response.body, "body_length") == String(body.count))
        #expect(response.headers.contains { $0.name == "x-echo" && $0.value == "1" })
        #expect(response.headers.contains { $0.name == "content-type" && $0.value == "application/json" })
        #expect(fixture.server.stats.requests == 1)
        #expect(fixture.server.stats.established == 1)
    }

    /// Regression: a response (or request) above `writeHighWaterBytes` used to stall when a
    /// flush emptied the outbound buffer: the socket never became unwritable, so the
    /// edge-triggered EPOLLOUT that resumes production never came, and a client with large
    /// windows sends nothing that would wake the connection either.
    @Test(.timeLimit(.minutes(1)), arguments: [40_000, 100_000, 1_000_000])
    func bodiesAboveTheHighWaterMark(_ size: Int) async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = try fixture.client()
        defer { client.close() }
        for _ in 0..<2 {
            let r = try await client.send(path: "/big/\(size)", body: [])
            #expect(r.status == 200 && r.body.count == size)
        }
        let upload = try await client.send(path: "/v1/invoke", body: [UInt8](repeating: 0x61, count: 200_000))
        #expect(upload.status == 200 && echoField(upload.body, "body_length") == "200000")
    }

    @Test func hundredConcurrentRequestsOnOneConnection() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = try fixture.client()
        defer { client.close() }
        let paths = try await withThrowingTaskGroup(of: String?.self) { group in
            for i in 0..<100 {
                group.addTask {
                    let r = try await client.send(path: "/v1/req\(i)", body: Array(repeating: 0x61, count: i))
                    #expect(r.status == 200)
                    #expect(echoField(r.body, "body_length") == String(i))
                    return echoField(r.body, "path")
                }
            }
            var seen: Set<String> = []
            for try await p in group { if let p { seen.insert(p) } }
            return seen
        }
        #expect(paths.count == 100)
        #expect(fixture.server.stats.established == 1)
        #expect(fixture.server.stats.requests == 100)
    }

    @Test func eightConnections() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let clients = try (0..<8).map { _ in try fixture.client() }
        defer { clients.forEach { $0.close() } }
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for (c, client) in clients.enumerated() {
                for i in 0..<10 {
                    group.addTask {
                        let r = try await client.send(path: "/v1/c\(c)/\(i)")
                        return r.status == 200 && echoField(r.body, "path") == "/v1/c\(c)/\(i)" ? 1 : 0
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(total == 80)
        #expect(fixture.server.stats.established == 8)
        #expect(fixture.server.stats.accepted == 8)
    }

    @Test func connectionStaysUsableAfter413AndErrorStatus() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = try fixture.client()
        defer { client.close() }
        // Default body cap for a path without a verb entry is 64 KiB: early 413, rest discarded.
        let big = try await client.send(path: "/v1/echo", body: Array(repeating: 0x7a, count: 100_000))
        #expect(big.status == 413)
        #expect(String(decoding: big.body, as: UTF8.self).contains("body_too_large"))
        let after413 = try await client.send(path: "/v1/echo", body: [1, 2, 3])
        #expect(after413.status == 200)
        let failed = try await client.send(path: "/error")
        #expect(failed.status == 500)
        let afterError = try await client.send(path: "/v1/echo")
        #expect(afterError.status == 200)
        #expect(fixture.server.stats.established == 1)
        #expect(fixture.server.stats.trips["body_too_large"] == 1)
    }
}
