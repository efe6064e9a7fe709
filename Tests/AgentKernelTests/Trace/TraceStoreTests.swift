import Testing
import AgentKernel

/// Expectations from the reference (weaver-kernel 0.12.0): TraceStore(max_entries=3) recording
/// b@1, a@1, c@0 (p2, deny, error, missing_role), d@2 (cap.b, error), then re-recording a@5.
@Suite struct TraceStoreTests {
    static let t0 = Timestamp(microseconds: 1_767_323_045_000_000)  // 2026-01-02T03:04:05+00:00

    static func trace(_ id: String, _ dt: Int64, principal: String = "p1", capability: String = "cap.a",
                      event: TraceEventType = .invoke, error: String? = nil, reason: String? = nil) -> ActionTrace {
        ActionTrace(actionID: id, capabilityID: capability, principalID: principal, tokenID: "t",
                    invokedAt: Timestamp(microseconds: t0.microseconds + dt * 1_000_000), args: [:],
                    responseMode: .summary, driverID: "d", error: error, eventType: event, reasonCode: reason)
    }

    static func populated() throws -> TraceStore {
        let s = try TraceStore(maxEntries: 3)
        for t in [trace("b", 1), trace("a", 1), trace("c", 0, principal: "p2", event: .deny, error: "no", reason: "missing_role"),
                  trace("d", 2, capability: "cap.b", error: "boom")] {
            s.record(t)
        }
        return s
    }

    // python: ['a', 'c', 'd'] evicted_count 1; re-record a@5 -> same order, still 1
    @Test func fifoEvictionAndInPlaceOverwrite() throws {
        let s = try Self.populated()
        #expect(s.list().map(\.actionID) == ["a", "c", "d"])
        #expect(s.evictedCount == 1)
        s.record(Self.trace("a", 5))
        #expect(s.list().map(\.actionID) == ["a", "c", "d"])
        #expect(s.evictedCount == 1)
        #expect(try s.get("a").invokedAt == Timestamp(microseconds: Self.t0.microseconds + 5_000_000))
    }

    @Test func queries() throws {
        let s = try Self.populated()
        s.record(Self.trace("a", 5))
        func ids(_ q: TraceQuery) throws -> [String] { try s.query(q).map(\.actionID) }
        #expect(try ids(TraceQuery()) == ["c", "d", "a"])
        #expect(try ids(TraceQuery(outcome: "failed")) == ["c", "d"])
        #expect(try ids(TraceQuery(outcome: "succeeded")) == ["a"])
        #expect(try ids(TraceQuery(outcome: "bogus")) == [])
        #expect(try ids(TraceQuery(principalID: "p2")) == ["c"])
        #expect(try ids(TraceQuery(reasonCode: "missing_role")) == ["c"])
        #expect(try ids(TraceQuery(eventType: .deny)) == ["c"])
        #expect(try ids(TraceQuery(capabilityID: "cap.a")) == ["c", "a"])
        #expect(try ids(TraceQuery(since: Self.t0, until: Timestamp(microseconds: Self.t0.microseconds + 2_000_000))) == ["c"])
        #expect(try ids(TraceQuery(offset: 1)) == ["d", "a"])
        #expect(try ids(TraceQuery(limit: 0)) == [])
        #expect(try ids(TraceQuery(limit: 1, offset: 1)) == ["d"])
        #expect(try ids(TraceQuery(offset: 10)) == [])
    }

    /// Equal timestamps order by action id.
    @Test func tiesOrderByActionID() throws {
        let s = try TraceStore()
        for id in ["z", "b", "a"] { s.record(Self.trace(id, 1)) }
        #expect(try s.query(TraceQuery()).map(\.actionID) == ["a", "b", "z"])
        #expect(s.list().map(\.actionID) == ["z", "b", "a"])
    }

    @Test func errors() throws {
        let s = try Self.populated()
        #expect(throws: KernelError(.agentKernelError, "TraceQuery.offset must be >= 0, got -1.")) {
            try s.query(TraceQuery(limit: -2, offset: -1))
        }
        #expect(throws: KernelError(.agentKernelError, "TraceQuery.limit must be >= 0 or None, got -2.")) {
            try s.query(TraceQuery(limit: -2))
        }
        #expect(throws: KernelError(.agentKernelError, "No action trace found for action_id='zz'.", site: .traceNotFound)) {
            try s.get("zz")
        }
        for n in [0, -3] {
            #expect(throws: KernelError(.agentKernelError, "TraceStore max_entries must be positive, got \(n).")) {
                try TraceStore(maxEntries: n)
            }
        }
    }

    /// Long runs of eviction keep order and lookups right across compactions.
    @Test func evictionAtScale() throws {
        let s = try TraceStore(maxEntries: 100)
        for i in 0..<1_000 { s.record(Self.trace("id\(i)", Int64(i))) }
        #expect(s.evictedCount == 900)
        #expect(s.count == 100)
        #expect(s.list().map(\.actionID) == (900..<1_000).map { "id\($0)" })
        #expect(try s.get("id950").actionID == "id950")
        #expect(throws: KernelError.self) { try s.get("id899") }
        s.record(Self.trace("id950", 0, error: "x"))
        #expect(s.list()[50].error == "x")
    }

    @Test func concurrentRecords() async throws {
        let s = try TraceStore(maxEntries: 500)
        await withTaskGroup(of: Void.self) { g in
            for i in 0..<1_000 { g.addTask { s.record(Self.trace("c\(i)", Int64(i))) } }
        }
        #expect(s.count == 500)
        #expect(s.evictedCount == 500)
    }
}

@Suite struct KernelStatsTests {
    // python: on_denial("rate_limited"), on_denial(None), on_denial(""), on_denial("rate_limited"), on_grant(),
    // on_invocation(failed=True, fallback=True, redacted=False, downgraded=True), on_handle_store(), on_expansion()
    // -> grants=1 denials=4 invocations=1 invocation_failures=1 fallback_activations=1 redaction_events=0
    //    budget_downgrades=1 handle_stores=1 expansions=1 denials_by_reason={'rate_limited': 2, 'unknown': 2}
    @Test func countersAndReset() {
        let k = KernelStats()
        k.onDenial(reasonCode: "rate_limited")
        k.onDenial(reasonCode: nil)
        k.onDenial(reasonCode: "")
        k.onDenial(reasonCode: "rate_limited")
        k.onGrant()
        k.onInvocation(failed: true, fallback: true, redacted: false, downgraded: true)
        k.onHandleStore()
        k.onExpansion()
        #expect(k.snapshot().json.serialized(.compact)
                == #"{"grants":1,"denials":4,"invocations":1,"invocation_failures":1,"fallback_activations":1,"redaction_events":0,"budget_downgrades":1,"handle_stores":1,"expansions":1,"denials_by_reason":{"rate_limited":2,"unknown":2}}"#)
        k.reset()
        #expect(k.snapshot() == StatsSnapshot())
    }

    @Test func concurrentIncrements() async {
        let k = KernelStats()
        await withTaskGroup(of: Void.self) { g in
            for i in 0..<400 {
                g.addTask {
                    k.onInvocation(failed: i % 2 == 0, fallback: false, redacted: true, downgraded: false)
                    k.onDenial(reasonCode: i % 4 == 0 ? "a" : "b")
                }
            }
        }
        let s = k.snapshot()
        #expect(s.invocations == 400 && s.invocationFailures == 200 && s.redactionEvents == 400)
        #expect(s.denials == 400)
        #expect(Dictionary(uniqueKeysWithValues: s.denialsByReason) == ["a": 100, "b": 300])
    }

    /// Grants, handle stores and expansions are atomic counters outside the lock: concurrent
    /// events must each count once, next to the locked counters, and a reset must zero them
    /// with the rest (a snapshot taken after it sees only what came after).
    @Test func atomicCountersCountEveryEventAndReset() async {
        let k = KernelStats()
        k.onGrant()
        k.onHandleStore()
        k.onExpansion()
        k.reset()
        #expect(k.snapshot() == StatsSnapshot())
        await withTaskGroup(of: Void.self) { g in
            for i in 0..<400 {
                g.addTask {
                    k.onGrant()
                    k.onExpansion()
                    k.onExpansion()
                    if i % 4 == 0 { k.onHandleStore() }
                    k.onInvocation(failed: false, fallback: false, redacted: false, downgraded: false)
                    _ = k.snapshot()  // reads race with the adds: never a torn or lost count
                }
            }
        }
        let s = k.snapshot()
        #expect(s.grants == 400 && s.expansions == 800 && s.handleStores == 100 && s.invocations == 400)
        #expect(s.json.serialized(.compact)
                == #"{"grants":400,"denials":0,"invocations":400,"invocation_failures":0,"fallback_activations":0,"redaction_events":0,"budget_downgrades":0,"handle_stores":100,"expansions":800,"denials_by_reason":{}}"#)
        k.reset()
        #expect(k.snapshot() == StatsSnapshot())
        k.onExpansion()
        #expect(k.snapshot().expansions == 1 && k.snapshot().grants == 0)
    }
}

extension TraceStoreTests {
    /// The store against a model (an insertion-ordered dictionary with FIFO eviction, the
    /// reference's dict) under random records, overwrites and look-ups: eviction by hash and
    /// position, compaction of the order array and the prefetching of the next victims must
    /// keep exactly the model's records, order, values and eviction count. Half the records
    /// are announced with `willRecord` first and some hints are never followed by a record:
    /// a hint (a prefetch) must leave the model's answers unchanged either way.
    @Test func behavesLikeAnInsertionOrderedDictionary() throws {
        var rng = SystemRandomNumberGenerator()
        for capacity in [1, 2, 3, 7, 64] {
            let s = try TraceStore(maxEntries: capacity)
            var order: [String] = []
            var values: [String: Int64] = [:]
            var evicted = 0
            var fresh = 0
            for step in 0..<3_000 {
                let id: String
                if !order.isEmpty && Int.random(in: 0..<4, using: &rng) == 0 {
                    id = order.randomElement(using: &rng)!  // overwrite in place
                } else {
                    fresh += 1
                    id = fresh % 3 == 0 ? "e\u{301}-\(fresh)" : "00000000-0000-4000-8000-\(fresh)"
                }
                if Bool.random(using: &rng) { s.willRecord(id) }
                if Int.random(in: 0..<8, using: &rng) == 0 { s.willRecord("00000000-0000-4000-9000-\(step)") }
                s.record(Self.trace(id, Int64(step)))
                if values[id] == nil {
                    order.append(id)
                    if order.count > capacity {
                        values[order.removeFirst()] = nil
                        evicted += 1
                    }
                }
                values[id] = Int64(step)
                if step % 97 == 0 || capacity <= 3 {
                    #expect(s.list().map(\.actionID) == order)
                    #expect(s.list().map { ($0.invokedAt.microseconds - Self.t0.microseconds) / 1_000_000 } == order.map { values[$0]! })
                }
                #expect(s.count == order.count)
                #expect(s.evictedCount == evicted)
                #expect(try s.get(id).actionID == id)
            }
            for id in order { #expect(try (s.get(id).invokedAt.microseconds - Self.t0.microseconds) / 1_000_000 == values[id]!) }
            #expect(throws: KernelError.self) { try s.get("00000000-0000-4000-8000-1") }
        }
    }
}

extension TraceStoreTests {
    /// `ActionTrace`'s box is immutable (a setter builds a new one): a setter changes exactly
    /// its own field, never the recorded trace or another copy, and the store keeps serving
    /// the trace as recorded.
    @Test func traceSettersChangeOnlyTheirFieldAndCopy() throws {
        let s = try TraceStore(maxEntries: 4)
        let recorded = Self.trace("a", 1, error: "boom", reason: "r")
        s.record(recorded)
        var t = try s.get("a")
        t.principalID = "mallory"
        t.args["k"] = 1
        t.error = nil
        t.reasonCode = "other"
        #expect(t.principalID == "mallory" && t.args == ["k": 1] && t.error == nil && t.reasonCode == "other")
        #expect(t.actionID == "a" && t.capabilityID == "cap.a" && t.driverID == "d" && t.tokenID == "t")
        let stored = try s.get("a")
        #expect(stored == recorded && stored.principalID == "p1" && stored.args == [:] && stored.error == "boom")
        #expect(stored.reasonCode == "r" && t != stored)
        let copy = t
        t.driverID = "e"
        #expect(copy.driverID == "d" && t.driverID == "e")
    }
}
