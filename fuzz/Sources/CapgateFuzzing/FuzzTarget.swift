/// The fuzz targets: each takes hostile bytes and must never crash, hang or grow memory
/// without bound. A violated invariant calls `fuzzFailure`, which traps so libFuzzer
/// records the input. The same functions replay the corpora and regressions in
/// `make test` (Tests/CapgateFuzzingTests) without the fuzzer toolchain.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case json
    case wireRequest = "wire_request"
    case h2Session = "h2_session"
    case peerIdentity = "peer_identity"
    case config
    case tokenExpand = "token_expand"
    case toml
    case spiffeID = "spiffe_id"
    case timestamp
    case hostAnswer = "host_answer"
    case auditRecord = "audit_record"
    case httpResponse = "http_response"
    case revocationLog = "revocation_log"

    /// Runs one input through the target.
    public func run(_ data: UnsafeRawBufferPointer) {
        switch self {
        case .json: FuzzJSON.run(data)
        case .wireRequest: FuzzWireRequest.run(data)
        case .h2Session: FuzzH2Session.run(data)
        case .peerIdentity: FuzzPeerIdentity.run(data)
        case .config: FuzzConfig.run(data)
        case .tokenExpand: FuzzTokenExpand.run(data)
        case .toml: FuzzTOML.run(data)
        case .spiffeID: FuzzSPIFFEID.run(data)
        case .timestamp: FuzzTimestamp.run(data)
        case .hostAnswer: FuzzHostAnswer.run(data)
        case .auditRecord: FuzzAuditRecord.run(data)
        case .httpResponse: FuzzHTTPResponse.run(data)
        case .revocationLog: FuzzRevocationLog.run(data)
        }
    }

    public func run(_ bytes: [UInt8]) { bytes.withUnsafeBytes { run($0) } }
}

/// An invariant the target states was violated: trap so the fuzzer keeps the input.
public func fuzzFailure(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("fuzz invariant violated: \(message)", file: file, line: line)
}
