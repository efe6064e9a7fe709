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
    struct AllowedFields {
        let isEmpty: Bool
        private let names: [String]
        private let index: Set<CodePointKey>?

        static let none = AllowedFields([])

        init(_ elements: [JSONValue]) {
            isEmpty = elements.isEmpty
            names = elements.compactMap(\.stringValue)
            index = names.count > 16 ? Set(names.map(CodePointKey.init)) : nil
        }

        /// Python `k in allowed_fields` for a str key: code point equality.
        func contains(_ key: String) -> Bool {
            if let index { return index.contains(CodePointKey(key)) }
            return names.contains { PyString.equal($0, key) }
        }
    }

    static func redact(_ value: JSONValue, _ allowed: AllowedFields, depth: Int, maxDepth: Int,
                       warnings: inout [String]) -> JSONValue {
        if depth >= maxDepth {
            switch value {
            case .string(let s):
                let (out, changed) = StringRedactor.scrub(s)
                if changed { warnings.append(stringWarning) }
                return .string(out)
            case .object, .array:
                warnings.append(depthWarning)
                return .string(depthElided)
            default:
                return value
            }
        }
        switch value {
        case .object(let o):
            var result = JSONObject()
            result.reserveCapacity(o.count)
            for (k, v) in o {
                if !allowed.isEmpty && !allowed.contains(k) {
                    warnings.append("Field '\(k)' omitted (not in allowed_fields).")
                    continue
                }
                if isSensitiveName(k) {
                    result.appendUnchecked(k, .string(redacted))
                    warnings.append("Field '\(k)' redacted (sensitive field name).")
                } else {
                    // Projection applies to the top-level object / array rows only.
                    result.appendUnchecked(k, redact(v, AllowedFields.none, depth: depth + 1, maxDepth: maxDepth,
                                                     warnings: &warnings))
                }
            }
            return .object(result)
        case .array(let a):
            var out: [JSONValue] = []
            out.reserveCapacity(a.count)
            for item in a {
                out.append(redact(item, allowed, depth: depth + 1, maxDepth: maxDepth, warnings: &warnings))
            }
            return .array(out)
        case .string(let s):
            let (out, changed) = StringRedactor.scrub(s)
            if changed { warnings.append(stringWarning) }
            return .string(out)
        default:
            return value
        }
    }

    /// `name.lower() in _SENSITIVE_FIELDS`. Every sensitive name is ASCII without `k`,
    /// and the only non-ASCII code points whose Python `lower()` contains ASCII are
    /// U+0130 (-> "i\u{307}", never plain ASCII) and U+212A (-> "k"), so a non-ASCII
    /// key can never match: an ASCII case-insensitive comparison is exact.
    static func isSensitiveName(_ key: String) -> Bool {
        key.utf8.withContiguousStorageIfAvailable(matchesSensitive)
            ?? Array(key.utf8).withUnsafeBufferPointer(matchesSensitive)
    }

    private static func matchesSensitive(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count >= 3 && b.count <= 22 else { return false }
        candidates: for name in sensitiveNames where name.count == b.count {
            for i in 0..<b.count {
                var c = b[i]
                if c >= 0x41 && c <= 0x5A { c |= 0x20 }
                if c != name[i] { continue candidates }
            }
            return true
        }
        return false
    }
}
