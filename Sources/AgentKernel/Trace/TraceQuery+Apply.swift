/// Filtering and pagination of traces (docs/reference-semantics.md §10.3; `trace_query.query_traces`), shared by
/// every trace store so that in-memory and durable backends answer identically.
extension TraceQuery {
    /// Whether `t` satisfies every set filter (logical AND; unset filters match anything).
    /// `outcome` is "failed" when an error was recorded, else "succeeded"; any other
    /// outcome string matches nothing. The window is `since <= invoked_at < until`.
    public func matches(_ t: ActionTrace) -> Bool {
        if let p = principalID, !PyString.equal(t.principalID, p) { return false }
        if let c = capabilityID, !PyString.equal(t.capabilityID, c) { return false }
        if let e = eventType, t.eventType != e { return false }
        if let r = reasonCode {
            guard let tr = t.reasonCode, PyString.equal(tr, r) else { return false }
        }
        if let o = outcome, !PyString.equal(t.error == nil ? "succeeded" : "failed", o) { return false }
        if let s = since, t.invokedAt < s { return false }
        if let u = until, t.invokedAt >= u { return false }
        return true
    }

    /// Matching traces sorted by `(invoked_at, action_id)` (code-point order), then
    /// `[offset:][:limit]`. Throws `AgentKernelError` for a negative offset (checked first)
    /// or a negative limit, with the reference's messages.
    public func apply(to traces: some Sequence<ActionTrace>) throws(KernelError) -> [ActionTrace] {
        if offset < 0 {
            throw KernelError(.agentKernelError, "TraceQuery.offset must be >= 0, got \(offset).")
        }
        if let l = limit, l < 0 {
            throw KernelError(.agentKernelError, "TraceQuery.limit must be >= 0 or None, got \(l).")
        }
        var matched = traces.filter(matches)
        matched.sort { a, b in
            a.invokedAt != b.invokedAt ? a.invokedAt < b.invokedAt : PyString.less(a.actionID, b.actionID)
        }
        guard offset < matched.count else { return [] }
        let tail = matched[offset...]
        if let l = limit { return Array(tail.prefix(l)) }
        return Array(tail)
    }
}
