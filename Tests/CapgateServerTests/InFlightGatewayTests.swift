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

    struct Gates: Sendable {
        let held = AsyncEvent()
        let release = AsyncEvent()
        let cancelled = AsyncEvent()
    }

    /// Waits (bounded) until `condition` holds.
    static func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }

    /// Sends `body` to grant_capability with a client deadline that resets the stream
    /// (RST_STREAM CANCEL) while the handler is held, then lets the handler run on and waits
    /// until it ended.
    static func resetWhileHeld(_ fixture: GatewayFixture, _ alice: CapgateClient, body: [UInt8],
                               _ g: Gates) async throws {
        await #expect(throws: (any Error).self) {
            _ = try await alice.connection.send(path: "/v1/grant_capability",
                                                headers: [(name: "content-type", value: "application/json")],
                                                body: body, timeout: .milliseconds(300))
        }
        await g.held.wait()
        #expect(fixture.gateway.server.stats.inFlightHandlers == 1)
        await g.cancelled.wait()  // the server saw the RST_STREAM and cancelled the handler task
        g.release.fire()
        try await Self.eventually { fixture.gateway.server.stats.inFlightHandlers == 0 }
    }

    @Test func grantResetBeforeTheKernelMintsNoTokenAndWritesNoTrace() async throws {
        let fixture = try GatewayFixture()
        let gates = Mutex(Gates())
        fixture.gateway.service.setHoldBeforeKernel { verb in
            guard verb == .grantCapability else { return }
            let g = gates.withLock { $0 }
            // Ignores cancellation (the work is "still running"), but reports it.
            await withTaskCancellationHandler {
                g.held.fire()
                await g.release.wait()
            } onCancel: {
                g.cancelled.fire()
            }
        }
        func rearm() -> Gates { gates.withLock { $0 = Gates(); return $0 } }
        let alice = try fixture.client("alice")
        let before = fixture.kernel.statsSnapshot()
        let tracesBefore = try await alice.queryTraces(TraceQuery()).count

        // A grant the policy allows: would mint a token (a success writes no trace).
        try await Self.resetWhileHeld(fixture, alice, body: Self.grantBody, rearm())
        #expect(fixture.kernel.statsSnapshot().grants == before.grants, "a reset grant minted a token")

        // A grant the policy denies (write without justification): would write a deny trace.
        let denied: JSONValue = ["request": Demo.request("tasks.create").json, "justification": ""]
        try await Self.resetWhileHeld(fixture, alice, body: Array(denied.serialized().utf8), rearm())
        #expect(fixture.kernel.statsSnapshot().denials == before.denials, "a reset grant reached the policy")
        #expect(try await alice.queryTraces(TraceQuery()).count == tracesBefore, "a reset grant wrote a trace")

        // The same requests, not reset, on the same connection: they pass the same hold and commit.
        rearm().release.fire()
        let granted = try await alice.grantCapability(Demo.request("tasks.list"), justification: "")
        #expect(!granted.token.tokenID.isEmpty)
        #expect(fixture.kernel.statsSnapshot().grants == before.grants + 1)
        expectEnvelope(try await raw(alice, "/v1/grant_capability", denied.serialized()), 403, .policyDenied,
                       type: "PolicyDenied")
        #expect(fixture.kernel.statsSnapshot().denials == before.denials + 1)
        #expect(try await alice.queryTraces(TraceQuery()).count == tracesBefore + 1)
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

    @Test func globalInFlightCapAnswersOverloadedOnAnotherConnection() async throws {
        let fixture = try GatewayFixture { $0.limits.maxInFlightGlobal = 1 }
        let g = Gates()
        fixture.gateway.service.setHoldBeforeKernel { verb in
            guard verb == .grantCapability else { return }
            g.held.fire()
            await g.release.wait()
        }
        let alice = try fixture.client("alice")
        let bob = try fixture.client("bob")
        async let first = alice.grantCapability(Demo.request("tasks.list"), justification: "")
        await g.held.wait()
        // bob's connection is far below its own cap; the gateway-wide one is full.
        expectEnvelope(try await raw(bob, "GET", "/v1/health", contentType: nil, body: []), 503, .overloaded)
        #expect(fixture.gateway.server.stats.trips["in_flight_cap_global"] == 1)
        #expect(fixture.gateway.server.stats.trips["in_flight_cap_connection"] == nil)
        g.release.fire()
        _ = try await first
        try await Self.eventually { fixture.gateway.server.stats.inFlightHandlers == 0 }
        #expect(try await raw(bob, "GET", "/v1/health", contentType: nil, body: []).status == 200)
        await fixture.stop()
    }
}
