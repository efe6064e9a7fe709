import AgentKernel

/// Spec §11.1 (`tests/test_invariants.py`), stated against `KernelAPI`.
extension ConformanceSuite {
    /// A Python `RuntimeError` stand-in for handler failures.
    struct SyntheticError: Error, CustomStringConvertible {
        let description: String
    }

    static let invariantCases: [Case] = [
        Case(name: "i01_non_admin_raw") { harness in
            let target = try await harness.makeTarget(ConformanceFixture(capabilities: [recordsRead]) { _ in
                [["id": 1, "authorization": .string(sentinel)]]
            })
            let api = try await target.api(as: alice)
            let token = try await grant(api, "records.read", alice)
            let f = try frame(try await api.invoke(token, principal: alice, args: [:], responseMode: .raw, dryRun: false))
            try check(f.responseMode == .summary, "raw by a non-admin must become summary, got \(f.responseMode.rawValue)")
            try check(f.rawData == .null, "raw_data must be null for a non-admin")
            try assertNoLeak(f.json.serialized(), [sentinel], "frame")
        },
        Case(name: "i01_allowed_fields") { harness in
            let target = try await harness.makeTarget(ConformanceFixture(capabilities: [recordsRead]) { _ in
                [["id": 1, "internal": "must-not-cross-boundary"]]
            })
            let api = try await target.api(as: alice)
            let token = try await grant(api, "records.read", alice, constraints: ["allowed_fields": ["id"]])
            let f = try frame(try await api.invoke(token, principal: alice, args: [:], responseMode: .table, dryRun: false))
            try check(f.tablePreview == [["id": 1]], "table_preview must be [{id: 1}], got \(f.tablePreview)")
            try assertNoLeak(f.json.serialized(), ["must-not-cross-boundary"], "frame")
        },
        Case(name: "i01_handle_only") { harness in
            let target = try await harness.makeTarget(ConformanceFixture(capabilities: [recordsRead]) { _ in
                [["id": 1, "secret": .string(sentinel)]]
            })
            let api = try await target.api(as: alice)
            let token = try await grant(api, "records.read", alice)
            let f = try frame(try await api.invoke(token, principal: alice, args: [:], responseMode: .handleOnly,
                                                   dryRun: false))
            try check(f.handle != nil, "handle_only must carry a handle")
            try check(f.tablePreview.isEmpty && f.facts.isEmpty, "handle_only must carry no rows or facts")
            try check(f.rawData == .null, "handle_only must carry no raw data")
            try assertNoLeak(f.json.serialized(), [sentinel], "frame")
        },
        Case(name: "i02_invalid_token") { harness in
            let calls = Calls()
            let target = try await harness.makeTarget(ConformanceFixture(capabilities: [recordsRead]) { _ in
                calls.bump()
                return [["id": 1]]
            })
            let api = try await target.api(as: alice)
            var token = try await grant(api, "records.read", alice)
            token.signature = String(repeating: "0", count: 64)
            try await expectError("TokenInvalid") {
                _ = try await api.invoke(token, principal: alice, args: [:], responseMode: .summary, dryRun: false)
            }
            try check(calls.count == 0, "a forged token must not reach the driver (\(calls.count) calls)")
        },
        Case(name: "i02_success_has_receipt") { harness in
            let calls = Calls()
            let target = try await harness.makeTarget(ConformanceFixture(capabilities: [recordsRead]) { _ in
                calls.bump()
                return [["id": 1, "status": "ok"]]
            })
            let api = try await target.api(as: alice)
            let token = try await grant(api, "records.read", alice)
            let f = try frame(try await api.invoke(token, principal: alice, args: [:], responseMode: .summary,
                                                   dryRun: false))
            let trace = try await api.explain(actionID: f.actionID)
            try check(calls.count == 1, "expected 1 driver call, got \(calls.count)")
            try check(trace.capabilityID == "records.read" && trace.principalID == "alice", "trace names the wrong call")
            try check(trace.error == nil, "a success trace has no error")
            let all = try await api.queryTraces(TraceQuery())
            try check(all.count == 1, "expected exactly 1 trace, got \(all.count)")
        },
        Case(name: "i02_failure_is_audited") { harness in
            let calls = Calls()
            let target = try await harness.makeTarget(ConformanceFixture(capabilities: [recordsRead]) { _ in
                calls.bump()
                throw SyntheticError(description: "synthetic driver failure")
            })
            let api = try await target.api(as: alice)
            let token = try await grant(api, "records.read", alice)
            try await expectError("DriverError") {
                _ = try await api.invoke(token, principal: alice, args: [:], responseMode: .summary, dryRun: false)
            }
            let all = try await api.queryTraces(TraceQuery())
            try check(calls.count == 1, "expected 1 driver call, got \(calls.count)")
            try check(all.count == 1, "expected exactly 1 trace, got \(all.count)")
            try check(all[0].error?.contains("synthetic driver failure") == true, "the trace must keep the error")
        },
        Case(name: "i06_cross_principal") { harness in
            let target = try await harness.makeTarget(ConformanceFixture(capabilities: [recordsRead]) { _ in [] })
            let token = try await grant(try await target.api(as: alice), "records.read", alice)
            let asBob = try await target.api(as: bob)
            try await expectError("TokenScopeError") {
                _ = try await asBob.invoke(token, principal: bob, args: [:], responseMode: .summary, dryRun: false)
            }
        },
        Case(name: "i06_constraint_widening") { harness in
            let target = try await harness.makeTarget(ConformanceFixture(capabilities: [recordsRead]) { _ in
                [["id": 1, "secret": "x"]]
            })
            let api = try await target.api(as: alice)
            var token = try await grant(api, "records.read", alice, constraints: ["allowed_fields": ["id"]])
            token.constraints["allowed_fields"] = ["id", "secret"]
            try await expectError("TokenInvalid") {
                _ = try await api.invoke(token, principal: alice, args: [:], responseMode: .table, dryRun: false)
            }
        },
    ]
}
