import AgentKernel
import CapgateConnection
import CapgateServer
import CapgateWire
import Foundation
import Synchronization
import Testing

/// `explain` keeps the serialized answer of a trace it explained: the bytes must be those of
/// the trace the store returns now, also when a trace with the same action id changed.
@Suite(.timeLimit(.minutes(1)))
struct ExplainAnswerCacheTests {
    /// A store whose one trace the test replaces at will.
    final class SwappableStore: TraceStoring, Sendable {
        let current: Mutex<ActionTrace>
        init(_ t: ActionTrace) { current = Mutex(t) }
        func record(_ trace: ActionTrace) {}
        func get(_ actionID: String) throws(KernelError) -> ActionTrace {
            let t = current.withLock { $0 }
            guard t.actionID == actionID else {
                throw KernelError(.agentKernelError, "No action trace found for action_id='\(actionID)'.", site: .traceNotFound)
            }
            return t
        }
        func list() -> [ActionTrace] { [current.withLock { $0 }] }
        func query(_ q: TraceQuery) throws(KernelError) -> [ActionTrace] { try q.apply(to: list()) }
        func waitUntilDurable() async throws(KernelError) {}
    }

    static func trace(rows: Int) -> ActionTrace {
        ActionTrace(actionID: "act-1", capabilityID: "billing.list_invoices", principalID: "alice", tokenID: "tok-1",
                    invokedAt: Timestamp(microseconds: 1_760_000_000_000_000), args: ["n": .int(1)],
                    responseMode: .summary, driverID: "billing", error: nil, resultSummary: ["row_count": .int(rows)],
                    eventType: .invoke, reasonCode: nil)
    }

    @Test func theAnswerFollowsTheStoredTrace() async throws {
        let store = SwappableStore(Self.trace(rows: 1))
        let kernel = Kernel(registry: CapabilityRegistry(), policy: try DefaultPolicyEngine(),
                            tokens: HMACTokenProvider(secret: "s"), handles: try HandleStore(), traces: store)
        let alice = "spiffe://capgate.local/agent/alice"
        let service = KernelService(kernel: kernel, identities: IdentityMap(rules: [
            IdentityMap.Rule(match: .exact(alice), principalID: "alice", roles: ["reader"], attributes: [:]),
        ]))
        func explain() async -> HTTPResponse {
            await service.handle(HTTPRequest(method: "POST", path: "/v1/explain", contentType: "application/json",
                                             body: Array(#"{"action_id": "act-1"}"#.utf8)), identity: alice)
        }
        for _ in 0..<2 {
            let r = await explain()
            #expect(r.status == 200)
            #expect(r.body == Self.trace(rows: 1).json.serializedBytes())
        }
        // Same action id, other content (and another box): the new trace's bytes.
        store.current.withLock { $0 = Self.trace(rows: 2) }
        let changed = await explain()
        #expect(changed.body == Self.trace(rows: 2).json.serializedBytes())
        #expect(changed.body != Self.trace(rows: 1).json.serializedBytes())
        // Another principal's trace stays hidden, cached or not.
        store.current.withLock { $0.principalID = "bob" }
        #expect(await explain().status == 404)
    }
}
