/// Decides whether a principal may be granted a capability (docs/reference-semantics.md §5). Called at grant
/// time only; the decision's constraints are signed into the token.
public protocol PolicyEngine: Sendable {
    /// `"DefaultPolicyEngine"` / `"DeclarativePolicyEngine"`: the trace's `engine` field.
    var engineName: String { get }
    /// Allows with a decision (constraints to sign) or throws `.policyDenied` with a
    /// reason code. Other kinds propagate untraced (docs/reference-semantics.md §3.3).
    func evaluate(_ request: CapabilityRequest, capability: Capability, principal: Principal,
                  justification: String) throws(KernelError) -> PolicyDecision
    /// Why a request would be denied, collecting every failed condition; never throws and
    /// has no side effects (no rate-limit hit). nil where the reference engine has no
    /// `explain` (the kernel then raises AgentKernelError).
    func explain(_ request: CapabilityRequest, capability: Capability, principal: Principal,
                 justification: String) -> DenialExplanation?
}

/// A sliding-window limit: at most `limit` allowed grants per `windowSeconds` (docs/reference-semantics.md §5.2).
public struct RateLimit: Sendable, Hashable {
    public var limit: Int
    public var windowSeconds: Double
    public init(limit: Int, windowSeconds: Double) {
        self.limit = limit
        self.windowSeconds = windowSeconds
    }

    /// `DEFAULT_RATE_LIMITS`: READ 60, WRITE 10, DESTRUCTIVE 2 per 60 s.
    public static let defaults: [SafetyClass: RateLimit] = [
        .read: RateLimit(limit: 60, windowSeconds: 60.0),
        .write: RateLimit(limit: 10, windowSeconds: 60.0),
        .destructive: RateLimit(limit: 2, windowSeconds: 60.0),
    ]

    /// `SERVICE_RATE_MULTIPLIER`: principals with the `service` role get 10x.
    public static let serviceMultiplier = 10
}

/// Python's `sorted(set(roles))` rendered with `repr`, as in the reference's messages:
/// `['reader', 'writer']`.
func pySortedRoles(_ roles: [String]) -> [String] {
    var seen = Set<[UInt8]>()
    var out: [String] = []
    for r in roles where seen.insert(Array(r.utf8)).inserted { out.append(r) }
    return out.sorted(by: PyString.less)
}

/// Python `repr(list_of_str)` after `prefix`: `prefix + "['a', 'b']"`.
///
/// Written as bytes into one buffer because the default policy renders a capability's
/// `allowed_fields` on every PII grant (a `JSONValue` array, a `String` per element and a
/// `joined` were a sixth of a grant). Printable ASCII without a quote `'` or a backslash is its own repr
/// between single quotes (`PyString.repr`'s fast path); anything else goes through
/// `PyString.repr`.
func pyListRepr(_ items: [String], prefix: StaticString = "") -> String {
    var out: [UInt8] = []
    out.reserveCapacity(prefix.utf8CodeUnitCount + 2 + items.reduce(0) { $0 + $1.utf8.count + 4 })
    out.append(contentsOf: UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
    out.append(UInt8(ascii: "["))
    for (i, item) in items.enumerated() {
        if i > 0 {
            out.append(UInt8(ascii: ","))
            out.append(UInt8(ascii: " "))
        }
        let plain = item.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "'") && $0 != UInt8(ascii: "\\") }
        if plain {
            out.append(UInt8(ascii: "'"))
            out.append(contentsOf: item.utf8)
            out.append(UInt8(ascii: "'"))
        } else {
            out.append(contentsOf: PyString.repr(item).utf8)
        }
    }
    out.append(UInt8(ascii: "]"))
    return String(decoding: out, as: UTF8.self)
}

/// Python `type(v).__name__` for values that came from JSON/TOML/YAML.
func pyTypeName(_ v: JSONValue?) -> String {
    switch v {
    case nil, .null?: return "NoneType"
    case .bool?: return "bool"
    case .int?: return "int"
    case .double?: return "float"
    case .string?: return "str"
    case .array?: return "list"
    case .object?: return "dict"
    }
}
