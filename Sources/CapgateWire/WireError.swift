import AgentKernel

/// The stable error codes of the v1 wire. The one mapping from code to HTTP status is
/// `status` below; docs/errors.md mirrors it and a test pins the two together.
public enum WireErrorCode: String, Sendable, CaseIterable {
    case invalidJSON = "invalid_json"
    case invalidRequest = "invalid_request"
    case unsupportedMediaType = "unsupported_media_type"
    case bodyTooLarge = "body_too_large"
    case unknownVerb = "unknown_verb"
    case methodNotAllowed = "method_not_allowed"
    case unknownIdentity = "unknown_identity"
    case principalMismatch = "principal_mismatch"
    case forbidden
    case policyDenied = "policy_denied"
    case rateLimited = "rate_limited"
    case budgetExhausted = "budget_exhausted"
    case tokenInvalid = "token_invalid"
    case tokenExpired = "token_expired"
    case tokenRevoked = "token_revoked"
    case tokenScope = "token_scope"
    case capabilityNotFound = "capability_not_found"
    case handleNotFound = "handle_not_found"
    case traceNotFound = "trace_not_found"
    case handleExpired = "handle_expired"
    case handleTooLarge = "handle_too_large"
    case handleConstraintViolation = "handle_constraint_violation"
    case driverError = "driver_error"
    case driverTimeout = "driver_timeout"
    case headersTooLarge = "headers_too_large"
    case requestTimeout = "request_timeout"
    case overloaded
    case internalError = "internal"
    case auditUnavailable = "audit_unavailable"
    case revocationUnavailable = "revocation_unavailable"
    case capabilityPaused = "capability_paused"
    case principalPaused = "principal_paused"
    case gatewayPaused = "gateway_paused"
    case killSwitchUnavailable = "kill_switch_unavailable"
    case storeUnavailable = "store_unavailable"

    /// The HTTP status for each code: the only place this mapping exists.
    public var status: Int {
        switch self {
        case .invalidJSON, .invalidRequest: return 400
        case .tokenInvalid, .tokenExpired, .tokenRevoked: return 401
        case .unknownIdentity, .principalMismatch, .forbidden, .policyDenied, .tokenScope,
             .handleConstraintViolation, .capabilityPaused, .principalPaused: return 403
        case .unknownVerb, .capabilityNotFound, .handleNotFound, .traceNotFound: return 404
        case .methodNotAllowed: return 405
        case .requestTimeout: return 408
        case .handleExpired: return 410
        case .bodyTooLarge, .handleTooLarge: return 413
        case .unsupportedMediaType: return 415
        case .rateLimited, .budgetExhausted: return 429
        case .headersTooLarge: return 431
        case .internalError: return 500
        case .auditUnavailable, .revocationUnavailable, .storeUnavailable, .killSwitchUnavailable, .gatewayPaused: return 503
        case .driverError: return 502
        case .overloaded: return 503
        case .driverTimeout: return 504
        }
    }
}

/// One wire error: `{"error": {"type", "code", "reason_code", "message"}}`. `type` is the
/// reference's exception class so the Python client can re-raise it.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: WireErrorCode
    public var type: String
    public var reasonCode: String?
    public var message: String

    public init(_ code: WireErrorCode, _ message: String, type: String? = nil, reasonCode: String? = nil) {
        self.code = code
        self.message = message
        self.reasonCode = reasonCode
        self.type = type ?? WireError.defaultType(code)
    }

    public var status: Int { code.status }
    public var description: String { "\(code.rawValue): \(message)" }

    /// Gateway-level errors have no Python class of their own; they are
    /// `AgentKernelError`s to a Python client, except the ones that mirror a kernel class.
    static func defaultType(_ code: WireErrorCode) -> String {
        switch code {
        // A kill switch refuses like a policy: agents written for the reference handle it.
        case .policyDenied, .rateLimited, .capabilityPaused, .principalPaused, .gatewayPaused: return "PolicyDenied"
        case .budgetExhausted: return "BudgetExhausted"
        case .tokenInvalid: return "TokenInvalid"
        case .tokenExpired: return "TokenExpired"
        case .tokenRevoked: return "TokenRevoked"
        case .tokenScope: return "TokenScopeError"
        case .capabilityNotFound: return "CapabilityNotFound"
        case .handleNotFound: return "HandleNotFound"
        case .handleExpired: return "HandleExpired"
        case .handleTooLarge: return "HandleTooLarge"
        case .handleConstraintViolation: return "HandleConstraintViolation"
        case .driverError, .driverTimeout: return "DriverError"
        default: return "AgentKernelError"
        }
    }

    /// Maps a kernel failure to its wire code. Messages pass through the firewall's
    /// string redaction: an exception text can carry driver output (a token in an
    /// upstream error), and the wire is an egress like any other (docs/reference-semantics.md §11.2).
    public init(_ e: KernelError) {
        let code: WireErrorCode
        switch e.kind {
        case .tokenExpired: code = .tokenExpired
        case .tokenInvalid: code = .tokenInvalid
        case .tokenRevoked: code = .tokenRevoked
        case .tokenScopeError: code = .tokenScope
        case .policyDenied: code = e.reasonCode == ReasonCode.rateLimited ? .rateLimited : .policyDenied
        case .budgetExhausted: code = .budgetExhausted
        case .capabilityNotFound: code = .capabilityNotFound
        case .handleNotFound: code = .handleNotFound
        case .handleExpired: code = .handleExpired
        case .handleTooLarge: code = .handleTooLarge
        case .handleConstraintViolation: code = .handleConstraintViolation
        case .driverError: code = e.site == .driverTimeout ? .driverTimeout : .driverError
        case .agentKernelError:
            // An `explain` miss is a plain AgentKernelError in Python; the call site says
            // it is a missing trace. Other AgentKernelErrors reaching the wire come from
            // request validation (e.g. a negative TraceQuery offset).
            switch e.site {
            case .traceNotFound: code = .traceNotFound
            case .forbidden: code = .forbidden
            case .revocationUnavailable: code = .revocationUnavailable
            case .storeUnavailable: code = .storeUnavailable
            default: code = .invalidRequest
            }
        case .namespaceNotFound: code = .capabilityNotFound
        case .valueError:
            // Python's bare ValueError/TypeError in the reference: always caused by a value
            // the caller supplied (an expand `fields` list of mixed types, a grant request's
            // `max_rows` the DSL engine signed verbatim). Bad input is a 400, not a 500.
            code = .invalidRequest
        case .firewallError, .policyConfigError, .budgetConfigError, .capabilityAlreadyRegistered:
            code = .internalError
        }
        self.init(code, Redaction.redactString(e.message), type: e.type, reasonCode: e.reasonCode)
    }

    /// The envelope body.
    public var json: JSONValue {
        ["error": .object(JSONObject([
            ("type", .string(type)), ("code", .string(code.rawValue)),
            ("reason_code", reasonCode.map(JSONValue.string) ?? .null), ("message", .string(message)),
        ]))]
    }
}
