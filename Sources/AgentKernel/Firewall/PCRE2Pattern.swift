import CPCRE2

/// One compiled, JIT-compiled PCRE2 pattern (UTF + UCP), shareable across threads.
///
/// Why PCRE2: redaction runs on every egress string; PCRE2 JIT is ~15x faster than
/// `NSRegularExpression` and, with UCP plus the class fixes in `RedactionPatterns`,
/// matches Python `re` exactly on the corpora we checked (Swift `Regex` did not).
///
/// Thread safety: PCRE2 documents a compiled pattern (including its JIT code) as
/// read-only after `pcre2_jit_compile`, safe to use from many threads at once as long
/// as each match has its own match data; `PCRE2MatchScratch` is that per-call state.
/// Hence `@unchecked Sendable`: the only stored state is the immutable code pointer.
final class PCRE2Pattern: @unchecked Sendable {
    private let code: OpaquePointer

    /// Compiles `pattern`; a failure is a programming error in a constant pattern
    /// (covered by tests), so it traps rather than silently disabling redaction.
    init(_ pattern: String, caseless: Bool = false) {
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        var options = UInt32(PCRE2_UTF) | UInt32(PCRE2_UCP)
        if caseless { options |= UInt32(PCRE2_CASELESS) }
        let bytes = Array(pattern.utf8)
        let compiled = bytes.withUnsafeBufferPointer { buf in
            pcre2_compile_8(buf.baseAddress, buf.count, options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            preconditionFailure("redaction pattern failed to compile (error \(errorCode) at \(errorOffset)): \(pattern)")
        }
        // JIT is an optimisation: if the platform lacks it, pcre2_match interprets.
        _ = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE))
        self.code = compiled
    }

    deinit { pcre2_code_free_8(code) }

    /// Outcome of one search.
    enum Match {
        case none
        /// Byte ranges of group 0 and the capture groups (nil when unset).
        case found([Range<Int>?])
        /// PCRE2 gave up (JIT stack, heap or match limit): callers fail closed.
        case failed(Int32)
    }

    /// Searches `buffer` from byte `start`. Lookbehind and `\b` see the bytes before
    /// `start`, exactly like Python's `re.sub` resuming after the previous match.
    func search(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, scratch: PCRE2MatchScratch,
                groups: Int) -> Match {
        // Swift strings are always valid UTF-8, so the per-call UTF check is skipped.
        var rc = pcre2_match_8(code, buffer.baseAddress, buffer.count, start, UInt32(PCRE2_NO_UTF_CHECK),
                               scratch.data, nil)
        if rc == PCRE2_ERROR_JIT_STACKLIMIT {
            // The interpreter keeps its backtracking frames on the heap (bounded by
            // PCRE2's heap limit), so retry there before giving up.
            rc = pcre2_match_8(code, buffer.baseAddress, buffer.count, start,
                               UInt32(PCRE2_NO_UTF_CHECK) | UInt32(PCRE2_NO_JIT), scratch.data, nil)
        }
        if rc == PCRE2_ERROR_NOMATCH { return .none }
        if rc < 0 { return .failed(rc) }
        let ov = pcre2_get_ovector_pointer_8(scratch.data)!
        var out: [Range<Int>?] = []
        out.reserveCapacity(groups + 1)
        for g in 0...groups {
            // Pairs past the match's group count, or unset groups, hold PCRE2_UNSET
            // (~(size_t)0, i.e. -1 as a signed word).
            guard g < Int(rc) else { out.append(nil); continue }
            let lo = Int(truncatingIfNeeded: ov[2 * g])
            let hi = Int(truncatingIfNeeded: ov[2 * g + 1])
            out.append(lo >= 0 && hi >= lo ? lo..<hi : nil)
        }
        return .found(out)
    }
}

/// Per-call match data (the ovector). Never shared between threads.
final class PCRE2MatchScratch {
    let data: OpaquePointer

    init() {
        // Three pairs: group 0 plus the two capture groups of the connection-string pattern.
        guard let d = pcre2_match_data_create_8(3, nil) else {
            preconditionFailure("pcre2_match_data_create failed (out of memory)")
        }
        data = d
    }

    deinit { pcre2_match_data_free_8(data) }
}
