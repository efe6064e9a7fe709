/// How a YAML scalar becomes a `JSONValue`: the YAML 1.1 resolution pyyaml's `safe_load`
/// applies (the reference loads policies with it), so `off` is false, `0x1f` and `1:30` are
/// ints, `.inf` a float, `~` null, and everything else, `0o17` and `1e5` included, a string.
/// Each matcher spells out one of pyyaml's implicit-resolver patterns by hand: they are
/// small, and a hand matcher has no shared compiled state between threads.
enum YAMLScalars {
    /// What a plain (unquoted, untagged) scalar resolves to before construction.
    enum Implicit: Equatable { case null, bool, int, float, merge, value, string }

    static let yaml = "tag:yaml.org,2002:"

    static func resolve(_ text: String) -> Implicit {
        let b = Array(text.utf8)
        if isNull(b) { return .null }
        if isBool(text) { return .bool }
        if isFloat(b) { return .float }
        if isInt(b) { return .int }
        if text == "<<" { return .merge }
        if text == "=" { return .value }
        // Timestamps resolve to datetime in pyyaml; JSON has no such type, so they stay text.
        return .string
    }

    // MARK: constructors (pyyaml's construct_yaml_*), nil when the text does not construct

    static let boolValues: [String: Bool] = ["yes": true, "no": false, "true": true, "false": false,
                                             "on": true, "off": false]

    static func bool(_ text: String) -> Bool? { boolValues[text.lowercased()] }

    /// Underscores dropped, then sign, `0`, `0b`, `0x`, leading-`0` octal, `:` base 60, decimal.
    /// Python ints are unbounded; one outside Int64 does not construct (nil).
    static func int(_ text: String) -> Int? {
        var v = Substring(text.filter { $0 != "_" })
        var negative = false
        if v.first == "-" { negative = true; v = v.dropFirst() } else if v.first == "+" { v = v.dropFirst() }
        let sign = negative ? "-" : ""
        if v == "0" { return 0 }
        if v.hasPrefix("0b") { return Int(sign + v.dropFirst(2), radix: 2) }
        if v.hasPrefix("0x") { return Int(sign + v.dropFirst(2), radix: 16) }
        if v.hasPrefix("0") { return Int(sign + v.dropFirst(), radix: 8) }
        if v.contains(":") {
            var total = 0
            for part in v.split(separator: ":", omittingEmptySubsequences: false) {
                guard let digit = Int(part) else { return nil }
                let (shifted, o1) = total.multipliedReportingOverflow(by: 60)
                let (sum, o2) = shifted.addingReportingOverflow(digit)
                if o1 || o2 { return nil }
                total = sum
            }
            return negative ? -total : total
        }
        return Int(sign + v)
    }

    static func float(_ text: String) -> Double? {
        var v = Substring(text.filter { $0 != "_" }.lowercased())
        var sign = 1.0
        if v.first == "-" { sign = -1; v = v.dropFirst() } else if v.first == "+" { v = v.dropFirst() }
        if v == ".inf" { return sign * .infinity }
        if v == ".nan" { return .nan }
        if v.contains(":") {
            var total = 0.0
            for part in v.split(separator: ":", omittingEmptySubsequences: false) {
                guard let digit = Double(part) else { return nil }
                total = total * 60 + digit
            }
            return sign * total
        }
        return Double(v).map { sign * $0 }
    }

    // MARK: implicit-resolver patterns (whole-string matches over UTF-8 bytes)

    private static func isNull(_ b: [UInt8]) -> Bool {
        b.isEmpty || b == [0x7E] || ["null", "Null", "NULL"].contains { Array($0.utf8) == b }
    }

    private static let boolForms: Set<String> = [
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE",
        "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ]

    private static func isBool(_ text: String) -> Bool { boolForms.contains(text) }

    private static func digit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static let underscore: UInt8 = 0x5F, dot: UInt8 = 0x2E, colon: UInt8 = 0x3A

    /// Reads `[0-9_]*` from `i`.
    private static func digitsOrUnderscores(_ b: [UInt8], _ i: inout Int, _ ok: (UInt8) -> Bool = digit) {
        while i < b.count, ok(b[i]) || b[i] == underscore { i += 1 }
    }

    /// Reads `(:[0-5]?[0-9])+`; false when there is not at least one group.
    private static func sexagesimalGroups(_ b: [UInt8], _ i: inout Int) -> Bool {
        var groups = 0
        while i < b.count, b[i] == colon {
            let start = i + 1
            guard start < b.count, digit(b[start]) else { return false }
            i = start + 1
            // Two digits only when the first is 0-5 (a lone digit may not be followed by a digit).
            if i < b.count, digit(b[i]) {
                guard b[start] <= 0x35 else { return false }
                i += 1
            }
            groups += 1
        }
        return groups > 0
    }

    private static func optionalSign(_ b: [UInt8], _ i: inout Int) {
        if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
    }

    /// `[-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
    ///  | [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+`
    static func isInt(_ b: [UInt8]) -> Bool {
        var i = 0
        optionalSign(b, &i)
        guard i < b.count, digit(b[i]) else { return false }
        let rest = Array(b[i...])
        if rest == [0x30] { return true }
        if rest[0] == 0x30 {
            guard rest.count > 1 else { return false }
            var j = 2
            switch rest[1] {
            case 0x62:  // 0b
                digitsOrUnderscores(rest, &j) { $0 == 0x30 || $0 == 0x31 }
                return j == rest.count && rest.count > 2
            case 0x78:  // 0x
                digitsOrUnderscores(rest, &j) { digit($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0) }
                return j == rest.count && rest.count > 2
            default:    // octal
                j = 1
                digitsOrUnderscores(rest, &j) { $0 >= 0x30 && $0 <= 0x37 }
                return j == rest.count
            }
        }
        var j = 1
        digitsOrUnderscores(rest, &j)
        if j == rest.count { return true }
        return sexagesimalGroups(rest, &j) && j == rest.count
    }

    /// `[-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)? | \.[0-9][0-9_]*([eE][-+][0-9]+)?
    ///  | [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)`
    static func isFloat(_ b: [UInt8]) -> Bool {
        let s = String(decoding: b, as: UTF8.self)
        if [".nan", ".NaN", ".NAN"].contains(s) { return true }
        var i = 0
        optionalSign(b, &i)
        let signed = i > 0
        let tail = String(decoding: b[i...], as: UTF8.self)
        if [".inf", ".Inf", ".INF"].contains(tail) { return true }
        guard i < b.count else { return false }
        func exponentToEnd(_ j: inout Int) -> Bool {
            if j == b.count { return true }
            guard b[j] == 0x65 || b[j] == 0x45 else { return false }
            j += 1
            guard j < b.count, b[j] == 0x2B || b[j] == 0x2D else { return false }
            j += 1
            let start = j
            while j < b.count, digit(b[j]) { j += 1 }
            return j > start && j == b.count
        }
        if b[i] == dot {
            // `.5`: no sign allowed on this form.
            guard !signed, i + 1 < b.count, digit(b[i + 1]) else { return false }
            var j = i + 2
            digitsOrUnderscores(b, &j)
            return exponentToEnd(&j)
        }
        guard digit(b[i]) else { return false }
        var j = i + 1
        digitsOrUnderscores(b, &j)
        guard j < b.count else { return false }
        if b[j] == dot {
            j += 1
            digitsOrUnderscores(b, &j)
            return exponentToEnd(&j)
        }
        guard b[j] == colon, sexagesimalGroups(b, &j), j < b.count, b[j] == dot else { return false }
        j += 1
        digitsOrUnderscores(b, &j)
        return j == b.count
    }
}
