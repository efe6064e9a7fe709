import Synchronization
import AgentKernel

/// A one-way latch for deterministic hand-offs between a test and a driver (no sleeps).
/// `wait()` ignores cancellation on purpose: it models a non-cooperative driver.
final class ExecTestLatch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { s in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s in
                if s.open { return true }
                s.waiters.append(c)
                return false
            }
            if ready { c.resume() }
        }
    }
}

/// Signals `started`, then blocks on `release` regardless of cancellation.
struct ExecTestStuckDriver: Driver {
    let driverID: String
    let started = ExecTestLatch()
    let release = ExecTestLatch()
    func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        started.open()
        await release.wait()
        return RawResult(capabilityID: ctx.capabilityID, data: "late")
    }
}

/// Always fails with a non-kernel error (Python: a bare RuntimeError).
struct ExecTestPlainErrorDriver: Driver {
    struct Plain: Error, CustomStringConvertible { var description: String { "plain" } }
    let driverID: String
    func execute(_ ctx: ExecutionContext) async throws -> RawResult { throw Plain() }
}

/// Signals `started`, then sleeps cooperatively until cancelled.
struct ExecTestCooperativeDriver: Driver {
    let driverID: String
    let started = ExecTestLatch()
    func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        started.open()
        try await Task.sleep(for: .seconds(3600))
        return RawResult(capabilityID: ctx.capabilityID, data: nil)
    }
}
