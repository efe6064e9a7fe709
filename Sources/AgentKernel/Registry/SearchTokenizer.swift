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

    /// Lower-case `[a-z0-9]+` tokens of `text`, in order, stop words removed, duplicates kept.
    public static func tokenize(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { tokenize(utf8: $0) }
    }

    static func tokenize(utf8 bytes: UnsafeBufferPointer<UInt8>) -> [String] {
        var tokens: [String] = []
        var current: [UInt8] = []
        current.reserveCapacity(32)
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                current.append(b)
                i += 1
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                current.append(b | 0x20)
                i += 1
            case 0xC4 where i + 1 < n && bytes[i + 1] == 0xB0:
                // U+0130 -> "i" + U+0307: the "i" joins the token, the combining dot ends it.
                current.append(UInt8(ascii: "i"))
                flush(&current, into: &tokens)
                i += 2
            case 0xE2 where i + 2 < n && bytes[i + 1] == 0x84 && bytes[i + 2] == 0xAA:
                // U+212A KELVIN SIGN -> "k", which continues the token.
                current.append(UInt8(ascii: "k"))
                i += 3
            default:
                // Any other byte is an ASCII separator or part of a non-ASCII scalar whose
                // lowercase has no ASCII letter or digit: a separator either way.
                if !current.isEmpty { flush(&current, into: &tokens) }
                i += 1
            }
        }
        flush(&current, into: &tokens)
        return tokens
    }

    @inline(__always)
    private static func flush(_ current: inout [UInt8], into tokens: inout [String]) {
        guard !current.isEmpty else { return }
        let t = String(decoding: current, as: UTF8.self)
        // No stop word is longer than 6 bytes: longer tokens skip the set's hashing.
        if current.count > stopWordMaxLength || !stopWords.contains(t) { tokens.append(t) }
        current.removeAll(keepingCapacity: true)
    }
}
