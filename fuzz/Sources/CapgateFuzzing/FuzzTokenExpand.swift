import AgentKernel

/// Target 6: token decoding and verification (`from_dict`, canonical JSON, the HMAC
/// check) and the expand query. Even bytes: the input is a token JSON verified against a
/// fixed secret; a token that verifies must have been signed by us, so a random input
/// verifying is a finding. Odd bytes: the input is an expand query run against a stored
/// handle; it must page within the grant or fail with a typed error.
enum FuzzTokenExpand {
    static let clock = FixedClock()
    static let provider = HMACTokenProvider(secret: "fuzz-secret", clock: clock,
                                            revocations: InMemoryRevocationStore(clock: clock))
    static let store: HandleStore = {
        guard let s = try? HandleStore(clock: clock) else { fuzzFailure("handle store init") }
        return s
    }()
    static let rows: JSONValue = .array((0..<30).map { i in
        ["id": .int(i), "region": i % 2 == 0 ? "eu" : "us", "name": .string("row \(i)"), "secret": "s3cr3t"]
    })
    static let handle: Handle = {
        guard let h = try? store.store(capabilityID: "records.read", data: rows, principalID: "alice",
                                       constraints: ["max_rows": 10, "allowed_fields": ["id", "region", "name"],
                                                     "scope": ["region": "eu"]])
        else { fuzzFailure("store") }
        return h
    }()

    static func run(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        guard let value = try? JSONParser.parse(Array(data.dropFirst())) else { return }
        if first & 1 == 0 {
            guard let token = try? CapabilityToken(json: value) else { return }
            _ = HMACTokenProvider.signingPayload(token)
            do throws(KernelError) {
                try provider.verify(token, expectedPrincipalID: token.principalID,
                                    expectedCapabilityID: token.capabilityID)
                fuzzFailure("a token we never signed verified")
            } catch {
                let allowed: [KernelError.Kind] = [.tokenInvalid, .tokenExpired, .tokenRevoked, .tokenScopeError]
                if !allowed.contains(error.kind) { fuzzFailure("verify raised \(error.kind.rawValue)") }
            }
        } else {
            guard case .object(let query) = value else { return }
            let principal = first & 2 == 0 ? "alice" : "mallory"
            do throws(KernelError) {
                let frame = try store.expand(handleID: handle.handleID, query: query, actionID: "a",
                                             principalID: principal, maxDepth: 3, now: clock.now())
                if principal != "alice" { fuzzFailure("another principal expanded the handle") }
                if frame.tablePreview.count > 10 { fuzzFailure("expand exceeded the granted max_rows") }
                for row in frame.tablePreview {
                    if row["secret"] != nil { fuzzFailure("a field outside allowed_fields escaped") }
                    if let r = row["region"], r != "eu" { fuzzFailure("the granted scope was not forced") }
                }
            } catch {
                let allowed: [KernelError.Kind] = [.handleConstraintViolation, .handleNotFound, .handleExpired]
                if allowed.contains(error.kind) { return }
                // The reference raises a bare TypeError when a disallowed `fields` list mixes
                // strings and non-strings (`sorted()` in its error message cannot compare
                // them); the port mirrors it as `.valueError` (wire: internal_error).
                // Regression token_expand/fields_mixed_types_reference_typeerror.bin.
                if error.kind == .valueError, case .array(let fields)? = query["fields"],
                   fields.contains(where: { $0.stringValue == nil }) { return }
                fuzzFailure("expand raised \(error.kind.rawValue): \(error.message)")
            }
        }
    }
}

/// A clock frozen at a fixed instant, so fuzz runs are reproducible.
struct FixedClock: KernelClock {
    func now() -> Timestamp { Timestamp(microseconds: 1_800_000_000_000_000) }
    func monotonic() -> Double { 1000 }
}
