import AgentKernel
import CapgateFormats

/// Target 11: the stored audit record decoder (docs/audit.md). A `payload` column is
/// untrusted at start-up and in `capgate audit` (anyone with file access can write it). The
/// bytes are a payload: the JSON reader, then `ActionTrace(exported:)`. Invariants: a decoded
/// trace re-exports to a payload that decodes to the same trace; a record chained over it
/// verifies, and the same record with a changed seq does not.
enum FuzzAuditRecord {
    static let chain = AuditChain(secret: "fuzz")

    static func run(_ data: UnsafeRawBufferPointer) {
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
}
