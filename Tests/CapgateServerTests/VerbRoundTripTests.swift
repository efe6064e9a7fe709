import AgentKernel
import CapgateClient
import CapgateServer
import CapgateWire
import Testing

/// Every v1 verb through `CapgateClient` against the embedded demo (`DemoConfig`): the
/// shapes decode into the kernel models and carry what the demo pins.
@Suite(.timeLimit(.minutes(1)))
struct VerbRoundTripTests {
    @Test func discoveryGrantInvokeExpandExplain() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice")
            #expect(try await alice.health())

            let caps = try await alice.listCapabilities()
            #expect(caps.map(\.capabilityID) == DemoConfig.capabilities.map(\.capability.capabilityID))
            #expect(caps.first?.sensitivity == .pii)

            let suggested = try await alice.requestCapabilities(goal: "list invoices")
            #expect(suggested.first?.capabilityID == "billing.list_invoices")

            // The grant carries the principal as the SERVER resolved it.
            let grant = try await alice.grantCapability(Demo.request("billing.list_invoices"), justification: "")
            #expect(grant.principal == Principal(principalID: "alice", roles: ["reader"], attributes: ["tenant": "acme"]))
            #expect(grant.decision.allowed && grant.decision.reasonCode == "default_policy_allow")
            #expect(grant.token.principalID == "alice" && grant.token.auditID == grant.auditID)
            #expect(grant.token.constraints["max_rows"] == .int(50))
            #expect(grant.token.constraints["allowed_fields"]?.arrayValue?.count == 6)

            // Dry run: verified, nothing executed.
            let dry = try await alice.invoke(grant.token, args: Demo.listInvoices, responseMode: .table, dryRun: true)
            guard case .dryRun(let d) = dry else { throw FixtureError("expected a dry run") }
            #expect(d.operation == "list_invoices" && d.driverID == "billing")
            #expect(d.policyDecision.reasonCode == "token_verified")
            #expect(d.budgetRemaining == 100_000)
            #expect(try await alice.queryTraces(TraceQuery()).isEmpty, "a dry run leaves no trace")

            let f = try frame(try await alice.invoke(grant.token, args: Demo.listInvoices, responseMode: .table))
            #expect(f.responseMode == .table && f.isFinal)
            #expect(!f.tablePreview.isEmpty)
            let allowed = Set(["id", "customer_name", "amount", "currency", "status", "date"])
            #expect(f.tablePreview.allSatisfy { Set($0.keys).isSubset(of: allowed) }, "PII fields are cut")
            let handle = try #require(f.handle)
            #expect(handle.principalID == "alice" && handle.totalRows == 200)

            let page = try await alice.expand(handleID: handle.handleID, query: ["limit": 2, "fields": ["id", "amount"]])
            #expect(page.tablePreview.count == 2)
            #expect(page.tablePreview.allSatisfy { Array($0.keys) == ["id", "amount"] })

            let trace = try await alice.explain(actionID: f.actionID)
            #expect(trace.principalID == "alice" && trace.capabilityID == "billing.list_invoices")
            #expect(trace.eventType == .invoke && trace.handleID == handle.handleID)

            let denial = try await alice.explainDenial(Demo.request("tasks.create"), justification: "short")
            #expect(denial.denied && denial.reasonCode == "missing_role" && denial.ruleName == "write-roles")
            let fine = try await alice.explainDenial(Demo.request("tasks.list"))
            #expect(!fine.denied)
        }
    }

    @Test func tracesAreScopedToTheCallerUnlessAdmin() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice"), bob = try gw.client("bob"), ops = try gw.client("ops")
            let ta = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            let fa = try frame(try await alice.invoke(ta))
            #expect(fa.facts.isEmpty == false)
            let tb = try await bob.grantCapability(Demo.request("tasks.create"),
                                                   justification: Demo.writeJustification).token
            let fb = try frame(try await bob.invoke(tb, responseMode: .table))
            #expect(fb.tablePreview == [["created": true]])

            let mine = try await alice.queryTraces(TraceQuery())
            #expect(mine.map(\.actionID) == [fa.actionID])
            #expect(try await alice.queryTraces(TraceQuery(principalID: "bob")).isEmpty)
            await expectWireError(404, .traceNotFound, type: "AgentKernelError") {
                _ = try await alice.explain(actionID: fb.actionID)
            }
            let all = try await ops.queryTraces(TraceQuery())
            #expect(Set(all.map(\.principalID)) == ["alice", "bob"])
            #expect(try await ops.queryTraces(TraceQuery(principalID: "bob")).map(\.actionID) == [fb.actionID])
            #expect(try await ops.explain(actionID: fb.actionID).principalID == "bob")

            let stats = try await ops.stats()
            #expect(stats.grants == 2 && stats.invocations == 2 && stats.handleStores == 2)
        }
    }

    @Test func revokeAndRevokeAllNeedAdmin() async throws {
        try await withGateway { gw in
            let alice = try gw.client("alice"), bob = try gw.client("bob"), ops = try gw.client("ops")
            let ta = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            let tb1 = try await bob.grantCapability(Demo.request("tasks.list"), justification: "").token
            let tb2 = try await bob.grantCapability(Demo.request("billing.summarize_spend"), justification: "").token

            await expectWireError(403, .forbidden, type: "AgentKernelError") {
                try await alice.revoke(tokenID: ta.tokenID)
            }
            await expectWireError(403, .forbidden, type: "AgentKernelError") {
                _ = try await bob.revokeAll(principalID: "alice")
            }
            _ = try frame(try await alice.invoke(ta))  // still valid: the refusals changed nothing

            try await ops.revoke(tokenID: ta.tokenID)
            await expectWireError(401, .tokenRevoked, type: "TokenRevoked") { _ = try await alice.invoke(ta) }

            #expect(try await ops.revokeAll(principalID: "bob") == 2)
            #expect(try await ops.revokeAll(principalID: "bob") == 0, "only newly revoked tokens count")
            for t in [tb1, tb2] {
                await expectWireError(401, .tokenRevoked, type: "TokenRevoked") { _ = try await bob.invoke(t) }
            }
        }
    }
}
