#if canImport(Glibc)
import Glibc
#endif

/// Python `str` semantics the reference's behaviour depends on (docs/reference-semantics.md §0): lengths and
/// slices count code points, `strip()` uses Python's whitespace set, ordering and
/// equality are by code point.
public enum PyString {
    /// `len(s)`: the number of Unicode scalars.
    ///
    /// A native string's valid UTF-8 has one lead byte per scalar, so counting the bytes
    /// that are not continuation bytes (`10xxxxxx`) counts the scalars in one plain loop;
    /// the scalar view decoded each scalar (a frame's fact lengths on every summary).
    @inlinable
    public static func len(_ s: String) -> Int {
        if let n = s.utf8.withContiguousStorageIfAvailable({ b -> Int in
            var n = 0
            for byte in b where byte & 0xC0 != 0x80 { n += 1 }
            return n
        }) {
            return n
        }
        return s.unicodeScalars.count
    }

    /// `s[:n]` in code points.
    public static func prefix(_ s: String, _ n: Int) -> String {
        if n <= 0 { return "" }
        var view = String.UnicodeScalarView()
        var i = 0
        for u in s.unicodeScalars {
            if i == n { break }
            view.append(u)
            i += 1
        }
        return i < n && view.count == s.unicodeScalars.count ? s : String(view)
    }

    /// Python `str.isspace` for one scalar: White_Space plus U+001C..U+001F.
    @inline(__always)
    public static func isSpace(_ u: Unicode.Scalar) -> Bool {
        (0x1C...0x1F).contains(u.value) || u.properties.isWhitespace
    }

    /// `s.strip()`.
    public static func strip(_ s: String) -> String {
        let scalars = Array(s.unicodeScalars)
        var lo = 0
        var hi = scalars.count
        while lo < hi && isSpace(scalars[lo]) { lo += 1 }
        while hi > lo && isSpace(scalars[hi - 1]) { hi -= 1 }
        if lo == 0 && hi == scalars.count { return s }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[lo..<hi])
        return String(view)
    }

    /// `a < b` for Python strings: code point order (UTF-8 byte order is code point
    /// order, so native strings compare with one `memcmp`).
    @inlinable
    public static func less(_ a: String, _ b: String) -> Bool {
        let r: Bool?? = a.utf8.withContiguousStorageIfAvailable { pa in
            b.utf8.withContiguousStorageIfAvailable { pb in
                let n = Swift.min(pa.count, pb.count)
                let c = n == 0 ? 0 : memcmp(pa.baseAddress!, pb.baseAddress!, n)
                return c != 0 ? c < 0 : pa.count < pb.count
            }
        }
        if let r, let r { return r }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// `a == b` for Python strings: code point equality (no canonical equivalence).
    /// Hot (keys of every object lookup): native strings compare their bytes in place.
    @inline(__always)
    @inlinable
    public static func equal(_ a: String, _ b: String) -> Bool {
        // One representation (the same inline bytes of a small string, or one shared
        // buffer with the same count) holds the same code points: equal unread. Table keys
        // decoded or built alike usually are.
        if unsafeBitCast(a, to: (UInt64, UInt64).self) == unsafeBitCast(b, to: (UInt64, UInt64).self) { return true }
        // Lengths first: for native strings `utf8.count` is stored, so most unequal keys
        // never reach the bytes.
        guard a.utf8.count == b.utf8.count else { return false }
        let r: Bool?? = a.utf8.withContiguousStorageIfAvailable { pa in
            b.utf8.withContiguousStorageIfAvailable { pb in
                let n = pa.count
                // Short keys (field names): a byte loop beats the call into memcmp.
                if n <= 16 {
                    for i in 0..<n where pa[i] != pb[i] { return false }
                    return true
                }
                return memcmp(pa.baseAddress!, pb.baseAddress!, n) == 0
            }
        }
        if let r, let r { return r }
        return a.utf8.elementsEqual(b.utf8)
    }

    /// Python `str.isprintable` for one scalar (used by `repr`).
    static func isPrintable(_ u: Unicode.Scalar) -> Bool {
        if u.value == 0x20 { return true }
        switch u.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// Python `repr(s)`.
    public static func repr(_ s: String) -> String {
        // Fast path (policy reasons and trace details repr field names on every grant):
        // printable ASCII without quotes or backslashes is its own repr between single
        // quotes, with no per-scalar Unicode property look-up.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "'") && $0 != UInt8(ascii: "\\") }) {
            return "'" + s + "'"
        }
        let useDouble = s.unicodeScalars.contains("'") && !s.unicodeScalars.contains("\"")
        let quote: Unicode.Scalar = useDouble ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for u in s.unicodeScalars {
            switch u {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            default:
                if u == quote {
                    out.append("\\")
                    out.append(u)
                } else if isPrintable(u) {
                    out.append(u)
                } else {
                    let hexDigits = String(u.value, radix: 16)
                    let (prefix, width) = u.value < 0x100 ? ("\\x", 2) : u.value < 0x10000 ? ("\\u", 4) : ("\\U", 8)
                    out.append(contentsOf: (prefix + String(repeating: "0", count: width - hexDigits.count) + hexDigits).unicodeScalars)
                }
            }
        }
        out.append(quote)
        return String(out)
    }
}

extension JSONValue {
    /// Python `repr(v)` of the equivalent Python object: `None`, `True`, `'s'`,
    /// `[1, 2]`, `{'a': 1.0}`.
    public var pyRepr: String {
        switch self {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return PyFloat.repr(d)
        case .string(let s): return PyString.repr(s)
        case .array(let a): return "[" + a.map(\.pyRepr).joined(separator: ", ") + "]"
        case .object(let o):
            return "{" + o.map { PyString.repr($0.key) + ": " + $0.value.pyRepr }.joined(separator: ", ") + "}"
        }
    }

    /// Python `str(v)`: like `repr` except a string is itself.
    public var pyStr: String {
        if case .string(let s) = self { return s }
        return pyRepr
    }
}
