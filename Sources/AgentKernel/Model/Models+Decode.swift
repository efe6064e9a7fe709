/// Decoding models from JSON, with the reference's defaults for absent fields.
/// Errors name the offending field so a wire error can say which key was wrong.
public struct ModelDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

/// A model that decodes from the reference's JSON shape.
public protocol JSONDecodableModel {
    init(json: JSONValue) throws(ModelDecodeError)
}

/// Typed field access over one JSON object.
struct FieldReader {
    let object: JSONObject
    let context: String

    init(_ v: JSONValue, _ context: String) throws(ModelDecodeError) {
        guard case .object(let o) = v else { throw ModelDecodeError(context, "must be an object") }
        object = o
        self.context = context
    }

    func path(_ key: String) -> String { context.isEmpty ? key : context + "." + key }

    func string(_ key: String) throws(ModelDecodeError) -> String {
        guard let v = object[key] else { throw ModelDecodeError(path(key), "is required") }
        guard case .string(let s) = v else { throw ModelDecodeError(path(key), "must be a string") }
        return s
    }

    func optString(_ key: String, default d: String? = nil) throws(ModelDecodeError) -> String? {
        guard let v = object[key], !v.isNull else { return d }
        guard case .string(let s) = v else { throw ModelDecodeError(path(key), "must be a string or null") }
        return s
    }

    func stringList(_ key: String) throws(ModelDecodeError) -> [String] {
        guard let v = object[key], !v.isNull else { return [] }
        guard case .array(let a) = v else { throw ModelDecodeError(path(key), "must be an array of strings") }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard case .string(let s) = e else { throw ModelDecodeError(path(key), "must be an array of strings") }
            out.append(s)
        }
        return out
    }

    func object(_ key: String) throws(ModelDecodeError) -> JSONObject {
        guard let v = object[key], !v.isNull else { return [:] }
        guard case .object(let o) = v else { throw ModelDecodeError(path(key), "must be an object") }
        return o
    }

    func optObject(_ key: String) throws(ModelDecodeError) -> JSONObject? {
        guard let v = object[key], !v.isNull else { return nil }
        guard case .object(let o) = v else { throw ModelDecodeError(path(key), "must be an object or null") }
        return o
    }

    func int(_ key: String, default d: Int) throws(ModelDecodeError) -> Int {
        guard let v = object[key], !v.isNull else { return d }
        guard case .int(let i) = v else { throw ModelDecodeError(path(key), "must be an integer") }
        return i
    }

    func timestamp(_ key: String) throws(ModelDecodeError) -> Timestamp {
        let s = try string(key)
        guard let t = Timestamp(isoformat: s) else { throw ModelDecodeError(path(key), "must be an ISO 8601 datetime") }
        return t
    }
}

extension Principal: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "principal")
        let attrs = try r.object("attributes")
        for (_, v) in attrs where v.stringValue == nil {
            throw ModelDecodeError(r.path("attributes"), "values must be strings")
        }
        self.init(principalID: try r.string("principal_id"), roles: try r.stringList("roles"), attributes: attrs)
    }
}

extension CapabilityRequest: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "request")
        self.init(capabilityID: try r.string("capability_id"), goal: try r.optString("goal") ?? "",
                  constraints: try r.object("constraints"), intent: try r.optString("intent"),
                  scope: try r.object("scope"))
    }
}

extension Capability: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "capability")
        let sc = try r.string("safety_class")
        guard let safety = SafetyClass(rawValue: sc) else {
            throw ModelDecodeError(r.path("safety_class"), "must be READ, WRITE or DESTRUCTIVE")
        }
        let sens = try r.optString("sensitivity") ?? "NONE"
        guard let sensitivity = SensitivityTag(rawValue: sens) else {
            throw ModelDecodeError(r.path("sensitivity"), "must be NONE, PII, PCI, SECRETS or MEMORY")
        }
        var impl: ImplementationRef?
        if let o = try r.optObject("impl") {
            let ir = try FieldReader(.object(o), r.path("impl"))
            impl = ImplementationRef(driverID: try ir.string("driver_id"), operation: try ir.string("operation"))
        }
        var hints: ToolHints?
        if let o = try r.optObject("tool_hints") {
            let hr = try FieldReader(.object(o), r.path("tool_hints"))
            hints = ToolHints(cacheControl: try hr.optObject("cache_control"), strict: o["strict"]?.boolValue ?? false)
        }
        self.init(capabilityID: try r.string("capability_id"), name: try r.optString("name") ?? "",
                  description: try r.optString("description") ?? "", safetyClass: safety, sensitivity: sensitivity,
                  allowedFields: try r.stringList("allowed_fields"), tags: try r.stringList("tags"), impl: impl,
                  parametersSchema: try r.optObject("parameters_schema"), toolHints: hints)
    }
}

extension CapabilityToken: JSONDecodableModel {
    /// `CapabilityToken.from_dict`: the five identity/time fields are required;
    /// `constraints` defaults to `{}`, `audit_id` and `signature` to `""`.
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "token")
        self.init(tokenID: try r.string("token_id"), capabilityID: try r.string("capability_id"),
                  principalID: try r.string("principal_id"), issuedAt: try r.timestamp("issued_at"),
                  expiresAt: try r.timestamp("expires_at"), constraints: try r.object("constraints"),
                  auditID: try r.optString("audit_id") ?? "", signature: try r.optString("signature") ?? "")
    }
}

extension Handle: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "handle")
        self.init(handleID: try r.string("handle_id"), capabilityID: try r.string("capability_id"),
                  createdAt: try r.timestamp("created_at"), expiresAt: try r.timestamp("expires_at"),
                  totalRows: try r.int("total_rows", default: 0), principalID: try r.optString("principal_id") ?? "",
                  constraints: try r.object("constraints"))
    }
}
