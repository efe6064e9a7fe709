/// Applies the eight patterns of `RedactionPatterns` to one string with Python
/// `re.sub` semantics (docs/reference-semantics.md §8.2): each pattern scans the previous pattern's output,
/// left to right, non-overlapping, resuming right after each match.
enum StringRedactor {
    static let redactedBytes = Array("[REDACTED]".utf8)

    /// Returns the scrubbed string and whether anything changed (Python compares the
    /// result with the input: a change means one warning).
    static func scrub(_ input: String) -> (String, Bool) {
        // Scan in place first: most strings need no pattern at all and are never copied.
        let features = input.utf8.withContiguousStorageIfAvailable(RedactionPatterns.Features.scan)
            ?? Array(input.utf8).withUnsafeBufferPointer(RedactionPatterns.Features.scan)
        guard features.anyPossible else { return (input, false) }
        var buffer = Array(input.utf8)
        var changed = false
        var insertedRedacted = false
        var scratch: PCRE2MatchScratch?
        for entry in RedactionPatterns.all {
            // The features describe the input. Later patterns see the previous output,
            // which only lost bytes or gained "[REDACTED]" (no digits, '@', "be", "://",
            // "eyJ"; but "AC" in "REDACTED" is an api-key start), so the input's
            // features stay a safe superset once the api-key flag is added.
            var f = features
            if insertedRedacted { f.flags |= RedactionPatterns.Features.apiKey }
            guard f.admits(entry) else { continue }
            let sc = scratch ?? PCRE2MatchScratch()
            scratch = sc
            switch substitute(buffer, entry, sc) {
            case .unchanged:
                continue
            case .replaced(let out):
                buffer = out
                changed = true
                insertedRedacted = true
            case .failed:
                // Fail closed (I-01): if PCRE2 cannot decide (resource limit), the
                // string must not leave unscanned, so it is replaced as a whole.
                return ("[REDACTED]", true)
            }
        }
        guard changed else { return (input, false) }
        let result = String(decoding: buffer, as: UTF8.self)
        // Python reports a warning only when the final text differs from the input
        // (`data != original`); a substitution can in principle reproduce the input.
        return (result, !PyString.equal(result, input))
    }

    enum Outcome {
        case unchanged
        case replaced([UInt8])
        case failed
    }

    static func substitute(_ buffer: [UInt8], _ entry: RedactionPatterns.Entry, _ scratch: PCRE2MatchScratch) -> Outcome {
        buffer.withUnsafeBufferPointer { buf -> Outcome in
            var out: [UInt8] = []
            var copied = 0   // bytes of `buf` already emitted
            var start = 0
            var any = false
            while start <= buf.count {
                switch entry.pattern.search(buf, from: start, scratch: scratch, groups: 2) {
                case .none:
                    start = buf.count + 1
                case .failed:
                    return .failed
                case .found(let groups):
                    guard let whole = groups[0] else { return .failed }
                    if !any {
                        out.reserveCapacity(buf.count + 16)
                        any = true
                    }
                    out.append(contentsOf: buf[copied..<whole.lowerBound])
                    switch entry.replacement {
                    case .redacted:
                        out.append(contentsOf: redactedBytes)
                    case .group1Redacted:
                        if let g = groups[1] { out.append(contentsOf: buf[g]) }
                        out.append(contentsOf: redactedBytes)
                    case .group1RedactedGroup2:
                        if let g = groups[1] { out.append(contentsOf: buf[g]) }
                        out.append(contentsOf: redactedBytes)
                        if let g = groups[2] { out.append(contentsOf: buf[g]) }
                    }
                    copied = whole.upperBound
                    // None of the patterns can match empty; the guard only keeps a
                    // future pattern from looping forever (Python would step one char).
                    start = whole.isEmpty ? nextScalarStart(buf, after: whole.upperBound) : whole.upperBound
                }
            }
            guard any else { return .unchanged }
            out.append(contentsOf: buf[copied...])
            return .replaced(out)
        }
    }

    private static func nextScalarStart(_ b: UnsafeBufferPointer<UInt8>, after i: Int) -> Int {
        var j = i + 1
        while j < b.count && (b[j] & 0xC0) == 0x80 { j += 1 }
        return j
    }
}
