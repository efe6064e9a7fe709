import AgentKernel
import CapgateClient
import CapgateDrivers
import CapgateServer
import CapgateTesting
import Testing

/// `invoke_stream` through a driver host (`/v1/execute_stream`): the host's chunks stream end to
/// end through the kernel's firewall, an error line keeps the host's message, a client that
/// stops reading stops the host's driver, and a host driver that cannot stream (501) falls
/// back to one `execute`.
@Suite(.timeLimit(.minutes(2)))
struct HostStreamGatewayTests {
    @Test func aHostsStreamingDriverStreamsEndToEnd() async throws {
        let pki = try HostPKI()
        defer { pki.remove() }
        let streaming = GatewayStreamDriver(driverID: "remote")
        let plain = InMemoryDriver(driverID: "plainremote")
        plain.registerHandler("crm.lookup") { _ in [["id": 7, "note": "mail carol@example.com"]] }
        let host = try TestDriverHost(pki: pki.pki, name: "pydrivers", drivers: [streaming, plain])
        defer { host.stop() }
        let configure: (inout ServerConfig) throws -> Void = { c in
            for id in ["remote", "plainremote"] {
                c.drivers.append(.host(HostDriverConfig(
                    id: id, url: host.url, identity: pki.hostIdentity, caFile: pki.pki.caCertificatePath,
                    clientCertificate: pki.pki.agentCertificatePath("sidecar"),
                    clientPrivateKey: pki.pki.agentKeyPath("sidecar"), timeoutSeconds: 60)))
            }
            for id in ["stream.secret", "stream.fail_mid", "stream.hang"] {
                c.capabilities.append(.init(capability: Capability(
                    capabilityID: id, name: id, description: "streamed by a host", safetyClass: .read,
                    tags: ["stream"]), drivers: ["remote"]))
            }
            c.capabilities.append(.init(capability: Capability(
                capabilityID: "crm.lookup", name: "crm", description: "crm via a host", safetyClass: .read,
                tags: ["crm"]), drivers: ["plainremote"]))
        }
        try await withGateway(configure: configure) { gw in
            let alice = try gw.client("alice")
            func token(_ id: String) async throws -> CapabilityToken {
                try await alice.grantCapability(Demo.request(id), justification: "").token
            }

            var frames: [Frame] = []
            for try await f in alice.invokeStream(try await token("stream.secret"), responseMode: .table) { frames.append(f) }
            #expect(frames.map(\.isFinal) == [false, false, false, true])
            let text = frames.compactMap { $0.tablePreview.first?["text"]?.stringValue }.joined()
            #expect(!text.contains("example.com") && text.contains("[REDACTED]") && text.hasSuffix("tail"), "\(text)")
            let trace = try await alice.explain(actionID: try #require(frames.first?.actionID))
            #expect(trace.driverID == "remote" && trace.error == nil)

            do {
                for try await _ in alice.invokeStream(try await token("stream.fail_mid")) {}
                Issue.record("expected an error line")
            } catch let e as CapgateClientError {
                guard case .server(_, _, let code, _, let message) = e else { throw e }
                #expect(code == "driver_error" && message == "upstream lost, page [REDACTED]")
            }
            // Each stream is one driver call, counted when it ends (docs/operations.md).
            let exposed = gw.gateway.metrics.registry.prometheus.emitToString()
            #expect(exposed.contains("capgate_driver_calls_total{driver=\"remote\",outcome=\"ok\"} 1\n"), "\(exposed)")
            #expect(exposed.contains("capgate_driver_calls_total{driver=\"remote\",outcome=\"error\"} 1\n"))

            // The client stops: gateway stream reset -> kernel -> host stream reset -> driver.
            for try await _ in alice.invokeStream(try await token("stream.hang")) { break }
            for _ in 0..<300 where !streaming.hangCancelled.load(ordering: .relaxed) {
                try await Task.sleep(for: .milliseconds(10))
            }
            let cancelled = streaming.hangCancelled.load(ordering: .relaxed)
            #expect(cancelled)

            // 501 from the host: one execute, one final frame with a handle.
            var plainFrames: [Frame] = []
            for try await f in alice.invokeStream(try await token("crm.lookup"), responseMode: .table) { plainFrames.append(f) }
            #expect(plainFrames.count == 1)
            #expect(plainFrames.first?.isFinal == true && plainFrames.first?.handle != nil)
            #expect(plainFrames.first?.tablePreview.first?["note"] == "mail [REDACTED]")
        }
    }
}
