/// The reference's hash-chained audit record (docs/audit.md; docs/reference-semantics.md §10.4,
/// §10.5): each persisted trace is wrapped as `{seq, prev_hash, record_hash, trace}` where
/// `trace` is the export shape and `record_hash` is the HMAC-SHA256, keyed with the kernel
/// secret, of the canonical JSON of `{seq, prev_hash, trace}`. Sans-IO, so a durable store, the
/// `capgate audit` CLI and the tests share one definition and the reference's CLI verifies
/// our files byte for byte.
public struct AuditRecord: Sendable, Hashable {
    public var seq: Int
    public var prevHash: String
    public var recordHash: String
    /// The export shape of the trace (`ActionTrace.exportJSON`), as stored.
    public var trace: JSONValue

    public init(seq: Int, prevHash: String, recordHash: String, trace: JSONValue) {
        self.seq = seq
        self.prevHash = prevHash
        self.recordHash = recordHash
        self.trace = trace
    }
}

/// Outcome of `AuditChain.verify`, with the reference's wording so both CLIs agree.
public struct AuditChainVerification: Sendable, Equatable {
    public var ok: Bool
    public var recordsChecked: Int
    /// The first divergent record, nil when `ok`.
    public var firstBadSeq: Int?
    public var detail: String

    public init(ok: Bool, recordsChecked: Int, firstBadSeq: Int?, detail: String) {
        self.ok = ok
        self.recordsChecked = recordsChecked
        self.firstBadSeq = firstBadSeq
        self.detail = detail
    }
}

public struct AuditChain: Sendable {
    /// `prev_hash` of the first record of an unpruned chain.
    public static let genesisHash = String(repeating: "0", count: 64)

    private let signer: HMACSigner

    /// `secret` is the kernel secret, used as UTF-8 bytes exactly like the token key.
    public init(secret: String) { signer = HMACSigner(key: Array(secret.utf8)) }

    /// The record hash binding `seq`, `prevHash` and `trace`: lowercase hex HMAC-SHA256 over
    /// the canonical JSON (sorted keys, no whitespace, ASCII) of the three.
    public func recordHash(seq: Int, prevHash: String, trace: JSONValue) -> String {
        let message = JSONValue.object(JSONObject([
            ("seq", .int(seq)), ("prev_hash", .string(prevHash)), ("trace", trace),
        ]))
        return signer.hexDigest(message.serializedBytes(.canonical))
    }

    /// The same hash from the trace's canonical bytes, serialized once by the caller (outside
    /// any lock): the canonical wrapper's keys sort as prev_hash < seq < trace, so the message
    /// is the trace's bytes inside a fixed frame.
    public func recordHash(seq: Int, prevHash: String, canonicalTrace: [UInt8]) -> String {
        var message: [UInt8] = []
        message.reserveCapacity(canonicalTrace.count + prevHash.utf8.count + 48)
        message.append(contentsOf: #"{"prev_hash":"#.utf8)
        JSONWriter.writeString(prevHash, ascii: true, into: &message)
        message.append(contentsOf: #","seq":"#.utf8)
        message.append(contentsOf: String(seq).utf8)
        message.append(contentsOf: #","trace":"#.utf8)
        message.append(contentsOf: canonicalTrace)
        message.append(UInt8(ascii: "}"))
        return signer.hexDigest(message)
    }

    /// The next record after a head (`prevHash` is the previous record's hash, or the
    /// genesis/checkpoint hash for the first).
    public func makeRecord(seq: Int, prevHash: String, trace: JSONValue) -> AuditRecord {
        AuditRecord(seq: seq, prevHash: prevHash, recordHash: recordHash(seq: seq, prevHash: prevHash, trace: trace),
                    trace: trace)
    }

    /// Checks contiguity, links and hashes of records in ascending `seq` order, stopping at
    /// the first bad one. Tail truncation is not detectable (no signed head), as in the
    /// reference. Hash comparisons are constant time.
    public func verify(_ records: some Sequence<AuditRecord>, genesis: String = AuditChain.genesisHash)
        -> AuditChainVerification {
        var expectedPrev = genesis
        var previousSeq: Int?
        var checked = 0
        for r in records {
            checked += 1
            // A stored seq of Int.max has no successor a row can hold: whatever follows it is
            // non-contiguous (Python's ints would just grow), never an overflow trap.
            if let p = previousSeq, p == .max || r.seq != p + 1 {
                let e = p == .max ? "9223372036854775808" : String(p + 1)
                return AuditChainVerification(
                    ok: false, recordsChecked: checked, firstBadSeq: r.seq,
                    detail: "Non-contiguous sequence at position \(checked): expected seq \(e), found \(r.seq) "
                        + "(insertion, deletion, or reorder).")
            }
            if !ConstantTime.equal(Array(r.prevHash.utf8), Array(expectedPrev.utf8)) {
                return AuditChainVerification(
                    ok: false, recordsChecked: checked, firstBadSeq: r.seq,
                    detail: "Broken link at seq \(r.seq): prev_hash does not match the preceding record's hash "
                        + "(insertion, deletion, or reorder).")
            }
            let recomputed = recordHash(seq: r.seq, prevHash: r.prevHash, trace: r.trace)
            if !ConstantTime.equal(Array(recomputed.utf8), Array(r.recordHash.utf8)) {
                return AuditChainVerification(
                    ok: false, recordsChecked: checked, firstBadSeq: r.seq,
                    detail: "Tampered record at seq \(r.seq): content does not match its stored hash "
                        + "(mutation, or wrong secret).")
            }
            expectedPrev = r.recordHash
            previousSeq = r.seq
        }
        return AuditChainVerification(ok: true, recordsChecked: checked, firstBadSeq: nil,
                                      detail: "Verified \(checked) record(s).")
    }
}

extension ActionTrace {
    /// The reference's `export_action_trace` shape (docs/reference-semantics.md §10.4): the
    /// trace's fields plus `status` and a null `correction`, in the reference's key order.
    public var exportJSON: JSONValue {
        func opt(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        return .object(JSONObject([
            ("action_id", .string(actionID)), ("capability_id", .string(capabilityID)),
            ("principal_id", .string(principalID)), ("token_id", .string(tokenID)),
            ("invoked_at", .string(invokedAt.isoformat)), ("response_mode", .string(responseMode.rawValue)),
            ("driver_id", .string(driverID)), ("handle_id", opt(handleID)),
            ("sensitivity", .string(sensitivity.rawValue)), ("status", .string(error == nil ? "succeeded" : "failed")),
            ("event_type", .string(eventType.rawValue)), ("reason_code", opt(reasonCode)), ("error", opt(error)),
            ("args", .object(args)), ("result_summary", resultSummary.map(JSONValue.object) ?? .null),
            ("correction", .null),
        ]))
    }

    /// The inverse of `exportJSON` (`status` and `correction` are derived or ignored). A
    /// malformed payload is an `AgentKernelError`, never a crash: stored rows are untrusted.
    public init(exported: JSONValue) throws(KernelError) {
        do {
            try self.init(json: exported)
        } catch {
            throw KernelError(.agentKernelError, "Persisted trace payload is malformed: \(error).")
        }
    }
}
