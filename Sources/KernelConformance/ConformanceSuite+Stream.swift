import AgentKernel

/// `invoke_stream` through `KernelAPI`, the same assertions in process and over the wire
/// (docs/design.md §5): frames arrive in order with one final, and a secret split across
/// chunks (no single chunk holds it whole) never leaves in any frame or trace (I-01, §11.2).
extension ConformanceSuite {
    /// An email address cut between the first and second chunk.
    static let splitChunks: [JSONObject] = [
        ["text": .string(String(repeating: "x", count: 300) + " write to " + String(Canary.email.prefix(9)))],
        ["text": .string(String(Canary.email.dropFirst(9)) + " today " + String(repeating: "y ", count: 150))],
        ["text": "tail"],
    ]

    static let streamCases: [Case] = [
        Case(name: "invoke_stream_redacts_a_secret_split_across_chunks") { harness in
            let fixture = ConformanceFixture(capabilities: [recordsRead], chunks: { _ in splitChunks }) { _ in
                throw ConformanceFailure("invoke_stream must use the streaming path")
            }
            let target = try await harness.makeTarget(fixture)
            let api = try await target.api(as: alice)
            let token = try await grant(api, "records.read", alice)
            var frames: [Frame] = []
            for try await f in api.invokeStream(token, principal: alice, args: [:], responseMode: .table) {
                frames.append(f)
            }
            // Three chunks and the synthetic final marker.
            try check(frames.map(\.isFinal) == [false, false, false, true], "finals: \(frames.map(\.isFinal))")
            let text = frames.compactMap { $0.tablePreview.first?["text"]?.stringValue }.joined()
            try check(text.contains("[REDACTED]") && text.hasSuffix("tail"), "frames: \(text.prefix(80))…")
            // Each chunk redacted on its own would let the first half out ("… write to canary.vi").
            try check(!text.contains(String(Canary.email.prefix(9))), "the first half of a split secret leaked")
            for f in frames { try assertNoLeak(f.json.serialized(), Canary.all, "stream frame") }
            let traces = try await api.queryTraces(TraceQuery(capabilityID: "records.read", eventType: .invoke))
            try check(traces.count == 1, "one trace per stream, got \(traces.count)")
            for t in traces { try assertNoLeak(t.json.serialized(), Canary.all, "stream trace") }
        },
        Case(name: "invoke_stream_refuses_another_principals_token") { harness in
            let fixture = ConformanceFixture(capabilities: [recordsRead], chunks: { _ in splitChunks }) { _ in [:] }
            let target = try await harness.makeTarget(fixture)
            let token = try await grant(try await target.api(as: alice), "records.read", alice)
            let api = try await target.api(as: bob)
            // The same pre-checks as invoke: a token bound to another principal, thrown
            // before any frame (an envelope over the wire).
            try await expectError("TokenScopeError") {
                for try await _ in api.invokeStream(token, principal: bob, args: [:], responseMode: .summary) {}
            }
        },
    ]
}
