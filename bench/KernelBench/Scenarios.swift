import AgentKernel
import Foundation

/// The two scenarios of bench/reference_bench.py, built the same way: the reference
/// README's quickstart (one `tasks.list` capability, an in-memory handler) and the
/// billing data (PII list with `allowed_fields`, 200 rows). Rate limits are lifted so
/// grants can be timed repeatedly, on both sides.
struct BenchScenario {
    let name: String
    let kernel: Kernel
    let principal: Principal
    let capabilityID: String
    let goal: String
    let args: JSONObject
    let query: JSONObject
}

func makeScenarios() throws -> [BenchScenario] {
    let unlimited: [SafetyClass: RateLimit] = [.read: RateLimit(limit: 1_000_000_000_000, windowSeconds: 0.001)]  // 1 ms: see reference_bench.py

    let qsRegistry = CapabilityRegistry()
    try qsRegistry.register(Capability(capabilityID: "tasks.list", name: "List Tasks", description: "List tasks",
                                       safetyClass: .read, tags: ["tasks"]))
    let quickstart = Kernel(registry: qsRegistry, policy: try DefaultPolicyEngine(rateLimits: unlimited),
                            tokens: HMACTokenProvider(secret: "bench-secret"),
                            router: StaticRouter(routes: ["tasks.list": ["memory"]]),
                            handles: try HandleStore(), traces: try TraceStore())
    let memory = InMemoryDriver()
    memory.registerHandler("tasks.list") { _ in [["id": 1, "title": "Buy milk"]] }
    quickstart.registerDriver(memory)

    let billingRegistry = CapabilityRegistry()
    try billingRegistry.register(Capability(
        capabilityID: "billing.list_invoices", name: "List Invoices",
        description: "List all invoices, optionally filtered by status", safetyClass: .read, sensitivity: .pii,
        allowedFields: ["id", "customer_name", "amount", "currency", "status", "date"],
        tags: ["billing", "invoices", "list"]))
    try billingRegistry.register(Capability(
        capabilityID: "billing.summarize_spend", name: "Summarize Spend",
        description: "Summarize total spend per currency and status", safetyClass: .read,
        tags: ["billing", "summary", "analytics"]))
    let billing = Kernel(registry: billingRegistry, policy: try DefaultPolicyEngine(rateLimits: unlimited),
                         tokens: HMACTokenProvider(secret: "bench-secret"),
                         router: StaticRouter(routes: ["billing.list_invoices": ["billing"],
                                                       "billing.summarize_spend": ["billing"]]),
                         handles: try HandleStore(), traces: try TraceStore())
    billing.registerDriver(makeBillingDriver())

    return [
        BenchScenario(name: "quickstart", kernel: quickstart, principal: Principal(principalID: "alice", roles: ["reader"]),
                      capabilityID: "tasks.list", goal: "list tasks", args: [:],
                      query: ["limit": 1, "fields": ["title"]]),
        BenchScenario(name: "billing", kernel: billing,
                      principal: Principal(principalID: "alice", roles: ["reader"], attributes: ["tenant": "acme"]),
                      capabilityID: "billing.list_invoices", goal: "list unpaid invoices",
                      args: ["operation": "list_invoices"], query: ["offset": 10, "limit": 20, "fields": ["id", "amount"]]),
    ]
}

func runSwiftBench(seconds: Double, iterations: Int?, only: String?) async throws -> [String: Sample] {
    var out = SampleTable(only: only, seconds: seconds, iterations: iterations)
    // The timer floor: an empty call through the same loop (two clock reads and the call),
    // which every point's p50 includes; reference_bench.py measures its own the same way.
    try await out.point(timerFloorPoint) {}
    for s in try makeScenarios() {
        let request = CapabilityRequest(capabilityID: s.capabilityID, goal: s.goal)
        let token = try s.kernel.getToken(request, principal: s.principal, justification: "")
        try await out.point("\(s.name)/request_capabilities") { _ = s.kernel.requestCapabilities(goal: s.goal) }
        try await out.point("\(s.name)/grant_capability") {
            _ = try s.kernel.grantCapability(request, principal: s.principal, justification: "")
        }
        for mode in [ResponseMode.summary, .table] {
            try await out.point("\(s.name)/invoke_\(mode.rawValue)") {
                _ = try await s.kernel.invoke(token, principal: s.principal, args: s.args, responseMode: mode)
            }
        }
        // A fresh handle: the invoke runs above created enough handles to evict older ones
        // (the store keeps 10k, oldest first, as the reference).
        guard case .frame(let frame) = try await s.kernel.invoke(token, principal: s.principal, args: s.args),
              let handle = frame.handle else { fatalError("bench setup: invoke returned no handle") }
        try await out.point("\(s.name)/expand") {
            _ = try s.kernel.expand(handleID: handle.handleID, query: s.query, principal: s.principal)
        }
        // A fresh trace likewise (the trace store keeps the last 10k).
        guard case .frame(let last) = try await s.kernel.invoke(token, principal: s.principal, args: s.args)
        else { fatalError("bench setup: invoke returned a dry run") }
        try await out.point("\(s.name)/explain") { _ = try s.kernel.explain(actionID: last.actionID) }
    }
    return out.samples
}

/// Collects samples, skipping the points `--only` filters out (their bodies never run).
struct SampleTable {
    let only: String?
    let seconds: Double
    let iterations: Int?
    var samples: [String: Sample] = [:]

    mutating func point(_ name: String, _ body: () async throws -> Void) async throws {
        if let only, !name.contains(only) { return }
        FileHandle.standardError.write("measuring \(name)…\n".data(using: .utf8)!)
        samples[name] = try await measure(seconds: seconds, iterations: iterations, body)
    }
}
