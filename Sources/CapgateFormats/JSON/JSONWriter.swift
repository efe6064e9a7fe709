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
    /// Writes `v` in `style`.
    public static func write(_ v: JSONValue, style: JSONStyle, into out: inout [UInt8]) {
        writeValue(v, style: style, into: &out)
    }

    /// One value, borrowed: the payload the `switch` binds (a string, an array, an object's
    /// key and value arrays) is used in place, not copied. Refcounting was 40% of the encode
    /// of a 31 KB invoke frame when every member was copied out and then retained again by
    /// `writeString`; now each member read from its container is one copy (the optimizer
    /// cannot yet borrow an element out of an array's buffer across the calls that append to
    /// `out`: a pointer into the buffer or a `Span` copies just the same), and the borrowed
    /// payloads add none.
    private static func writeValue(_ v: borrowing JSONValue, style: JSONStyle, into out: inout [UInt8]) {
        switch v {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): writeInt(i, into: &out)
        case .double(let d): out.append(contentsOf: PyFloat.jsonRepr(d).utf8)
        case .string(let s): writeString(s, ascii: style != .compact, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for i in a.indices {
                if i > 0 { separator(style, into: &out) }
                writeMember(a[i], style: style, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            if style == .canonical {
                withCanonicalOrder(o.keys) { order in
                    for n in 0..<order.count {
                        if n > 0 { out.append(UInt8(ascii: ",")) }
                        writeString(o.keys[order[n]], ascii: true, into: &out)
                        out.append(UInt8(ascii: ":"))
                        writeMember(o.values[order[n]], style: style, into: &out)
                    }
                }
            } else {
                for i in o.keys.indices {
                    if i > 0 { separator(style, into: &out) }
                    writeString(o.keys[i], ascii: style != .compact, into: &out)
                    out.append(UInt8(ascii: ":"))
                    if style == .pythonDefault { out.append(UInt8(ascii: " ")) }
                    writeMember(o.values[i], style: style, into: &out)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A member of an array or object: strings and ints (most of a frame's members) are
    /// written right in the container's loop, without a call per member.
    @inline(__always)
    private static func writeMember(_ v: borrowing JSONValue, style: JSONStyle, into out: inout [UInt8]) {
        switch v {
        case .string(let s): writeString(s, ascii: style != .compact, into: &out)
        case .int(let i): writeInt(i, into: &out)
        default: writeValue(v, style: style, into: &out)
        }
    }

    /// Decimal digits of `i` straight into `out` (no `String` per number).
    static func writeInt(_ i: Int, into out: inout [UInt8]) {
        if i == Int.min {
            out.append(contentsOf: "-9223372036854775808".utf8)
            return
        }
        if i < 0 { out.append(UInt8(ascii: "-")) }
        var m = UInt(i.magnitude)
        if m < 10 {
            out.append(UInt8(truncatingIfNeeded: m) &+ 48)
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &digits) { buf in
            var k = buf.count
            while m > 0 {
                k -= 1
                buf[k] = UInt8(truncatingIfNeeded: m % 10) &+ 48
                m /= 10
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[k...]))
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
    ///
    /// Hot (14% of the server's CPU once): the UTF-8 bytes are scanned in place and copied
    /// out in runs that need no escape, one `memcpy` per run, with room reserved up front.
    public static func writeString(_ s: String, ascii: Bool, into out: inout [UInt8]) {
        // Through `span`, a view borrowed from `s`: `withContiguousStorageIfAvailable`
        // retained and released the string's storage around its closure, once per string.
        s.utf8.span.withUnsafeBufferPointer { writeUTF8($0, ascii: ascii, into: &out) }
    }

    /// Calls `body` with the indices of `keys` in the canonical (code-point) order. The keys
    /// of one object are distinct code-point sequences, so the order is total. Up to 16 keys
    /// (a token's constraints: `allowed_fields`, `max_rows`, ...) are insertion-sorted on the
    /// stack, so a signature sorts no index array on the heap; more take a sorted array.
    /// Shared by the canonical objects here and the kernel's signing constraints.
    @inlinable
    public static func withCanonicalOrder(_ keys: [String], _ body: (UnsafeBufferPointer<Int>) -> Void) {
        guard keys.count <= 16 else {
            let order = keys.indices.sorted { PyString.less(keys[$0], keys[$1]) }
            order.withUnsafeBufferPointer(body)
            return
        }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: keys.count) { order in
            for i in 0..<keys.count {
                var j = i
                while j > 0 && PyString.less(keys[i], keys[order[j - 1]]) {
                    order[j] = order[j - 1]
                    j -= 1
                }
                order[j] = i
            }
            body(UnsafeBufferPointer(order))
        }
    }

    /// Whether every byte of `b` is one the ASCII dialect copies verbatim (printable ASCII
    /// other than `"` and `\`), so every dialect writes `b` as it is. Eight bytes at a time:
    /// the kernel checks a token's ids and names on every signature.
    public static func isPlainASCII(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = b.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= b.count {
            if !plainASCII8(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { return false }
            i += 8
        }
        while i < b.count {
            let c = b[i]
            if c < 0x20 || c > 0x7E || c == 0x22 || c == 0x5C { return false }
            i += 1
        }
        return true
    }

    /// Whether all eight bytes of `w` are printable ASCII (0x20...0x7E) other than `"` and
    /// `\`: the bytes the ASCII dialect copies verbatim. Once no byte has its high bit
    /// set, each per-byte sum below stays under 0x100, so no carry crosses a byte.
    @inline(__always)
    static func plainASCII8(_ w: UInt64) -> Bool {
        let high: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        let notLow = (w &+ 0x60 &* ones) & high  // bit 7 set where the byte is >= 0x20
        let isDEL = (w &+ ones) & high  // set where the byte is 0x7F
        let notQuote = ((w ^ (0x22 &* ones)) &+ 0x7F &* ones) & high  // set where the byte is not `"`
        let notBackslash = ((w ^ (0x5C &* ones)) &+ 0x7F &* ones) & high  // set where the byte is not `\`
        return w & high == 0 && notLow == high && isDEL == 0 && notQuote == high && notBackslash == high
    }

    /// `writeString` over the string's (valid) UTF-8 bytes.
    @inline(__always)
    private static func writeUTF8(_ b: UnsafeBufferPointer<UInt8>, ascii: Bool, into out: inout [UInt8]) {
        // Grow geometrically: `reserveCapacity(exact)` would reallocate on every string.
        let needed = out.count + b.count + 2
        if out.capacity < needed { out.reserveCapacity(max(needed, 2 * out.capacity)) }
        out.append(UInt8(ascii: "\""))
        let n = b.count
        var run = 0  // start of the pending run of bytes copied verbatim
        var i = 0
        if !ascii {
            // The wire dialect: only `"`, `\` and C0 controls are escaped; DEL and
            // non-ASCII bytes go out raw.
            while i < n {
                let c = b[i]
                if c >= 0x20 && c != 0x22 && c != 0x5C {
                    i += 1
                    continue
                }
                if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[run..<i])) }
                appendASCII(c, into: &out)
                i += 1
                run = i
            }
        } else {
            while i < n {
                // Eight bytes that need no escape at a time (ids, keys and field names
                // are mostly such runs); the byte loop below takes the rest.
                while n - i >= 8 && plainASCII8(UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: UInt64.self)) {
                    i += 8
                }
                if i == n { break }
                let c = b[i]
                if c >= 0x20 && c < 0x7F && c != 0x22 && c != 0x5C {
                    i += 1
                    continue
                }
                if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[run..<i])) }
                if c < 0x80 {
                    appendASCII(c, into: &out)
                    i += 1
                } else {
                    // A Swift string's UTF-8 is valid: decode one scalar from its lead byte.
                    let v: UInt32
                    if c < 0xE0 {
                        v = UInt32(c & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F)
                        i += 2
                    } else if c < 0xF0 {
                        v = UInt32(c & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F)
                        i += 3
                    } else {
                        v = UInt32(c & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6
                            | UInt32(b[i + 3] & 0x3F)
                        i += 4
                    }
                    if v >= 0x10000 {
                        let w = v - 0x10000
                        escapeUnit(UInt16(0xD800 + (w >> 10)), into: &out)
                        escapeUnit(UInt16(0xDC00 + (w & 0x3FF)), into: &out)
                    } else {
                        escapeUnit(UInt16(v), into: &out)
                    }
                }
                run = i
            }
        }
        if run < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[run..<n])) }
        out.append(UInt8(ascii: "\""))
    }
}
