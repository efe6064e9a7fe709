import AgentKernel
import CapgateConnection
import CapgateTesting
import Foundation
import KernelConformance
import Logging
import Synchronization

/// The package root (for `.venv`, `docs/`, `tools/`): CapgateTesting's `Products`.
let packageRoot = Products.packageRoot

/// Keeps transport log lines in memory (quiet test output; tests can await a line).
final class CollectingLogger: Sendable {
    private struct State {
        var lines: [String] = []
        var waiters: [(fragment: String, continuation: CheckedContinuation<String, Never>)] = []
    }
    private let state = Mutex(State())

    func record(_ level: Logger.Level, _ message: String) {
        let due = state.withLock { s -> [CheckedContinuation<String, Never>] in
            s.lines.append(message)
            let ready = s.waiters.filter { message.contains($0.fragment) }.map(\.continuation)
            s.waiters.removeAll { message.contains($0.fragment) }
            return ready
        }
        for c in due { c.resume(returning: message) }
    }

    var lines: [String] { state.withLock { $0.lines } }

    /// The swift-log `Logger` whose lines land here.
    var asLogger: Logger { CapturingLogHandler.logger { [self] level, message in record(level, message) } }

    /// The first line (already logged or future) containing `fragment`.
    func waitForLine(containing fragment: String) async -> String {
        await withCheckedContinuation { (c: CheckedContinuation<String, Never>) in
            let existing = state.withLock { s -> String? in
                if let line = s.lines.first(where: { $0.contains(fragment) }) { return line }
                s.waiters.append((fragment, c))
                return nil
            }
            if let existing { c.resume(returning: existing) }
        }
    }
}

/// A one-shot async event: `wait()` resumes once `fire()` was called (no sleeps).
final class AsyncEvent: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.fired = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.fired { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }
}

/// A kernel clock tests move by hand (handle expiry without sleeping).
final class ManualClock: KernelClock {
    private let offset = Mutex<Double>(0)
    func advance(seconds: Double) { offset.withLock { $0 += seconds } }
    func now() -> Timestamp { SystemClock().now().adding(seconds: offset.withLock { $0 }) }
    func monotonic() -> Double { SystemClock().monotonic() + offset.withLock { $0 } }
}

