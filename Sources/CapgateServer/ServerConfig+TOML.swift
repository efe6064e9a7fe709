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
        var root = try Table(doc, "", vocabulary: .toml)
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") ? p : URL(fileURLWithPath: baseDirectory).appendingPathComponent(p).path
        }

        var server = try root.optionalNested("server")
        let listen = try server.optionalString("listen") ?? "127.0.0.1:8443"
        let (host, port) = try parseListen(listen, key: "server.listen")
        let stateDir = resolve(try server.optionalString("state_dir") ?? ".capgate")
        let loops = try server.optionalInt("event_loops")
        if let l = loops, l < 1 || l > 256 { throw ConfigError("server.event_loops", "must be between 1 and 256") }
        try server.finish()

        var tlsT = try root.optionalNested("tls")
        // `trust_bundle` may be left out when `[[trust_domain]]` bundles are given.
        let trustDomains = try trustDomains(try root.nestedList("trust_domain"), resolve: resolve)
        let bundle = try trustDomains.isEmpty ? tlsT.string("trust_bundle") : tlsT.optionalString("trust_bundle") ?? ""
        var tls = TLSFiles(certificate: resolve(try tlsT.string("certificate")),
                           privateKey: resolve(try tlsT.string("private_key")),
                           trustBundle: bundle.isEmpty ? "" : resolve(bundle),
                           crl: try tlsT.optionalString("crl").map(resolve),
                           crlOptional: try tlsT.optionalBool("crl_optional") ?? false)
        tls.trustDomains = trustDomains
        if tls.crlOptional && tls.crl == nil { throw ConfigError("tls.crl_optional", "needs tls.crl") }
        try tlsT.finish()

        var secretT = try root.optionalNested("secret")
        let secretFile = resolve(try secretT.string("file"))
        try secretT.finish()

        let identities = IdentityMap(rules: try root.nestedList("identity").enumerated().map { i, t throws(ConfigError) in
            try identityRule(t, key: "identity[\(i)]")
        })
        if identities.rules.isEmpty { throw ConfigError("identity", "at least one identity rule is required") }
        if let problem = identities.problems().first { throw ConfigError(problem) }

        let drivers = try root.nestedList("driver").enumerated().map { i, t throws(ConfigError) in
            try driver(t, key: "driver[\(i)]", resolve: resolve, defaultCA: tls.trustBundle)
        }
        let ids = drivers.map(\.id)
        if Set(ids).count != ids.count { throw ConfigError("driver", "driver ids must be unique") }

        var caps: [CapabilityEntry] = []
        for (i, t) in try root.nestedList("capability").enumerated() {
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

        var policyT = try root.optionalNested("policy")
        switch try policyT.optionalString("engine") ?? "default" {
        case "default":
            var limits: [SafetyClass: RateLimit] = [:]
            var rl = try policyT.optionalNested("rate_limits")
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
            config.policy = .dsl(path: resolve(try policyT.string("file")))
        default:
            throw ConfigError("policy.engine", "must be \"default\" or \"dsl\"")
        }
        try policyT.finish()

        var budgetsT = try root.optionalNested("budgets")
        if let total = try budgetsT.optionalInt("total") {
            if total < 0 { throw ConfigError("budgets.total", "must be >= 0 (0 disables budgets)") }
            config.budgetTotal = total == 0 ? nil : total
        }
        if let d = try budgetsT.optionalInt("default_request") {
            if d < 1 { throw ConfigError("budgets.default_request", "must be >= 1") }
            config.budgetDefaultRequest = d
        }
        try budgetsT.finish()

        var limitsT = try root.optionalNested("limits")
        config.limits = try applyLimits(&limitsT)
        try limitsT.finish()

        var certT = try root.optionalNested("certificates")
        if let days = try certT.optionalNumber("expiry_warning_days") {
            if days < 0 { throw ConfigError("certificates.expiry_warning_days", "must be >= 0") }
            config.certificateExpiryWarning = days * 86_400
        }
        if let hours = try certT.optionalNumber("crl_expiry_warning_hours") {
            if hours < 0 { throw ConfigError("certificates.crl_expiry_warning_hours", "must be >= 0") }
            config.crlExpiryWarning = hours * 3600
        }
        if let interval = try certT.optionalNumber("watch_interval_seconds") {
            if interval < 0 || interval > 3600 {
                throw ConfigError("certificates.watch_interval_seconds", "must be between 0 (off) and 3600")
            }
            config.watchInterval = interval
        }
        try certT.finish()

        var auditT = try root.optionalNested("audit")
        config.audit = try audit(&auditT, resolve: resolve)
        try auditT.finish()

        var storeT = try root.optionalNested("store")
        config.store = try store(&storeT, resolve: resolve)
        try storeT.finish()

        var metricsT = try root.optionalNested("metrics")
        config.metrics = try metrics(&metricsT)
        try metricsT.finish()

        var accessT = try root.optionalNested("access_log")
        config.accessLog = try accessLog(&accessT, resolve: resolve)
        try accessT.finish()

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

    static func driver(_ t: Table, key: String, resolve: (String) -> String = { $0 },
                       defaultCA: String = "") throws(ConfigError) -> DriverEntry {
        var t = t
        let id = try t.string("id")
        let entry: DriverEntry
        switch try t.string("type") {
        case "billing": entry = .billing(id: id)
        case "static":
            var ops: [String: JSONValue] = [:]
            var opsT = try t.optionalNested("operations")
            for k in opsT.object.keys { ops[k] = opsT.take(k) }
            try opsT.finish()
            var jsonT = try t.optionalNested("operations_json")
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
        let drivers = try t.optionalStringList("drivers") ?? []
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

/// A TOML table being read with the shared strict field reader (CapgateFormats), in its
/// TOML vocabulary ("must be a table", "unknown key"); it tracks consumed keys so
/// `finish()` can name unknown ones.
typealias Table = FieldReader<ConfigError>

extension ConfigError: FieldErrorConvertible {
    public init(fieldError: FieldError) { self.init(fieldError.field, fieldError.message) }
}
