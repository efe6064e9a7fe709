/// A minimal HPACK encoder (RFC 7541) for hostile tests: literal fields without Huffman, with
/// or without incremental indexing, and indexed references. Enough for 0-length header floods
/// and HPACK bombs (one large dynamic-table entry referenced many times, CVE-2016-6581).
public enum HPACKWriter {
    /// First dynamic-table index (RFC 7541 §2.3.3: the static table has 61 entries).
    public static let firstDynamicIndex = 62

    /// §6.2.2 literal header field without indexing, new name.
    public static func literal(_ name: String, _ value: String) -> [UInt8] {
        [0x00] + string(name) + string(value)
    }

    /// §6.2.1 literal with incremental indexing, new name: the field enters the dynamic table.
    public static func literalIndexed(_ name: String, _ value: String) -> [UInt8] {
        [0x40] + string(name) + string(value)
    }

    /// §6.1 indexed header field.
    public static func indexed(_ index: Int) -> [UInt8] { integer(index, prefixBits: 7, flags: 0x80) }

    /// The request pseudo-headers (literal, so blocks can be concatenated freely) plus extras.
    public static func request(method: String = "POST", path: String = "/v1/list_capabilities",
                               scheme: String = "https", authority: String = "capgate.test",
                               extra: [(String, String)] = []) -> [UInt8] {
        var out = literal(":method", method) + literal(":scheme", scheme)
            + literal(":authority", authority) + literal(":path", path)
        for (n, v) in extra { out += literal(n, v) }
        return out
    }

    /// §5.2 string literal, H = 0.
    public static func string(_ s: String) -> [UInt8] {
        let bytes = Array(s.utf8)
        return integer(bytes.count, prefixBits: 7, flags: 0) + bytes
    }

    /// §5.1 integer with an N-bit prefix; `flags` fills the high bits of the first byte.
    public static func integer(_ value: Int, prefixBits: Int, flags: UInt8) -> [UInt8] {
        let maxPrefix = (1 << prefixBits) - 1
        if value < maxPrefix { return [flags | UInt8(value)] }
        var out: [UInt8] = [flags | UInt8(maxPrefix)]
        var rest = value - maxPrefix
        while rest >= 128 {
            out.append(UInt8(rest % 128 + 128))
            rest /= 128
        }
        out.append(UInt8(rest))
        return out
    }
}
