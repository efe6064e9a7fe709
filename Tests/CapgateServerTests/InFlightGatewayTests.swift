import AgentKernel
import CapgateClient
import CapgateCore
import CapgateServer
import CapgateWire
import Foundation
import Synchronization
import Testing

/// Finding "reset streams keep running" (docs/hardening.md), over a real socket and TLS
/// handshake: a grant whose stream is reset while its handler is held mints nothing, and the
/// in-flight handler cap answers 503 `overloaded` while the connection stays usable.
@Suite(.timeLimit(.minutes(2)))
struct InFlightGatewayTests {
    static let grantBody: [UInt8] = {
        let v: JSONValue = ["request": Demo.request("tasks.list").json, "justification": ""]
        return Array(v.serialized().utf8)
    }()

    /// Waits (bounded) until `condition` holds.
    static func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }

    @Test func grantResetBeforeTheKernelMintsNoToken() async throws {
        let fixture = try GatewayFixture()
        let held = AsyncEvent()
        let release = AsyncEvent()
        fixture.gateway.service.setHoldBeforeKernel { verb in
            guard verb == .grantCapability else { return }
            held.fire()
            await release.wait()  // ignores cancellation: the work is "still running"
        }
        let alice = try fixture.client("alice")
        let grantsBefore = fixture.kernel.statsSnapshot().grants
        let tracesBefore = try await alice.queryTraces(TraceQuery()).count

        // The client's deadline resets the stream (RST_STREAM CANCEL) while the handler is held.
        await #expect(throws: (any Error).self) {
            _ = try await alice.connection.send(path: "/v1/grant_capability",
                                                headers: [(name: "content-type", value: "application/json")],
                                                body: Self.grantBody, timeout: .milliseconds(300))
        }
        await held.wait()
        #expect(fixture.gateway.server.stats.inFlightHandlers == 1)
        release.fire()
        try await Self.eventually { fixture.gateway.server.stats.inFlightHandlers == 0 }

        #expect(fixture.kernel.statsSnapshot().grants == grantsBefore, "a reset grant minted a token")
        #expect(try await alice.queryTraces(TraceQuery()).count == tracesBefore, "a reset grant wrote a trace")
        // Same connection, not reset: the grant goes through the same hold and mints.
        let granted = try await alice.grantCapability(Demo.request("tasks.list"), justification: "")
        #expect(!granted.token.tokenID.isEmpty)
        #expect(fixture.kernel.statsSnapshot().grants == grantsBefore + 1)
        await fixture.stop()
    }

    @Test func inFlightCapAnswersOverloadedAndTheConnectionStaysUsable() async throws {
        let fixture = try GatewayFixture { $0.limits.maxInFlightPerConnection = 2 }
        let entered = Atomic<Int>(0)
        let release = AsyncEvent()
        fixture.gateway.service.setHoldBeforeKernel { verb in
            guard verb == .grantCapability else { return }
            entered.add(1, ordering: .relaxed)
            await release.wait()
        }
        let alice = try fixture.client("alice")
        let grantsBefore = fixture.kernel.statsSnapshot().grants
        async let first = alice.grantCapability(Demo.request("tasks.list"), justification: "")
        async let second = alice.grantCapability(Demo.request("tasks.list"), justification: "")
        try await Self.eventually { entered.load(ordering: .relaxed) == 2 }

        // Third on the same connection: answered at once, never reaches the handler.
        let third = try await raw(alice, "/v1/grant_capability", String(decoding: Self.grantBody, as: UTF8.self))
        expectEnvelope(third, 503, .overloaded)
        #expect(entered.load(ordering: .relaxed) == 2)
        #expect(fixture.gateway.server.stats.trips["in_flight_cap_connection"] == 1)
        // Requests that do not reach the held point still fail over the cap (two slots taken).
        expectEnvelope(try await raw(alice, "GET", "/v1/health", contentType: nil, body: []), 503, .overloaded)

        release.fire()
        _ = try await (first, second)
        try await Self.eventually { fixture.gateway.server.stats.inFlightHandlers == 0 }
        #expect(fixture.kernel.statsSnapshot().grants == grantsBefore + 2)
        // The connection is still usable once work drained.
        _ = try await alice.grantCapability(Demo.request("tasks.list"), justification: "")
        #expect(fixture.kernel.statsSnapshot().grants == grantsBefore + 3)
        await fixture.stop()
    }
}
