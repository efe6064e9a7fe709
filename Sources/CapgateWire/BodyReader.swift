import AgentKernel

/// A request body is read with the shared strict field reader (CapgateFormats): every
/// field consumed is remembered so `finish()` rejects anything unknown (a typo'd field is
/// an error, not a silent no-op), and a field failure becomes `invalid_request` with a
/// message naming the field ("request.capability_id: is required").
typealias BodyReader = FieldReader<WireError>

extension WireError: FieldErrorConvertible {
    public init(fieldError: FieldError) { self.init(.invalidRequest, fieldError.description) }
}

extension FieldReader where Failure == WireError {
    /// The top-level body, which must be a JSON object.
    init(_ v: JSONValue, verb: Verb) throws(WireError) {
        guard case .object(let o) = v else { throw WireError(.invalidRequest, "the body must be a JSON object") }
        self.init(object: o, context: "")
    }

    /// A `CapabilityRequest` object with only its five fields.
    mutating func request(_ k: String) throws(WireError) -> CapabilityRequest {
        var r = try nested(k)
        let request = CapabilityRequest(
            capabilityID: try r.string("capability_id"), goal: try r.optionalString("goal") ?? "",
            constraints: try r.optionalObject("constraints") ?? [:], intent: try r.optionalString("intent"),
            scope: try r.optionalObject("scope") ?? [:])
        try r.finish()
        return request
    }

    /// A token as `CapabilityToken.to_dict()` produced it.
    mutating func token(_ k: String) throws(WireError) -> CapabilityToken {
        var r = try nested(k)
        func time(_ f: String) throws(WireError) -> Timestamp {
            guard let t = try r.optionalTimestamp(f) else { throw WireError(.invalidRequest, "\(r.path(f)): is required") }
            return t
        }
        let token = CapabilityToken(
            tokenID: try r.string("token_id"), capabilityID: try r.string("capability_id"),
            principalID: try r.string("principal_id"), issuedAt: try time("issued_at"),
            expiresAt: try time("expires_at"), constraints: try r.optionalObject("constraints") ?? [:],
            auditID: try r.optionalString("audit_id") ?? "", signature: try r.optionalString("signature") ?? "")
        try r.finish()
        return token
    }

    /// The optional `principal` object: its id is returned for the mismatch check; roles
    /// and attributes are accepted for compatibility and ignored (the server maps them).
    mutating func principalID() throws(WireError) -> String? {
        guard let o = try optionalObject("principal") else { return nil }
        var r = BodyReader(object: o, context: "principal")
        let id = try r.string("principal_id")
        _ = try r.optionalStringList("roles")
        _ = try r.optionalObject("attributes")
        try r.finish()
        return id
    }

    mutating func traceQuery() throws(WireError) -> TraceQuery {
        let eventType = try optionalString("event_type")
        let et: TraceEventType?
        if let eventType {
            guard let e = TraceEventType(rawValue: eventType) else {
                throw WireError(.invalidRequest, "event_type: must be one of invoke, expand, deny")
            }
            et = e
        } else { et = nil }
        let outcome = try optionalString("outcome")
        if let outcome, outcome != "succeeded", outcome != "failed" {
            throw WireError(.invalidRequest, "outcome: must be succeeded or failed")
        }
        let q = TraceQuery(principalID: try optionalString("principal_id"),
                           capabilityID: try optionalString("capability_id"), eventType: et, outcome: outcome,
                           reasonCode: try optionalString("reason_code"), since: try optionalTimestamp("since"),
                           until: try optionalTimestamp("until"), limit: try optionalInt("limit"),
                           offset: try optionalInt("offset") ?? 0)
        if let l = q.limit, l < 0 { throw WireError(.invalidRequest, "limit: must be non-negative") }
        if q.offset < 0 { throw WireError(.invalidRequest, "offset: must be non-negative") }
        return q
    }
}
