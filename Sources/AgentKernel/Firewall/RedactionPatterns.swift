/// The eight inline-secret patterns of docs/reference-semantics.md §8.2, translated from Python `re` to PCRE2
/// so that both engines accept exactly the same strings.
///
/// Translation rules (each verified by an exhaustive per-code-point comparison against
/// CPython 3.11 `re`, see `RedactionEngineTests`):
/// - `\d`, `\w` (hence `\b`): PCRE2 UCP matches Python on every code point; kept as is.
/// - `\s`: PCRE2 UCP misses U+001C..U+001F and adds U+180E, so it is replaced by the
///   explicit Python set `pyS` (Python's `str.isspace`).
/// - IGNORECASE: Python also folds U+0130 `İ` and U+0131 `ı` onto `i`/`I`; PCRE2 does
///   not (no simple case folding), so `i` and the token classes list them explicitly.
///   `ſ` (U+017F) ~ `s` and `K` (U+212A) ~ `k` already agree in both engines.
enum RedactionPatterns {
    /// Python's `\s` for `str` patterns, as a character-class body.
    static let pyS = #"\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"#
    /// Python's caseless `i`.
    static let pyI = #"[i\x{130}\x{131}]"#
    /// `[A-Za-z0-9\-._~+/]` under Python IGNORECASE.
    static let tokenClass = #"[A-Za-z0-9\-._~+/\x{130}\x{131}]"#

    /// Which replacement a pattern uses (Python `re.sub` templates).
    enum Replacement {
        case redacted            // "[REDACTED]"
        case group1Redacted      // r"\1[REDACTED]"
        case group1RedactedGroup2  // r"\1[REDACTED]\2"
    }

    struct Entry: Sendable {
        let name: String
        let pattern: PCRE2Pattern
        let replacement: Replacement
        /// Prefilter: the pattern can only match when the buffer has these flags...
        let needsFlags: UInt8
        /// ...and at least this many digit-like scalars (its mandatory `\d` count).
        let minDigits: Int
    }

    /// Byte-level facts that are necessary (never sufficient) for a pattern to match.
    /// Each is justified by the pattern's mandatory parts and the exhaustive class
    /// tables in the tests: ASCII bytes never occur inside multi-byte UTF-8 sequences,
    /// and Python's caseless `a b c e p` match only their two ASCII cases.
    struct Features: Sendable {
        var flags: UInt8 = 0
        /// ASCII digits plus non-ASCII scalars (any of which might be a Unicode `\d`).
        var digitLike = 0

        static let at: UInt8 = 1            // '@' (email)
        static let dot: UInt8 = 2           // '.' (email)
        static let bearer: UInt8 = 4        // [bB][eE]: the start of caseless "Bearer"
        static let apiKey: UInt8 = 8        // [aA][pPcC]: "ap(i...)" or "ac(cess...)"
        static let eyJ: UInt8 = 16          // JWT header literal
        static let schemeSep: UInt8 = 32    // "://" (connection string)

        func has(_ f: UInt8) -> Bool { flags & f == f }

        static func scan(_ b: UnsafeBufferPointer<UInt8>) -> Features {
            var f = Features()
            let n = b.count
            var i = 0
            while i < n {
                let c = b[i]
                let next: UInt8 = i + 1 < n ? b[i + 1] : 0
                switch c {
                case 0x30...0x39: f.digitLike += 1
                case 0x40: f.flags |= at
                case 0x2E: f.flags |= dot
                case 0x42, 0x62: if next | 0x20 == 0x65 { f.flags |= bearer }
                case 0x41, 0x61: if next | 0x20 == 0x70 || next | 0x20 == 0x63 { f.flags |= apiKey }
                case 0x65: if next == 0x79 && i + 2 < n && b[i + 2] == 0x4A { f.flags |= eyJ }
                case 0x3A: if next == 0x2F && i + 2 < n && b[i + 2] == 0x2F { f.flags |= schemeSep }
                default: if c >= 0xC0 { f.digitLike += 1 }  // a non-ASCII scalar's lead byte
                }
                i += 1
            }
            return f
        }

        /// Whether `entry` can possibly match a buffer with these features.
        func admits(_ entry: Entry) -> Bool {
            has(entry.needsFlags) && digitLike >= entry.minDigits
        }

        var anyPossible: Bool { flags & ~(Features.dot) != 0 || digitLike >= 8 }
    }

    /// The patterns in the reference's order (each runs on the previous output).
    /// Compiled once, lazily and thread-safely (Swift `static let` uses `swift_once`).
    static let all: [Entry] = {
        let s = pyS
        return [
            Entry(name: "email",
                  pattern: PCRE2Pattern(#"[a-zA-Z0-9_.+\-]+@[a-zA-Z0-9\-]+\.[a-zA-Z0-9\-.]+"#),
                  replacement: .redacted, needsFlags: Features.at | Features.dot, minDigits: 0),
            Entry(name: "phone",
                  pattern: PCRE2Pattern(#"(?<!\d)(?<![./])(?:\+\d{1,3}["# + s + #".\-])?(?:\(\d{2,4}\)["# + s
                                        + #".\-]?|\d{2,4}["# + s + #".\-])\d{3,4}["# + s + #".\-]?\d{3,5}(?!\d)(?![./])"#),
                  replacement: .redacted, needsFlags: 0, minDigits: 8),  // \d{2,4} \d{3,4} \d{3,5}
            Entry(name: "card", pattern: PCRE2Pattern(#"\b(?:\d[ \-]?){13,16}\b"#),
                  replacement: .redacted, needsFlags: 0, minDigits: 13),  // (?:\d[ -]?){13,16}
            Entry(name: "ssn", pattern: PCRE2Pattern(#"\b\d{3}[\- ]\d{2}[\- ]\d{4}\b"#),
                  replacement: .redacted, needsFlags: 0, minDigits: 9),  // \d{3} \d{2} \d{4}
            Entry(name: "bearer",
                  pattern: PCRE2Pattern("Bearer[" + s + "]+" + tokenClass + "+=*", caseless: true),
                  replacement: .redacted, needsFlags: Features.bearer, minDigits: 0),
            Entry(name: "jwt",
                  pattern: PCRE2Pattern(#"eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"#),
                  replacement: .redacted, needsFlags: Features.eyJ, minDigits: 0),
            Entry(name: "api_key",
                  pattern: PCRE2Pattern("((?:ap" + pyI + #"[_\-]?key|ap"# + pyI + "key|ap" + pyI + #"[_\-]?token|access[_\-]?key)"#
                                        + "(?:[" + s + "]*[=:][" + s + "]*|[" + s + "]+))" + tokenClass + "{8,}",
                                        caseless: true),
                  replacement: .group1Redacted, needsFlags: Features.apiKey, minDigits: 0),
            Entry(name: "connection_string",
                  pattern: PCRE2Pattern(#"([a-zA-Z][a-zA-Z0-9+\-.]*://)[^:@/"# + s + "]+:[^@/" + s + "]+(@[^" + s + "]+)"),
                  replacement: .group1RedactedGroup2, needsFlags: Features.schemeSep, minDigits: 0),
        ]
    }()
}
