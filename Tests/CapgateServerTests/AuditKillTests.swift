import AgentKernel
import CapgateClient
import CapgatePKI
import CapgateTesting
import CapgateWire
import Foundation
import Synchronization
import Testing

/// kill -9 under load (docs/audit.md): `capgate serve` runs the demo while agents invoke and
/// an admin revokes; it is SIGKILLed at a random moment, three times, and restarted. Every
/// acknowledged action id must still be explainable, every acknowledged revocation must hold,
/// every acknowledged invoke's budget spend must still be charged, and the chain must verify
/// with ours and the reference's CLI.
@Suite(.timeLimit(.minutes(3)))
struct AuditKillTests {
    final class Acks: Sendable {
        let actions = Mutex<[String]>([])
        let revoked = Mutex<[CapabilityToken]>([])
    }

    static func client(_ dir: String, _ agent: String, _ port: UInt16) throws -> CapgateClient {
        let pki = PKIDirectory(path: dir + "/pki")
        return try CapgateClient(host: "127.0.0.1", port: port, certificate: pki.agentCertificatePath(agent),
                                 key: pki.agentKeyPath(agent), trustBundle: pki.caCertificatePath)
    }

    /// Starts `capgate serve` on the demo in `dir` and waits until it answers.
    static func serve(_ dir: String) async throws -> (Process, UInt16) {
        let capgate = try #require(Products.executable("capgate"), "capgate is not built")
        let port = try freeLoopbackPort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: capgate)
        p.arguments = ["serve", "--state-dir", dir, "--listen", "127.0.0.1:\(port)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        for _ in 0..<300 {
            if FileManager.default.fileExists(atPath: dir + "/pki/agents/ops.pem"),
               let c = try? client(dir, "ops", port) {
                defer { c.close() }
                if (try? await c.health()) == true { return (p, port) }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        p.terminate()
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "capgate serve did not come up"])
    }

    /// The principal's budget left, from a dry run (which reserves and spends nothing).
    static func remaining(_ c: CapgateClient) async throws -> Int {
        let t = try await c.grantCapability(Demo.request("tasks.list"), justification: "").token
        guard case .dryRun(let d) = try await c.invoke(t, dryRun: true) else { throw FixtureError("expected a dry run") }
        return try #require(d.budgetRemaining)
    }

    @Test func everyAcknowledgedActionAndRevocationSurvivesSIGKILL() async throws {
        let dir = try makeTempDirectory("kill9")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let acks = Acks()
        // Every tasks.list invoke spends the same (the demo data is fixed): measured once.
        var budget = (total: 0, perInvoke: 0)
        for round in 0..<3 {
            let (proc, port) = try await Self.serve(dir)
            // A failed expectation or a throw must not leave the server running after the test.
            defer { if proc.isRunning { kill(proc.processIdentifier, SIGKILL) } }
            let alice = try Self.client(dir, "alice", port), ops = try Self.client(dir, "ops", port)
            if round == 0 {
                let before = try await Self.remaining(alice)
                let t = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
                let id = try frame(try await alice.invoke(t)).actionID
                acks.actions.withLock { $0.append(id) }
                budget = (before, before - (try await Self.remaining(alice)))
                #expect(budget.perInvoke > 0)
            }
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            while !Task.isCancelled {
                                do {
                                    let t = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
                                    let f = try frame(try await alice.invoke(t))
                                    acks.actions.withLock { $0.append(f.actionID) }
                                } catch { return }
                            }
                        }
                    }
                    group.addTask {
                        while !Task.isCancelled {
                            do {
                                let t = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
                                try await ops.revoke(tokenID: t.tokenID)
                                acks.revoked.withLock { $0.append(t) }
                            } catch { return }
                        }
                    }
                }
            }
            // Kill at a random moment once this round has acknowledged something of each kind
            // (a loaded machine may take a while to get there).
            let (a0, r0) = (acks.actions.withLock { $0.count }, acks.revoked.withLock { $0.count })
            for _ in 0..<600 {
                if acks.actions.withLock({ $0.count }) >= a0 + 5 && acks.revoked.withLock({ $0.count }) >= r0 + 1 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...400)))
            kill(proc.processIdentifier, SIGKILL)
            try await runBlocking { proc.waitUntilExit() }  // never block the cooperative pool
            #expect(proc.terminationReason == .uncaughtSignal)
            load.cancel()
            await load.value
            alice.close()
            ops.close()
        }
        let actions = acks.actions.withLock { $0 }, revoked = acks.revoked.withLock { $0 }
        #expect(actions.count > 10 && revoked.count > 3, "load too light: \(actions.count) invokes, \(revoked.count) revokes")

        let (proc, port) = try await Self.serve(dir)
        defer { if proc.isRunning { proc.terminate() } }
        let alice = try Self.client(dir, "alice", port), ops = try Self.client(dir, "ops", port)
        for id in actions {
            let t = try await ops.explain(actionID: id)
            #expect(t.actionID == id && t.principalID == "alice")
        }
        for t in revoked {
            await expectWireError(401, .tokenRevoked, type: "TokenRevoked") { _ = try await alice.invoke(t) }
        }
        // Spends of unacknowledged invokes may be durable too, so at least (capped at the total).
        let spent = budget.total - (try await Self.remaining(alice))
        #expect(spent >= min(budget.total, actions.count * budget.perInvoke),
                "\(actions.count) acknowledged invokes of \(budget.perInvoke) tokens, \(spent) charged after restart")
        alice.close()
        ops.close()
        proc.terminate()
        try await runBlocking { proc.waitUntilExit() }

        let secret = try String(contentsOfFile: dir + "/secret", encoding: .utf8)
            .trimmingCharacters(in: .newlines)
        let ref = try await runProcess(packageRoot + "/.venv/bin/weaver-kernel",
                                       ["audit", "verify", "--store", dir + "/audit.db", "--format", "sqlite",
                                        "--secret", secret])
        #expect(ref.status == 0 && ref.stdout.hasPrefix("OK: Verified"), "\(ref.stdout) \(ref.stderr)")
        let capgate = try #require(Products.executable("capgate"))
        let ours = try await runProcess(capgate, ["audit", "verify", "--store", dir + "/audit.db"])
        #expect(ours.status == 0 && ours.stdout.hasPrefix("OK: Verified"), "\(ours.stdout) \(ours.stderr)")
    }
}
