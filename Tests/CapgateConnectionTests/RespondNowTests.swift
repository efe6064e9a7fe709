import CapgateConnection
import CapgateCore
import CapgateHTTPClient
import CapgateTesting
import Foundation
import Testing

/// `RequestHandler.respondNow`: a request the handler answers without suspending is answered
/// on the connection's loop with no task, and still goes through every limit a task-served
/// request does (the in-flight caps, the idle deadline, the request count and close log).
@Suite("Requests answered on the loop", .timeLimit(.minutes(2)))
struct RespondNowTests {
    @Test func answeredInPlaceWithoutATaskAndWithTheHandlersHeaders() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = try fixture.client()
        defer { client.close() }
        let response = try await client.send(path: "/now/a", body: Array("xyz".utf8))
        #expect(response.status == 200)
        #expect(echoField(response.body, "path") == "/now/a")
        #expect(echoField(response.body, "identity") == TestCertificates.agentID)
        #expect(response.headers.contains { $0.name == "x-echo" && $0.value == "now" })
        #expect(response.headers.contains { $0.name == "content-length" && $0.value == "\(response.body.count)" })
        // Several on one connection, concurrently: each answered once, none from a task.
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<8 { group.addTask { try await client.send(path: "/now/\(i)").status } }
            for try await status in group { #expect(status == 200) }
        }
        #expect(fixture.handler.answeredNow.count == 9)
        #expect(!fixture.handler.answeredNow.anyInTask)
        // A path respondNow declines still reaches `handle` in a task.
        #expect(try await client.send(path: "/v1/echo").status == 200)
        #expect(fixture.handler.answeredNow.count == 9)
        #expect(fixture.server.stats.inFlightHandlers == 0)
    }

    /// The per-connection in-flight cap counts a request answered in place like a task: with
    /// the one slot held by a handler that waits, `/now` is answered 503 (the handler is not
    /// asked), and once the slot is back it is answered again on the same connection.
    @Test func inFlightCapAppliesToRequestsAnsweredInPlace() async throws {
        var limits = GatewayLimits()
        limits.maxInFlightPerConnection = 1
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let client = try fixture.client()
        defer { client.close() }
        let slow = Task { try await client.send(path: "/slow") }
        await fixture.handler.slowEntered.wait()
        let refused = try await client.send(path: "/now/refused")
        #expect(refused.status == 503)
        #expect(fixture.handler.answeredNow.count == 0)
        #expect(fixture.server.stats.trips["in_flight_cap_connection"] == 1)
        fixture.handler.slowGate.fire()
        #expect(try await slow.value.status == 200)
        for _ in 0..<500 where fixture.server.stats.inFlightHandlers != 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(try await client.send(path: "/now/again").status == 200)
        #expect(fixture.handler.answeredNow.count == 1)
        // Its slots were given back at once: the counter does not drift.
        #expect(fixture.server.stats.inFlightHandlers == 0)
    }

    /// The server-wide cap too, across connections.
    @Test func globalInFlightCapAppliesToRequestsAnsweredInPlace() async throws {
        var limits = GatewayLimits()
        limits.maxInFlightGlobal = 1
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let holder = try fixture.client()
        defer { holder.close() }
        let other = try fixture.client()
        defer { other.close() }
        let slow = Task { try await holder.send(path: "/slow") }
        await fixture.handler.slowEntered.wait()
        #expect(try await other.send(path: "/now/refused").status == 503)
        #expect(fixture.server.stats.trips["in_flight_cap_global"] == 1)
        fixture.handler.slowGate.fire()
        #expect(try await slow.value.status == 200)
        for _ in 0..<500 where fixture.server.stats.inFlightHandlers != 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(try await other.send(path: "/now/again").status == 200)
        #expect(fixture.handler.answeredNow.count == 1)
    }

    /// After an answer given in place the connection is idle again: the idle deadline closes
    /// it, and the close line counts the request.
    @Test func idleDeadlineFollowsARequestAnsweredInPlace() async throws {
        var limits = GatewayLimits()
        limits.idleTimeout = 0.2
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let client = try fixture.client()
        defer { client.close() }
        #expect(try await client.send(path: "/now").status == 200)
        #expect(await client.waitUntilClosed() == .connectionClosed)
        let line = await fixture.logger.waitForLine(containing: "reason=idle_timeout")
        #expect(line.contains("requests=1"))
        #expect(fixture.server.stats.requests == 1)
    }
}
