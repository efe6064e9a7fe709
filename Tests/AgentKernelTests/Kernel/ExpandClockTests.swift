import Synchronization
import Testing
@testable import AgentKernel

/// `Kernel.expand` reads an injected clock as the reference reads its clock: once for the
/// expiry check (the frame's provenance) and once more for the trace. Only the real clock,
/// whose two instants no caller can tell apart, serves both from one read.
@Suite struct ExpandClockTests {
    /// Every read one second after the previous one, counted.
    final class SteppingClock: KernelClock {
        private let state = Mutex((reads: 0, now: Timestamp(microseconds: 1_767_323_045_000_000)))
        var reads: Int { state.withLock { $0.reads } }
        func now() -> Timestamp {
            state.withLock { s in
                s.reads += 1
                s.now = s.now.adding(seconds: 1)
                return s.now
            }
        }
        func monotonic() -> Double { 1000 }
    }

    static func kernel(clock: any KernelClock) throws -> (Kernel, Principal) {
        let registry = CapabilityRegistry()
        try registry.register(Capability(capabilityID: "tasks.list", name: "List Tasks", description: "List tasks",
                                         safetyClass: .read, tags: ["tasks"]))
        let kernel = Kernel(registry: registry, policy: try DefaultPolicyEngine(), tokens: HMACTokenProvider(secret: "clock"),
                            router: StaticRouter(routes: ["tasks.list": ["memory"]]),
                            handles: try HandleStore(), traces: try TraceStore(), clock: clock)
        let driver = InMemoryDriver()
        driver.registerHandler("tasks.list") { _ in [["id": 1, "title": "Buy milk"]] }
        kernel.registerDriver(driver)
        return (kernel, Principal(principalID: "alice", roles: ["reader"]))
    }

    static func handleID(_ kernel: Kernel, _ p: Principal) async throws -> String {
        let token = try kernel.getToken(CapabilityRequest(capabilityID: "tasks.list", goal: "g"), principal: p,
                                        justification: "")
        guard case .frame(let f) = try await kernel.invoke(token, principal: p, args: [:]), let h = f.handle else {
            throw KernelError(.agentKernelError, "no handle")
        }
        return h.handleID
    }

    @Test func anInjectedClockIsReadForTheCheckAndAgainForTheTrace() async throws {
        let clock = SteppingClock()
        let (kernel, p) = try Self.kernel(clock: clock)
        let id = try await Self.handleID(kernel, p)
        let before = clock.reads
        let frame = try kernel.expand(handleID: id, query: ["limit": 1], principal: p)
        #expect(clock.reads == before + 2)
        let checkedAt = try #require(frame.provenance?.invokedAt)
        #expect(try kernel.explain(actionID: frame.actionID).invokedAt == checkedAt.adding(seconds: 1))
    }

    @Test func theRealClockServesBothFromOneRead() async throws {
        let (kernel, p) = try Self.kernel(clock: SystemClock())
        let id = try await Self.handleID(kernel, p)
        let start = SystemClock().now()
        let frame = try kernel.expand(handleID: id, query: ["limit": 1], principal: p)
        let end = SystemClock().now()
        let at = try #require(frame.provenance?.invokedAt)
        #expect(try kernel.explain(actionID: frame.actionID).invokedAt == at)
        #expect(start <= at && at <= end)
    }
}
