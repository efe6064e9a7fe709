import Foundation
import AgentKernel

/// Maps a verified SPIFFE ID to the principal the kernel sees. Roles and attributes come
/// only from here, never from a request (fail closed: an unmapped identity gets nothing).
public struct IdentityMap: Sendable, Equatable {
    /// One configured rule.
    public struct Rule: Sendable, Equatable {
        public enum Match: Sendable, Equatable {
            /// The whole SPIFFE ID.
            case exact(String)
            /// IDs under a path prefix, e.g. `spiffe://td/agent/` matches
            /// `spiffe://td/agent/x` but not `spiffe://td/agents`. `{name}` in the principal
            /// id is replaced by the ONE path segment after the prefix (an ID deeper than one
            /// segment is unmapped), or by the whole rest of the path when
            /// `nameSpansSegments` is set.
            case prefix(String)
        }
        public var match: Match
        public var principalID: String
        public var roles: [String]
        public var attributes: JSONObject
        /// Opt-in (`name_spans_segments`): `{name}` takes the rest of the path, slashes
        /// included. Off by default: with it, `a/b` under one prefix and `a` + `/b` elsewhere
        /// are easier to make collide (docs/hardening.md "Identity rules can collide").
        public var nameSpansSegments: Bool
        /// Opt-in (`shared_principal`): the operator accepts that this rule maps several
        /// identities to one principal (a constant principal on a prefix, or the same
        /// principal as another rule that also says so). Checked by ``collisions()``.
        public var sharedPrincipal: Bool
        public init(match: Match, principalID: String, roles: [String] = [], attributes: JSONObject = [:],
                    nameSpansSegments: Bool = false, sharedPrincipal: Bool = false) {
            self.match = match
            self.principalID = principalID
            self.roles = roles
            self.attributes = attributes
            self.nameSpansSegments = nameSpansSegments
            self.sharedPrincipal = sharedPrincipal
        }
    }

    public var rules: [Rule]
    public init(rules: [Rule]) { self.rules = rules }

    /// The principal for `spiffeID`: an exact rule first, else the longest matching
    /// prefix; nil when nothing matches.
    public func principal(for spiffeID: String) -> Principal? {
        if let r = rules.first(where: { if case .exact(let id) = $0.match { return id == spiffeID } else { return false } }) {
            return Principal(principalID: r.principalID, roles: r.roles, attributes: r.attributes)
        }
        var best: (Rule, String)?
        for r in rules {
            guard case .prefix(let p) = r.match, IdentityMap.isUnder(spiffeID, prefix: p) else { continue }
            if best == nil || p.utf8.count > best!.1.utf8.count { best = (r, p) }
        }
        guard let (rule, prefix) = best else { return nil }
        let rest = String(spiffeID.dropFirst(prefix.count)).trimmingPrefixSlash()
        // The longest prefix decides: a deeper ID its one-segment {name} cannot take is
        // unmapped, not handed to a shorter prefix (fail closed).
        if rule.usesName, !rule.nameSpansSegments, rest.contains("/") { return nil }
        let id = rule.principalID.replacingOccurrences(of: "{name}", with: rest)
        return Principal(principalID: id, roles: rule.roles, attributes: rule.attributes)
    }

    /// Path-segment-aware prefix test: `.../agent` and `.../agent/` both cover
    /// `.../agent/x` but never `.../agentx`.
    static func isUnder(_ id: String, prefix: String) -> Bool {
        let p = prefix.hasSuffix("/") ? prefix : prefix + "/"
        return id.hasPrefix(p) && id.count > p.count
    }
}

extension IdentityMap.Rule {
    /// Whether the principal id is a template.
    var usesName: Bool { principalID.contains("{name}") }
}

extension String {
    fileprivate func trimmingPrefixSlash() -> String { hasPrefix("/") ? String(dropFirst()) : self }

}
