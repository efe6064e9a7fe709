/// Serializes `JSONValue` in the three dialects the project needs.
///
/// - `compact`: the wire form. Insertion order, `,` and `:` separators, non-ASCII written
///   as UTF-8, control characters escaped.
/// - `canonical`: Python `json.dumps(sort_keys=True, separators=(",",":"))` with
///   `ensure_ascii`: the exact bytes HMAC signatures are computed over (docs/reference-semantics.md §4).
/// - `pythonDefault`: Python `json.dumps(v)` with default separators `", "`/`": "` and
///   `ensure_ascii`; its length drives the default token counter (docs/reference-semantics.md §8.4).
public enum JSONStyle: Sendable {
    case compact
    case canonical
    case pythonDefault
}

extension JSONValue {
    /// The serialized text in the given style.
    public func serialized(_ style: JSONStyle = .compact) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        JSONWriter.write(self, style: style, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The serialized UTF-8 bytes in the given style.
    public func serializedBytes(_ style: JSONStyle = .compact) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        JSONWriter.write(self, style: style, into: &out)
        return out
    }
}

/// The writer itself, public so the kernel can stream a known-shape object (the token
/// signing payload) without building a `JSONValue` first.
public enum JSONWriter {
    public static func write(_ v: JSONValue, style: JSONStyle, into out: inout [UInt8]) {
        switch v {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): out.append(contentsOf: PyFloat.jsonRepr(d).utf8)
        case .string(let s): writeString(s, ascii: style != .compact, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, e) in a.enumerated() {
                if i > 0 { separator(style, into: &out) }
                write(e, style: style, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            if style == .canonical {
                let order = o.keys.indices.sorted { PyString.less(o.keys[$0], o.keys[$1]) }
                for (n, i) in order.enumerated() {
                    if n > 0 { out.append(UInt8(ascii: ",")) }
                    writeString(o.keys[i], ascii: true, into: &out)
                    out.append(UInt8(ascii: ":"))
                    write(o.values[i], style: style, into: &out)
                }
            } else {
                for i in o.keys.indices {
                    if i > 0 { separator(style, into: &out) }
                    writeString(o.keys[i], ascii: style != .compact, into: &out)
                    out.append(UInt8(ascii: ":"))
                    if style == .pythonDefault { out.append(UInt8(ascii: " ")) }
                    write(o.values[i], style: style, into: &out)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    @inline(__always)
    private static func separator(_ style: JSONStyle, into out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        if style == .pythonDefault { out.append(UInt8(ascii: " ")) }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private static func escapeUnit(_ u: UInt16, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "u"))
        out.append(hex[Int(u >> 12) & 0xF])
        out.append(hex[Int(u >> 8) & 0xF])
        out.append(hex[Int(u >> 4) & 0xF])
        out.append(hex[Int(u) & 0xF])
    }

    /// One ASCII byte the way Python writes it: short escapes for `"`, `\`, `\n`, `\r`,
    /// `\t`, `\b`, `\f`; other controls and DEL as `\u00xx`.
    @inline(__always)
    private static func appendASCII(_ b: UInt8, into out: inout [UInt8]) {
        switch b {
        case 0x22: out.append(contentsOf: [92, 34])
        case 0x5C: out.append(contentsOf: [92, 92])
        case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
        case 0x08: out.append(contentsOf: [92, UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [92, UInt8(ascii: "f")])
        case 0x20...0x7E: out.append(b)
        default: escapeUnit(UInt16(b), into: &out)
        }
    }

    /// Python's escaping: short escapes for `"`, `\`, `\n`, `\r`, `\t`, `\b`, `\f`; other
    /// controls as `\u00xx`; with `ascii`, everything outside U+0020..U+007E as lowercase
    /// `\uxxxx` (astral scalars as surrogate pairs). `/` is never escaped.
    public static func writeString(_ s: String, ascii: Bool, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        if !ascii {
            // Fast path: copy UTF-8 runs, escaping only ASCII specials.
            for b in s.utf8 {
                // DEL and UTF-8 bytes go out raw in the wire dialect.
                if b < 0x7F { appendASCII(b, into: &out) } else { out.append(b) }
            }
        } else {
            // ASCII-only strings (ids, keys, most values) take a byte loop; the first
            // non-ASCII byte hands the rest of the string to the scalar loop.
            var u = s.utf8.startIndex
            while u != s.utf8.endIndex {
                let b = s.utf8[u]
                if b >= 0x80 { break }
                appendASCII(b, into: &out)
                u = s.utf8.index(after: u)
            }
            if u != s.utf8.endIndex {
                for scalar in s[u...].unicodeScalars {
                    let v = scalar.value
                    if v < 0x80 {
                        appendASCII(UInt8(v), into: &out)
                    } else if v >= 0x10000 {
                        let w = v - 0x10000
                        escapeUnit(UInt16(0xD800 + (w >> 10)), into: &out)
                        escapeUnit(UInt16(0xDC00 + (w & 0x3FF)), into: &out)
                    } else {
                        escapeUnit(UInt16(v), into: &out)
                    }
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
