import AgentKernel
import CapgateClient
import CapgateServer
import Foundation
import Synchronization
import Testing

/// Callbacks the gateway keeps in a lock (the audit-wait observer, read on every traced
/// request) must not grow with use: stored as plain function values, every read re-wrapped the
/// stored closure in two more thunks, so the N-th request walked 2N frames to reach the
/// observer (throughput fell 5-7x, `make bench-audit`). Measured here by the call-stack depth
/// inside the observer, which must stay flat over hundreds of requests.
@Suite(.timeLimit(.minutes(2)))
struct CallbackStorageTests {
    @Test func theAuditWaitObserverIsReachedAtAConstantDepth() async throws {
        try await withGateway { gw in
            let depths = Mutex<[Int]>([])
            gw.gateway.service.setAuditWaitObserver { _ in
                let depth = Thread.callStackReturnAddresses.count
                depths.withLock { $0.append(depth) }
            }
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            for _ in 0..<300 { _ = try await alice.invoke(token) }
            let seen = depths.withLock { $0 }
            try #require(seen.count >= 300)
            let early = seen.prefix(20).max() ?? 0
            let late = seen.suffix(20).min() ?? 0
            #expect(late - early < 20, "observer depth grew from \(early) to \(late) frames over \(seen.count) calls")
        }
    }
}
