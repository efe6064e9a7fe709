import AgentKernel
import CapgateClient
import CapgateServer
import CapgateTesting
import CapgateWire
import Foundation
import Testing

/// The kill switches through a real sidecar (docs/operations.md): every refusal is seen on
/// other, already-open connections on the very next request, survives a restart, is audited,
/// and only admins throw them.
@Suite(.timeLimit(.minutes(2)))
struct KillSwitchGatewayTests {
    static let paused = "PolicyDenied"

    @Test func pausedPrincipalIsRefusedOnAnotherOpenConnectionIncludingLaterTokensAndAfterRestart() async throws {
        let dir = try makeTempDirectory("ks")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The first run in a function of its own: its kernel (and the revocation log's lock) is
        // released before the restart.
        let (before, later) = try await Self.firstRun(stateDir: dir)

        // A restart with the same state dir keeps the pause.
        let gw2 = try GatewayFixture(stateDir: dir)
        let alice2 = try gw2.client("alice"), ops2 = try gw2.client("ops")
        await expectWireError(403, .principalPaused, type: Self.paused) { _ = try await alice2.invoke(before) }
        #expect(try await ops2.listPaused()["principals"]?.arrayValue?.first?["id"] == "alice")

        // Resume restores, on the already-open connection, for the old and the later token.
        let resumed = try await ops2.resume(.principal("alice"))
        #expect(resumed["principals"] == [])
        _ = try frame(try await alice2.invoke(before))
        _ = try frame(try await alice2.invoke(later))

        // Each switch is audited under the admin's principal.
        let records = try await ops2.queryTraces(TraceQuery(capabilityID: KernelService.killSwitchCapabilityID))
        #expect(records.map { $0.args["action"] } == ["pause_principal", "resume_principal"])
        #expect(records.allSatisfy { $0.principalID == "ops" && $0.error == nil })
        #expect(records.first?.args["target"] == ["principal_id": "alice"])
        await gw2.stop(removeState: false)
    }

    static func firstRun(stateDir dir: String) async throws -> (CapabilityToken, CapabilityToken) {
        let gw = try GatewayFixture(stateDir: dir)
        let alice = try gw.client("alice"), bob = try gw.client("bob"), ops = try gw.client("ops")
        // Connections opened and used before the pause.
        let before = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
        _ = try frame(try await alice.invoke(before))
        _ = try await bob.listCapabilities()

        let answer = try await ops.pause(.principal("alice"), reason: "incident 42")
        #expect(answer["principals"]?.arrayValue?.first?["id"] == "alice")
        #expect(answer["principals"]?.arrayValue?.first?["reason"] == "incident 42")
        #expect(answer["principals"]?.arrayValue?.first?["paused_by"] == "ops")
        // The very next request on alice's open connection: the old token, any verb.
        await expectWireError(403, .principalPaused, type: Self.paused, reasonCode: "principal_paused") {
            _ = try await alice.invoke(before)
        }
        await expectWireError(403, .principalPaused, type: Self.paused) { _ = try await alice.listCapabilities() }
        await expectWireError(403, .principalPaused, type: Self.paused) {
            _ = try await alice.grantCapability(Demo.request("tasks.list"), justification: "")
        }
        // A token issued after the pause (in process: the wire refuses alice's grants) is refused too,
        // from alice and from anyone holding it.
        let later = try gw.kernel.grantCapability(Demo.request("tasks.list"), principal: Principal(principalID: "alice"),
                                                  justification: "").token
        await expectWireError(403, .principalPaused, type: Self.paused) { _ = try await alice.invoke(later) }
        await expectWireError(403, .principalPaused, type: Self.paused) { _ = try await bob.invoke(later) }
        do {
            _ = try await alice.invoke(later)
        } catch let e as CapgateClientError {
            #expect("\(e)".contains("'alice' is paused"), "the message names the pause: \(e)")
            #expect(!"\(e)".contains("incident 42"), "the operator's reason is not sent to the agent")
        }
        // Others are untouched; health stays up.
        let bobToken = try await bob.grantCapability(Demo.request("tasks.list"), justification: "").token
        _ = try frame(try await bob.invoke(bobToken))
        #expect(try await alice.health())
        await gw.stop(removeState: false)
        return (before, later)
    }

    @Test func onlyAdminsThrowOrListSwitches() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice"), ops = try gw.client("ops")
            for call: WireRequest in [.operations(.pause(.principal("bob"), reason: "")),
                                      .operations(.pause(.all, reason: "")), .operations(.resume(.all)),
                                      .operations(.listPaused), .operations(.status)] {
                await expectWireError(403, .forbidden, type: "AgentKernelError") { _ = try await alice.call(call) }
            }
            #expect(try await ops.listPaused() == ["all": nil, "capabilities": [], "principals": []])
            // Mistakes are refused: an unknown capability, the admin's own principal.
            await expectWireError(404, .capabilityNotFound, type: "CapabilityNotFound") {
                _ = try await ops.pause(.capability("billing.typo"))
            }
            await expectWireError(400, .invalidRequest, type: "AgentKernelError") { _ = try await ops.pause(.principal("ops")) }
            #expect(gw.gateway.service.killSwitches.current.isEmpty)
        }
    }

    @Test func pausedCapabilityRefusesItsGrantsAndInvokesOnly() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice"), ops = try gw.client("ops")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            _ = try await ops.pause(.capability("tasks.list"), reason: "driver leaking")
            await expectWireError(403, .capabilityPaused, type: Self.paused, reasonCode: "capability_paused") {
                _ = try await alice.invoke(token)
            }
            await expectWireError(403, .capabilityPaused, type: Self.paused) {
                _ = try await alice.grantCapability(Demo.request("tasks.list"), justification: "")
            }
            let stream = try await raw(alice, "/v1/invoke_stream",
                                       String(decoding: (["token": token.json] as JSONValue).serializedBytes(), as: UTF8.self))
            expectEnvelope(stream, 403, .capabilityPaused, type: Self.paused)
            #expect(stream.json?["error"]?["message"]?.stringValue?.contains("'tasks.list' is paused") == true)
            // Other capabilities and reads go on.
            let other = try await alice.grantCapability(Demo.request("billing.list_invoices"), justification: "").token
            _ = try frame(try await alice.invoke(other, args: Demo.listInvoices))
            #expect(try await alice.listCapabilities().count == 4)
            _ = try await ops.resume(.capability("tasks.list"))
            _ = try frame(try await alice.invoke(token))
        }
    }

    @Test func pauseAllLeavesHealthAndAdminVerbs() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice"), ops = try gw.client("ops")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            _ = try await ops.pause(.all, reason: "maintenance")
            await expectWireError(503, .gatewayPaused, type: Self.paused, reasonCode: "gateway_paused") {
                _ = try await alice.invoke(token)
            }
            await expectWireError(503, .gatewayPaused, type: Self.paused) { _ = try await alice.listCapabilities() }
            await expectWireError(503, .gatewayPaused, type: Self.paused) { _ = try await ops.listCapabilities() }
            #expect(try await alice.health())
            let status = try await ops.status()
            #expect(status["paused"]?["all"]?["reason"] == "maintenance")
            try await ops.revoke(tokenID: "whatever")  // admin verbs are served
            _ = try await ops.resume(.all)
            _ = try frame(try await alice.invoke(token))
        }
    }

    /// The state file cannot be written (a directory stands at its name): 503, never 200; the
    /// pause holds in this process, a resume is not applied; both are audited as failed.
    @Test func aSwitchThatCannotBePersistedFailsClosed() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice"), ops = try gw.client("ops")
            let file = gw.stateDir + "/" + KillSwitches.fileName
            _ = try await ops.pause(.principal("bob"))
            try FileManager.default.removeItem(atPath: file)
            try FileManager.default.createDirectory(atPath: file + "/blocker", withIntermediateDirectories: true)
            await expectWireError(503, .killSwitchUnavailable, type: "AgentKernelError") {
                _ = try await ops.pause(.principal("alice"))
            }
            await expectWireError(403, .principalPaused, type: Self.paused) { _ = try await alice.listCapabilities() }
            await expectWireError(503, .killSwitchUnavailable, type: "AgentKernelError") {
                _ = try await ops.resume(.principal("bob"))
            }
            #expect(gw.gateway.service.killSwitches.current.isPaused(.principal("bob")), "a failed resume is not applied")
            let failed = try await ops.queryTraces(TraceQuery(capabilityID: KernelService.killSwitchCapabilityID,
                                                              outcome: "failed"))
            #expect(failed.count == 2)
        }
    }

    @Test func statusReportsTheGateway() async throws {
        try await withGateway { gw in
            let ops = try gw.client("ops"), alice = try gw.client("alice")
            _ = try await alice.listCapabilities()
            let s = try await ops.status()
            #expect((s["uptime_seconds"]?.intValue ?? -1) >= 0)
            #expect((s["connections"]?["active"]?.intValue ?? 0) >= 2)
            #expect(s["config"]?["tls_generation"]?.intValue == Int(gw.gateway.server.tlsGeneration))
            #expect(s["config"]?["identity_rules"] == 3)
            #expect(s["certificates"]?["server"]?["seconds_left"]?.intValue ?? 0 > 86_400)
            #expect(s["certificates"]?["crl"]?["checking"] == true)
            #expect(s["certificates"]?["trust_bundle"]?.arrayValue?.count == 1)
            let clients = s["certificates"]?["clients"]?.arrayValue?.compactMap { $0["identity"]?.stringValue } ?? []
            #expect(Set(clients) == [demoID("ops"), demoID("alice")])
            #expect(s["store"]?["healthy"] == true)
            #expect(s["store"]?["kind"] == "sqlite")
            #expect(s["paused"]?["all"] == .null)
        }
    }

    /// `capgate status`, `pause` and `resume` as an operator runs them, against the sidecar.
    @Test func cliCallsTheAdminVerbs() async throws {
        try await withGateway { gw in
            let capgate = try #require(Products.executable("capgate"), "capgate is not built")
            let conn = ["--server", "127.0.0.1:\(gw.port)", "--state-dir", gw.stateDir]
            let pause = try await runProcess(capgate, ["pause", "principal", "bob", "--reason", "suspicious"] + conn)
            #expect(pause.status == 0, "\(pause.stderr)")
            #expect(pause.stdout.contains("paused principal bob since"), "\(pause.stdout)")
            #expect(gw.gateway.service.killSwitches.current.isPaused(.principal("bob")))
            let status = try await runProcess(capgate, ["status"] + conn)
            #expect(status.status == 0, "\(status.stderr)")
            for line in ["uptime: ", "connections: ", "server certificate: expires", "CRL: next update",
                         "paused principal bob", "audit store: sqlite"] {
                #expect(status.stdout.contains(line), "\(line) in \(status.stdout)")
            }
            let json = try await runProcess(capgate, ["paused", "--json"] + conn)
            #expect(try JSONParser.parse(json.stdout)["principals"]?.arrayValue?.first?["id"] == "bob")
            let resume = try await runProcess(capgate, ["resume", "principal", "bob"] + conn)
            #expect(resume.status == 0 && resume.stdout.contains("nothing paused"), "\(resume.stdout)\(resume.stderr)")
            // A non-admin certificate is refused with the wire's 403.
            let pki = gw.stateDir + "/pki/agents"
            let denied = try await runProcess(capgate, ["pause", "all", "--cert", pki + "/alice.pem", "--key",
                                                        pki + "/alice.key"] + conn)
            #expect(denied.status == 1 && denied.stderr.contains("forbidden"), "\(denied.stderr)")
            let usage = try await runProcess(capgate, ["pause", "principal"] + conn)
            #expect(usage.status == 2)
        }
    }
}

/// From outside: a `capgate serve` process, the switch thrown with the `capgate` CLI, and a
/// SIGKILL right after the 200 (the state is fsynced before the answer, so it survives).
@Suite(.timeLimit(.minutes(2)))
struct KillSwitchProcessTests {
    @Test func aPauseThrownWithTheCLISurvivesSIGKILL() async throws {
        let dir = try makeTempDirectory("ks-proc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let capgate = try #require(Products.executable("capgate"), "capgate is not built")
        do {
            let (proc, port) = try await AuditKillTests.serve(dir)
            defer { if proc.isRunning { kill(proc.processIdentifier, SIGKILL) } }
            let alice = try AuditKillTests.client(dir, "alice", port)
            defer { alice.close() }
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            _ = try frame(try await alice.invoke(token))
            let pause = try await runProcess(capgate, ["pause", "principal", "alice", "--server", "127.0.0.1:\(port)",
                                                       "--state-dir", dir])
            #expect(pause.status == 0, "\(pause.stderr)")
            await expectWireError(403, .principalPaused, type: "PolicyDenied") { _ = try await alice.invoke(token) }
            kill(proc.processIdentifier, SIGKILL)
            try await runBlocking { proc.waitUntilExit() }
        }
        let (proc, port) = try await AuditKillTests.serve(dir)
        defer { if proc.isRunning { kill(proc.processIdentifier, SIGKILL) } }
        let alice = try AuditKillTests.client(dir, "alice", port)
        defer { alice.close() }
        await expectWireError(403, .principalPaused, type: "PolicyDenied") { _ = try await alice.listCapabilities() }
        let status = try await runProcess(capgate, ["status", "--server", "127.0.0.1:\(port)", "--state-dir", dir])
        #expect(status.stdout.contains("paused principal alice"), "\(status.stdout)\(status.stderr)")
        let resume = try await runProcess(capgate, ["resume", "principal", "alice", "--server", "127.0.0.1:\(port)",
                                                    "--state-dir", dir])
        #expect(resume.status == 0, "\(resume.stderr)")
        #expect(try await alice.listCapabilities().count == 4)
        proc.terminate()
        try await runBlocking { proc.waitUntilExit() }
    }
}
