/// The context firewall (docs/reference-semantics.md §8.1, `firewall/transform.py`): turns a driver's raw
/// result into a bounded, redacted Frame. It is the only path from driver output to
/// an agent, so redaction always runs first, on the full data, in every mode.
public struct Firewall: Sendable {
    /// Per-frame caps (rows, fields, characters, redaction depth).
    public var budgets: Budgets

    public init(budgets: Budgets = Budgets()) {
        self.budgets = budgets
    }

    static let rawFallbackWarning = "raw mode requires admin role; falling back to summary."

    /// `Firewall.transform` (docs/reference-semantics.md §8.1).
    ///
    /// Throws where the reference raises from bad token constraints: a `max_rows` that
    /// Python `int()` rejects, or an `allowed_fields` that `list()` rejects (both before
    /// any mode logic, so in every mode). Python raises ValueError/TypeError there; both
    /// surface as `.valueError` with Python's message.
    ///
    /// `isFinal`: the frame's flag, given here by a caller that knows (the kernel's last
    /// frame) because a Frame's box is immutable and setting the flag afterwards would
    /// build a second one.
    public func transform(_ raw: RawResult, actionID: String, principalID: String, principalRoles: [String],
                          responseMode: ResponseMode, constraints: JSONObject, handle: Handle?,
                          now: Timestamp, isFinal: Bool = false) throws(KernelError) -> Frame {
        let maxRows: Int
        switch PyCoerce.int(constraints["max_rows"] ?? .int(budgets.maxRows)) {
        case .success(let n): maxRows = n
        case .failure(let e): throw e.kernelError
        }
        let allowed: Redaction.AllowedFields
        switch PyCoerce.list(constraints["allowed_fields"] ?? .array([])) {
        case .success(let list): allowed = Redaction.AllowedFields(list)
        case .failure(let e): throw e.kernelError
        }
        let provenance = Provenance(capabilityID: raw.capabilityID, principalID: principalID, invokedAt: now,
                                    actionID: actionID)

        var warnings: [String] = []
        let data = Redaction.redact(raw.data, allowed, depth: 0, maxDepth: budgets.maxDepth, warnings: &warnings)

        var mode = responseMode
        if case .raw = mode {
            if principalRoles.contains(where: { PyString.equal($0, "admin") }) {
                let size = SizeEstimate.estimatedSize(data)
                if size > budgets.maxChars {
                    warnings.append("raw output (\(size) chars) exceeds budget (\(budgets.maxChars) chars); data returned untruncated.")
                }
                return Frame(actionID: actionID, capabilityID: raw.capabilityID, responseMode: .raw, handle: handle,
                             warnings: warnings, provenance: provenance, rawData: data, isFinal: isFinal)
            }
            warnings.append(Self.rawFallbackWarning)
            mode = .summary
        }
        switch mode {
        case .handleOnly:
            return Frame(actionID: actionID, capabilityID: raw.capabilityID, responseMode: .handleOnly, handle: handle,
                         warnings: warnings, provenance: provenance, isFinal: isFinal)
        case .table:
            return Frame(actionID: actionID, capabilityID: raw.capabilityID, responseMode: .table,
                         tablePreview: makeTable(data, maxRows: maxRows), handle: handle, warnings: warnings,
                         provenance: provenance, isFinal: isFinal)
        default:
            // Summary, and any unknown mode string (the reference's fall-through).
            let facts = Self.capFacts(try Summarizer.summarizeChecked(data, maxFacts: 20), maxChars: budgets.maxChars)
            return Frame(actionID: actionID, capabilityID: raw.capabilityID, responseMode: .summary, facts: facts,
                         handle: handle, warnings: warnings, provenance: provenance, isFinal: isFinal)
        }
    }

    /// `_make_table`: rows `data[:max_rows]` (Python slice, so a negative cap drops
    /// rows from the end), an object as one row, a scalar as `{"value": data}`; each
    /// object row keeps its first `max_fields` keys; other rows become `{"value": row}`.
    func makeTable(_ data: JSONValue, maxRows: Int) -> [JSONObject] {
        let rows: ArraySlice<JSONValue>
        switch data {
        case .array(let a): rows = a.prefix(PyCoerce.prefixCount(a.count, maxRows))
        case .object: rows = [data]
        default: rows = [.object(["value": data])]
        }
        var result: [JSONObject] = []
        result.reserveCapacity(rows.count)
        for row in rows {
            if case .object(let o) = row {
                let n = PyCoerce.prefixCount(o.count, budgets.maxFields)
                if n == o.count {
                    result.append(o)
                } else {
                    var capped = JSONObject()
                    capped.reserveCapacity(n)
                    for i in 0..<n { capped.appendUnchecked(o.keys[i], o.values[i]) }
                    result.append(capped)
                }
            } else {
                result.append(["value": row])
            }
        }
        return result
    }

    /// `_cap_facts`: keep facts while the running length (code points) fits.
    static func capFacts(_ facts: [String], maxChars: Int) -> [String] {
        var total = 0
        for i in facts.indices {
            total += PyString.len(facts[i])
            if total > maxChars { return Array(facts[..<i]) }
        }
        return facts  // all fit (the usual case): the array itself, not a copy
    }
}
