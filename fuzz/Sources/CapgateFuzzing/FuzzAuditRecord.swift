import AgentKernel
import CapgateFormats

/// Target 11: what `capgate audit` and the store read back from an audit file (docs/audit.md).
/// Every column is untrusted at start-up and in `capgate audit` (anyone with file access can
/// write it).
///
/// A first byte of 0x01 selects whole stored rows, as the start-up check and `capgate audit
/// verify` read them (`AuditFile.records` + `AuditChain.verify` from the checkpoint): the rest
/// is fields separated by NUL, first the checkpoint's `next_seq` text and hash (empty: none),
/// then groups of four: seq (decimal; otherwise the next contiguous one), prev_hash ("=" for
/// the previous record's hash), record_hash ("=" for the correct HMAC) and payload. Invariants:
/// the verification's outcome (ok, records checked, first bad seq) equals an
/// independent walk of the chain; a verified chain with one hash changed does not verify.
///
/// Any other input is one payload: the JSON reader, then `ActionTrace(exported:)`. Invariants:
/// a decoded trace re-exports to a payload that decodes to the same trace; a record chained
/// over it verifies, and the same record with a changed seq does not.
enum FuzzAuditRecord {
    static let chain = AuditChain(secret: "fuzz")

    static func run(_ data: UnsafeRawBufferPointer) {
        if data.first == 0x01 { return rows(Array(data.dropFirst())) }
        guard let payload = try? JSONParser.parse(Array(data)) else { return }
        guard let trace = try? ActionTrace(exported: payload) else { return }
        let exported = trace.exportJSON
        guard let again = try? ActionTrace(exported: exported) else { fuzzFailure("our export does not decode") }
        if again != trace { fuzzFailure("export/decode is not a round trip") }
        let record = chain.makeRecord(seq: 0, prevHash: AuditChain.genesisHash, trace: payload)
        if !chain.verify([record]).ok { fuzzFailure("a freshly chained record does not verify") }
        var moved = record
        moved.seq = 1
        if chain.verify([moved]).ok { fuzzFailure("a record with a changed seq still verifies") }
    }

    static func rows(_ bytes: [UInt8]) {
        let fields = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard fields.count >= 2 else { return }
        // The checkpoint as `AuditFile.checkpoint` reads it: the meta values are TEXT.
        guard let nextSeq = Int(fields[0]), nextSeq >= 0 else { return }
        let genesis = fields[1].isEmpty ? AuditChain.genesisHash : fields[1]
        var records: [AuditRecord] = []
        var prev = genesis
        var seq = nextSeq
        var rest = fields.dropFirst(2)
        while rest.count >= 4, records.count < 64 {
            let f = Array(rest.prefix(4))
            rest = rest.dropFirst(4)
            seq = Int(f[0]) ?? seq
            // As `AuditFile.record`: the payload must be a JSON object.
            guard let trace = try? JSONParser.parse(f[3]) else { return }
            guard case .object = trace else { return }
            let prevHash = f[1] == "=" ? prev : f[1]
            let hash = f[2] == "=" ? chain.recordHash(seq: seq, prevHash: prevHash, trace: trace) : f[2]
            records.append(AuditRecord(seq: seq, prevHash: prevHash, recordHash: hash, trace: trace))
            _ = try? ActionTrace(exported: trace)  // `capgate audit list|show|export` read it so
            prev = hash
            seq = seq &+ 1
        }
        let verdict = chain.verify(records, genesis: genesis)
        let expected = walk(records, genesis: genesis)
        if verdict.ok != (expected == nil) || verdict.firstBadSeq != expected?.seq {
            fuzzFailure("verify says \(verdict), an independent walk \(String(describing: expected))")
        }
        if verdict.recordsChecked != (expected.map { $0.index + 1 } ?? records.count) {
            fuzzFailure("verify checked \(verdict.recordsChecked) records")
        }
        if verdict.ok, let i = records.indices.last {
            var tampered = records
            tampered[i].recordHash = String(tampered[i].recordHash.reversed()) + "0"
            if chain.verify(tampered, genesis: genesis).ok { fuzzFailure("a changed record hash still verifies") }
        }
    }

    /// The first bad record (position and seq), by the reference's rules: contiguous seqs,
    /// each prev_hash the previous record_hash (the genesis for the first), each record_hash
    /// the HMAC of its content.
    static func walk(_ records: [AuditRecord], genesis: String) -> (index: Int, seq: Int)? {
        var prev = genesis
        for (i, r) in records.enumerated() {
            // Python's ints: nothing a row can hold follows Int.max (regressions/audit_record/
            // seq_int_max_then_wrapped_min.bin: the oracle itself must not wrap around).
            if i > 0, records[i - 1].seq == .max || r.seq != records[i - 1].seq + 1 { return (i, r.seq) }
            if Array(r.prevHash.utf8) != Array(prev.utf8) { return (i, r.seq) }
            let expected = chain.recordHash(seq: r.seq, prevHash: r.prevHash, trace: r.trace)
            if Array(expected.utf8) != Array(r.recordHash.utf8) { return (i, r.seq) }
            prev = r.recordHash
        }
        return nil
    }
}
