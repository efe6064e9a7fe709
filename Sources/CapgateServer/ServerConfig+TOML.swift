import AgentKernel
import CapgateCore
import Foundation

/// The TOML configuration file (docs/configuration.md). Unknown keys are errors: a typo
/// in a security setting must not be silently ignored.
extension ServerConfig {
    /// Reads and validates a configuration file. Relative paths in it resolve against
    /// the file's directory.
    public static func load(path: String) throws(ConfigError) -> ServerConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigError("", "cannot read \(path): \(error.localizedDescription)")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(text, baseDirectory: base)
    }

    public static func parse(_ text: String, baseDirectory: String) throws(ConfigError) -> ServerConfig {
        let doc: JSONValue
        do throws(TOMLReader.ParseError) { doc = try TOMLReader.parse(text) } catch {
            throw ConfigError("", "TOML parse error: \(error)")
        }
        var root = try Table(doc, "")
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") ? p : URL(fileURLWithPath: baseDirectory).appendingPathComponent(p).path
        }

        var server = try root.table("server")
        let listen = try server.string("listen") ?? "127.0.0.1:8443"
        let (host, port) = try parseListen(listen, key: "server.listen")
        let stateDir = resolve(try server.string("state_dir") ?? ".capgate")
        let loops = try server.int("event_loops")
        if let l = loops, l < 1 || l > 256 { throw ConfigError("server.event_loops", "must be between 1 and 256") }
        try server.finish()

        var tlsT = try root.table("tls")
        let tls = TLSFiles(certificate: resolve(try tlsT.required("certificate")),
                           privateKey: resolve(try tlsT.required("private_key")),
                           trustBundle: resolve(try tlsT.required("trust_bundle")),
                           crl: try tlsT.string("crl").map(resolve),
                           crlOptional: try tlsT.bool("crl_optional") ?? false)
        if tls.crlOptional && tls.crl == nil { throw ConfigError("tls.crl_optional", "needs tls.crl") }
        try tlsT.finish()

        var secretT = try root.table("secret")
        let secretFile = resolve(try secretT.required("file"))
        try secretT.finish()

        let identities = IdentityMap(rules: try root.tables("identity").enumerated().map { i, t throws(ConfigError) in
            try identityRule(t, key: "identity[\(i)]")
        })
        if identities.rules.isEmpty { throw ConfigError("identity", "at least one identity rule is required") }

        let drivers = try root.tables("driver").enumerated().map { i, t throws(ConfigError) in
            try driver(t, key: "driver[\(i)]", resolve: resolve, defaultCA: tls.trustBundle)
        }
        let ids = drivers.map(\.id)
        if Set(ids).count != ids.count { throw ConfigError("driver", "driver ids must be unique") }

        var caps: [CapabilityEntry] = []
        for (i, t) in try root.tables("capability").enumerated() {
            let entry = try capability(t, key: "capability[\(i)]")
            for d in entry.drivers where !ids.contains(d) {
                throw ConfigError("capability[\(i)].drivers", "unknown driver \(PyString.repr(d))")
            }
            if caps.contains(where: { $0.capability.capabilityID == entry.capability.capabilityID }) {
                throw ConfigError("capability[\(i)].capability_id", "duplicate capability id")
            }
            caps.append(entry)
        }

        var config = ServerConfig(tls: tls, secretFile: secretFile, identities: identities, capabilities: caps,
                                  drivers: drivers)
        config.listenHost = host
        config.listenPort = port
        config.stateDir = stateDir
        config.eventLoops = loops

        var policyT = try root.table("policy")
        switch try policyT.string("engine") ?? "default" {
        case "default":
            var limits: [SafetyClass: RateLimit] = [:]
            var rl = try policyT.table("rate_limits")
            for sc in SafetyClass.allCases {
                guard let v = rl.take(sc.rawValue) else { continue }
                guard let pair = v.arrayValue, pair.count == 2, let limit = pair[0].intValue,
                      let window = pair[1].doubleValue ?? pair[1].intValue.map(Double.init), limit >= 1, window > 0
                else { throw ConfigError("policy.rate_limits.\(sc.rawValue)", "must be [limit >= 1, window_seconds > 0]") }
                limits[sc] = RateLimit(limit: limit, windowSeconds: window)
            }
            try rl.finish()
            config.policy = .defaultEngine(rateLimits: limits)
        case "dsl":
            config.policy = .dsl(path: resolve(try policyT.required("file")))
        default:
            throw ConfigError("policy.engine", "must be \"default\" or \"dsl\"")
        }
        try policyT.finish()

        var budgetsT = try root.table("budgets")
        if let total = try budgetsT.int("total") {
            if total < 0 { throw ConfigError("budgets.total", "must be >= 0 (0 disables budgets)") }
            config.budgetTotal = total == 0 ? nil : total
        }
        if let d = try budgetsT.int("default_request") {
            if d < 1 { throw ConfigError("budgets.default_request", "must be >= 1") }
            config.budgetDefaultRequest = d
        }
        try budgetsT.finish()

        var limitsT = try root.table("limits")
        config.limits = try applyLimits(&limitsT)
        try limitsT.finish()

        var certT = try root.table("certificates")
        if let days = try certT.number("expiry_warning_days") {
            if days < 0 { throw ConfigError("certificates.expiry_warning_days", "must be >= 0") }
            config.certificateExpiryWarning = days * 86_400
        }
        if let interval = try certT.number("watch_interval_seconds") {
            if interval < 0 || interval > 3600 {
                throw ConfigError("certificates.watch_interval_seconds", "must be between 0 (off) and 3600")
            }
            config.watchInterval = interval
        }
        try certT.finish()

        try root.finish()
        return config
    }

    public static func parseListen(_ s: String, key: String) throws(ConfigError) -> (String, Int) {
        let host: Substring
        let portText: Substring
        if s.hasPrefix("["), let close = s.firstIndex(of: "]") {
            host = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ConfigError(key, "expected [ipv6]:port") }
            portText = rest.dropFirst()
        } else if let colon = s.lastIndex(of: ":") {
            host = s[..<colon]
            portText = s[s.index(after: colon)...]
        } else {
            throw ConfigError(key, "expected host:port")
        }
        guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty else {
            throw ConfigError(key, "expected host:port with a port in 0...65535")
        }
        return (String(host), port)
    }

    static func identityRule(_ t: Table, key: String) throws(ConfigError) -> IdentityMap.Rule {
        var t = t
        let exact = try t.string("spiffe_id")
        let prefix = try t.string("spiffe_prefix")
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
        let rule = IdentityMap.Rule(match: match, principalID: try t.required("principal_id"),
                                    roles: try t.stringList("roles") ?? [], attributes: try t.stringMap("attributes"))
        try t.finish()
        return rule
    }

    static func driver(_ t: Table, key: String, resolve: (String) -> String = { $0 },
                       defaultCA: String = "") throws(ConfigError) -> DriverEntry {
        var t = t
        let id = try t.required("id")
        let entry: DriverEntry
        switch try t.required("type") {
        case "billing": entry = .billing(id: id)
        case "static":
            var ops: [String: JSONValue] = [:]
            var opsT = try t.table("operations")
            for k in opsT.object.keys { ops[k] = opsT.take(k) }
            try opsT.finish()
            var jsonT = try t.table("operations_json")
            for k in jsonT.object.keys {
                guard let text = jsonT.take(k)?.stringValue else {
                    throw ConfigError("\(key).operations_json.\(k)", "must be a string of JSON")
                }
                do throws(JSONParseError) { ops[k] = try JSONParser.parse(text) } catch {
                    throw ConfigError("\(key).operations_json.\(k)", "invalid JSON: \(error)")
                }
            }
            try jsonT.finish()
            entry = .staticData(id: id, operations: ops)
        case "http": entry = .http(try httpDriver(&t, id: id, key: key, resolve: resolve))
        case "host": entry = .host(try hostDriver(&t, id: id, key: key, resolve: resolve, defaultCA: defaultCA))
        case let other:
            throw ConfigError("\(key).type", "unknown driver type \(PyString.repr(other)) (billing, static, http, host)")
        }
        try t.finish()
        return entry
    }

    static func capability(_ t: Table, key: String) throws(ConfigError) -> CapabilityEntry {
        var t = t
        let drivers = try t.stringList("drivers") ?? []
        if drivers.isEmpty { throw ConfigError("\(key).drivers", "at least one driver is required") }
        var fields = JSONObject()
        for k in ["capability_id", "name", "description", "safety_class", "sensitivity", "allowed_fields", "tags",
                  "parameters_schema"] {
            if let v = t.take(k) { fields[k] = v }
        }
        let cap: Capability
        do throws(ModelDecodeError) { cap = try Capability(json: .object(fields)) } catch {
            throw ConfigError("\(key).\(error.field.replacingOccurrences(of: "capability.", with: ""))", error.message)
        }
        try t.finish()
        return CapabilityEntry(capability: cap, drivers: drivers)
    }
}

/// A TOML table being read; tracks consumed keys so `finish()` can name unknown ones.
struct Table {
    let object: JSONObject
    let key: String
    var used: Set<String> = []

    init(_ v: JSONValue, _ key: String) throws(ConfigError) {
        guard case .object(let o) = v else { throw ConfigError(key, "must be a table") }
        object = o
        self.key = key
    }

    func path(_ k: String) -> String { key.isEmpty ? k : "\(key).\(k)" }

    mutating func take(_ k: String) -> JSONValue? {
        used.insert(k)
        return object[k]
    }

    mutating func table(_ k: String) throws(ConfigError) -> Table {
        guard let v = take(k) else { return try Table(.object([:]), path(k)) }
        return try Table(v, path(k))
    }

    mutating func tables(_ k: String) throws(ConfigError) -> [Table] {
        guard let v = take(k) else { return [] }
        guard case .array(let a) = v else { throw ConfigError(path(k), "must be an array of tables ([[\(k)]])") }
        var out: [Table] = []
        for (i, e) in a.enumerated() { out.append(try Table(e, "\(path(k))[\(i)]")) }
        return out
    }

    mutating func string(_ k: String) throws(ConfigError) -> String? {
        guard let v = take(k) else { return nil }
        guard case .string(let s) = v else { throw ConfigError(path(k), "must be a string") }
        return s
    }

    mutating func required(_ k: String) throws(ConfigError) -> String {
        guard let s = try string(k) else { throw ConfigError(path(k), "is required") }
        return s
    }

    mutating func int(_ k: String) throws(ConfigError) -> Int? {
        guard let v = take(k) else { return nil }
        guard case .int(let i) = v else { throw ConfigError(path(k), "must be an integer") }
        return i
    }

    mutating func number(_ k: String) throws(ConfigError) -> Double? {
        guard let v = take(k) else { return nil }
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw ConfigError(path(k), "must be a number")
        }
    }

    mutating func bool(_ k: String) throws(ConfigError) -> Bool? {
        guard let v = take(k) else { return nil }
        guard case .bool(let b) = v else { throw ConfigError(path(k), "must be true or false") }
        return b
    }

    mutating func stringList(_ k: String) throws(ConfigError) -> [String]? {
        guard let v = take(k) else { return nil }
        guard case .array(let a) = v else { throw ConfigError(path(k), "must be an array of strings") }
        var out: [String] = []
        for e in a {
            guard case .string(let s) = e else { throw ConfigError(path(k), "must be an array of strings") }
            out.append(s)
        }
        return out
    }

    mutating func stringMap(_ k: String) throws(ConfigError) -> JSONObject {
        guard let v = take(k) else { return [:] }
        guard case .object(let o) = v else { throw ConfigError(path(k), "must be a table of strings") }
        for (name, x) in o where x.stringValue == nil {
            throw ConfigError("\(path(k)).\(name)", "must be a string")
        }
        return o
    }

    func finish() throws(ConfigError) {
        for k in object.keys where !used.contains(k) { throw ConfigError(path(k), "unknown key") }
    }
}
