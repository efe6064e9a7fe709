/// Every failure the kernel reports. `kind` names the reference's exception class, so a
/// Python client can re-raise the same type; `reasonCode` is set where the reference sets
/// one (`PolicyDenied`, `HandleConstraintViolation`); `site` refines the kind where the
/// wire needs a finer code than the class (an `explain` miss is an `AgentKernelError`
/// in Python, but the wire calls it `trace_not_found`).
public struct KernelError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case agentKernelError = "AgentKernelError"
        case tokenExpired = "TokenExpired"
        case tokenInvalid = "TokenInvalid"
        case tokenScopeError = "TokenScopeError"
        case tokenRevoked = "TokenRevoked"
        case policyDenied = "PolicyDenied"
        case policyConfigError = "PolicyConfigError"
        case driverError = "DriverError"
        case firewallError = "FirewallError"
        case budgetExhausted = "BudgetExhausted"
        case budgetConfigError = "BudgetConfigError"
        case capabilityAlreadyRegistered = "CapabilityAlreadyRegistered"
        case capabilityNotFound = "CapabilityNotFound"
        case handleNotFound = "HandleNotFound"
        case handleExpired = "HandleExpired"
        case handleTooLarge = "HandleTooLarge"
        case handleConstraintViolation = "HandleConstraintViolation"
        case namespaceNotFound = "NamespaceNotFound"
        /// Python's bare `ValueError`, e.g. a non-integer `max_rows` reaching the firewall.
        case valueError = "ValueError"
    }

    /// Finer call-site distinctions that the class alone does not carry.
    public enum Site: String, Sendable {
        case none
        case traceNotFound = "trace_not_found"
        case driverTimeout = "driver_timeout"
        case tokenPrincipalMismatch = "token_principal_mismatch"
        case tokenCapabilityMismatch = "token_capability_mismatch"
        /// Not a reference site: the gateway refused the verb for lack of a role.
        case forbidden
        /// Not a reference site: a revocation could not be written to the durable log.
        case revocationUnavailable = "revocation_unavailable"
        /// Not a reference site: the shared store of a fleet could not take a revocation.
        case storeUnavailable = "store_unavailable"
    }

    public var kind: Kind
    public var message: String
    public var reasonCode: String?
    public var site: Site

    public init(_ kind: Kind, _ message: String, reasonCode: String? = nil, site: Site = .none) {
        self.kind = kind
        self.message = message
        self.reasonCode = reasonCode
        self.site = site
    }

    /// The Python class name.
    public var type: String { kind.rawValue }
    public var description: String { "\(kind.rawValue): \(message)" }
}

/// Stable reason codes (`policy_reasons.py`).
public enum ReasonCode {
    public static let missingRole = "missing_role"
    public static let missingTenantAttribute = "missing_tenant_attribute"
    public static let missingAttribute = "missing_attribute"
    public static let insufficientJustification = "insufficient_justification"
    public static let invalidConstraint = "invalid_constraint"
    public static let rateLimited = "rate_limited"
    public static let noMatchingRule = "no_matching_rule"
    public static let explicitDenyRule = "explicit_deny_rule"
    public static let intentNotAllowed = "intent_not_allowed"
    public static let scopeNotAllowed = "scope_not_allowed"
    public static let handleConstraintViolation = "handle_constraint_violation"
    public static let handlePrincipalMismatch = "handle_principal_mismatch"
    public static let memoryWriteRequiresWriter = "memory_write_requires_writer"
    public static let memorySensitiveReadDenied = "memory_sensitive_read_denied"
    public static let defaultPolicyAllow = "default_policy_allow"
    public static let ruleAllow = "rule_allow"
    public static let defaultFallthroughAllow = "default_fallthrough_allow"
    public static let tokenVerified = "token_verified"
}
