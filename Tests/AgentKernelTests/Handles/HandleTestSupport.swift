import Synchronization
@testable import AgentKernel

/// A clock the test moves by hand (no wall-clock dependence).
final class HandleTestClock: KernelClock {
    private let t: Mutex<Int64>
    init(_ micros: Int64 = 1_700_000_000_000_000) { t = Mutex(micros) }
    func now() -> Timestamp { Timestamp(microseconds: t.withLock { $0 }) }
    func monotonic() -> Double { Double(t.withLock { $0 }) / 1e6 }
    func advance(seconds: Double) { t.withLock { $0 += Int64(seconds * 1_000_000) } }
}

/// Deterministic ids: "h-0", "h-1", ...
final class HandleTestIDs: IDGenerator {
    private let n = Mutex(0)
    let prefix: String
    init(_ prefix: String = "h-") { self.prefix = prefix }
    func next() -> String { prefix + String(n.withLock { v in defer { v += 1 }; return v }) }
}
