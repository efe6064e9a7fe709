/// Decoding models from JSON, with the reference's defaults for absent fields.
/// Errors name the offending field so a wire error can say which key was wrong; they are
/// the shared field reader's `FieldError` (CapgateFormats).
public typealias ModelDecodeError = FieldError

/// A model that decodes from the reference's JSON shape.
public protocol JSONDecodableModel {
    init(json: JSONValue) throws(ModelDecodeError)
}

/// The models' decoders read with the shared strict field reader; they accept unknown
/// fields (as the reference's `from_dict` does), so they never call `finish()`.
typealias ModelReader = FieldReader<ModelDecodeError>

/// Timestamps are a kernel type, so their accessors live here; the wire uses them too.
extension FieldReader {
    /// A required ISO 8601 string: absent "is required", not a string "must be a string".
    @inlinable
    public mutating func timestamp(_ key: String) throws(Failure) -> Timestamp {
        try parseTimestamp(key, try string(key))
    }

    /// An optional ISO 8601 string (absent or null: nil).
    @inlinable
    public mutating func optionalTimestamp(_ key: String) throws(Failure) -> Timestamp? {
        guard let s = try optionalString(key) else { return nil }
        return try parseTimestamp(key, s)
    }

    @usableFromInline
    func parseTimestamp(_ key: String, _ s: String) throws(Failure) -> Timestamp {
        guard let t = Timestamp(isoformat: s) else { throw error(key, "must be an ISO 8601 datetime") }
        return t
    }
}

extension Principal: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "principal")
        let attrs = (try r.optionalObject("attributes") ?? [:])
        for (_, v) in attrs where v.stringValue == nil {
            throw ModelDecodeError(r.path("attributes"), "values must be strings")
        }
        self.init(principalID: try r.string("principal_id"), roles: (try r.optionalStringList("roles") ?? []), attributes: attrs)
    }
}

extension CapabilityRequest: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "request")
        self.init(capabilityID: try r.string("capability_id"), goal: try r.nullableString("goal") ?? "",
                  constraints: (try r.optionalObject("constraints") ?? [:]), intent: try r.nullableString("intent"),
                  scope: (try r.optionalObject("scope") ?? [:]))
    }
}

extension Capability: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "capability")
        let sc = try r.string("safety_class")
        guard let safety = SafetyClass(rawValue: sc) else {
            throw ModelDecodeError(r.path("safety_class"), "must be READ, WRITE or DESTRUCTIVE")
        }
        let sens = try r.nullableString("sensitivity") ?? "NONE"
        guard let sensitivity = SensitivityTag(rawValue: sens) else {
            throw ModelDecodeError(r.path("sensitivity"), "must be NONE, PII, PCI, SECRETS or MEMORY")
        }
        var impl: ImplementationRef?
        if let o = try r.nullableObject("impl") {
            var ir = try ModelReader(.object(o), r.path("impl"))
            impl = ImplementationRef(driverID: try ir.string("driver_id"), operation: try ir.string("operation"))
        }
        var hints: ToolHints?
        if let o = try r.nullableObject("tool_hints") {
            var hr = try ModelReader(.object(o), r.path("tool_hints"))
            hints = ToolHints(cacheControl: try hr.nullableObject("cache_control"), strict: o["strict"]?.boolValue ?? false)
        }
        self.init(capabilityID: try r.string("capability_id"), name: try r.nullableString("name") ?? "",
                  description: try r.nullableString("description") ?? "", safetyClass: safety, sensitivity: sensitivity,
                  allowedFields: (try r.optionalStringList("allowed_fields") ?? []), tags: (try r.optionalStringList("tags") ?? []), impl: impl,
                  parametersSchema: try r.nullableObject("parameters_schema"), toolHints: hints)
    }
}

extension CapabilityToken: JSONDecodableModel {
    /// `CapabilityToken.from_dict`: the five identity/time fields are required;
    /// `constraints` defaults to `{}`, `audit_id` and `signature` to `""`.
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "token")
        self.init(tokenID: try r.string("token_id"), capabilityID: try r.string("capability_id"),
                  principalID: try r.string("principal_id"), issuedAt: try r.timestamp("issued_at"),
                  expiresAt: try r.timestamp("expires_at"), constraints: (try r.optionalObject("constraints") ?? [:]),
                  auditID: try r.nullableString("audit_id") ?? "", signature: try r.nullableString("signature") ?? "")
    }
}

extension Handle: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "handle")
        self.init(handleID: try r.string("handle_id"), capabilityID: try r.string("capability_id"),
                  createdAt: try r.timestamp("created_at"), expiresAt: try r.timestamp("expires_at"),
                  totalRows: (try r.optionalInt("total_rows") ?? 0), principalID: try r.nullableString("principal_id") ?? "",
                  constraints: (try r.optionalObject("constraints") ?? [:]))
    }
}
