/// A strict TOML 1.0 reader producing `JSONValue`, for policy files (docs/reference-semantics.md §5.3).
///
/// Why not TOMLKit: it wraps toml++, whose tables are sorted maps, and policy semantics
/// depend on document order (`explain` reports `attributes`/`scope` failures in the order
/// written, and constraints keep their order in decisions), as Python's `tomllib` keeps it.
///
/// Supported: comments, bare/quoted/dotted keys, `[table]`, `[[array of tables]]`, inline
/// tables, arrays, all four string forms with escapes, integers (decimal, `0x`, `0o`, `0b`,
/// underscores), floats (incl. `inf`/`nan`), booleans. Rejected: duplicate keys, table
/// redefinition, extending inline tables or static arrays, integers beyond 64 bits, and
/// date-times (a datetime cannot be signed into a token, so it has no meaning in policy).
/// Errors read like tomllib's: `<what> (at line L, column C)`.
public struct TOMLReader {
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var line: Int
        public var column: Int
        public var description: String { "\(message) (at line \(line), column \(column))" }
    }

    public static func parse(_ text: String) throws(ParseError) -> JSONValue {
        var r = TOMLReader(Array(text.utf8))
        return try r.document()
    }

    // Mutable tree while parsing; tables are classes so headers can reopen them.
    final class Table {
        var keys: [String] = []
        var nodes: [String: Node] = [:]
        var explicit = false  // defined by a [header]
        var dotted = false    // created by a dotted key
        func get(_ k: String) -> Node? { nodes[k] }
        func set(_ k: String, _ n: Node) {
            if nodes[k] == nil { keys.append(k) }
            nodes[k] = n
        }
        var json: JSONValue { .object(JSONObject(keys.map { ($0, nodes[$0]!.json) })) }
    }
    final class TableArray { var tables: [Table] = [] }
    enum Node {
        case value(JSONValue)  // includes inline tables and static arrays (immutable)
        case table(Table)
        case tables(TableArray)
        var json: JSONValue {
            switch self {
            case .value(let v): return v
            case .table(let t): return t.json
            case .tables(let a): return .array(a.tables.map(\.json))
            }
        }
    }

    let b: [UInt8]
    var i = 0
    /// Open arrays and inline tables around the cursor. Bounded (as are the parts of one
    /// key) so a hostile or broken file (`a = [[[[...`, `a.a.a...`) is an error, not a
    /// stack overflow (found by fuzz/toml; CPython's tomllib dies with RecursionError near
    /// 500 levels). No policy or configuration nests anywhere near this deep.
    var nesting = 0
    static let maxNesting = 128

    init(_ bytes: [UInt8]) { b = bytes }

    var peek: UInt8? { i < b.count ? b[i] : nil }
    func at(_ k: Int) -> UInt8? { i + k < b.count ? b[i + k] : nil }

    func fail(_ m: String) -> ParseError {
        var line = 1, col = 1
        for k in 0..<min(i, b.count) {
            if b[k] == 0x0A { line += 1; col = 1 } else if b[k] & 0xC0 != 0x80 { col += 1 }
        }
        return ParseError(message: m, line: line, column: col)
    }

    mutating func skipWS() { while let c = peek, c == 0x20 || c == 0x09 { i += 1 } }
    mutating func skipComment() { if peek == UInt8(ascii: "#") { while let c = peek, c != 0x0A { i += 1 } } }
    /// Whitespace, comments and newlines (between array elements and top-level lines).
    mutating func skipBlank() {
        while true {
            skipWS()
            skipComment()
            if peek == 0x0A { i += 1 } else if peek == 0x0D && at(1) == 0x0A { i += 2 } else { return }
        }
    }
    mutating func endOfLine() throws(ParseError) {
        skipWS()
        skipComment()
        if peek == nil { return }
        if peek == 0x0A { i += 1; return }
        if peek == 0x0D && at(1) == 0x0A { i += 2; return }
        throw fail("Expected newline or end of document after a statement")
    }

    mutating func document() throws(ParseError) -> JSONValue {
        let root = Table()
        var current = root
        while true {
            skipBlank()
            guard let c = peek else { break }
            if c == UInt8(ascii: "[") {
                if at(1) == UInt8(ascii: "[") {
                    i += 2
                    current = try arrayTableHeader(root)
                } else {
                    i += 1
                    current = try tableHeader(root)
                }
            } else {
                try keyValue(into: current)
            }
            try endOfLine()
        }
        return root.json
    }

    mutating func headerKeys(closing: Int) throws(ParseError) -> [String] {
        skipWS()
        let keys = try key()
        skipWS()
        for _ in 0..<closing {
            guard peek == UInt8(ascii: "]") else { throw fail("Expected ']' at the end of a table declaration") }
            i += 1
        }
        return keys
    }

    /// Walks `keys.dropLast()` from `root`, creating implicit tables; arrays of tables
    /// resolve to their last element.
    func descend(_ root: Table, _ keys: ArraySlice<String>) throws(ParseError) -> Table {
        var t = root
        for k in keys {
            switch t.get(k) {
            case nil:
                let n = Table()
                t.set(k, .table(n))
                t = n
            case .table(let n)?: t = n
            case .tables(let a)?: t = a.tables[a.tables.count - 1]
            case .value?: throw fail("Cannot declare a table inside a value (key '\(k)')")
            }
        }
        return t
    }

    mutating func tableHeader(_ root: Table) throws(ParseError) -> Table {
        let keys = try headerKeys(closing: 1)
        let parent = try descend(root, keys.dropLast())
        let last = keys[keys.count - 1]
        switch parent.get(last) {
        case nil:
            let t = Table()
            t.explicit = true
            parent.set(last, .table(t))
            return t
        case .table(let t)?:
            guard !t.explicit && !t.dotted else { throw fail("Cannot declare table '\(keys.joined(separator: "."))' twice") }
            t.explicit = true
            return t
        default:
            throw fail("Cannot overwrite a value with table '\(keys.joined(separator: "."))'")
        }
    }

    mutating func arrayTableHeader(_ root: Table) throws(ParseError) -> Table {
        let keys = try headerKeys(closing: 2)
        let parent = try descend(root, keys.dropLast())
        let last = keys[keys.count - 1]
        let t = Table()
        t.explicit = true
        switch parent.get(last) {
        case nil:
            let a = TableArray()
            a.tables.append(t)
            parent.set(last, .tables(a))
        case .tables(let a)?: a.tables.append(t)
        default: throw fail("Cannot declare array of tables '\(keys.joined(separator: "."))' over another value")
        }
        return t
    }

    mutating func keyValue(into table: Table) throws(ParseError) {
        let keys = try key()
        skipWS()
        guard peek == UInt8(ascii: "=") else { throw fail("Expected '=' after a key in a key/value pair") }
        i += 1
        skipWS()
        let v = try value()
        var t = table
        for k in keys.dropLast() {
            switch t.get(k) {
            case nil:
                let n = Table()
                n.dotted = true
                t.set(k, .table(n))
                t = n
            case .table(let n)? where n.dotted && !n.explicit: t = n
            default: throw fail("Cannot extend key '\(k)' with a dotted key")
            }
        }
        let last = keys[keys.count - 1]
        guard t.get(last) == nil else { throw fail("Cannot overwrite a value (key '\(last)')") }
        t.set(last, .value(v))
    }

    /// `a."b c".'d'` → ["a", "b c", "d"].
    mutating func key() throws(ParseError) -> [String] {
        var out: [String] = []
        while true {
            skipWS()
            guard let c = peek else { throw fail("Expected a key") }
            if c == UInt8(ascii: "\"") {
                i += 1
                out.append(try basicString())
            } else if c == UInt8(ascii: "'") {
                i += 1
                out.append(try literalString())
            } else {
                let start = i
                while let d = peek, Self.isBare(d) { i += 1 }
                guard i > start else { throw fail("Invalid initial character for a key part") }
                out.append(String(decoding: b[start..<i], as: UTF8.self))
            }
            skipWS()
            guard peek == UInt8(ascii: ".") else { return out }
            // Each part is one more table level: bounded like value nesting, or the
            // recursive rendering of the tree overflows the stack (fuzz/toml).
            guard out.count < Self.maxNesting else { throw fail("Key with more than \(Self.maxNesting) parts") }
            i += 1
        }
    }

    static func isBare(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
    }

    mutating func value() throws(ParseError) -> JSONValue {
        guard let c = peek else { throw fail("Invalid value") }
        switch c {
        case UInt8(ascii: "\""):
            if at(1) == c && at(2) == c { i += 3; return .string(try multilineString(literal: false)) }
            i += 1
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if at(1) == c && at(2) == c { i += 3; return .string(try multilineString(literal: true)) }
            i += 1
            return .string(try literalString())
        case UInt8(ascii: "["): i += 1; return try array()
        case UInt8(ascii: "{"): i += 1; return try inlineTable()
        default: return try scalar()
        }
    }

    mutating func enterNested() throws(ParseError) {
        nesting += 1
        if nesting > Self.maxNesting { throw fail("Arrays and inline tables nested deeper than \(Self.maxNesting)") }
    }

    mutating func array() throws(ParseError) -> JSONValue {
        try enterNested()
        defer { nesting -= 1 }
        var items: [JSONValue] = []
        while true {
            skipBlank()
            if peek == UInt8(ascii: "]") { i += 1; return .array(items) }
            items.append(try value())
            skipBlank()
            if peek == UInt8(ascii: ",") { i += 1; continue }
            guard peek == UInt8(ascii: "]") else { throw fail("Unclosed array") }
            i += 1
            return .array(items)
        }
    }

    mutating func inlineTable() throws(ParseError) -> JSONValue {
        try enterNested()
        defer { nesting -= 1 }
        let t = Table()
        skipWS()
        if peek == UInt8(ascii: "}") { i += 1; return t.json }
        while true {
            try keyValue(into: t)
            skipWS()
            if peek == UInt8(ascii: ",") { i += 1; skipWS(); continue }
            guard peek == UInt8(ascii: "}") else { throw fail("Unclosed inline table") }
            i += 1
            return t.json
        }
    }
}
