import Synchronization
@testable import AgentKernel

/// A settable clock for token/policy tests: wall time and monotonic time move only when
/// the test says so (no wall-clock gating).
final class TPManualClock: KernelClock {
    private let state: Mutex<(Timestamp, Double)>
    init(now: Timestamp = Timestamp(microseconds: 1_767_323_045_123_456), monotonic: Double = 1000) {
        state = Mutex((now, monotonic))
    }
    func now() -> Timestamp { state.withLock { $0.0 } }
    func monotonic() -> Double { state.withLock { $0.1 } }
    func set(now: Timestamp) { state.withLock { $0.0 = now } }
    func advance(seconds: Double) {
        state.withLock { s in
            s.0 = s.0.adding(seconds: seconds)
            s.1 += seconds
        }
    }
}

/// Deterministic ids: "tok-1", "tok-2", ...
final class TPSequentialIDs: IDGenerator {
    private let n = Mutex(0)
    let prefix: String
    init(prefix: String = "tok-") { self.prefix = prefix }
    func next() -> String { prefix + String(n.withLock { $0 += 1; return $0 }) }
}
