import AgentKernel

/// Reads one request object field by field and remembers which fields it consumed, so
/// `finish()` can reject anything unknown: a typo'd field is an error, not a silent no-op.
struct BodyReader {
    let object: JSONObject
    let context: String
    private var used: [String] = []

    init(_ v: JSONValue, verb: Verb) throws(WireError) {
        guard case .object(let o) = v else { throw WireError(.invalidRequest, "the body must be a JSON object") }
        object = o
        context = ""
    }

    init(object: JSONObject, context: String) {
        self.object = object
        self.context = context
    }

    func path(_ k: String) -> String { context.isEmpty ? k : context + "." + k }

    mutating func take(_ k: String) -> JSONValue? {
        used.append(k)
        return object[k]
    }

    mutating func string(_ k: String) throws(WireError) -> String {
        guard let v = take(k) else { throw WireError(.invalidRequest, "\(path(k)): is required") }
        guard case .string(let s) = v else { throw WireError(.invalidRequest, "\(path(k)): must be a string") }
        return s
    }

    mutating func optionalString(_ k: String) throws(WireError) -> String? {
        guard let v = take(k), !v.isNull else { return nil }
        guard case .string(let s) = v else { throw WireError(.invalidRequest, "\(path(k)): must be a string") }
        return s
    }

    mutating func optionalBool(_ k: String) throws(WireError) -> Bool? {
        guard let v = take(k), !v.isNull else { return nil }
        guard case .bool(let b) = v else { throw WireError(.invalidRequest, "\(path(k)): must be a boolean") }
        return b
    }

    mutating func optionalInt(_ k: String) throws(WireError) -> Int? {
        guard let v = take(k), !v.isNull else { return nil }
        guard case .int(let i) = v else { throw WireError(.invalidRequest, "\(path(k)): must be an integer") }
        return i
    }

    mutating func optionalObject(_ k: String) throws(WireError) -> JSONObject? {
        guard let v = take(k), !v.isNull else { return nil }
        guard case .object(let o) = v else { throw WireError(.invalidRequest, "\(path(k)): must be an object") }
        return o
    }

    mutating func optionalStringList(_ k: String) throws(WireError) -> [String]? {
        guard let v = take(k), !v.isNull else { return nil }
        guard case .array(let a) = v else { throw WireError(.invalidRequest, "\(path(k)): must be an array of strings") }
        var out: [String] = []
        for e in a {
            guard case .string(let s) = e else {
                throw WireError(.invalidRequest, "\(path(k)): must be an array of strings")
            }
            out.append(s)
        }
        return out
    }

    mutating func optionalTime(_ k: String) throws(WireError) -> Timestamp? {
        guard let s = try optionalString(k) else { return nil }
        guard let t = Timestamp(isoformat: s) else {
            throw WireError(.invalidRequest, "\(path(k)): must be an ISO 8601 datetime")
        }
        return t
    }

    /// Rejects fields nobody asked for.
    func finish() throws(WireError) {
        for k in object.keys where !used.contains(k) {
            throw WireError(.invalidRequest, "\(path(k)): unknown field")
        }
    }

    /// A `CapabilityRequest` object with only its five fields.
    mutating func request(_ k: String) throws(WireError) -> CapabilityRequest {
        guard let v = take(k) else { throw WireError(.invalidRequest, "\(path(k)): is required") }
        guard case .object(let o) = v else { throw WireError(.invalidRequest, "\(path(k)): must be an object") }
        var r = BodyReader(object: o, context: path(k))
        let request = CapabilityRequest(
            capabilityID: try r.string("capability_id"), goal: try r.optionalString("goal") ?? "",
            constraints: try r.optionalObject("constraints") ?? [:], intent: try r.optionalString("intent"),
            scope: try r.optionalObject("scope") ?? [:])
        try r.finish()
        return request
    }

    /// A token as `CapabilityToken.to_dict()` produced it.
    mutating func token(_ k: String) throws(WireError) -> CapabilityToken {
        guard let v = take(k) else { throw WireError(.invalidRequest, "\(path(k)): is required") }
        guard case .object(let o) = v else { throw WireError(.invalidRequest, "\(path(k)): must be an object") }
        var r = BodyReader(object: o, context: path(k))
        func time(_ f: String) throws(WireError) -> Timestamp {
            guard let t = try r.optionalTime(f) else { throw WireError(.invalidRequest, "\(r.path(f)): is required") }
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
        guard let v = take("principal"), !v.isNull else { return nil }
        guard case .object(let o) = v else { throw WireError(.invalidRequest, "principal: must be an object") }
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
                           reasonCode: try optionalString("reason_code"), since: try optionalTime("since"),
                           until: try optionalTime("until"), limit: try optionalInt("limit"),
                           offset: try optionalInt("offset") ?? 0)
        if let l = q.limit, l < 0 { throw WireError(.invalidRequest, "limit: must be non-negative") }
        if q.offset < 0 { throw WireError(.invalidRequest, "offset: must be non-negative") }
        return q
    }
}
