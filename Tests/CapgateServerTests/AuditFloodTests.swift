import AgentKernel
import CSQLite
import CapgateClient
import CapgateServer
import CapgateStore
import CapgateTesting
import Foundation
import Testing

/// The attack of issue 12 against size-based retention (docs/audit.md, "Retention and
/// floods"): 10,001 denied grants by one principal must neither erase nor crowd out another
/// principal's records. With `max_bytes` the chain is pruned oldest first, so only the
/// per-principal cap on deny traces protects the others; the same flood without the cap
/// shows the test can fail.
@Suite(.timeLimit(.minutes(2)))
struct AuditFloodTests {
    static let maxBytes = 256 * 1024
    static let mallory = Principal(principalID: "mallory", roles: [], attributes: ["tenant": "acme"])

    /// alice's acknowledged invokes, then mallory's flood straight into the shared kernel
    /// (10,001 requests through the network would measure the transport, not the audit).
    static func flood(_ gw: GatewayFixture) async throws -> [String] {
        let alice = try gw.client("alice")
        let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
        var mine: [String] = []
        for _ in 0..<10 { mine.append(try frame(try await alice.invoke(token)).actionID) }
        for _ in 0..<10_001 {
            #expect(throws: KernelError.self) {
                _ = try gw.kernel.grantCapability(Demo.request("tasks.create"), principal: mallory,
                                                  justification: Demo.writeJustification)
            }
        }
        try await gw.kernel.traces.waitUntilDurable()
        return mine
    }

    @Test func tenThousandDeniedGrantsNeitherEraseNorCrowdOutAnotherPrincipal() async throws {
        try await withGateway(configure: { $0.audit.retention = AuditRetention(maxBytes: Self.maxBytes) }) { gw in
            let mine = try await Self.flood(gw)
            let limiter = try #require(gw.kernel.denialTraces)
            #expect(limiter.perWindow == 100)
            #expect(limiter.suppressedTotal == 10_001 - 100)
            #expect(gw.kernel.statsSnapshot().denials >= 10_001)  // every denial still counted and answered
            let alice = try gw.client("alice"), ops = try gw.client("ops")
            for id in mine { #expect(try await alice.explain(actionID: id).actionID == id) }
            #expect(try await ops.queryTraces(TraceQuery(principalID: "mallory")).count == 100)

            let secret = try gw.secret
            let reader = try AuditFileReader(path: gw.stateDir + "/audit.db")
            #expect(try reader.verify(secret: secret).ok)
            let ref = try await runProcess(packageRoot + "/.venv/bin/weaver-kernel",
                                           ["audit", "verify", "--store", gw.stateDir + "/audit.db", "--format", "sqlite",
                                            "--secret", secret])
            #expect(ref.status == 0 && ref.stdout.hasPrefix("OK: Verified"), "\(ref.stdout) \(ref.stderr)")
        }
    }

    @Test func withoutTheCapTheSameFloodPushesTheOthersOut() async throws {
        try await withGateway(configure: {
            $0.audit.retention = AuditRetention(maxBytes: Self.maxBytes)
            $0.audit.denialTracesPerMinute = nil
        }) { gw in
            let mine = try await Self.flood(gw)
            let ops = try gw.client("ops")
            let left = try await ops.queryTraces(TraceQuery(principalID: "alice")).map(\.actionID)
            #expect(Set(left).isDisjoint(with: mine), "max_bytes pruning kept alice's oldest records")
            // The pruned chain still verifies from its checkpoint, with both CLIs.
            let secret = try gw.secret
            let v = try AuditFileReader(path: gw.stateDir + "/audit.db").verify(secret: secret)
            #expect(v.ok && v.recordsChecked < 10_001, "\(v)")
            let ref = try await runProcess(packageRoot + "/.venv/bin/weaver-kernel",
                                           ["audit", "verify", "--store", gw.stateDir + "/audit.db", "--format", "sqlite",
                                            "--secret", secret])
            #expect(ref.status == 0 && ref.stdout.hasPrefix("OK: Verified"), "\(ref.stdout) \(ref.stderr)")
            // Pruning runs on the writer right after the waiters of a commit are answered.
            var bytes = try liveBytes(gw.stateDir + "/audit.db")
            for _ in 0..<100 where bytes > Self.maxBytes {
                try await Task.sleep(for: .milliseconds(50))
                bytes = try liveBytes(gw.stateDir + "/audit.db")
            }
            #expect(bytes <= Self.maxBytes)
        }
    }
}

/// The database's live pages (page_count - freelist_count) x page_size, read-only.
func liveBytes(_ path: String) throws -> Int {
    var db: OpaquePointer?
    guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else { throw CocoaError(.fileReadUnknown) }
    defer { sqlite3_close_v2(db) }
    func pragma(_ name: String) -> Int {
        var s: OpaquePointer?
        guard sqlite3_prepare_v2(db, "PRAGMA " + name, -1, &s, nil) == SQLITE_OK else { return -1 }
        defer { sqlite3_finalize(s) }
        return sqlite3_step(s) == SQLITE_ROW ? Int(sqlite3_column_int64(s, 0)) : -1
    }
    return pragma("page_size") * (pragma("page_count") - pragma("freelist_count"))
}
