import AgentKernel
import CapgateClient
import CapgateDrivers
import CapgateServer
import CapgateTesting
import Testing

/// A `type = "host"` driver inside the whole sidecar: the gateway on loopback routes a
/// capability to a driver host (`TestDriverHost`), with a static fallback, so fallback,
/// traces and redaction are exercised exactly as for an in-process driver.
@Suite(.timeLimit(.minutes(2)))
struct HostDriverGatewayTests {
    static func remote() -> InMemoryDriver {
        let d = InMemoryDriver(driverID: "remote")
        d.registerHandler("crm.lookup") { ctx in
            [["id": 7, "note": "reach me at carol@example.com", "asked": ctx.args["note"] ?? nil]]
        }
        d.registerHandler("crm.flaky") { _ in throw KernelError(.driverError, "backend down, ask dave@example.com") }
        return d
    }

    static func configure(_ pki: HostPKI, _ host: TestDriverHost) -> (inout ServerConfig) throws -> Void {
        { c in
            c.drivers.append(.host(HostDriverConfig(
                id: "remote", url: host.url, identity: pki.hostIdentity, caFile: pki.pki.caCertificatePath,
                clientCertificate: pki.pki.agentCertificatePath("sidecar"),
                clientPrivateKey: pki.pki.agentKeyPath("sidecar"), timeoutSeconds: 60)))
            c.drivers.append(.staticData(id: "backup", operations: ["crm.flaky": [["id": 1, "source": "backup"]]]))
            for (id, drivers) in [("crm.lookup", ["remote"]), ("crm.flaky", ["remote", "backup"]),
                                  ("crm.broken", ["remote"])] {
                c.capabilities.append(.init(capability: Capability(
                    capabilityID: id, name: id, description: "crm via a driver host", safetyClass: .read,
                    tags: ["crm"]), drivers: drivers))
            }
        }
    }

    @Test func invokeFallbackTracesAndRedactionThroughAHost() async throws {
        let pki = try HostPKI()
        defer { pki.remove() }
        let host = try TestDriverHost(pki: pki.pki, name: "pydrivers", drivers: [Self.remote()])
        defer { host.stop() }
        try await withGateway(configure: Self.configure(pki, host)) { gw in
            let alice = try gw.client("alice")

            // Success: the host's PII is redacted in the frame and the caller's in the trace.
            let t1 = try await alice.grantCapability(Demo.request("crm.lookup"), justification: "").token
            let f = try frame(try await alice.invoke(t1, args: ["note": "from erin@example.com"], responseMode: .table))
            #expect(f.tablePreview.first?["note"] == "reach me at [REDACTED]")
            #expect(f.tablePreview.first?["asked"] == "from [REDACTED]")
            #expect(!f.warnings.isEmpty)
            let trace = try await alice.explain(actionID: f.actionID)
            #expect(trace.driverID == "remote" && trace.error == nil)
            #expect(trace.args["note"] == "from [REDACTED]")

            // The host's driver fails: the fallback serves, the trace names it.
            let t2 = try await alice.grantCapability(Demo.request("crm.flaky"), justification: "").token
            let g = try frame(try await alice.invoke(t2, responseMode: .table))
            #expect(g.tablePreview.first?["source"] == "backup")
            #expect(try await alice.explain(actionID: g.actionID).driverID == "backup")

            // No fallback: the host's message, unchanged but redacted, inside the reference's text.
            let t3 = try await alice.grantCapability(Demo.request("crm.broken"), justification: "").token
            do {
                _ = try await alice.invoke(t3, args: ["operation": "crm.flaky"])
                Issue.record("expected a driver error")
            } catch let e as CapgateClientError {
                #expect(e.status == 502 && e.code == "driver_error" && e.type == "DriverError")
                guard case .server(_, _, _, _, let message) = e else { throw e }
                #expect(message == "All drivers failed for capability 'crm.broken'. Last error: "
                            + "Handler for operation='crm.flaky' raised: backend down, ask [REDACTED]", "\(e)")
            }
            let failed = try await alice.queryTraces(TraceQuery()).filter { $0.capabilityID == "crm.broken" }
            #expect(failed.count == 1)
            #expect(failed.first?.driverID == "remote")
            #expect(failed.first?.error?.hasSuffix("backend down, ask [REDACTED]") == true)

            let stats = try await alice.stats()
            #expect(stats.fallbackActivations >= 1, "\(stats)")
            #expect(host.connectionsSeen.count == 1, "every invoke shared one connection to the host")
        }
    }

    @Test func configFileDeclaresAHostDriver() throws {
        let text = """
            [tls]
            certificate = "pki/server.pem"
            private_key = "pki/server.key"
            trust_bundle = "pki/ca.pem"
            [secret]
            file = "secret"
            [[identity]]
            spiffe_id = "spiffe://capgate.local/agent/alice"
            principal_id = "alice"
            [[driver]]
            id = "billing"
            type = "host"
            url = "https://127.0.0.1:9100"
            identity = "spiffe://capgate.local/driver-host/pydrivers"
            client_certificate = "pki/agents/sidecar.pem"
            client_private_key = "pki/agents/sidecar.key"
            timeout_s = 2.5
            [[capability]]
            capability_id = "billing.list_invoices"
            name = "List"
            description = "d"
            safety_class = "READ"
            drivers = ["billing"]
            """
        let c = try ServerConfig.parse(text, baseDirectory: "/etc/capgate")
        guard case .host(let h) = try #require(c.drivers.first) else { throw FixtureError("expected a host driver") }
        #expect(h == HostDriverConfig(id: "billing", url: "https://127.0.0.1:9100",
                                      identity: "spiffe://capgate.local/driver-host/pydrivers",
                                      caFile: "/etc/capgate/pki/ca.pem",
                                      clientCertificate: "/etc/capgate/pki/agents/sidecar.pem",
                                      clientPrivateKey: "/etc/capgate/pki/agents/sidecar.key", timeoutSeconds: 2.5,
                                      maxResponseBytes: 1 << 20))
        func error(_ edit: (String) -> String) -> String {
            do {
                _ = try ServerConfig.parse(edit(text), baseDirectory: "/etc/capgate")
                return ""
            } catch { return error.description }
        }
        #expect(error { $0.replacingOccurrences(of: "https://127", with: "http://127") }
                    .contains("driver[0].url"))
        #expect(error { $0.replacingOccurrences(of: "timeout_s = 2.5", with: "timeout_s = 0") }
                    .contains("driver[0].timeout_s"))
        #expect(error { $0.replacingOccurrences(of: "timeout_s = 2.5", with: "tiemout_s = 1") }
                    .contains("driver[0].tiemout_s: unknown key"))
        #expect(error { $0.replacingOccurrences(of: "client_private_key = \"pki/agents/sidecar.key\"", with: "") }
                    .contains("driver[0].client_private_key: is required"))
    }
}
