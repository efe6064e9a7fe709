import AgentKernel
import CapgateClient
import CapgateDrivers
import CapgateServer
import CapgateTesting
import Foundation
import Synchronization
import Testing

/// The HTTP driver inside the running sidecar: an agent invokes through the gateway, the
/// tool server answers, and the kernel's guarantees hold around it: fallback to a second
/// driver, PII in the tool's answer redacted in the frame and in the trace, and the
/// driver's secret header absent from every answer and every log line.
@Suite(.timeLimit(.minutes(1)))
struct HTTPDriverGatewayTests {
    static let secret = "Bearer gw-secret-\(UUID().uuidString)"

    static func configure(_ config: inout ServerConfig, base: String, dead: String) {
        let auth = HTTPHeader(name: "authorization", value: secret, isSecret: true)
        // `down` refuses connections; `crm` serves. The capability tries them in that order.
        config.drivers.append(.http(HTTPDriverConfig(id: "down", headers: [auth],
                                                     endpoints: ["crm.customers": HTTPEndpoint(url: dead + "/pii")])))
        config.drivers.append(.http(HTTPDriverConfig(
            id: "crm", timeoutSeconds: 5, headers: [auth],
            endpoints: ["crm.customers": HTTPEndpoint(url: base + "/pii"),
                        "crm.failing": HTTPEndpoint(url: base + "/pii-error"),
                        "crm.slow": HTTPEndpoint(url: base + "/slow", timeoutSeconds: 30)])))
        for (id, drivers) in [("crm.customers", ["down", "crm"]), ("crm.failing", ["crm"]), ("crm.slow", ["crm"])] {
            config.capabilities.append(.init(
                capability: Capability(capabilityID: id, name: id, description: "customers from the CRM tool",
                                       safetyClass: .read),
                drivers: drivers))
        }
    }

    @Test func invokeThroughTheGatewayFallsBackAndRedacts() async throws {
        let base = try await ToolServer.baseURL()
        let dead = "http://127.0.0.1:\(try ToolServer.deadPort())"
        try await withGateway(configure: { Self.configure(&$0, base: base, dead: dead) }) { gw in
            let alice = try gw.client("alice")
            let grant = try await alice.grantCapability(Demo.request("crm.customers"), justification: "")
            let f = try frame(try await alice.invoke(grant.token, args: ["segment": "smb"], responseMode: .table))

            // The tool's rows, with the email field and the email inside free text redacted.
            #expect(f.tablePreview.count == 2)
            #expect(f.tablePreview.first?["email"] == "[REDACTED]")
            #expect(f.tablePreview.first?["note"] == "call ann at [REDACTED]")
            #expect(f.tablePreview.first?["id"] == 1)
            #expect(!"\(f)".contains("ann@example.com"))

            let trace = try await alice.explain(actionID: f.actionID)
            #expect(trace.driverID == "crm", "the refused first driver fell back to the second")
            #expect(trace.error == nil && trace.args["segment"] == "smb")
            #expect(try await alice.stats().fallbackActivations == 1)

            // A failing tool: the DriverError carrying the tool's PII is redacted in the trace.
            let failing = try await alice.grantCapability(Demo.request("crm.failing"), justification: "")
            var message = ""
            do {
                _ = try await alice.invoke(failing.token)
                Issue.record("the failing tool should fail the invoke")
            } catch let e as CapgateClientError {
                message = e.description
            }
            #expect(message.contains("HTTP 500 from \(base)/pii-error"), "\(message)")
            // The error answer leaves through the firewall's string patterns too (docs/design.md).
            #expect(message.contains("lookup failed for [REDACTED]") && !message.contains("ann@example.com"), "\(message)")
            let traces = try await alice.queryTraces(TraceQuery(capabilityID: "crm.failing"))
            let failed = try #require(traces.last?.error)
            #expect(failed.contains("HTTP 500") && failed.contains("[REDACTED]") && !failed.contains("ann@example.com"),
                    "\(failed)")

            // The secret header went to the tool, but it is in no answer and no log line.
            for text in [message, failed, "\(trace)"] + gw.logger.lines {
                #expect(!text.contains("gw-secret"), "\(text)")
            }
        }
    }

    /// A tool that does not answer holds only its own invoke: the same agent connection keeps
    /// being served while the tool call is outstanding (the curl thread, not an event loop or
    /// a pool thread, waits on the tool). When the agent goes away, the invoke is cancelled
    /// and recorded as such, long before the tool would have answered.
    @Test func slowToolDoesNotBlockOtherCallsAndIsCancelledWithItsAgent() async throws {
        let base = try await ToolServer.baseURL()
        let dead = "http://127.0.0.1:\(try ToolServer.deadPort())"
        let stats = try HTTPDriver(config: HTTPDriverConfig(id: "stats", endpoints: ["stats": HTTPEndpoint(url: base + "/stats")]))
        func slowStarted() async throws -> Int {
            try await stats.execute(ExecutionContext(capabilityID: "stats", principalID: "t")).data["slow_started"]?.intValue ?? -1
        }
        try await withGateway(configure: { Self.configure(&$0, base: base, dead: dead) }) { gw in
            let testStart = ContinuousClock.now
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("crm.slow"), justification: "").token
            let before = try await slowStarted()
            let finished = Flag()
            let slow = Task {
                defer { finished.value.store(true, ordering: .relaxed) }
                return try await alice.invoke(token)
            }
            // Poll the tool (bounded) until the slow request has reached it.
            let end = ContinuousClock.now + .seconds(10)
            while try await slowStarted() <= before, ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(5)) }
            try #require(try await slowStarted() > before, "the slow invoke never reached the tool")

            for _ in 0..<20 { #expect(try await alice.listCapabilities().count == 7) }
            let stillWaiting = !finished.value.load(ordering: .relaxed)
            #expect(stillWaiting, "the tool answers after 10 s; the invoke must still be waiting")

            // The agent disconnects: its streams end, the kernel task is cancelled, the curl
            // transfer is dropped, and the trace says so.
            alice.close()
            _ = try? await slow.value
            let traceEnd = ContinuousClock.now + .seconds(5)
            var error: String?
            while error == nil, ContinuousClock.now < traceEnd {
                error = try gw.kernel.queryTraces(TraceQuery(capabilityID: "crm.slow")).first?.error
                if error == nil { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(error == "invocation cancelled")
            #expect(ContinuousClock.now - testStart < .seconds(9), "cancellation waited for the tool")
        }
    }
}

private final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
