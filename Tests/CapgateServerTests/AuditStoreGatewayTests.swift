import AgentKernel
import CSQLite
import CapgateClient
import CapgateServer
import CapgateStore
import CapgateTesting
import CapgateWire
import Foundation
import Testing

/// The durable audit trail through the whole sidecar (docs/audit.md): the embedded default
/// writes `<state_dir>/audit.db`, explain reads it across a restart, the reference's CLI
/// verifies it with the secret file, a tampered file refuses to start, and a store that cannot
/// commit answers traced verbs with `audit_unavailable` while reads keep being served, then
/// resumes the chain once commits succeed again.
@Suite(.timeLimit(.minutes(1)))
struct AuditStoreGatewayTests {
    static var cli: String { packageRoot + "/.venv/bin/weaver-kernel" }

    @Test func tracesSurviveARestartAndTheReferenceVerifiesTheFile() async throws {
        let dir = try makeTempDirectory("audit-gw")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Each run lives in its own scope so its revocation log lock is released, as at exit.
        let (actionID, secret) = try await Self.firstRun(stateDir: dir)
        #expect(FileManager.default.fileExists(atPath: dir + "/audit.db"))

        let second = try await Self.restart(stateDir: dir)
        let alice2 = try second.client("alice")
        let trace = try await alice2.explain(actionID: actionID)
        #expect(trace.capabilityID == "tasks.list" && trace.principalID == "alice")
        let all = try await alice2.queryTraces(TraceQuery())
        #expect(all.map(\.eventType) == [.invoke, .deny])
        await second.stop(removeState: false)

        let r = try await runProcess(Self.cli, ["audit", "verify", "--store", dir + "/audit.db", "--format", "sqlite",
                                                "--secret", secret, "--json"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let v = try JSONParser.parse(r.stdout)
        #expect(v["ok"] == .bool(true) && v["records_checked"] == .int(2), "\(r.stdout)")

        // Ours agrees, reading the secret file next to the store.
        let capgate = try #require(Products.executable("capgate"), "capgate is not built")
        let ours = try await runProcess(capgate, ["audit", "verify", "--store", dir + "/audit.db", "--json"])
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(try JSONParser.parse(ours.stdout) == v)
        let show = try await runProcess(capgate, ["audit", "show", actionID, "--store", dir + "/audit.db"])
        #expect(try ActionTrace(exported: try JSONParser.parse(show.stdout)) == trace)
        let denied = try await runProcess(capgate, ["audit", "export", "--store", dir + "/audit.db", "--status", "failed"])
        let lines = denied.stdout.split(separator: "\n")
        try #require(lines.count == 1, "\(denied.stdout)")
        let deny = try JSONParser.parse(String(lines[0]))
        #expect(deny["event_type"] == "deny")
        let list = try await runProcess(capgate, ["audit", "list", "--store", dir + "/audit.db", "--principal", "alice"])
        #expect(list.stdout.contains(actionID) && list.stdout.contains("ACTION_ID"), "\(list.stdout)")
        // Byte-for-byte the reference's export lines.
        let refExport = try await runProcess(Self.cli, ["audit", "export", "--store", dir + "/audit.db", "--format", "sqlite"])
        let ourExport = try await runProcess(capgate, ["audit", "export", "--store", dir + "/audit.db"])
        #expect(refExport.status == 0 && ourExport.stdout == refExport.stdout, "\(ourExport.stdout)\n\(refExport.stdout)")
    }

    /// A request task of the first run can hold its kernel (and so the revocation log's lock)
    /// for a moment after the drain; a real restart is a new process, so wait that out.
    static func restart(stateDir: String) async throws -> GatewayFixture {
        for _ in 0..<100 {
            do {
                return try GatewayFixture(stateDir: stateDir)
            } catch let e where "\(e)".contains("already in use") {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        return try GatewayFixture(stateDir: stateDir)
    }

    static func firstRun(stateDir: String) async throws -> (String, String) {
        let first = try GatewayFixture(stateDir: stateDir)
        let alice = try first.client("alice")
        let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
        let f = try frame(try await alice.invoke(token, responseMode: .table))
        await expectWireError(403, .policyDenied, type: "PolicyDenied", reasonCode: "missing_role") {
            _ = try await alice.grantCapability(Demo.request("tasks.create"), justification: Demo.writeJustification)
        }
        let secret = try first.secret
        await first.stop(removeState: false)
        return (f.actionID, secret)
    }

    @Test func aTamperedDatabaseRefusesToStartNamingTheRecord() async throws {
        let dir = try makeTempDirectory("audit-gw")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await Self.firstRun(stateDir: dir)  // seq 0: the invoke, seq 1: the denial
        var extra: OpaquePointer?
        #expect(sqlite3_open(dir + "/audit.db", &extra) == SQLITE_OK)
        // A forged third row copied from the second: its seq and link are wrong for the chain.
        #expect(sqlite3_exec(extra, "INSERT INTO traces SELECT 2, 'forged', prev_hash, record_hash, invoked_at, payload "
                                    + "FROM traces WHERE seq = 1", nil, nil, nil) == SQLITE_OK)
        sqlite3_close(extra)
        do {
            let g = try await Self.restart(stateDir: dir)
            await g.stop(removeState: false)
            Issue.record("a gateway started on a tampered audit store")
        } catch let e as AuditStoreError {
            #expect(e.message.contains("failed at seq 2") && e.message.contains("Broken link"), "\(e.message)")
        }
        let capgate = try #require(Products.executable("capgate"), "capgate is not built")
        let ours = try await runProcess(capgate, ["audit", "verify", "--store", dir + "/audit.db"])
        #expect(ours.status == 1)
        #expect(ours.stdout.hasPrefix("TAMPER DETECTED: Broken link at seq 2"), "\(ours.stdout)")
    }

    @Test func aStoreThatCannotCommitFailsTracedVerbsClosedKeepsServingReadsAndResumes() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            _ = try await alice.invoke(token)
            // Another connection holds the write lock past the store's busy timeout: every
            // commit fails while it does.
            var db: OpaquePointer?
            #expect(sqlite3_open(gw.stateDir + "/audit.db", &db) == SQLITE_OK)
            // Waits for the store's own writer if it is mid-commit (a checkpoint, the last
            // invoke's record) rather than failing at once with SQLITE_BUSY under load.
            sqlite3_busy_timeout(db, 10_000)
            #expect(sqlite3_exec(db, "BEGIN EXCLUSIVE", nil, nil, nil) == SQLITE_OK)
            await expectWireError(503, .auditUnavailable, type: "AgentKernelError") { _ = try await alice.invoke(token) }
            // A stream never completes as if its trace were kept: after its frame (HTTP 200 is
            // already out) it ends with the audit_unavailable line instead.
            do {
                for try await _ in alice.invokeStream(token) {}
                Issue.record("the stream completed although its trace could not be made durable")
            } catch let e as CapgateClientError {
                #expect(e.code == WireErrorCode.auditUnavailable.rawValue, "\(e)")
            }
            // Reads are still served from what is on disk.
            #expect(try await alice.listCapabilities().count == 4)
            #expect(try await alice.queryTraces(TraceQuery()).count == 1)
            sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
            sqlite3_close(db)
            // The lock is gone: the chain resumes from the last durable record.
            let resumed = try frame(try await alice.invoke(token))
            #expect(try await alice.explain(actionID: resumed.actionID).actionID == resumed.actionID)
            #expect(try await alice.queryTraces(TraceQuery()).count == 2)
            #expect(try AuditFileReader(path: gw.stateDir + "/audit.db").verify(secret: try gw.secret).ok)
        }
    }
}

/// A revocation that cannot be written to the revocation log answers 503
/// `revocation_unavailable`, never 200, and is still enforced by the running process.
@Suite(.timeLimit(.minutes(1)))
struct RevocationFailClosedTests {
    @Test func aRevokeWhoseWriteFailsAnswersRevocationUnavailable() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice"), ops = try gw.client("ops")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            let other = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            try await ops.revoke(tokenID: other.tokenID)  // works while the disk does
            // Break the log's descriptor behind the store's back (writes then fail, EBADF).
            let path = gw.stateDir + "/revocations.log"
            let fd = try #require(openDescriptor(of: (path as NSString).resolvingSymlinksInPath))
            let devnull = open("/dev/null", O_RDONLY)
            #expect(dup2(devnull, fd) == fd)
            close(devnull)
            await expectWireError(503, .revocationUnavailable, type: "AgentKernelError") {
                try await ops.revoke(tokenID: token.tokenID)
            }
            await expectWireError(503, .revocationUnavailable, type: "AgentKernelError") {
                _ = try await ops.revokeAll(principalID: "bob")
            }
            // In force in this process all the same; reads keep being served.
            await expectWireError(401, .tokenRevoked, type: "TokenRevoked") { _ = try await alice.invoke(token) }
            #expect(try await alice.listCapabilities().count == 4)
        }
    }
}

/// The descriptor this process holds on `path`, found through /proc.
func openDescriptor(of path: String) -> Int32? {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return nil }
    for name in names {
        guard let fd = Int32(name),
              let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)") else { continue }
        if target == path { return fd }
    }
    return nil
}
