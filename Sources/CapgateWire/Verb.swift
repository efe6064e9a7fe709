/// The v1 verbs and their paths: `POST /v1/<verb>`, plus `GET /v1/health`.
public enum Verb: String, Sendable, CaseIterable {
    case listCapabilities = "list_capabilities"
    case requestCapabilities = "request_capabilities"
    case grantCapability = "grant_capability"
    case invoke
    case expand
    case explain
    case explainDenial = "explain_denial"
    case revoke
    case revokeAll = "revoke_all"
    case queryTraces = "query_traces"
    case stats
    case health

    /// The HTTP method the verb answers to.
    public var method: String { self == .health ? "GET" : "POST" }

    public var path: String { "/v1/" + rawValue }

    /// Routes a request path. Query strings are not part of the v1 surface and make the
    /// path unknown rather than being silently ignored.
    public static func route(path: String) -> Verb? {
        guard path.hasPrefix("/v1/") else { return nil }
        return Verb(rawValue: String(path.dropFirst(4)))
    }

    /// The request body cap in bytes: tokens and grant requests are small; invoke args
    /// and expand queries may carry more. Bounds memory per stream (hardening.md).
    public var defaultBodyLimit: Int {
        switch self {
        case .invoke: return 256 * 1024
        case .expand, .grantCapability, .explainDenial, .queryTraces: return 64 * 1024
        case .health: return 0
        default: return 16 * 1024
        }
    }
}
