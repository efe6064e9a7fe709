import AgentKernel
import CapgateClient
import CapgateServer
import CapgateTesting
import CapgateWire
import Foundation
import KernelConformance
import Testing

@Suite(.timeLimit(.minutes(1)))
struct RestartAndShutdownTests {
    /// Revocations and the secret live in the state dir: after a restart a revoked token
    /// stays revoked and an unrevoked one still verifies.
    @Test func revocationsAndSecretSurviveARestart() async throws {
        let dir = try makeTempDirectory("restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The first run lives in its own scope: once stopped and released, its revocation
        // store closes the log (and its lock), as a process exit would.
        let (revoked, kept, bobToken, secret) = try await Self.firstRun(stateDir: dir)

        let second = try GatewayFixture(stateDir: dir)
        #expect(try second.secret == secret)
        let alice2 = try second.client("alice")
        await expectWireError(401, .tokenRevoked, type: "TokenRevoked") { _ = try await alice2.invoke(revoked) }
        await expectWireError(401, .tokenRevoked, type: "TokenRevoked") {
            _ = try await second.client("bob").invoke(bobToken)
        }
        _ = try frame(try await alice2.invoke(kept))
        await second.stop(removeState: false)
    }

    static func firstRun(stateDir: String) async throws -> (CapabilityToken, CapabilityToken, CapabilityToken, String) {
        let first = try GatewayFixture(stateDir: stateDir)
        let alice = try first.client("alice")
        let revoked = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
        let kept = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
        let bobToken = try await first.client("bob").grantCapability(Demo.request("tasks.list"), justification: "").token
        try await first.client("ops").revoke(tokenID: revoked.tokenID)
        #expect(try await first.client("ops").revokeAll(principalID: "bob") == 1)
        let secret = try first.secret
        await first.stop(removeState: false)
        return (revoked, kept, bobToken, secret)
    }

    /// `Gateway.shutdown()` stops accepting but lets the request in flight finish.
    @Test func gracefulShutdownFinishesTheRequestInFlight() async throws {
        let entered = AsyncEvent(), release = AsyncEvent()
        let gated = Capability(capabilityID: "gated.read", name: "Gated", description: "Waits for the test",
                               safetyClass: .read)
        let gw = try GatewayFixture(configure: { $0.capabilities.append(.init(capability: gated, drivers: ["gated"])) },
                                    kernel: { config in
            let k = try KernelFactory.makeKernel(config, secret: try SecretFile.loadOrCreate(path: config.secretFile))
            k.registerDriver(FixtureDriver(driverID: "gated") { _ in
                entered.fire()
                await release.wait()
                return [["id": 1, "done": true]]
            })
            return k
        })
        let alice = try gw.client("alice")
        let token = try await alice.grantCapability(Demo.request("gated.read"), justification: "").token
        let inFlight = Task { try await alice.invoke(token, responseMode: .table) }
        await entered.wait()
        gw.gateway.shutdown()
        #expect(!gw.gateway.server.isAcceptingConnections)
        _ = await gw.logger.waitForLine(containing: "graceful shutdown")
        release.fire()
        let f = try frame(try await inFlight.value)
        #expect(f.tablePreview == [["id": 1, "done": true]])
        // New connections are refused once draining.
        let late = try? gw.client("bob")
        if let late {
            await #expect(throws: (any Error).self) { _ = try await late.listCapabilities() }
        }
        await gw.stop()
    }
}
