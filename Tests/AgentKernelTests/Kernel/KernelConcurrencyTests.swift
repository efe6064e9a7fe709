import AgentKernel
import Testing

/// The gateway calls one `Kernel` from several event loops at once: every store must stay
/// consistent under concurrent grants, invokes, expands and revocations.
struct KernelConcurrencyTests {
    static func makeKernel(readLimit: Int) throws -> Kernel {
        let registry = CapabilityRegistry()
        try registry.register(Capability(capabilityID: "tasks.list", name: "List Tasks", description: "List tasks",
                                         safetyClass: .read, tags: ["tasks"]))
        let kernel = Kernel(registry: registry,
                            policy: try DefaultPolicyEngine(rateLimits: [.read: RateLimit(limit: readLimit, windowSeconds: 60)]),
                            tokens: HMACTokenProvider(secret: "concurrency"),
                            router: StaticRouter(routes: ["tasks.list": ["memory"]]),
                            handles: try HandleStore(), traces: try TraceStore(),
                            budgets: .perSession(try SessionBudgets()))
        let driver = InMemoryDriver()
        driver.registerHandler("tasks.list") { ctx in [["id": 1, "who": .string(ctx.principalID)]] }
        kernel.registerDriver(driver)
        return kernel
    }

    @Test func concurrentInvokesKeepEveryStoreConsistent() async throws {
        let kernel = try Self.makeKernel(readLimit: 1000)
        let tasks = 8, perTask = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<tasks {
                group.addTask {
                    let p = Principal(principalID: "agent-\(t)", roles: ["reader"])
                    let token = try kernel.getToken(CapabilityRequest(capabilityID: "tasks.list", goal: "g"),
                                                    principal: p, justification: "")
                    for _ in 0..<perTask {
                        guard case .frame(let f) = try await kernel.invoke(token, principal: p, args: [:],
                                                                           responseMode: .table),
                              let h = f.handle else { throw KernelError(.agentKernelError, "no frame") }
                        let page = try kernel.expand(handleID: h.handleID, query: ["limit": 1], principal: p)
                        #expect(page.tablePreview == [["id": 1, "who": .string("agent-\(t)")]])
                        #expect(try kernel.explain(actionID: f.actionID).principalID == "agent-\(t)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let stats = kernel.statsSnapshot()
        #expect(stats.grants == tasks)
        #expect(stats.invocations == tasks * perTask)
        #expect(stats.expansions == tasks * perTask)
        #expect(stats.handleStores == tasks * perTask)
        #expect(kernel.listTraces().count == 2 * tasks * perTask)
        for t in 0..<tasks {
            let mine = try kernel.queryTraces(TraceQuery(principalID: "agent-\(t)"))
            #expect(mine.count == 2 * perTask)
        }
    }

    @Test func concurrentGrantsNeverExceedTheRateLimit() async throws {
        let kernel = try Self.makeKernel(readLimit: 25)
        let p = Principal(principalID: "shared", roles: ["reader"])
        let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    do {
                        _ = try kernel.grantCapability(CapabilityRequest(capabilityID: "tasks.list", goal: "g"),
                                                       principal: p, justification: "")
                        return true
                    } catch let e as KernelError where e.reasonCode == "rate_limited" {
                        return false
                    }
                }
            }
            var n = 0
            for try await ok in group where ok { n += 1 }
            return n
        }
        #expect(allowed == 25)
        #expect(kernel.statsSnapshot().denials == 175)
        #expect(try kernel.queryTraces(TraceQuery(eventType: .deny)).count == 175)
    }

    @Test func revocationIsSeenByEveryConcurrentCaller() async throws {
        let kernel = try Self.makeKernel(readLimit: 1000)
        let p = Principal(principalID: "victim", roles: ["reader"])
        let token = try kernel.getToken(CapabilityRequest(capabilityID: "tasks.list", goal: "g"), principal: p,
                                        justification: "")
        kernel.revoke(tokenID: token.tokenID)
        let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    do {
                        _ = try await kernel.invoke(token, principal: p, args: [:])
                        return "ok"
                    } catch let e as KernelError { return e.type }
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(outcomes == Array(repeating: "TokenRevoked", count: 16))
    }
}
