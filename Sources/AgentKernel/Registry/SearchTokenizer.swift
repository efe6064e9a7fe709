/// The search tokenizer (docs/reference-semantics.md §6 "Tokenize"; `search_index.tokenize`):
/// `re.findall(r"[a-z0-9]+", text.lower())` minus the stop words.
///
/// Only ASCII `[a-z0-9]` can be part of a token, so the full Unicode `lower()` matters only
/// where it *produces* ASCII from non-ASCII input. Under Python 3.11 (Unicode 14.0) exactly
/// two code points do (checked by scanning every code point with the reference):
/// U+0130 'İ' lowers to "i" + U+0307 (so it ends a token after an "i"), and U+212A KELVIN
/// SIGN lowers to "k". Every other non-ASCII scalar is a separator.
public enum SearchTokenizer {
    /// Words an agent routinely types that carry no signal (`_STOP_WORDS`).
    /// Note `get` and `show` are stop words in the reference.
    static let stopWords: Set<String> = [
        "a", "an", "and", "any", "are", "as", "at", "be", "by", "for", "from", "get", "give", "i", "in",
        "is", "it", "me", "my", "of", "on", "or", "please", "show", "that", "the", "this", "to", "want",
        "with",
    ]

    static let stopWordMaxLength = 6

    /// The stop words as `packed` keys, for the byte-level look-up on the query path.
    static let packedStopWords: [UInt64] = stopWords.map { w in
        Array(w.utf8).withUnsafeBufferPointer { packed($0) }
    }.sorted()

    /// A token of at most `stopWordMaxLength` bytes as one integer: the bytes little-endian,
    /// the length in the top byte (so "a" and "a\0" cannot meet; tokens hold no NUL anyway).
    @inline(__always)
    static func packed(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var v = UInt64(b.count) << 56
        for i in 0..<b.count { v |= UInt64(b[i]) << (8 * UInt64(i)) }
        return v
    }

    @inline(__always)
    static func isStopWord(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        // No stop word is longer than 6 bytes: longer tokens skip the look-up.
        guard b.count <= stopWordMaxLength else { return false }
        let key = packed(b)
        for w in packedStopWords where w == key { return true }
        return false
    }

    /// Lower-case `[a-z0-9]+` tokens of `text`, in order, stop words removed, duplicates kept.
    public static func tokenize(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { bytes in
            withJoinedTokens(utf8: bytes) { joined in
                joined.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: true)
                    .map { String(decoding: $0, as: UTF8.self) }
            }
        }
    }

    /// Lends `body` the tokens of `bytes` joined by "." (Python `".".join(tokenize(text))`,
    /// which the search's prefix bonus compares ids with); empty when there are none. Tokens
    /// hold only `[a-z0-9]`, so splitting on "." gives them back.
    ///
    /// Why bytes: a query used to build a `String` per token, hash each against the stop
    /// words and again against the index, then join them into another `String`; the search
    /// now reads this one buffer (on the stack for any ordinary goal) for all of it.
    static func withJoinedTokens<R>(utf8 bytes: UnsafeBufferPointer<UInt8>,
                                    _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        // Every token is followed by at least one byte that is not part of it, or ends the
        // text, and no lowering lengthens it, so tokens plus their dots fit in count + 1.
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes.count + 1) { out in
            try body(UnsafeBufferPointer(rebasing: out[..<joinTokens(bytes, into: out)]))
        }
    }

    /// Writes each kept token followed by "." into `out`, then drops the final dot; returns
    /// the length written.
    static func joinTokens(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var w = 0  // write position
        var start = 0  // where the current token began in `out` (== w: no current token)
        @inline(__always) func flush() {
            guard w > start else { return }
            if isStopWord(UnsafeBufferPointer(rebasing: out[start..<w])) {
                w = start
            } else {
                out[w] = UInt8(ascii: ".")
                w += 1
                start = w
            }
        }
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                out[w] = b
                w += 1
                i += 1
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                out[w] = b | 0x20
                w += 1
                i += 1
            case 0xC4 where i + 1 < n && bytes[i + 1] == 0xB0:
                // U+0130 -> "i" + U+0307: the "i" joins the token, the combining dot ends it.
                out[w] = UInt8(ascii: "i")
                w += 1
                flush()
                i += 2
            case 0xE2 where i + 2 < n && bytes[i + 1] == 0x84 && bytes[i + 2] == 0xAA:
                // U+212A KELVIN SIGN -> "k", which continues the token.
                out[w] = UInt8(ascii: "k")
                w += 1
                i += 3
            default:
                // Any other byte is an ASCII separator or part of a non-ASCII scalar whose
                // lowercase has no ASCII letter or digit: a separator either way.
                flush()
                i += 1
            }
        }
        flush()
        return w > 0 ? w - 1 : 0
    }
}
