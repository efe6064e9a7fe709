import AgentKernel
import CapgateServer
import CapgateTesting
import CapgateWire
import Foundation
import Testing

/// docs/examples/capgate.toml is complete and valid, for the loader and for the CLI.
@Suite(.timeLimit(.minutes(1)))
struct ConfigurationTests {
    static var example: String { packageRoot + "/docs/examples/capgate.toml" }

    @Test func theExampleLoads() throws {
        let c = try ServerConfig.load(path: Self.example)
        let dir = packageRoot + "/docs/examples"
        #expect(c.listenHost == "127.0.0.1" && c.listenPort == 8443 && c.eventLoops == 2)
        #expect(c.tls.trustBundle == dir + "/pki/ca.pem" && c.tls.crl == dir + "/pki/crl.pem")
        #expect(c.stateDir == dir + "/state" && c.secretFile == dir + "/state/secret")
        #expect(c.capabilities.map(\.capability.capabilityID) == ["billing.list_invoices", "tasks.list", "tasks.create"])
        #expect(c.identities.principal(for: "spiffe://capgate.local/agent/ops")?.roles == ["admin"])
        #expect(c.identities.principal(for: "spiffe://capgate.local/agent/x7")?.principalID == "agent-x7")
        #expect(c.identities.principal(for: "spiffe://other.td/agent/x7") == nil)
        #expect(c.budgetTotal == 100_000 && c.budgetDefaultRequest == 4000)
        #expect(c.limits.maxBodyBytesPerVerb["expand"] == 65_536)
        #expect(c.certificateExpiryWarning == 7 * 86_400)
        guard case .defaultEngine(let limits) = c.policy else { throw FixtureError("expected the default engine") }
        #expect(limits[.write] == RateLimit(limit: 10, windowSeconds: 60))
        var ops: [String: JSONValue] = [:]
        for d in c.drivers { if case .staticData(_, let o) = d { ops = o } }
        #expect(ops["tasks.create"] == ["created": true])
        #expect(ops["tasks.list"]?.arrayValue?.count == 1)
    }

    @Test func checkConfigAcceptsTheExampleAndNamesABadKey() async throws {
        let capgate = try #require(Products.executable("capgate"), "the capgate executable is not built next to the test bundle")
        let ok = try await runProcess(capgate, ["check-config", Self.example])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("ok: 3 capabilities, 2 drivers, 3 identity rules"))

        let dir = try makeTempDirectory("config")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try String(contentsOfFile: Self.example, encoding: .utf8)
            .replacingOccurrences(of: "requestTimeout = 15", with: "requestTimeout = 15\nrequestTimout = 3")
        try text.write(toFile: dir + "/bad.toml", atomically: true, encoding: .utf8)
        let bad = try await runProcess(capgate, ["check-config", dir + "/bad.toml"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("limits.requestTimout: unknown key"), "\(bad.stderr)")
    }
}
