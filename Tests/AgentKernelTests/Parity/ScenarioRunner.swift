@testable import AgentKernel
import Foundation

/// Replays one reference scenario (tools/reference/README.md) against the Swift kernel and
/// returns the normalized result of each step in the goldens' shape.
struct ScenarioRunner {
    let scenario: JSONObject
    let kernel: Kernel
    let tokens: HMACTokenProvider
    let firewallBudgets: Budgets
    var saved: [String: JSONValue] = [:]
    let normalizer = Normalizer()

    struct SetupError: Error, CustomStringConvertible { let description: String }

    init(_ scenario: JSONObject) throws {
        self.scenario = scenario
        let setup = scenario["setup"]?.objectValue ?? [:]
        let secret = setup["secret"]?.stringValue ?? "capgate-parity-secret"
        let registry = CapabilityRegistry()
        for c in setup["capabilities"]?.arrayValue ?? [] { try registry.register(try Capability(json: c)) }
        var routes: [String: [String]] = [:]
        for (k, v) in setup["routes"]?.objectValue ?? [:] { routes[k] = v.arrayValue?.compactMap(\.stringValue) ?? [] }
        let fallback = setup["fallback"]?.arrayValue?.compactMap(\.stringValue)
        let router = StaticRouter(routes: routes, fallback: fallback)
        let policy = try ScenarioRunner.makePolicy(setup["policy"]?.objectValue)
        var budgets = Budgets()
        if let fw = setup["firewall"]?.objectValue {
            if let v = fw["max_rows"]?.intValue { budgets.maxRows = v }
            if let v = fw["max_fields"]?.intValue { budgets.maxFields = v }
            if let v = fw["max_chars"]?.intValue { budgets.maxChars = v }
            if let v = fw["max_depth"]?.intValue { budgets.maxDepth = v }
        }
        firewallBudgets = budgets
        let handleSetup = setup["handles"]?.objectValue ?? [:]
        let ttl = handleSetup["default_ttl_seconds"].flatMap { v -> Double? in
            if case .int(let i) = v { return Double(i) }
            return v.doubleValue
        } ?? 3600
        let handles = try HandleStore(defaultTTLSeconds: ttl,
                                      maxEntries: handleSetup["max_entries"]?.intValue ?? 10_000,
                                      maxTotalBytes: handleSetup["max_total_bytes"]?.intValue,
                                      maxEntryBytes: handleSetup["max_entry_bytes"]?.intValue)
        var budgetSource = Kernel.BudgetSource.none
        if let b = setup["budget"]?.objectValue {
            let manager = try BudgetManager(totalBudget: b["total"]?.intValue ?? 100_000,
                                            defaultRequest: b["default_request"]?.intValue ?? 4000)
            if let used = b["pre_used"]?.intValue { try manager.recordUsage(used, reserved: nil) }
            budgetSource = .shared(manager)
        }
        tokens = HMACTokenProvider(secret: secret)
        kernel = Kernel(registry: registry, policy: policy, tokens: tokens, router: router,
                        firewall: Firewall(budgets: budgets), handles: handles, traces: try TraceStore(),
                        budgets: budgetSource)
        for d in setup["drivers"]?.arrayValue ?? [] { kernel.registerDriver(try ScenarioRunner.makeDriver(d)) }
    }

    static func makePolicy(_ spec: JSONObject?) throws -> any PolicyEngine {
        if let spec, spec["type"]?.stringValue == "dsl" { return try loadPolicy(.object(spec)) }
        guard let spec, let type = spec["type"]?.stringValue, type != "default" else {
            var limits: [SafetyClass: RateLimit] = [:]
            for (k, v) in spec?["rate_limits"]?.objectValue ?? [:] {
                guard let sc = SafetyClass(rawValue: k), let pair = v.arrayValue, pair.count == 2,
                      let limit = pair[0].intValue else { throw SetupError(description: "bad rate_limits") }
                let window = pair[1].doubleValue ?? Double(pair[1].intValue ?? 0)
                limits[sc] = RateLimit(limit: limit, windowSeconds: window)
            }
            return try DefaultPolicyEngine(rateLimits: limits)
        }
        guard type == "dsl" else { throw SetupError(description: "unknown policy type \(type)") }
        return try loadPolicy(.object(spec))
    }

    /// The recorder loads policy text through files named `policy.toml` / `policy.yaml`,
    /// and the reference's messages quote that path, so the same source name is used here.
    static func loadPolicy(_ spec: JSONValue) throws -> DeclarativePolicyEngine {
        switch spec["format"]?.stringValue {
        case "toml": return try DeclarativePolicyEngine.fromTOML(spec["text"]?.stringValue ?? "", source: "policy.toml")
        case "yaml": return try DeclarativePolicyEngine.fromYAML(spec["text"]?.stringValue ?? "", source: "policy.yaml")
        default: return try DeclarativePolicyEngine(document: spec["data"] ?? .null)
        }
    }

    static func makeDriver(_ spec: JSONValue) throws -> any Driver {
        let type = spec["type"]?.stringValue ?? ""
        let id = spec["driver_id"]?.stringValue ?? "memory"
        switch type {
        case "billing": return makeBillingDriver()
        case "static":
            let d = InMemoryDriver(driverID: id)
            for (op, data) in spec["operations"]?.objectValue ?? [:] { d.registerHandler(op) { _ in data } }
            return d
        case "failing":
            let d = InMemoryDriver(driverID: id)
            let message = spec["message"]?.stringValue ?? ""
            let isDriverError = spec["exception"]?.stringValue == "DriverError"
            for op in spec["operations"]?.arrayValue ?? [] {
                d.registerHandler(op.stringValue ?? "") { _ in
                    if isDriverError { throw KernelError(.driverError, message) }
                    throw PlainError(description: message)
                }
            }
            return d
        case "slow":
            let d = InMemoryDriver(driverID: id)
            let seconds = spec["seconds"]?.doubleValue ?? Double(spec["seconds"]?.intValue ?? 0)
            let data = spec["data"] ?? .null
            for op in spec["operations"]?.arrayValue ?? [] {
                d.registerHandler(op.stringValue ?? "") { _ in
                    try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                    return data
                }
            }
            return d
        default: throw SetupError(description: "unknown driver type \(type)")
        }
    }

    /// A Python exception other than DriverError (e.g. RuntimeError): `str(exc)` is the message.
    struct PlainError: Error, CustomStringConvertible { let description: String }

    /// Substitutes `"$name"` / `"$name.path"` references with saved raw outputs.
    func resolve(_ v: JSONValue) throws -> JSONValue {
        switch v {
        case .string(let s) where s.hasPrefix("$") && s.count > 1:
            var parts = s.dropFirst().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard let root = saved[parts.removeFirst()] else { throw SetupError(description: "unknown ref \(s)") }
            var cur = root
            for p in parts {
                if let i = Int(p), let a = cur.arrayValue, i < a.count { cur = a[i] } else if let x = cur[p] { cur = x } else {
                    throw SetupError(description: "bad ref path \(s)")
                }
            }
            return cur
        case .array(let a): return .array(try a.map(resolve))
        case .object(let o):
            var out = JSONObject()
            for (k, x) in o { out.appendUnchecked(k, try resolve(x)) }
            return .object(out)
        default: return v
        }
    }
}
