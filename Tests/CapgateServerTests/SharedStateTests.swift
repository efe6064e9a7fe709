import AgentKernel
import CapgateClient
import CapgateServer
import CapgateWire
import Testing

/// One kernel behind every connection: revocation, rate windows and handles are shared.
@Suite(.timeLimit(.minutes(1)))
struct SharedStateTests {
    @Test func revocationByOneClientIsSeenOnAnotherConnection() async throws {
        try await withGateway { gw in
            let aliceA = try gw.client("alice"), aliceB = try gw.client("alice"), ops = try gw.client("ops")
            let token = try await aliceA.grantCapability(Demo.request("tasks.list"), justification: "").token
            _ = try frame(try await aliceB.invoke(token))  // a token is not bound to a connection
            try await ops.revoke(tokenID: token.tokenID)
            await expectWireError(401, .tokenRevoked, type: "TokenRevoked") { _ = try await aliceB.invoke(token) }
            await expectWireError(401, .tokenRevoked, type: "TokenRevoked") { _ = try await aliceA.invoke(token) }
        }
    }

    @Test func twoConnectionsOfOnePrincipalShareOneRateWindow() async throws {
        let limits: [SafetyClass: RateLimit] = [.read: RateLimit(limit: 3, windowSeconds: 600)]
        try await withGateway(configure: { $0.policy = .defaultEngine(rateLimits: limits) }) { gw in
            let a = try gw.client("alice"), b = try gw.client("alice")
            _ = try await a.grantCapability(Demo.request("tasks.list"), justification: "")
            _ = try await b.grantCapability(Demo.request("tasks.list"), justification: "")
            _ = try await a.grantCapability(Demo.request("tasks.list"), justification: "")
            for c in [a, b] {
                await expectWireError(429, .rateLimited, type: "PolicyDenied", reasonCode: "rate_limited") {
                    _ = try await c.grantCapability(Demo.request("tasks.list"), justification: "")
                }
            }
            let stats = try await gw.client("ops").stats()
            #expect(stats.grants == 3 && stats.denials == 2)
        }
    }

    @Test func concurrentCallsOnOneConnectionAndAcrossConnections() async throws {
        try await withGateway { gw in
            let clients = [try gw.client("alice"), try gw.client("alice"), try gw.client("bob")]
            let tokens = try await withThrowingTaskGroup(of: CapabilityToken.self) { group in
                for c in clients {
                    group.addTask { try await c.grantCapability(Demo.request("tasks.list"), justification: "").token }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(tokens.map(\.tokenID)).count == 3)
            let frames = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<24 {
                    let c = clients[i % 2]  // alice's two connections
                    let t = tokens.first { $0.principalID == "alice" }!
                    group.addTask { try frame(try await c.invoke(t)).facts.count }
                }
                return try await group.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
            }
            #expect(frames == 24)
            #expect(try await gw.client("ops").stats().invocations == 24)
        }
    }
}
