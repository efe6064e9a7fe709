import AgentKernel
import CapgateTLS

/// The `[[identity]]` and `[[trust_domain]]` tables (docs/configuration.md), apart from the
/// rest of the TOML reader: both decide who a peer is.
extension ServerConfig {
    /// One `[[trust_domain]]`: only CAs of `bundle` may vouch for `spiffe://name/...`.
    public struct TrustDomain: Sendable, Equatable {
        public var name: String
        public var bundle: String
        public init(name: String, bundle: String) {
            self.name = name
            self.bundle = bundle
        }
    }

    static func identityRule(_ t: Table, key: String) throws(ConfigError) -> IdentityMap.Rule {
        var t = t
        let exact = try t.optionalString("spiffe_id")
        let prefix = try t.optionalString("spiffe_prefix")
        let match: IdentityMap.Rule.Match
        switch (exact, prefix) {
        case (let e?, nil):
            guard e.hasPrefix("spiffe://") else { throw ConfigError("\(key).spiffe_id", "must start with spiffe://") }
            match = .exact(e)
        case (nil, let p?):
            guard p.hasPrefix("spiffe://") else { throw ConfigError("\(key).spiffe_prefix", "must start with spiffe://") }
            match = .prefix(p)
        default: throw ConfigError(key, "give exactly one of spiffe_id or spiffe_prefix")
        }
        let rule = IdentityMap.Rule(match: match, principalID: try t.string("principal_id"),
                                    roles: try t.optionalStringList("roles") ?? [], attributes: try t.stringMap("attributes"),
                                    nameSpansSegments: try t.optionalBool("name_spans_segments") ?? false,
                                    sharedPrincipal: try t.optionalBool("shared_principal") ?? false)
        try t.finish()
        return rule
    }

    static func trustDomains(_ tables: [Table], resolve: (String) -> String) throws(ConfigError) -> [TrustDomain] {
        var out: [TrustDomain] = []
        for (i, t) in tables.enumerated() {
            var t = t
            let key = "trust_domain[\(i)]"
            let name = try t.string("name")
            do throws(SPIFFEIDError) { try SPIFFEID.validateTrustDomain(Array(name.utf8)) } catch {
                throw ConfigError("\(key).name", "not a valid trust domain (\(error.rawValue)): lowercase, no scheme")
            }
            if out.contains(where: { $0.name == name }) { throw ConfigError("\(key).name", "duplicate trust domain") }
            out.append(TrustDomain(name: name, bundle: resolve(try t.string("bundle"))))
            try t.finish()
        }
        return out
    }
}

extension ConfigError {
    /// A rule-set problem as a configuration error naming the rule.
    init(_ problem: IdentityMap.RuleProblem) {
        self.init("identity[\(problem.rule)]\(problem.key.isEmpty ? "" : ".\(problem.key)")", problem.message)
    }
}
