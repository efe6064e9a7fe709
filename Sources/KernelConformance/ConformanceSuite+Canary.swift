import AgentKernel

/// Spec §11.2 (`tests/test_firewall_canary.py`) through the public verbs: no canary value
/// appears verbatim in any frame, expansion or trace, whatever mode the caller asks for.
/// (Direct `redact()` and `StreamRedactor` cases are unit tests of the firewall.)
extension ConformanceSuite {
    static let refund = Capability(capabilityID: "billing.refund", name: "Refund", description: "Refund an invoice",
                                   safetyClass: .write)

    static func fixture(_ data: JSONValue) -> ConformanceFixture {
        ConformanceFixture(capabilities: [recordsRead, refund]) { _ in data }
    }

    static func everyModeLeaksNothing(_ harness: any ConformanceHarness, data: JSONValue) async throws {
        let target = try await harness.makeTarget(fixture(data))
        for principal in [alice, agent] {
            let api = try await target.api(as: principal)
            let token = try await grant(api, "records.read", principal)
            for mode in [ResponseMode.summary, .table, .handleOnly, .raw] {
                let f = try frame(try await api.invoke(token, principal: principal, args: [:], responseMode: mode,
                                                       dryRun: false))
                try assertNoLeak(f.json.serialized(), Canary.all, "\(mode.rawValue) frame for \(principal.principalID)")
                if let h = f.handle {
                    let page = try await api.expand(handleID: h.handleID, query: [:], principal: principal)
                    try assertNoLeak(page.json.serialized(), Canary.all, "expansion")
                }
            }
            for t in try await api.queryTraces(TraceQuery()) {
                try assertNoLeak(t.json.serialized(), Canary.all, "trace")
            }
        }
    }

    static let canaryCases: [Case] = [
        Case(name: "canary_deep_nesting") { harness in
            let data: JSONValue = ["l0": ["l1": ["l2": ["l3": ["note": .string("auth=" + Canary.bearer)]]]],
                                   "a": ["b": ["c": [.string("key " + Canary.bearer)]]]]
            try await everyModeLeaksNothing(harness, data: data)
        },
        Case(name: "canary_every_kind_in_rows") { harness in
            let data: JSONValue = [
                ["id": 1, "note": .string("call token " + Canary.bearer), "contact": .string("mail " + Canary.email)],
                ["id": 2, "note": .string("db " + Canary.conn), "jwt": .string(Canary.jwt)],
                ["id": 3, "secret_note": .string("api_key=" + Canary.apiKey)],
            ]
            try await everyModeLeaksNothing(harness, data: data)
        },
        Case(name: "canary_handle_expand") { harness in
            let rows: JSONValue = [
                ["id": 1, "name": "Alice", "note": .string("call token " + Canary.bearer)],
                ["id": 2, "name": "Bob", "note": .string("db " + Canary.conn)],
            ]
            let target = try await harness.makeTarget(fixture(rows))
            let api = try await target.api(as: agent)
            let token = try await grant(api, "records.read", agent)
            let f = try frame(try await api.invoke(token, principal: agent, args: [:], responseMode: .handleOnly,
                                                   dryRun: false))
            guard let handle = f.handle else { throw ConformanceFailure("handle_only frame without a handle") }
            let all = try await api.expand(handleID: handle.handleID, query: [:], principal: agent)
            let text = all.json.serialized()
            try assertNoLeak(text, Canary.all, "expand({})")
            try check(text.contains("Alice"), "ordinary data must survive redaction")
            let projected = try await api.expand(handleID: handle.handleID, query: ["fields": ["id", "note"]],
                                                 principal: agent)
            try assertNoLeak(projected.json.serialized(), Canary.all, "projected expand")
        },
        Case(name: "canary_trace_args") { harness in
            let target = try await harness.makeTarget(fixture([["ok": true]]))
            let api = try await target.api(as: agent)
            let token = try await grant(api, "billing.refund", agent, justification: "canary regression coverage")
            let args: JSONObject = ["reference": .string("authorize " + Canary.bearer), "amount": 42]
            let f = try frame(try await api.invoke(token, principal: agent, args: args, responseMode: .summary,
                                                   dryRun: false))
            let trace = try await api.explain(actionID: f.actionID)
            try assertNoLeak(trace.json.serialized(), Canary.all, "trace args")
            try check(trace.args["amount"] == .int(42), "non-sensitive args are kept")
        },
        Case(name: "canary_trace_error") { harness in
            let target = try await harness.makeTarget(ConformanceFixture(capabilities: [recordsRead]) { _ in
                throw KernelError(.driverError, "upstream rejected token " + Canary.bearer)
            })
            let api = try await target.api(as: alice)
            let token = try await grant(api, "records.read", alice)
            try await expectError("DriverError") {
                _ = try await api.invoke(token, principal: alice, args: [:], responseMode: .summary, dryRun: false)
            }
            let traces = try await api.queryTraces(TraceQuery())
            try check(traces.count == 1 && traces[0].error != nil, "the failure must be traced with its error")
            try assertNoLeak(traces[0].json.serialized(), Canary.all, "trace error")
        },
        Case(name: "canary_raw_admin_frame") { harness in
            let target = try await harness.makeTarget(fixture([["id": 1, "secret_note": .string("db " + Canary.conn)]]))
            let api = try await target.api(as: agent)
            let token = try await grant(api, "records.read", agent)
            let f = try frame(try await api.invoke(token, principal: agent, args: [:], responseMode: .raw, dryRun: false))
            try check(f.responseMode == .raw, "an admin gets raw mode")
            try assertNoLeak(f.json.serialized(), Canary.all, "raw frame")
        },
    ]
}
