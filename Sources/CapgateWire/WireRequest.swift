import AgentKernel

/// A decoded v1 request body. Bodies mirror the reference's keyword arguments (spec
/// §12.4). A `principal` in a body is accepted for API compatibility only: its id must
/// equal the certificate-bound principal and its roles and attributes are ignored.
public enum WireRequest: Sendable, Equatable {
    case listCapabilities
    case requestCapabilities(goal: String)
    case grantCapability(request: CapabilityRequest, justification: String, claimedPrincipalID: String?)
    case invoke(token: CapabilityToken, args: JSONObject, responseMode: ResponseMode, dryRun: Bool,
                claimedPrincipalID: String?)
    case expand(handleID: String, query: JSONObject, claimedPrincipalID: String?)
    case explain(actionID: String)
    case explainDenial(request: CapabilityRequest, justification: String, claimedPrincipalID: String?)
    case revoke(tokenID: String)
    case revokeAll(principalID: String)
    case queryTraces(TraceQuery)
    case stats
    case health
    /// The invoke body without a dry run (a stream has none); answered with frames as lines.
    case invokeStream(token: CapabilityToken, args: JSONObject, responseMode: ResponseMode,
                      claimedPrincipalID: String?)
    /// A kill switch or the status report (admin; answered by the gateway, not the kernel).
    case operations(OperationsRequest)

    /// The principal id the body claims, if any (checked against the bound identity).
    public var claimedPrincipalID: String? {
        switch self {
        case .grantCapability(_, _, let p), .invoke(_, _, _, _, let p), .expand(_, _, let p),
             .explainDenial(_, _, let p), .invokeStream(_, _, _, let p):
            return p
        default: return nil
        }
    }
}

extension WireRequest {
    /// The strict JSON reader's bounds for a request body, applied before any decoding. They
    /// bound the shape (depth, sizes, counts) of what fits in the body cap (bytes, the
    /// transport's, GatewayLimits) and are not configurable: nesting depth 32 (a JSON bomb
    /// costs stack and time), 64 KiB per string after unescaping, 4096 members per object or
    /// array, 65 536 values per body.
    public static let bodyParserLimits = JSONParser.Limits(maxDepth: 32, maxStringBytes: 64 * 1024, maxMembers: 4096,
                                                           maxTotalValues: 65_536)

    /// Decodes one verb's body: strict JSON (bounded, no duplicate keys, valid UTF-8),
    /// then the verb's shape with unknown fields rejected. Errors are `invalid_json` for
    /// bytes that are not acceptable JSON and `invalid_request` (naming the field) for a
    /// wrong shape.
    public static func decode(_ verb: Verb, body: UnsafeRawBufferPointer) throws(WireError) -> WireRequest {
        if verb == .health { return .health }
        if verb == .explain, let actionID = plainExplainActionID(body.bindMemory(to: UInt8.self)) {
            return .explain(actionID: actionID)
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(body.bindMemory(to: UInt8.self), limits: bodyParserLimits)
        } catch {
            throw WireError(.invalidJSON, "request body is not valid JSON: \(error.description)")
        }
        return try decode(verb, value: value)
    }

    /// The action id of an `explain` body in its plain form, `{"action_id":"..."}` (JSON
    /// whitespace allowed between tokens) with a value of printable ASCII without escapes,
    /// at most `plainActionIDMaxBytes`; nil for anything else, which the general decoder
    /// then reads (and answers, errors included).
    ///
    /// Why: `explain` is a dictionary look-up, and the general path (object, field reader,
    /// unknown-field check) was most of its per-request allocations. For the bodies this
    /// accepts the general path gives the same request: one member, no escapes, so no
    /// duplicate, unknown or missing field; ASCII, so no UTF-8 question; well under the
    /// parser's string limit.
    static func plainExplainActionID(_ body: UnsafeBufferPointer<UInt8>) -> String? {
        var pos = 0
        let n = body.count
        @inline(__always) func skipWS() {
            while pos < n, body[pos] == 0x20 || body[pos] == 0x09 || body[pos] == 0x0A || body[pos] == 0x0D { pos += 1 }
        }
        @inline(__always) func take(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard n - pos >= count else { return false }
            for i in 0..<count where body[pos + i] != literal.utf8Start[i] { return false }
            pos += count
            return true
        }
        skipWS()
        guard take("{") else { return nil }
        skipWS()
        guard take("\"action_id\"") else { return nil }
        skipWS()
        guard take(":") else { return nil }
        skipWS()
        guard take("\"") else { return nil }
        let start = pos
        while pos < n, body[pos] != UInt8(ascii: "\"") {
            let b = body[pos]
            // Printable ASCII only: no escape, no control character, no UTF-8 sequence.
            guard b >= 0x20, b < 0x7F, b != UInt8(ascii: "\\") else { return nil }
            pos += 1
        }
        guard pos < n, pos - start <= plainActionIDMaxBytes else { return nil }
        let end = pos
        pos += 1
        skipWS()
        guard take("}") else { return nil }
        skipWS()
        guard pos == n else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: body[start..<end]), as: UTF8.self)
    }

    /// Longer action ids take the general decoder (ids are 36-byte UUIDs).
    static let plainActionIDMaxBytes = 1024

    public static func decode(_ verb: Verb, body: [UInt8]) throws(WireError) -> WireRequest {
        let r: Result<WireRequest, WireError> = body.withUnsafeBytes { raw in
            do throws(WireError) { return .success(try decode(verb, body: raw)) } catch {
                return .failure(error)
            }
        }
        return try r.get()
    }

    static func decode(_ verb: Verb, value: JSONValue) throws(WireError) -> WireRequest {
        var fields: [String] = []
        return try decode(verb, value: value, fieldsRead: &fields)
    }

    /// `decode`, also reporting the top-level fields the verb's shape reads (every optional
    /// one is asked for, present or not), so a test can pin docs/openapi.yaml to the decoder.
    static func decode(_ verb: Verb, value: JSONValue, fieldsRead: inout [String]) throws(WireError) -> WireRequest {
        var b = try BodyReader(value, verb: verb)
        defer { fieldsRead = b.consumed }
        let result: WireRequest
        switch verb {
        case .health: return .health
        case .listCapabilities:
            result = .listCapabilities
        case .stats:
            result = .stats
        case .requestCapabilities:
            let goal = try b.string("goal")
            _ = try b.optionalObject("context_tags")  // accepted and ignored, as in the reference
            result = .requestCapabilities(goal: goal)
        case .grantCapability:
            let request = try b.request("request")
            let justification = try b.string("justification")
            result = .grantCapability(request: request, justification: justification,
                                      claimedPrincipalID: try b.principalID())
        case .explainDenial:
            let request = try b.request("request")
            let justification = try b.optionalString("justification") ?? ""
            result = .explainDenial(request: request, justification: justification,
                                    claimedPrincipalID: try b.principalID())
        case .invoke:
            let i = try invokeBody(&b)
            result = .invoke(token: i.token, args: i.args, responseMode: i.mode, dryRun: i.dryRun,
                             claimedPrincipalID: i.claimed)
        case .invokeStream:
            // The same body by the same rules (unknown fields included); a dry run is refused
            // once the whole body is known to be well formed.
            let i = try invokeBody(&b)
            try b.finish()
            if i.dryRun { throw WireError(.invalidRequest, "dry_run: invoke_stream has no dry run; use invoke") }
            return .invokeStream(token: i.token, args: i.args, responseMode: i.mode, claimedPrincipalID: i.claimed)
        case .expand:
            let direct = try b.optionalString("handle_id")
            let handle = try b.optionalObject("handle")
            let handleID: String
            switch (direct, handle) {
            case (let id?, nil): handleID = id
            case (nil, let h?):
                // Only the id of a sent handle is used: its principal and constraints are
                // looked up on the server (docs/reference-semantics.md §3.7 trust gap).
                guard let id = h["handle_id"]?.stringValue else {
                    throw WireError(.invalidRequest, "handle.handle_id: is required and must be a string")
                }
                handleID = id
            case (nil, nil): throw WireError(.invalidRequest, "handle_id: is required")
            default: throw WireError(.invalidRequest, "handle_id and handle: give exactly one")
            }
            let query = try b.optionalObject("query") ?? [:]
            result = .expand(handleID: handleID, query: query, claimedPrincipalID: try b.principalID())
        case .explain:
            result = .explain(actionID: try b.string("action_id"))
        case .revoke:
            result = .revoke(tokenID: try b.string("token_id"))
        case .revokeAll:
            result = .revokeAll(principalID: try b.string("principal_id"))
        case .queryTraces:
            result = .queryTraces(try b.traceQuery())
        case .pauseCapability, .pausePrincipal, .pauseAll, .resumeCapability, .resumePrincipal, .resumeAll,
             .listPaused, .status:
            guard let op = try OperationsRequest.decode(verb, &b) else {
                throw WireError(.invalidRequest, "\(verb.rawValue): not an operations verb")
            }
            result = .operations(op)
        }
        try b.finish()
        return result
    }

    /// The `invoke` body, shared by `invoke` and `invoke_stream` (one set of rules).
    static func invokeBody(_ b: inout BodyReader) throws(WireError)
        -> (token: CapabilityToken, args: JSONObject, mode: ResponseMode, dryRun: Bool, claimed: String?)
    {
        let token = try b.token("token")
        let args = try b.optionalObject("args") ?? [:]
        let mode = try b.optionalString("response_mode") ?? "summary"
        guard ["summary", "table", "handle_only", "raw"].contains(mode) else {
            throw WireError(.invalidRequest, "response_mode: must be one of summary, table, handle_only, raw")
        }
        let dryRun = try b.optionalBool("dry_run") ?? false
        return (token, args, ResponseMode(mode), dryRun, try b.principalID())
    }
}
