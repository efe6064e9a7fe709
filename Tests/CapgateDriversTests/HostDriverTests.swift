import AgentKernel
import CapgateConnection
import CapgateDrivers
import CapgateTesting
import Foundation
import Testing

/// The sidecar side of the driver-host protocol against a real host (`TestDriverHost`, our
/// own server transport serving Swift drivers) on loopback.
@Suite(.timeLimit(.minutes(2)))
struct HostDriverTests {
    static func billing(_ id: String = "billing") -> InMemoryDriver {
        let d = InMemoryDriver(driverID: id)
        d.registerHandler("list_invoices") { ctx in
            ["rows": [["id": 1, "owner": .string(ctx.principalID)]], "echo": .object(ctx.args)]
        }
        d.registerHandler("boom") { _ in throw KernelError(.driverError, "upstream exploded: alice@example.com") }
        d.registerHandler("slow") { _ in
            try await Task.sleep(for: .seconds(120))
            return "late"
        }
        return d
    }

    /// A generous default timeout: the suite runs in parallel on 2 cores and a first call also
    /// connects and handshakes; tests of the timeout itself pass a small one.
    static func config(_ pki: HostPKI, url: String, id: String = "billing", identity: String? = nil,
                       timeout: Double = 60, maxBytes: Int = 1 << 20) -> HostDriverConfig {
        HostDriverConfig(id: id, url: url, identity: identity ?? pki.hostIdentity, caFile: pki.pki.caCertificatePath,
                         clientCertificate: pki.pki.agentCertificatePath("sidecar"),
                         clientPrivateKey: pki.pki.agentKeyPath("sidecar"), timeoutSeconds: timeout,
                         maxResponseBytes: maxBytes)
    }

    static let ctx = ExecutionContext(capabilityID: "billing.list_invoices", principalID: "alice",
                                      args: ["operation": "list_invoices", "status": "open"],
                                      constraints: ["max_rows": 5], actionID: "act-1")

    /// Runs `body` with a PKI and a started host, and cleans both up.
    static func withHost(name: String = "pydrivers", drivers: [any Driver] = [billing()],
                         answer: (@Sendable (HTTPRequest) async -> HTTPResponse?)? = nil,
                         _ body: (HostPKI, TestDriverHost) async throws -> Void) async throws {
        let pki = try HostPKI()
        let host = try TestDriverHost(pki: pki.pki, name: name, drivers: drivers, answerOverride: answer)
        do {
            try await body(pki, host)
        } catch {
            try? await runBlocking { host.stop() }
            pki.remove()
            throw error
        }
        try? await runBlocking { host.stop() }
        pki.remove()
    }

    func driverError(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let e as KernelError {
            #expect(e.kind == .driverError)
            return e.message
        } catch {
            Issue.record("expected a KernelError, got \(error)")
            return nil
        }
    }

    @Test func successCarriesTheExecutionContextAndReturnsTheRawResult() async throws {
        try await Self.withHost { pki, host in
            let driver = try HostDriver(config: Self.config(pki, url: host.url), pool: HostChannelPool())
            let raw = try await driver.execute(Self.ctx)
            #expect(raw.capabilityID == "billing.list_invoices")
            #expect(raw.data["rows"] == [["id": 1, "owner": "alice"]])
            #expect(raw.data["echo"] == ["operation": "list_invoices", "status": "open"])
            #expect(raw.metadata == [:])
            // The request body: exactly these keys, in this order.
            let sent = try #require(host.lastRequest?.objectValue)
            #expect(sent.keys == ["driver_id", "operation", "context"])
            #expect(sent["driver_id"] == "billing" && sent["operation"] == "list_invoices")
            #expect(sent["context"]?.objectValue?.keys == ["capability_id", "principal_id", "args", "constraints",
                                                            "action_id"])
            #expect(sent["context"]?["constraints"] == ["max_rows": 5])
            #expect(sent["context"]?["action_id"] == "act-1")
        }
    }

    @Test func anErrorAnswerBecomesADriverErrorWithTheMessageUnchanged() async throws {
        try await Self.withHost { pki, host in
            let driver = try HostDriver(config: Self.config(pki, url: host.url), pool: HostChannelPool())
            var ctx = Self.ctx
            ctx.args = ["operation": "boom"]
            let message = await driverError { _ = try await driver.execute(ctx) }
            #expect(message == "Handler for operation='boom' raised: upstream exploded: alice@example.com")
            // A driver the host does not serve.
            let other = try HostDriver(config: Self.config(pki, url: host.url, id: "crm"), pool: HostChannelPool())
            let missing = await driverError { _ = try await other.execute(Self.ctx) }
            #expect(missing == "Driver host has no driver 'crm'.")
        }
    }

    @Test func aSlowHostFailsWithinTimeout() async throws {
        try await Self.withHost { pki, host in
            let pool = HostChannelPool()
            let driver = try HostDriver(config: Self.config(pki, url: host.url, timeout: 0.5), pool: pool)
            var ctx = Self.ctx
            ctx.args = ["operation": "slow"]
            let started = ContinuousClock.now
            let message = await driverError { _ = try await driver.execute(ctx) }
            #expect(message == "Driver host 'billing': no answer within 0.5s")
            // Bounded, not hung (the slow handler never answers); generous for a loaded machine.
            #expect(ContinuousClock.now - started < .seconds(60))
            // The connection survives a timed-out stream: the next call succeeds on it (a driver
            // with a patient timeout on the same pool, so a loaded machine cannot fail it).
            let patient = try HostDriver(config: Self.config(pki, url: host.url, timeout: 30), pool: pool)
            _ = try await patient.execute(Self.ctx)
            #expect(host.connectionsSeen.count == 1)
        }
    }

    @Test func aHostWithAnotherIdentityIsRefusedBeforeAnyRequest() async throws {
        try await Self.withHost(name: "impostor") { pki, host in
            // Same CA, valid chain and name: only the SPIFFE ID differs.
            let driver = try HostDriver(config: Self.config(pki, url: host.url), pool: HostChannelPool())
            let message = await driverError { _ = try await driver.execute(Self.ctx) }
            #expect(message == "Driver host 'billing': host identity spiffe://capgate.local/driver-host/impostor "
                        + "is not the configured spiffe://capgate.local/driver-host/pydrivers")
            #expect(host.executeCount == 0, "no request reached the wrong host")
        }
    }

    @Test func aDownHostFailsFastAndBacksOff() async throws {
        let pki = try HostPKI()
        defer { pki.remove() }
        let host = try TestDriverHost(pki: pki.pki, name: "pydrivers", drivers: [Self.billing()])
        let url = host.url
        try await runBlocking { host.stop() }
        let driver = try HostDriver(config: Self.config(pki, url: url, timeout: 2), pool: HostChannelPool())
        let started = ContinuousClock.now
        let first = try #require(await driverError { _ = try await driver.execute(Self.ctx) })
        #expect(first.hasPrefix("Driver host 'billing': cannot connect: "), "\(first)")
        // Within the backoff window the next call fails too, never hangs.
        let second = try #require(await driverError { _ = try await driver.execute(Self.ctx) })
        #expect(second.hasPrefix("Driver host 'billing': "))
        // Fails fast rather than waiting out the timeouts; generous for a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func reconnectsAfterTheHostDropsTheConnection() async throws {
        try await Self.withHost { pki, host in
            let pool = HostChannelPool()
            let driver = try HostDriver(config: Self.config(pki, url: host.url), pool: pool)
            _ = try await driver.execute(Self.ctx)
            // The host drains every connection (GOAWAY + close); the next call reconnects.
            host.server.drainConnections(reason: .serverShutdown) { _ in true }
            try await Task.sleep(for: .milliseconds(300))
            _ = try await driver.execute(Self.ctx)
            #expect(host.connectionsSeen.count == 2)
        }
    }

    @Test func hundredConcurrentInvokesShareOneConnection() async throws {
        try await Self.withHost(drivers: [Self.billing(), Self.billing("billing2")]) { pki, host in
            let pool = HostChannelPool()
            // Two driver ids naming the same (url, identity) share the channel too.
            let a = try HostDriver(config: Self.config(pki, url: host.url), pool: pool)
            let b = try HostDriver(config: Self.config(pki, url: host.url, id: "billing2"), pool: pool)
            let ok = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<100 {
                    group.addTask {
                        var ctx = Self.ctx
                        ctx.actionID = "act-\(i)"
                        let raw = try await (i % 2 == 0 ? a : b).execute(ctx)
                        return raw.data["rows"] == [["id": 1, "owner": "alice"]]
                    }
                }
                var n = 0
                for try await r in group where r { n += 1 }
                return n
            }
            #expect(ok == 100)
            #expect(host.executeCount == 100)
            #expect(host.connectionsSeen.count == 1, "\(host.connectionsSeen)")
        }
    }

    @Test func malformedOversizedAndNon200AnswersAreDriverErrors() async throws {
        let answer: @Sendable (HTTPRequest) async -> HTTPResponse? = { request in
            guard let v = try? JSONParser.parse(request.body), let op = v["operation"]?.stringValue else { return nil }
            switch op {
            case "status": return .json(503, #"{"data": 1, "metadata": {}}"#)
            case "shape": return .json(200, #"{"data": 1, "metadata": {}, "extra": true}"#)
            case "notjson": return .json(200, "<html>")
            case "big": return .json(200, #"{"data": ""# + String(repeating: "x", count: 5000) + #"", "metadata": {}}"#)
            case "meta": return .json(200, #"{"data": 1, "metadata": {"k": "v"}}"#)
            default: return nil
            }
        }
        try await Self.withHost(answer: answer) { pki, host in
            let driver = try HostDriver(config: Self.config(pki, url: host.url, maxBytes: 1000), pool: HostChannelPool())
            func run(_ op: String) async -> String? {
                var ctx = Self.ctx
                ctx.args = ["operation": .string(op)]
                return await driverError { _ = try await driver.execute(ctx) }
            }
            #expect(await run("status") == "Driver host 'billing': HTTP 503 from /v1/execute")
            #expect(await run("shape") == "Driver host 'billing': malformed answer: answer must be {\"data\", \"metadata\"} or {\"error\"}")
            #expect(await run("notjson")?.hasPrefix("Driver host 'billing': malformed answer: answer is not valid JSON") == true)
            #expect(await run("big") == "Driver host 'billing': answer larger than 1000 bytes")
            var ctx = Self.ctx
            ctx.args = ["operation": "meta"]
            let raw = try await driver.execute(ctx)
            #expect(raw.data == 1 && raw.metadata == ["k": "v"])
            // Every failure above left the shared connection usable.
            #expect(host.connectionsSeen.count == 1)
        }
    }

    @Test func configurationIsCheckedAtConstruction() throws {
        let pki = try HostPKI()
        defer { pki.remove() }
        let pool = HostChannelPool()
        #expect(throws: HostDriverSetupError.self) {
            try HostDriver(config: Self.config(pki, url: "http://127.0.0.1:9100"), pool: pool)
        }
        #expect(throws: HostDriverSetupError.self) {
            try HostDriver(config: Self.config(pki, url: "https://tools.example.com:9100"), pool: pool)
        }
        #expect(throws: HostDriverSetupError.self) {
            try HostDriver(config: Self.config(pki, url: "https://127.0.0.1:9100", identity: "pydrivers"), pool: pool)
        }
        var missing = Self.config(pki, url: "https://127.0.0.1:9100")
        missing.clientCertificate = pki.dir + "/nope.pem"
        #expect(throws: HostDriverSetupError.self) { try HostDriver(config: missing, pool: pool) }
        // One (url, identity) cannot present two client identities.
        _ = try HostDriver(config: Self.config(pki, url: "https://127.0.0.1:9100"), pool: pool)
        var other = Self.config(pki, url: "https://127.0.0.1:9100", id: "x")
        other.clientCertificate = pki.pki.hostCertificatePath("impostor")
        other.clientPrivateKey = pki.pki.hostKeyPath("impostor")
        #expect(throws: HostDriverSetupError.self) { try HostDriver(config: other, pool: pool) }
    }
}
