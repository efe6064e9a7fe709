import AgentKernel

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

func runSwiftBench(seconds: Double) async throws -> [String: Sample] {
    var out: [String: Sample] = [:]
    for s in try makeScenarios() {
        let request = CapabilityRequest(capabilityID: s.capabilityID, goal: s.goal)
        let token = try s.kernel.getToken(request, principal: s.principal, justification: "")
        guard case .frame(let frame) = try await s.kernel.invoke(token, principal: s.principal, args: s.args),
              let handle = frame.handle else { fatalError("bench setup: invoke returned no handle") }
        out["\(s.name)/request_capabilities"] = await measure(seconds: seconds) {
            _ = s.kernel.requestCapabilities(goal: s.goal)
        }
        out["\(s.name)/grant_capability"] = try await measure(seconds: seconds) {
            _ = try s.kernel.grantCapability(request, principal: s.principal, justification: "")
        }
        for mode in [ResponseMode.summary, .table] {
            out["\(s.name)/invoke_\(mode.rawValue)"] = try await measure(seconds: seconds) {
                _ = try await s.kernel.invoke(token, principal: s.principal, args: s.args, responseMode: mode)
            }
        }
        out["\(s.name)/expand"] = try await measure(seconds: seconds) {
            _ = try s.kernel.expand(handleID: handle.handleID, query: s.query, principal: s.principal)
        }
        out["\(s.name)/explain"] = try await measure(seconds: seconds) {
            _ = try s.kernel.explain(actionID: frame.actionID)
        }
    }
    return out
}
