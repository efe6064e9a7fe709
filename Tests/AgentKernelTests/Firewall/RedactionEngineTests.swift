import Testing
@testable import AgentKernel

/// Proves the PCRE2 translation of the redaction patterns accepts exactly what CPython's
/// `re` accepts: per-code-point parity of every character class the patterns use
/// (against `PythonCharClasses`, generated from Python), then a table of tricky strings
/// whose expected outputs come from the reference's `_redact_string`.
@Suite struct RedactionEngineTests {
    /// Every scalar value once, as one UTF-8 buffer, with each scalar's start offset.
    static let allScalars: (bytes: [UInt8], starts: [Int: UInt32]) = {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4_400_000)
        var starts: [Int: UInt32] = [:]
        for v in UInt32(0)...0x10FFFF {
            guard let u = Unicode.Scalar(v) else { continue }
            starts[bytes.count] = v
            bytes.append(contentsOf: String(Character(u)).utf8)
        }
        return (bytes, starts)
    }()

    /// The code points a single-character pattern matches, as inclusive ranges.
    static func matchedRanges(_ pattern: String, caseless: Bool = false) -> [UInt32] {
        let p = PCRE2Pattern(pattern, caseless: caseless)
        let (bytes, starts) = allScalars
        let scratch = PCRE2MatchScratch()
        var matched: [UInt32] = []
        bytes.withUnsafeBufferPointer { buf in
            var pos = 0
            while pos < buf.count, case .found(let g) = p.search(buf, from: pos, scratch: scratch, groups: 0) {
                let r = g[0]!
                matched.append(starts[r.lowerBound]!)
                pos = r.upperBound
            }
        }
        var ranges: [UInt32] = []
        for v in matched {
            if let last = ranges.last, last + 1 == v { ranges[ranges.count - 1] = v } else { ranges += [v, v] }
        }
        return ranges
    }

    @Test func whitespaceClassMatchesPythonBackslashS() {
        #expect(Self.matchedRanges("[" + RedactionPatterns.pyS + "]") == PythonCharClasses.s)
    }

    @Test func untranslatedPCRE2ClassesWouldDiffer() {
        // Why the translation exists: plain PCRE2 UCP `\s` and caseless `i` differ from
        // Python (U+001C..U+001F, U+180E; U+0130, U+0131).
        #expect(Self.matchedRanges(#"\s"#) != PythonCharClasses.s)
        #expect(Self.matchedRanges("i", caseless: true) != PythonCharClasses.caseless_i)
    }

    @Test func digitAndWordClassesMatchPython() {
        // \w parity implies \b parity: both engines define \b by \w.
        #expect(Self.matchedRanges(#"\d"#) == PythonCharClasses.d)
        #expect(Self.matchedRanges(#"\w"#) == PythonCharClasses.w)
    }

    @Test func caselessClassesMatchPythonIgnorecase() {
        #expect(Self.matchedRanges(RedactionPatterns.tokenClass, caseless: true) == PythonCharClasses.tokenClassCaseless)
        #expect(Self.matchedRanges(RedactionPatterns.pyI, caseless: true) == PythonCharClasses.caseless_i)
        let letters: [(String, [UInt32])] = [
            ("b", PythonCharClasses.caseless_b), ("e", PythonCharClasses.caseless_e),
            ("a", PythonCharClasses.caseless_a), ("r", PythonCharClasses.caseless_r),
            ("p", PythonCharClasses.caseless_p), ("k", PythonCharClasses.caseless_k),
            ("y", PythonCharClasses.caseless_y), ("t", PythonCharClasses.caseless_t),
            ("o", PythonCharClasses.caseless_o), ("n", PythonCharClasses.caseless_n),
            ("c", PythonCharClasses.caseless_c), ("s", PythonCharClasses.caseless_s),
        ]
        for (letter, expected) in letters {
            #expect(Self.matchedRanges(letter, caseless: true) == expected, "caseless \(letter)")
        }
    }

    @Test func prefilterLettersAreTheOnlyCaselessMatches() {
        // The prefilter requires the ASCII bigrams [bB][eE] (Bearer) and [aA][pPcC]
        // (api key): safe only because Python's caseless a, b, c, e, p match nothing else.
        #expect(PythonCharClasses.caseless_a == [0x41, 0x41, 0x61, 0x61])
        #expect(PythonCharClasses.caseless_b == [0x42, 0x42, 0x62, 0x62])
        #expect(PythonCharClasses.caseless_c == [0x43, 0x43, 0x63, 0x63])
        #expect(PythonCharClasses.caseless_e == [0x45, 0x45, 0x65, 0x65])
        #expect(PythonCharClasses.caseless_p == [0x50, 0x50, 0x70, 0x70])
    }

    @Test func prefilterNeverSkipsAMatchingPattern() {
        // For every table input, each pattern the prefilter skips must find nothing.
        let scratch = PCRE2MatchScratch()
        for (input, _, _) in RedactionTable.table {
            let bytes = Array(input.utf8)
            let f = bytes.withUnsafeBufferPointer(RedactionPatterns.Features.scan)
            for entry in RedactionPatterns.all where !f.admits(entry) {
                if case .replaced = StringRedactor.substitute(bytes, entry, scratch) {
                    Issue.record("prefilter skipped \(entry.name) on \(input.debugDescription)")
                }
            }
        }
    }

    @Test(arguments: RedactionTable.table.indices)
    func trickyStringsMatchPythonResub(_ i: Int) {
        let (input, expected, warned) = RedactionTable.table[i]
        let (out, warnings) = Redaction.redactStringWithWarnings(input)
        #expect(out.unicodeScalars.elementsEqual(expected.unicodeScalars), "input \(input.debugDescription)")
        #expect(warnings.isEmpty == !warned)
        #expect(Redaction.redactString(input).unicodeScalars.elementsEqual(expected.unicodeScalars))
    }

    @Test func concurrentRedactionIsConsistent() async {
        // Compiled patterns are shared; match data is per call. Many tasks at once
        // must all produce the single-threaded answer.
        let expected = RedactionTable.table.map { Redaction.redactString($0.0) }
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var ok = true
                    for _ in 0..<20 {
                        for (j, row) in RedactionTable.table.enumerated() where Redaction.redactString(row.0) != expected[j] {
                            ok = false
                        }
                    }
                    return ok
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}

enum RedactionTable {
    // Generated by tools/reference/redaction_strings.py: for each s, _redact_string(s) from
    // weaver_kernel.firewall.redaction (CPython 3.11 re). Columns: input, output, warned.
    static let table: [(String, String, Bool)] = [
        ("plain text, nothing here", "plain text, nothing here", false),
        ("contact alice@example.com now", "contact [REDACTED] now", true),
        ("a@b.c", "[REDACTED]", true),
        ("x@y", "x@y", false),
        ("mail: first.last+tag@sub-domain.example.co.uk.", "mail: [REDACTED]", true),
        ("two: a@b.io and c@d.io", "two: [REDACTED] and [REDACTED]", true),
        ("call 555-123-4567 today", "call [REDACTED] today", true),
        ("call (555) 123-4567", "call [REDACTED]", true),
        ("+1 555 123 4567", "[REDACTED]", true),
        ("+44 20 7946 0958", "[REDACTED]", true),
        ("+1-555-1234", "+1-555-1234", false),
        ("2024-01-15", "2024-01-15", false),
        ("v1.555.123.4567", "v1.555.123.4567", false),
        ("555-123-4567.", "555-123-4567.", false),
        ("/555-123-4567", "/555-123-4567", false),
        ("phone 555\u{1C}123\u{1C}4567", "phone [REDACTED]", true),
        ("phone 555\u{180E}123\u{180E}4567", "phone 555\u{180E}123\u{180E}4567", false),
        ("phone 555\u{A0}123\u{A0}4567", "phone [REDACTED]", true),
        ("phone 555\u{3000}123 4567", "phone [REDACTED]", true),
        ("arabic \u{665}\u{665}\u{665}-\u{661}\u{662}\u{663}-\u{664}\u{665}\u{666}\u{667}", "arabic [REDACTED]", true),
        ("card 4111 1111 1111 1111", "card [REDACTED] 1111", true),
        ("card 4111-1111-1111-1111", "card [REDACTED]-1111", true),
        ("card 4111111111111111", "card [REDACTED]", true),
        ("4111111111111111x", "4111111111111111x", false),
        ("x4111111111111111", "x4111111111111111", false),
        ("\u{E9}4111111111111111", "\u{E9}4111111111111111", false),
        ("card 4111111111111111\u{301}", "card [REDACTED]\u{301}", true),
        ("ssn 123-45-6789", "ssn [REDACTED]", true),
        ("ssn 123 45 6789", "ssn [REDACTED]", true),
        ("ssn123-45-6789", "ssn123-45-6789", false),
        ("id 078-05-1120.", "id [REDACTED].", true),
        ("Authorization: Bearer abc.def-ghi~jkl+mno/pqr==", "Authorization: [REDACTED]", true),
        ("bearer\u{9}token123", "[REDACTED]", true),
        ("BEARER x", "[REDACTED]", true),
        ("Bearerx", "Bearerx", false),
        ("Bearer ", "Bearer ", false),
        ("\u{17F}earer", "\u{17F}earer", false),
        ("Bearer \u{130}\u{131}abc", "[REDACTED]", true),
        ("Bearer \u{212A}ey", "[REDACTED]", true),
        ("BEARER\u{85}tok", "[REDACTED]", true),
        ("Bearer\u{180E}tok", "Bearer\u{180E}tok", false),
        ("Bearer\u{1F}tok", "[REDACTED]", true),
        ("jwt eyJhbGciOi.eyJzdWIiOi.sig_-x", "jwt [REDACTED]", true),
        ("eyJ.eyJ.x", "eyJ.eyJ.x", false),
        ("eyJa.eyJb.", "eyJa.eyJb.", false),
        ("api_key=abcdefgh1234", "api_key=[REDACTED]", true),
        ("API-KEY: abcdefgh", "API-KEY: [REDACTED]", true),
        ("apikey   abcdefg", "apikey   abcdefg", false),
        ("apikey abcdefgh", "apikey [REDACTED]", true),
        ("api_token=ABCDEFGHIJK", "api_token=[REDACTED]", true),
        ("access_key = zzzzzzzz9", "access_key = [REDACTED]", true),
        ("a\u{130}_key=abcdefgh12", "a\u{130}_key=abcdefgh12", false),
        ("ap\u{131}key=abcdefgh12", "ap\u{131}key=[REDACTED]", true),
        ("acce\u{17F}\u{17F}_\u{212A}ey=abcdefghij", "acce\u{17F}\u{17F}_\u{212A}ey=[REDACTED]", true),
        ("api_key=\u{130}\u{130}\u{130}\u{130}\u{130}\u{130}\u{130}\u{130}", "api_key=[REDACTED]", true),
        ("apikey:\u{3000}secretvalue99", "apikey:\u{3000}[REDACTED]", true),
        ("access-key\u{1C}12345678", "access-key\u{1C}[REDACTED]", true),
        ("postgres://user:pass@db.example.com:5432/app", "postgres://user:[REDACTED]:5432/app", true),
        ("redis://:pw@h", "redis://:pw@h", false),
        ("mongodb+srv://u:p@cluster0/x?y=1 next", "mongodb+srv://[REDACTED]@cluster0/x?y=1 next", true),
        ("ftp://user:pa:ss@host", "ftp://[REDACTED]@host", true),
        ("s3://a:b@c d", "s3://[REDACTED]@c d", true),
        ("http://user@host", "http://user@host", false),
        ("x://u:p@h\u{2028}tail", "x://[REDACTED]@h\u{2028}tail", true),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc and mail bob@x.org and ssn 123-45-6789", "token [REDACTED] and mail [REDACTED] and ssn [REDACTED]", true),
        ("crlf\u{D}\u{A}555-123-4567\u{D}\u{A}", "crlf\u{D}\u{A}[REDACTED]\u{D}\u{A}", true),
        ("emoji \u{1F600} 555-123-4567 \u{1F600}", "emoji \u{1F600} [REDACTED] \u{1F600}", true),
        ("e\u{301}mail caf\u{E9}@b\u{FC}cher.de", "e\u{301}mail caf\u{E9}@b\u{FC}cher.de", false),
        ("user@\u{665}.com", "user@\u{665}.com", false),
        ("12345678901234567890", "12345678901234567890", false),
        ("1 2 3 4 5 6 7 8 9 0 1 2 3", "[REDACTED]", true),
        ("phone: 06 12 34 56 78", "phone: 06 12 34 56 78", false),
        ("mixed Bearer eyJx.eyJy.z api_key=12345678 postgres://a:b@c", "mixed [REDACTED] api_key=[REDACTED] postgres://[REDACTED]@c", true),
        ("[REDACTED]", "[REDACTED]", false),
        ("apikey [REDACTED]aaaa", "apikey [REDACTED]aaaa", false),
        ("x@y.z@w.q", "[REDACTED]@w.q", true),
        ("\u{661}\u{662}\u{663}-\u{664}\u{665}-\u{666}\u{667}\u{668}\u{669}", "[REDACTED]", true),
        ("\u{FF11}\u{FF12}\u{FF13}-\u{FF14}\u{FF15}-\u{FF16}\u{FF17}\u{FF18}\u{FF19}", "[REDACTED]", true),
        ("tel:+33.1.23.45.67.89", "tel:+33.1.23.45.67.89", false),
        ("555.1234567", "[REDACTED]", true),
        ("(02)12345678", "[REDACTED]", true),
        ("(0201) 123 45678", "[REDACTED]", true),
    ]
}

/// Differential check against a random corpus recorded from the reference.
@Suite struct RedactionDifferentialTests {
    @Test func randomCorpusMatchesPython() throws {
        guard case .array(let cases) = try JSONParser.parse(RedactionFuzzCorpus.json) else {
            Issue.record("corpus is not an array")
            return
        }
        #expect(cases.count == 600)
        var mismatches = 0
        for c in cases {
            let row = c.arrayValue!
            let input = row[0].stringValue!, expected = row[1].stringValue!, warned = row[2].boolValue!
            let (out, warnings) = Redaction.redactStringWithWarnings(input)
            if !out.unicodeScalars.elementsEqual(expected.unicodeScalars) || warnings.isEmpty == warned {
                mismatches += 1
                Issue.record("mismatch on \(input.debugDescription): got \(out.debugDescription), want \(expected.debugDescription)")
            }
        }
        #expect(mismatches == 0)
    }
}

/// `Redaction.isSensitiveName` (lengths as a literal, names compared per length) against the
/// reference's rule written out plainly: ASCII-lowercased key in `_SENSITIVE_FIELDS`.
@Suite struct SensitiveNameTests {
    static func reference(_ key: String) -> Bool {
        let lowered = Array(key.utf8).map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        return Redaction.sensitiveNames.contains(lowered)
    }

    @Test func lengthsLiteralIsTheListsLengths() {
        let computed = Redaction.sensitiveNames.reduce(UInt64(0)) { $0 | 1 << UInt64($1.count) }
        #expect(Redaction.sensitiveLengths == computed)
    }

    @Test func everyNameInAnyCaseAndNearMissesAgree() {
        var keys: [String] = ["", "a", "id", "limit", "fields", "title", "emails", "e-mail", "passwor", "ssn ",
                              "SSN\u{0}", "k", "K", "\u{212A}", "cvv\u{301}", "sécret", "card-number", "credit card"]
        for nameBytes in Redaction.sensitiveNames {
            let name = String(decoding: nameBytes, as: UTF8.self)
            keys += [name, name.uppercased(), name.prefix(1).uppercased() + name.dropFirst(),
                     String(name.dropLast()) + "x", "x" + name.dropFirst(), name + "s", String(name.dropLast())]
            // Bytes one off from a letter in case ('@' and '[' sit just outside 'A'...'Z').
            for i in nameBytes.indices {
                var b = nameBytes
                b[i] ^= 0x20
                keys.append(String(decoding: b, as: UTF8.self))
                b[i] = nameBytes[i] &- 1
                keys.append(String(decoding: b, as: UTF8.self))
            }
        }
        var positives = 0
        for key in keys {
            #expect(Redaction.isSensitiveName(key) == Self.reference(key), "key \(key.debugDescription)")
            if Self.reference(key) { positives += 1 }
        }
        #expect(positives >= Redaction.sensitiveNames.count * 3)
    }
}
