import AgentKernel
import CSQLiteFaults
import CapgateClient
import CapgateServer
import CapgateStore
import CapgateTesting
import CapgateWire
import Foundation
import Testing

/// A disk full during a commit (docs/audit.md, "Fail closed"), injected honestly: a
/// pass-through SQLite VFS (Sources/CSQLiteFaults) makes every write to this test's state
/// directory fail with SQLITE_FULL, what SQLite returns for ENOSPC, exactly where the real
/// error would surface. No root, no real full filesystem, nothing skipped.
@Suite(.timeLimit(.minutes(1)))
struct AuditDiskFullTests {
    @Test func aFullDiskAnswersAuditUnavailableLosesNothingEarlierAndRecovers() async throws {
        #expect(capgate_sqlite_faults_install() == 0)
        try await withGateway { gw in
            defer { capgate_sqlite_faults_heal(gw.stateDir) }
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            var acknowledged: [String] = []
            for _ in 0..<3 { acknowledged.append(try frame(try await alice.invoke(token)).actionID) }

            let refusedBefore = capgate_sqlite_faults_refused()
            #expect(capgate_sqlite_faults_fail_writes(gw.stateDir) == 0)
            await expectWireError(503, .auditUnavailable, type: "AgentKernelError") { _ = try await alice.invoke(token) }
            // A denied grant is traced too: its denial is not answered as if it were on record.
            await expectWireError(503, .auditUnavailable, type: "AgentKernelError") {
                _ = try await alice.grantCapability(Demo.request("tasks.create"), justification: Demo.writeJustification)
            }
            #expect(capgate_sqlite_faults_refused() > refusedBefore, "the fault was never hit")
            // Reads are served; every acknowledged record is still there.
            for id in acknowledged { #expect(try await alice.explain(actionID: id).actionID == id) }
            #expect(try await alice.queryTraces(TraceQuery()).count == 3)

            capgate_sqlite_faults_heal(gw.stateDir)  // space again
            let after = try frame(try await alice.invoke(token)).actionID
            acknowledged.append(after)
            #expect(try await alice.explain(actionID: after).actionID == after)

            let reader = try AuditFileReader(path: gw.stateDir + "/audit.db")
            let verification = try reader.verify(secret: try gw.secret)
            #expect(verification.ok && verification.recordsChecked == 4, "\(verification)")
            #expect(try reader.traces().map(\.actionID) == acknowledged)
        }
    }
}
