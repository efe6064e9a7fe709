/// Deterministic summaries (docs/reference-semantics.md §8.3, `firewall/summarize.py`). The facts are what an
/// agent sees in the default `summary` mode, and parity tests compare whole facts, so
/// every Python formatting rule is reproduced: `%.2f`, `str()`/`repr()` of values,
/// code point lengths and ordering, stable sorts.
public enum Summarizer {
    /// `summarize(data, max_facts)`. Where the reference raises (a list whose first
    /// item is an object but whose later rows are not), this returns `[]`; the
    /// firewall uses `summarizeChecked` to surface the reference's error instead.
    public static func summarize(_ v: JSONValue, maxFacts: Int = 20) -> [String] {
        (try? summarizeChecked(v, maxFacts: maxFacts)) ?? []
    }

    /// `summarize` with the reference's failure: mixed rows make Python raise a
    /// TypeError/AttributeError, reported as `KernelError(.valueError)` carrying
    /// Python's exact message (KernelError has no TypeError kind).
    public static func summarizeChecked(_ v: JSONValue, maxFacts: Int = 20) throws(KernelError) -> [String] {
        switch v {
        case .array(let rows) where !rows.isEmpty && rows[0].objectValue != nil:
            return try RowSummary.summarize(rows, maxFacts: maxFacts)
        case .object(let o):
            return summarizeObject(o, maxFacts: maxFacts)
        case .array(let items):
            var facts = ["List of \(items.count) items"]
            for item in items.prefix(max(0, maxFacts)) {
                facts.append(PyString.prefix(item.pyRepr, 100))
            }
            return truncate(facts, maxFacts: maxFacts, total: 1 + items.count)
        case .string(let s):
            var text = PyString.prefix(s, 500)
            let n = PyString.len(s)
            if n > 500 { text += "… (\(n) chars total)" }
            return maxFacts > 0 ? [text] : []
        default:
            // `[repr(data)[:200]]`, returned even when max_facts <= 0 (as in the reference).
            return [PyString.prefix(v.pyRepr, 200)]
        }
    }

    static func summarizeObject(_ o: JSONObject, maxFacts: Int) -> [String] {
        let sortedKeys = o.keys.sorted(by: PyString.less)
        var facts = ["Keys: " + sortedKeys.prefix(20).joined(separator: ", ")]
        var n = 0
        for (k, v) in o {
            if n >= maxFacts { break }
            n += 1
            switch v {
            case .int, .double, .bool: facts.append("\(k): \(v.pyStr)")
            case .string(let s): facts.append("\(k): \(PyString.prefix(s, 80))")
            case .array(let a): facts.append("\(k): list of \(a.count) items")
            case .object(let child): facts.append("\(k): dict with keys [\(child.keys.prefix(5).joined(separator: ", "))]")
            case .null: facts.append("\(k): None")
            }
        }
        return truncate(facts, maxFacts: maxFacts, total: 1 + o.count)
    }

    /// `_truncate_facts`: an explicit omission marker replaces the last slot (#174).
    static func truncate(_ facts: [String], maxFacts: Int, total: Int? = nil) -> [String] {
        if maxFacts <= 0 { return [] }
        let candidates = total ?? facts.count
        if candidates <= maxFacts { return facts.count <= maxFacts ? facts : Array(facts.prefix(maxFacts)) }
        let omitted = candidates - (maxFacts - 1)
        return Array(facts.prefix(maxFacts - 1)) + ["… (\(omitted) more facts omitted; full data via handle)"]
    }
}
