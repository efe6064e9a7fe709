/// The eight inline-secret patterns of spec §8.2, translated from Python `re` to PCRE2
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
        /// Prefilter: the pattern can only match when the buffer has all these features.
        let needs: Features
    }

    /// Byte-level facts that are necessary (never sufficient) for a pattern to match.
    struct Features: OptionSet, Sendable {
        let rawValue: UInt8
        static let at = Features(rawValue: 1)
        static let dot = Features(rawValue: 2)
        /// An ASCII digit, or any non-ASCII byte (Unicode `\d` includes non-ASCII digits).
        static let digitLike = Features(rawValue: 4)
        /// `b`/`B`: the only code points Python's caseless `b` matches (exhaustively checked).
        static let letterB = Features(rawValue: 8)
        /// `a`/`A`: the only code points Python's caseless `a` matches.
        static let letterA = Features(rawValue: 16)
        static let eyJ = Features(rawValue: 32)
        static let schemeSep = Features(rawValue: 64)  // "://"

        /// One pass over UTF-8 bytes. ASCII bytes never occur inside multi-byte
        /// sequences, so an ASCII literal the pattern requires shows up as that byte.
        static func scan(_ b: UnsafeBufferPointer<UInt8>) -> Features {
            var f: UInt8 = 0
            let n = b.count
            var i = 0
            while i < n {
                let c = b[i]
                switch c {
                case 0x40: f |= Features.at.rawValue
                case 0x2E: f |= Features.dot.rawValue
                case 0x30...0x39: f |= Features.digitLike.rawValue
                case 0x62, 0x42: f |= Features.letterB.rawValue
                case 0x61, 0x41: f |= Features.letterA.rawValue
                case 0x65: if i + 2 < n && b[i + 1] == 0x79 && b[i + 2] == 0x4A { f |= Features.eyJ.rawValue }
                case 0x3A: if i + 2 < n && b[i + 1] == 0x2F && b[i + 2] == 0x2F { f |= Features.schemeSep.rawValue }
                default: if c >= 0x80 { f |= Features.digitLike.rawValue }
                }
                i += 1
            }
            return Features(rawValue: f)
        }
    }

    /// The patterns in the reference's order (each runs on the previous output).
    /// Compiled once, lazily and thread-safely (Swift `static let` uses `swift_once`).
    static let all: [Entry] = {
        let s = pyS
        return [
            Entry(name: "email",
                  pattern: PCRE2Pattern(#"[a-zA-Z0-9_.+\-]+@[a-zA-Z0-9\-]+\.[a-zA-Z0-9\-.]+"#),
                  replacement: .redacted, needs: [.at, .dot]),
            Entry(name: "phone",
                  pattern: PCRE2Pattern(#"(?<!\d)(?<![./])(?:\+\d{1,3}["# + s + #".\-])?(?:\(\d{2,4}\)["# + s
                                        + #".\-]?|\d{2,4}["# + s + #".\-])\d{3,4}["# + s + #".\-]?\d{3,5}(?!\d)(?![./])"#),
                  replacement: .redacted, needs: .digitLike),
            Entry(name: "card", pattern: PCRE2Pattern(#"\b(?:\d[ \-]?){13,16}\b"#),
                  replacement: .redacted, needs: .digitLike),
            Entry(name: "ssn", pattern: PCRE2Pattern(#"\b\d{3}[\- ]\d{2}[\- ]\d{4}\b"#),
                  replacement: .redacted, needs: .digitLike),
            Entry(name: "bearer",
                  pattern: PCRE2Pattern("Bearer[" + s + "]+" + tokenClass + "+=*", caseless: true),
                  replacement: .redacted, needs: .letterB),
            Entry(name: "jwt",
                  pattern: PCRE2Pattern(#"eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"#),
                  replacement: .redacted, needs: .eyJ),
            Entry(name: "api_key",
                  pattern: PCRE2Pattern("((?:ap" + pyI + #"[_\-]?key|ap"# + pyI + "key|ap" + pyI + #"[_\-]?token|access[_\-]?key)"#
                                        + "(?:[" + s + "]*[=:][" + s + "]*|[" + s + "]+))" + tokenClass + "{8,}",
                                        caseless: true),
                  replacement: .group1Redacted, needs: .letterA),
            Entry(name: "connection_string",
                  pattern: PCRE2Pattern(#"([a-zA-Z][a-zA-Z0-9+\-.]*://)[^:@/"# + s + "]+:[^@/" + s + "]+(@[^" + s + "]+)"),
                  replacement: .group1RedactedGroup2, needs: .schemeSep),
        ]
    }()
}
