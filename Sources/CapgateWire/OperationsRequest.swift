import AgentKernel

/// What a kill switch stops (docs/operations.md "Kill switches"): one capability (its grants
/// and invokes), one principal (every verb it calls, with any token, issued before or after
/// the pause), or everything but `health` and the admin verbs.
public enum PauseTarget: Sendable, Hashable {
    case capability(String)
    case principal(String)
    case all
}

/// The operations verbs (admin only): the kill switches and the status report. They are
/// answered by the gateway, not the kernel, so they are one `WireRequest` case of their own.
public enum OperationsRequest: Sendable, Equatable {
    case pause(PauseTarget, reason: String)
    case resume(PauseTarget)
    case listPaused
    case status

    /// Longest accepted id and reason, in UTF-8 bytes: they are persisted in the state
    /// directory and printed by `capgate status`, so a megabyte of reason is refused.
    public static let maxFieldBytes = 1024

    public var verb: Verb {
        switch self {
        case .pause(.capability, _): .pauseCapability
        case .pause(.principal, _): .pausePrincipal
        case .pause(.all, _): .pauseAll
        case .resume(.capability): .resumeCapability
        case .resume(.principal): .resumePrincipal
        case .resume(.all): .resumeAll
        case .listPaused: .listPaused
        case .status: .status
        }
    }

    /// The body fields (the other direction of `decode`).
    var fields: JSONObject {
        switch self {
        case .pause(let target, let reason):
            var o = Self.targetFields(target)
            o["reason"] = .string(reason)
            return o
        case .resume(let target): return Self.targetFields(target)
        case .listPaused, .status: return [:]
        }
    }

    static func targetFields(_ target: PauseTarget) -> JSONObject {
        switch target {
        case .capability(let id): ["capability_id": .string(id)]
        case .principal(let id): ["principal_id": .string(id)]
        case .all: [:]
        }
    }

    /// Reads one operations verb's body (the caller finishes the reader: unknown fields).
    static func decode(_ verb: Verb, _ b: inout BodyReader) throws(WireError) -> OperationsRequest? {
        func id(_ field: String) throws(WireError) -> String {
            let v = try b.string(field)
            guard !v.isEmpty else { throw WireError(.invalidRequest, "\(field): must not be empty") }
            try bounded(field, v)
            return v
        }
        func reason() throws(WireError) -> String {
            let r = try b.optionalString("reason") ?? ""
            try bounded("reason", r)
            return r
        }
        switch verb {
        case .pauseCapability:
            let c = try id("capability_id")
            return .pause(.capability(c), reason: try reason())
        case .pausePrincipal:
            let p = try id("principal_id")
            return .pause(.principal(p), reason: try reason())
        case .pauseAll: return .pause(.all, reason: try reason())
        case .resumeCapability: return .resume(.capability(try id("capability_id")))
        case .resumePrincipal: return .resume(.principal(try id("principal_id")))
        case .resumeAll: return .resume(.all)
        case .listPaused: return .listPaused
        case .status: return .status
        default: return nil
        }
    }

    static func bounded(_ field: String, _ v: String) throws(WireError) {
        if v.utf8.count > maxFieldBytes {
            throw WireError(.invalidRequest, "\(field): longer than \(maxFieldBytes) bytes")
        }
    }
}
