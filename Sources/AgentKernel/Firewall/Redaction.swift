/// PII / PCI / secret redaction (docs/reference-semantics.md §8.2, `firewall/redaction.py`).
///
/// Runs on every egress path before anything else (invariant I-01): values are rebuilt
/// recursively, sensitive field names are masked, projected fields are dropped, inline
/// secrets are scrubbed from strings, and containers past `maxDepth` are elided rather
/// than returned unscanned (fail closed).
public enum Redaction {
    static let redacted = "[REDACTED]"
    static let depthElided = "[REDACTED: nested data beyond depth limit]"
    static let depthWarning = "Nested data beyond the configured max_depth was elided (not scanned)."
    static let stringWarning = "String value contained sensitive patterns and was redacted."

    /// Exact lowercase names whose values are always masked (`_SENSITIVE_FIELDS`).
    static let sensitiveNames: [[UInt8]] = [
        "email", "phone", "card_number", "ssn", "social_security_number", "cvv", "credit_card", "password", "secret",
    ].map { Array($0.utf8) }

    /// `redact(data, allowed_fields, depth, max_depth) -> (data, warnings)` (docs/reference-semantics.md §8.2).
    /// Warnings are in traversal order and not de-duplicated, like the reference.
    public static func redact(_ value: JSONValue, allowedFields: [String]? = nil, depth: Int = 0,
                              maxDepth: Int = 3) -> (JSONValue, [String]) {
        var warnings: [String] = []
        let fields = AllowedFields(allowedFields?.map(JSONValue.string) ?? [])
        let out = redact(value, fields, depth: depth, maxDepth: maxDepth, warnings: &warnings)
        return (out, warnings)
    }

    /// The 8 string patterns in order (docs/reference-semantics.md §8.2); also used on trace error text.
    public static func redactString(_ s: String) -> String {
        StringRedactor.scrub(s).0
    }

    /// `_redact_string`: the scrubbed text and its warnings (zero or one).
    public static func redactStringWithWarnings(_ s: String) -> (String, [String]) {
        let (out, changed) = StringRedactor.scrub(s)
        return (out, changed ? [stringWarning] : [])
    }

    /// The projection list as the reference holds it: `list(constraints["allowed_fields"])`,
    /// whose elements may be any JSON value. Only string elements can equal a key, but
    /// any element makes the list truthy (so `[1]` drops every key).
    ///
    /// Short lists are searched in place (the caller's array, shared, not a copy of its
    /// strings: every expand and trace redaction built one), long ones through a set.
    struct AllowedFields {
        private let elements: [JSONValue]
        private let index: Set<CodePointKey>?

        static let none = AllowedFields([])

        var isEmpty: Bool { elements.isEmpty }

        init(_ elements: [JSONValue]) {
            self.elements = elements
            index = elements.count > 16 ? Set(elements.compactMap { $0.stringValue.map(CodePointKey.init) }) : nil
        }

        /// Python `k in allowed_fields` for a str key: code point equality (a non-string
        /// element never equals a str).
        func contains(_ key: String) -> Bool {
            if let index { return index.contains(CodePointKey(key)) }
            for e in elements {
                if case .string(let name) = e, PyString.equal(name, key) { return true }
            }
            return false
        }
    }

    /// The warning of a member masked for its sensitive name.
    static func maskWarning(_ key: String) -> String { "Field '\(key)' redacted (sensitive field name)." }

    /// Whether redacting `o` with no projection to `maxDepth` returns it unchanged (and
    /// warns nothing), decided without the general walk for flat arguments: scalars,
    /// strings and lists of them under names that are not sensitive. False also when a
    /// member needs the walk to tell (a nested object, a list holding a container), and the
    /// caller then runs it. Strings go through the same scrub the walk uses, so "unchanged"
    /// here is the walk's own verdict.
    static func plainlyUnchanged(_ o: JSONObject, maxDepth: Int) -> Bool {
        // The object at depth 0 and a list at depth 1 are scanned, not elided, only below
        // max_depth; strings and scalars are treated alike at every depth.
        guard maxDepth >= 2 else { return false }
        let keys = o.keys, values = o.values
        for i in keys.indices {
            if isSensitiveName(keys[i]) { return false }
            switch values[i] {
            case .null, .bool, .int, .double: continue
            case .string(let s): if StringRedactor.scrub(s).1 { return false }
            case .array(let a):
                for e in a {
                    switch e {
                    case .null, .bool, .int, .double: continue
                    case .string(let s): if StringRedactor.scrub(s).1 { return false }
                    case .array, .object: return false
                    }
                }
            case .object: return false
            }
        }
        return true
    }

    /// A string's redaction at any depth, or nil when unchanged (what the walk does to it).
    @inline(__always)
    static func scrubbed(_ s: String, warnings: inout [String]) -> JSONValue? {
        let (out, changed) = StringRedactor.scrub(s)
        guard changed else { return nil }
        warnings.append(stringWarning)
        return .string(out)
    }

    /// The memos one `redact` call threads through its walk (a struct, not a tuple: a
    /// tuple's destruction went through the generic value witness on every call).
    struct Memos {
        var projected = KeyMemo()
        var nested = KeyMemo()
    }

    /// The redaction of a table row's member (below the projection, at `depth`), or nil
    /// when unchanged: exactly what `redact` does to it inside a row, for a caller that
    /// walks the rows itself (`TableRows`). `allowed` is ignored below a projection.
    static func memberChanged(_ value: JSONValue, _ allowed: AllowedFields, repeated: Bool, depth: Int, maxDepth: Int,
                              warnings: inout [String], memos: inout Memos) -> JSONValue? {
        changed(value, allowed, projected: false, repeated: repeated, depth: depth, maxDepth: maxDepth,
                warnings: &warnings, memos: &memos)
    }

    static func redact(_ value: JSONValue, _ allowed: AllowedFields, depth: Int, maxDepth: Int,
                       warnings: inout [String]) -> JSONValue {
        var memos = Memos()
        return changed(value, allowed, projected: true, repeated: false, depth: depth, maxDepth: maxDepth,
                       warnings: &warnings, memos: &memos) ?? value
    }

    /// What happens to a member, by key: dropped by the projection, masked as a sensitive
    /// name (each with its warning), or kept and scanned.
    enum KeyVerdict {
        case omit(String)
        case mask(String)
        case keep
    }

    /// Verdicts already decided in this `redact` call. Table rows repeat the same keys in
    /// the same order, so the next key is usually the next entry: 200 rows then cost a
    /// compare per member instead of a projection scan and a new warning string each.
    /// Only objects inside an array of two or more elements use it (`repeated`): an object
    /// met once would pay the memo's two allocations for nothing (the verdict is a pure function of key and
    /// projection, so skipping the memo never changes it).
    struct KeyMemo {
        private var keys: [String] = []
        private var verdicts: [KeyVerdict] = []
        private var next = 0
        /// The verdicts of the last object whose layout was recorded, position by position.
        /// Optional, so a `redact` call that never meets a repeated object (trace args, a
        /// one-row page) destroys no arrays for it.
        private var last: (keys: [String], verdicts: [KeyVerdict])?
        static let capacity = 64

        mutating func verdict(_ k: String, _ decide: () -> KeyVerdict) -> KeyVerdict {
            if next < keys.count && PyString.equal(keys[next], k) {
                next += 1
                return verdicts[next - 1]
            }
            if let i = keys.firstIndex(where: { PyString.equal($0, k) }) {
                next = i + 1
                return verdicts[i]
            }
            let v = decide()
            if keys.count < Self.capacity {
                keys.append(k)
                verdicts.append(v)
                next = keys.count
            }
            return v
        }

        /// The recorded verdicts when `keys` are the last recorded object's keys (one shared
        /// array, or the same code points in the same order): rows of a table then skip the
        /// per-key memo walk. Verdicts are a pure function of key and projection, so reusing
        /// them by position decides exactly what `verdict` would.
        func layout(of keys: [String]) -> [KeyVerdict]? {
            guard let last, Redaction.sameKeys(keys, last.keys) else { return nil }
            return last.verdicts
        }

        mutating func record(_ keys: [String], _ verdicts: [KeyVerdict]) {
            last = (keys, verdicts)
        }
    }

    /// The first `n` members of `o`, with room for the rest.
    private static func prefix(_ o: JSONObject, _ n: Int) -> JSONObject {
        var out = JSONObject()
        out.reserveCapacity(o.count)
        for j in 0..<n { out.appendUnchecked(o.keys[j], o.values[j]) }
        return out
    }

    /// The redacted value, or nil when it equals `value` member for member (copy on change:
    /// most payloads have nothing to redact, and rebuilding every container then allocated
    /// an identical copy of each; the caller keeps the original instead, same JSON bytes).
    /// `projected`: `allowed` is the caller's projection (top-level object, array rows);
    /// false below it, where `allowed` is ignored (the projection reaches no deeper). Each has its own memo.
    private static func changed(_ value: JSONValue, _ allowed: AllowedFields, projected: Bool, repeated: Bool,
                                depth: Int, maxDepth: Int, warnings: inout [String],
                                memos: inout Memos) -> JSONValue? {
        if depth >= maxDepth {
            switch value {
            case .string(let s):
                let (out, changed) = StringRedactor.scrub(s)
                guard changed else { return nil }
                warnings.append(stringWarning)
                return .string(out)
            case .object, .array:
                warnings.append(depthWarning)
                return .string(depthElided)
            default:
                return nil
            }
        }
        switch value {
        case .object(let o):
            // Built from the first differing member on (`building`); a plain value, not an
            // optional, so each append mutates it in place. Under a projection (table rows
            // of a PII capability) members are usually dropped: built from the start, as
            // the copy is then needed anyway.
            var result = JSONObject()
            var building = projected && !allowed.isEmpty
            if building { result.reserveCapacity(o.count) }
            // Indexed, not iterated: the iterator hands out each key and value retained.
            let keys = o.keys, values = o.values
            // Repeated objects (table rows) usually share the previous one's layout.
            let layout = !repeated ? nil : projected ? memos.projected.layout(of: keys) : memos.nested.layout(of: keys)
            var recording: [KeyVerdict] = []
            if repeated && layout == nil && !keys.isEmpty { recording.reserveCapacity(keys.count) }
            for i in keys.indices {
                let k = keys[i], v = values[i]
                let verdict: KeyVerdict
                if let layout {
                    verdict = layout[i]
                } else {
                    let decide = { () -> KeyVerdict in
                        if projected && !allowed.isEmpty && !allowed.contains(k) {
                            return .omit("Field '\(k)' omitted (not in allowed_fields).")
                        }
                        return isSensitiveName(k) ? .mask(maskWarning(k)) : .keep
                    }
                    verdict = !repeated ? decide()
                        : projected ? memos.projected.verdict(k, decide) : memos.nested.verdict(k, decide)
                    if repeated { recording.append(verdict) }
                }
                switch verdict {
                case .omit(let warning):
                    if !building { result = prefix(o, i); building = true }
                    warnings.append(warning)
                case .mask(let warning):
                    if !building { result = prefix(o, i); building = true }
                    result.appendUnchecked(k, .string(redacted))
                    warnings.append(warning)
                case .keep:
                    // Scalars never change at any depth: no call for them.
                    if v.isScalar {
                        if building { result.appendUnchecked(k, v) }
                        continue
                    }
                    // Projection applies to the top-level object / array rows only: below
                    // them `projected` is false, which ignores `allowed` (passed on as is,
                    // cheaper than loading and copying `.none` for every member).
                    if let nv = changed(v, allowed, projected: false, repeated: repeated, depth: depth + 1,
                                        maxDepth: maxDepth, warnings: &warnings, memos: &memos) {
                        if !building { result = prefix(o, i); building = true }
                        result.appendUnchecked(k, nv)
                    } else if building {
                        result.appendUnchecked(k, v)
                    }
                }
            }
            if repeated && layout == nil && !keys.isEmpty {
                if projected { memos.projected.record(keys, recording) } else { memos.nested.record(keys, recording) }
            }
            return building ? .object(result) : nil
        case .array(let a):
            var out: [JSONValue] = []  // built from the first differing element on
            var building = false
            for i in a.indices {
                let item = a[i]
                if item.isScalar {
                    if building { out.append(item) }
                    continue
                }
                if let nv = changed(item, allowed, projected: projected, repeated: repeated || a.count > 1, depth: depth + 1,
                                    maxDepth: maxDepth, warnings: &warnings, memos: &memos) {
                    if !building {
                        out.reserveCapacity(a.count)
                        out.append(contentsOf: a[0..<i])
                        building = true
                    }
                    out.append(nv)
                } else if building {
                    out.append(item)
                }
            }
            return building ? .array(out) : nil
        case .string(let s):
            let (out, changed) = StringRedactor.scrub(s)
            guard changed else { return nil }
            warnings.append(stringWarning)
            return .string(out)
        default:
            return nil
        }
    }

    /// Whether two key lists hold the same code points in the same order: one shared
    /// array (rows built alike) answers without reading a key.
    static func sameKeys(_ a: [String], _ b: [String]) -> Bool {
        guard a.count == b.count else { return false }
        if sharesStorage(a, b) { return true }
        for i in a.indices where !PyString.equal(a[i], b[i]) { return false }
        return true
    }

    /// `name.lower() in _SENSITIVE_FIELDS`. Every sensitive name is ASCII without `k`,
    /// and the only non-ASCII code points whose Python `lower()` contains ASCII are
    /// U+0130 (-> "i\u{307}", never plain ASCII) and U+212A (-> "k"), so a non-ASCII
    /// key can never match: an ASCII case-insensitive comparison is exact.
    static func isSensitiveName(_ key: String) -> Bool {
        // Lengths first (stored, not counted): most keys have none of the names' lengths.
        let n = key.utf8.count
        guard n < 64 && sensitiveLengths & (1 << UInt64(n)) != 0 else { return false }
        return key.utf8.withContiguousStorageIfAvailable(matchesSensitive)
            ?? Array(key.utf8).withUnsafeBufferPointer(matchesSensitive)
    }

    /// Bit n set when a sensitive name has n bytes (3, 5, 6, 8, 11, 22; a test checks it
    /// against `sensitiveNames`). A literal, not computed from the list: a computed static
    /// is a lazy global, whose initialisation check was a call on every key checked.
    static let sensitiveLengths: UInt64 = 1 << 3 | 1 << 5 | 1 << 6 | 1 << 8 | 1 << 11 | 1 << 22

    /// The names of `sensitiveNames` by length, compared as static strings: reading the
    /// global list retained and released it (and ran its initialisation check) for every
    /// key of a sensitive length, on every trace-args check and every page's layout.
    static func matchesSensitive(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        switch b.count {
        case 3: return lowercaseEquals(b, "ssn") || lowercaseEquals(b, "cvv")
        case 5: return lowercaseEquals(b, "email") || lowercaseEquals(b, "phone")
        case 6: return lowercaseEquals(b, "secret")
        case 8: return lowercaseEquals(b, "password")
        case 11: return lowercaseEquals(b, "card_number") || lowercaseEquals(b, "credit_card")
        case 22: return lowercaseEquals(b, "social_security_number")
        default: return false
        }
    }

    /// ASCII case-insensitive `b == name` for a lowercase ASCII `name` of `b`'s length.
    @inline(__always)
    private static func lowercaseEquals(_ b: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        let p = name.utf8Start
        for i in 0..<b.count {
            var c = b[i]
            if c >= 0x41 && c <= 0x5A { c |= 0x20 }
            if c != p[i] { return false }
        }
        return true
    }
}

extension JSONValue {
    /// null, bool, int or double: what redaction returns unchanged at every depth.
    @inline(__always) var isScalar: Bool {
        switch self {
        case .null, .bool, .int, .double: return true
        case .string, .array, .object: return false
        }
    }
}
