import AgentKernel

/// Target 9: the ISO 8601 reader (`Timestamp(isoformat:)`), which reads client-sent
/// datetimes: token `issued_at`/`expires_at` and the `since`/`until` of trace queries.
/// It mirrors a subset of Python 3.11 `datetime.fromisoformat`. Invariants: whatever it
/// accepts, Python accepts too (year 1-9999, real calendar dates, offsets under 24 h);
/// the rendering (`isoformat`, Python's form) reads back to the same instant and offset
/// and renders identically again.
enum FuzzTimestamp {
    static func run(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        guard let t = Timestamp(isoformat: text) else { return }
        let year = Int(text.utf8.prefix(4).reduce(0) { $0 * 10 + Int($1) - 48 })
        if !(1...9999).contains(year) { fuzzFailure("accepted year \(year), outside Python's 1...9999") }
        if let off = t.utcOffsetSeconds, abs(off) >= 86400 { fuzzFailure("offset \(off) s is a day or more") }
        let rendered = t.isoformat
        guard let again = Timestamp(isoformat: rendered) else { fuzzFailure("our rendering \(rendered) does not read back") }
        if again.microseconds != t.microseconds || again.utcOffsetSeconds != t.utcOffsetSeconds {
            fuzzFailure("\(text) -> \(rendered) -> a different instant or offset")
        }
        if again.isoformat != rendered { fuzzFailure("rendering is not stable: \(rendered) vs \(again.isoformat)") }
    }
}
