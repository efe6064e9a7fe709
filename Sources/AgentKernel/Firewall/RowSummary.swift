/// `_summarize_list_of_dicts` (docs/reference-semantics.md §8.3): the summary of a non-empty array whose first
/// item is an object.
///
/// Later rows need not be objects. Python then applies `for k in row`, `k in row`,
/// `row.get(k)` and `row[k]` to whatever the row is (a string iterates its characters
/// and tests substrings, a list tests membership, a scalar raises). `PyRow` reproduces
/// those operations, including which rows are reached before `all()`/`any()`
/// short-circuit, so the same inputs succeed or fail with the same message.
enum RowSummary {
    static func summarize(_ rows: [JSONValue], maxFacts: Int) throws(KernelError) -> [String] {
        // Room for every fact a summary can have (two headers, five per-key facts and the
        // omission marker), and for a table's usual handful of columns: no regrowth.
        var facts: [String] = []
        facts.reserveCapacity(8)
        facts.append("Total rows: \(rows.count)")

        // Top keys: counted over the first 10 rows, stable sort by descending count.
        let topKeys: [String]
        if let first = rows[0].objectValue, rows.prefix(10).dropFirst().allSatisfy({ r in
            if case .object(let o) = r { return Redaction.sameKeys(o.keys, first.keys) }
            return false
        }) {
            // The usual table: the first rows all have the first row's keys (by code points),
            // so every count is the same and the stable sort keeps the first row's order.
            topKeys = first.count <= 10 ? first.keys : Array(first.keys.prefix(10))
        } else {
            topKeys = try countedTopKeys(rows)
        }
        facts.append(topKeysFact(topKeys))

        // Every row an object (the usual table): `k in row` and `row[k]` cannot raise, so one
        // hinted pass per key gives the same facts as the general walk below, which repeats
        // linear key look-ups over every row up to four times per key.
        if rows.allSatisfy({ if case .object = $0 { true } else { false } }) {
            objectRowFacts(rows, topKeys: topKeys, facts: &facts)
            return Summarizer.truncate(facts, maxFacts: maxFacts)
        }

        try generalFacts(rows, topKeys: topKeys, facts: &facts)
        return Summarizer.truncate(facts, maxFacts: maxFacts)
    }

    /// The numeric and distribution facts of any rows, through Python's container
    /// operations on each row (`PyRow`), raising where the reference raises.
    static func generalFacts(_ rows: [JSONValue], topKeys: [String], facts: inout [String]) throws(KernelError) {
        // Numeric keys: every present value is an int/float (not bool) and one exists.
        var numericKeys: [String] = []
        for k in topKeys {
            var allNumeric = true
            for r in rows {
                guard try PyRow.contains(r, k) else { continue }
                if !isNumber(try PyRow.get(r, k)) { allNumeric = false; break }
            }
            guard allNumeric else { continue }
            var anyNumeric = false
            for r in rows {
                guard try PyRow.contains(r, k) else { continue }
                if isNumber(try PyRow.get(r, k)) { anyNumeric = true; break }
            }
            if anyNumeric { numericKeys.append(k) }
        }
        for k in numericKeys.prefix(5) {
            var values: [Double] = []
            for r in rows {
                guard try PyRow.contains(r, k) else { continue }
                values.append(asDouble(try PyRow.subscriptValue(r, k)))
            }
            guard let lo = values.min(), let hi = values.max() else { continue }
            // Python 3.11 `sum` adds floats left to right (no compensation).
            var sum = 0.0
            for x in values { sum += x }
            let avg = sum / Double(values.count)
            facts.append("\(k): min=\(PyFloat.fixed2(lo)), max=\(PyFloat.fixed2(hi)), avg=\(PyFloat.fixed2(avg))")
        }

        // Boolean counts or string distributions for the other leading keys.
        for k in topKeys.prefix(5) where !numericKeys.contains(where: { PyString.equal($0, k) }) {
            var present: [JSONValue] = []
            for r in rows {
                guard try PyRow.contains(r, k) else { continue }
                present.append(try PyRow.subscriptValue(r, k))
            }
            if let fact = distributionFact(k, present) { facts.append(fact) }
        }
    }

    /// The top keys by counting: each key's occurrences over the first 10 rows, a stable
    /// sort by descending count, the first 10 (all of which must be str).
    static func countedTopKeys(_ rows: [JSONValue]) throws(KernelError) -> [String] {
        var counts: [(key: JSONValue, count: Int)] = []
        counts.reserveCapacity(16)
        var strings = StringKeyIndex()
        for row in rows.prefix(10) {
            // An object's keys are counted in place (`iterate` would map them to a new array).
            if case .object(let o) = row {
                for s in o.keys {
                    if let i = strings.index(of: s) { counts[i].count += 1; continue }
                    strings.add(s, at: counts.count)
                    counts.append((.string(s), 1))
                }
                continue
            }
            for k in try PyRow.iterate(row) {
                if case .string(let s) = k {
                    if let i = strings.index(of: s) { counts[i].count += 1; continue }
                    // A str key can still equal nothing else (no str == non-str in Python).
                    strings.add(s, at: counts.count)
                    counts.append((k, 1))
                } else if let i = counts.firstIndex(where: { $0.key.stringValue == nil && $0.key.pyEquals(k) }) {
                    counts[i].count += 1  // 1, 1.0 and True are one dict key in Python
                } else {
                    counts.append((k, 1))
                }
            }
        }
        let order = counts.indices.sorted { a, b in
            counts[a].count != counts[b].count ? counts[a].count > counts[b].count : a < b
        }
        var topKeys: [String] = []
        topKeys.reserveCapacity(Swift.min(10, order.count))
        for (position, i) in order.prefix(10).enumerated() {
            // `', '.join(top_keys)` requires every key to be a str.
            guard case .string(let s) = counts[i].key else {
                throw KernelError(.valueError, "sequence item \(position): expected str instance, \(PyRow.typeName(counts[i].key)) found")
            }
            topKeys.append(s)
        }
        return topKeys
    }

    /// The numeric and distribution facts when every row is an object: for each key, the
    /// values of the rows that have it, in row order (what `k in row` then `row[k]` yields).
    /// A key is read in one hinted pass (rows usually share one key order) that also
    /// decides whether it is numeric and, if so, its figures; only the non-numeric
    /// leading keys keep their values, for `distributionFact`.
    static func objectRowFacts(_ rows: [JSONValue], topKeys: [String], facts: inout [String]) {
        var numericFacts = 0
        var distributions: [String] = []  // of the non-numeric leading keys, in key order
        for (n, k) in topKeys.enumerated() {
            let leading = n < 5
            guard leading || numericFacts < 5 else { break }
            var stats = NumericStats()
            var values: [JSONValue] = []
            var numeric = true
            var singleValue: JSONValue?
            var hint = 0
            for case .object(let o) in rows {
                let i: Int
                if hint < o.count && PyString.equal(o.keys[hint], k) {
                    i = hint
                } else if let j = o.index(of: k) {
                    hint = j
                    i = j
                } else {
                    continue
                }
                let v = o.values[i]
                if numeric {
                    switch v {
                    case .int(let x): stats.add(Double(x)); continue
                    case .double(let x): stats.add(x); continue
                    default: numeric = false
                    }
                    // Not numeric: a later key needs nothing more; a leading key needs all its
                    // values for the distribution, starting with the numeric ones read so far.
                    if !leading { break }
                    // One row: its value alone decides (no value list, no tally to allocate).
                    if rows.count == 1 { singleValue = v; break }
                    values.reserveCapacity(rows.count)
                    for case .object(let p) in rows where values.count < stats.count {
                        if let j = p.index(of: k) { values.append(p.values[j]) }
                    }
                }
                values.append(v)
            }
            if numeric && stats.count > 0 {
                if numericFacts < 5 {
                    numericFacts += 1
                    facts.append(numericFact(k, stats))
                }
            } else if let singleValue {
                if let fact = singleValueFact(k, singleValue) { distributions.append(fact) }
            } else if leading, let fact = distributionFact(k, values) {
                distributions.append(fact)
            }
        }
        // Distribution facts follow every numeric fact.
        facts.append(contentsOf: distributions)
    }

    /// min and max as `Sequence.min()`/`max()` compare (the first value, then `<` in row
    /// order) and the sum left to right (Python 3.11 `sum`), of a numeric key's values.
    struct NumericStats {
        var count = 0
        var lo = 0.0, hi = 0.0, sum = 0.0

        mutating func add(_ x: Double) {
            if count == 0 { lo = x; hi = x }
            if x < lo { lo = x }
            if hi < x { hi = x }
            sum += x
            count += 1
        }
    }

    /// `"<k>: min=<lo>, max=<hi>, avg=<avg>"` (each `%.2f`), in one buffer.
    ///
    /// When the three figures are integral (`appendFixed2`'s fast case) the fact's bytes
    /// are written straight into the new string's storage: six appends to a growing string
    /// and three small strings decoded for the figures were most of a one-row summary.
    static func numericFact(_ k: String, _ stats: NumericStats) -> String {
        let avg = stats.sum / Double(stats.count)
        if PyFloat.isIntegralFixed2(stats.lo), PyFloat.isIntegralFixed2(stats.hi), PyFloat.isIntegralFixed2(avg),
           let fact = k.utf8.withContiguousStorageIfAvailable({ key in
               // A figure is at most 20 bytes (sign, 16 digits, ".00"); the labels are 20.
               String(unsafeUninitializedCapacity: key.count + 20 + 3 * 20) { out in
                   let base = out.baseAddress!
                   var n = key.count
                   if let k = key.baseAddress { base.update(from: k, count: n) }
                   func put(_ s: StaticString) {
                       (base + n).update(from: s.utf8Start, count: s.utf8CodeUnitCount)
                       n += s.utf8CodeUnitCount
                   }
                   put(": min=")
                   n += PyFloat.writeIntegralFixed2(stats.lo, to: base + n)
                   put(", max=")
                   n += PyFloat.writeIntegralFixed2(stats.hi, to: base + n)
                   put(", avg=")
                   n += PyFloat.writeIntegralFixed2(avg, to: base + n)
                   return n
               }
           }) {
            return fact
        }
        var fact = ""
        fact.reserveCapacity(k.utf8.count + 48)
        fact += k
        fact += ": min="
        PyFloat.appendFixed2(stats.lo, to: &fact)
        fact += ", max="
        PyFloat.appendFixed2(stats.hi, to: &fact)
        fact += ", avg="
        PyFloat.appendFixed2(avg, to: &fact)
        return fact
    }

    /// `"Top keys: " + ", ".join(keys)`, its bytes written once into the new string's
    /// storage (the joined keys and the concatenation were two strings built and grown on
    /// every summary). Keys whose bytes are not contiguous take the plain concatenation.
    static func topKeysFact(_ keys: [String]) -> String {
        let prefix: StaticString = "Top keys: "
        var count = prefix.utf8CodeUnitCount + 2 * Swift.max(0, keys.count - 1)
        for k in keys {
            guard let n = k.utf8.withContiguousStorageIfAvailable({ $0.count }) else {
                return "Top keys: " + keys.joined(separator: ", ")
            }
            count += n
        }
        return String(unsafeUninitializedCapacity: count) { out in
            let base = out.baseAddress!
            base.update(from: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
            var n = prefix.utf8CodeUnitCount
            for (i, k) in keys.enumerated() {
                if i > 0 {
                    base[n] = UInt8(ascii: ","); base[n + 1] = UInt8(ascii: " ")
                    n += 2
                }
                n += k.utf8.withContiguousStorageIfAvailable { b -> Int in
                    if let p = b.baseAddress { (base + n).update(from: p, count: b.count) }
                    return b.count
                }!
            }
            return n
        }
    }

    /// `distributionFact(k, [v])` without the arrays: one value has a fact only when it is a
    /// bool (a distribution needs 2 to 10 distinct strings).
    static func singleValueFact(_ k: String, _ v: JSONValue) -> String? {
        guard case .bool(let b) = v else { return nil }
        return b ? "\(k): True=1, False=0" : "\(k): True=0, False=1"
    }

    /// Boolean counts, or the distribution of 2 to 10 distinct strings, of one key's values.
    static func distributionFact(_ k: String, _ present: [JSONValue]) -> String? {
        let trueCount = present.reduce(0) { $0 + ($1.boolValue == true ? 1 : 0) }
        let boolCount = present.reduce(0) { $0 + ($1.boolValue != nil ? 1 : 0) }
        if boolCount > 0 && boolCount == present.count {
            return "\(k): True=\(trueCount), False=\(boolCount - trueCount)"
        }
        // At most 11 distinct values are ever held, so a list searched by code points beats
        // a hashed dictionary (no SipHash, no table allocation).
        var tally: [(value: String, count: Int)] = []
        for case .string(let s) in present {
            if let i = tally.firstIndex(where: { PyString.equal($0.value, s) }) {
                tally[i].count += 1
                continue
            }
            tally.append((s, 1))
            // Past 10 distinct values there is no distribution fact: stop counting (an id
            // column would otherwise scan every row).
            if tally.count > 10 { return nil }
        }
        guard (2...10).contains(tally.count) else { return nil }
        let parts = tally.sorted { PyString.less($0.value, $1.value) }.map { "\($0.value)=\($0.count)" }
        return "\(k) distribution: " + parts.joined(separator: ", ")
    }

    static func isNumber(_ v: JSONValue?) -> Bool {
        switch v {
        case .int, .double: return true
        default: return false
        }
    }

    static func asDouble(_ v: JSONValue) -> Double {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return 0  // unreachable: only called for numeric keys
        }
    }
}

/// Index of the str keys counted so far: a linear search by code points while there are
/// few (a table's handful of columns, no hashing or table allocation), a dictionary once
/// there are many (a pathological row with thousands of keys stays linear overall).
struct StringKeyIndex {
    private var small: [(key: String, index: Int)] = []
    private var large: [CodePointKey: Int]?
    static let linearLimit = 16

    func index(of s: String) -> Int? {
        if let large { return large[CodePointKey(s)] }
        return small.first { PyString.equal($0.key, s) }?.index
    }

    mutating func add(_ s: String, at index: Int) {
        if large != nil {
            large![CodePointKey(s)] = index
            return
        }
        small.append((s, index))
        if small.count > Self.linearLimit {
            var d: [CodePointKey: Int] = [:]
            for e in small { d[CodePointKey(e.key)] = e.index }
            large = d
            small = []
        }
    }
}

/// Python's container operations on an arbitrary row value.
enum PyRow {
    static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .object: return "dict"
        }
    }

    /// `for k in row`.
    static func iterate(_ row: JSONValue) throws(KernelError) -> [JSONValue] {
        switch row {
        case .object(let o): return o.keys.map(JSONValue.string)
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .array(let a):
            for e in a {
                if case .array = e { throw KernelError(.valueError, "unhashable type: 'list'") }
                if case .object = e { throw KernelError(.valueError, "unhashable type: 'dict'") }
            }
            return a
        default:
            throw KernelError(.valueError, "'\(typeName(row))' object is not iterable")
        }
    }

    /// `k in row` for a str `k`.
    static func contains(_ row: JSONValue, _ k: String) throws(KernelError) -> Bool {
        switch row {
        case .object(let o): return o.index(of: k) != nil
        case .string(let s): return isSubstring(k, of: s)
        case .array(let a): return a.contains { $0.stringValue.map { PyString.equal($0, k) } ?? false }
        default: throw KernelError(.valueError, "argument of type '\(typeName(row))' is not iterable")
        }
    }

    /// `row.get(k)`.
    static func get(_ row: JSONValue, _ k: String) throws(KernelError) -> JSONValue? {
        guard case .object(let o) = row else {
            throw KernelError(.valueError, "'\(typeName(row))' object has no attribute 'get'")
        }
        return o[k]
    }

    /// `row[k]` (only reached after `k in row` held).
    static func subscriptValue(_ row: JSONValue, _ k: String) throws(KernelError) -> JSONValue {
        switch row {
        case .object(let o): return o[k] ?? .null
        case .string: throw KernelError(.valueError, "string indices must be integers, not 'str'")
        case .array: throw KernelError(.valueError, "list indices must be integers or slices, not str")
        default: throw KernelError(.valueError, "'\(typeName(row))' object is not subscriptable")
        }
    }

    /// Python `needle in haystack` for strings. Byte search on UTF-8 is exact because
    /// UTF-8 is self-synchronising (a scalar's bytes never match mid-scalar).
    static func isSubstring(_ needle: String, of haystack: String) -> Bool {
        let n = Array(needle.utf8)
        if n.isEmpty { return true }
        let h = Array(haystack.utf8)
        guard h.count >= n.count else { return false }
        for i in 0...(h.count - n.count) where h[i] == n[0] {
            if h[i..<(i + n.count)].elementsEqual(n) { return true }
        }
        return false
    }
}
