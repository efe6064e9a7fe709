import Synchronization

/// Caps the `deny` traces one principal can write per window (docs/audit.md, "Retention and
/// floods").
///
/// Why: a denied grant is traced but not rate limited (the rate limit counts allowed grants),
/// so without a cap one agent sending denied grants as fast as it can writes records as fast
/// as it can, and with size-based retention (`max_bytes`) pushes every other principal's
/// records out of the window. Beyond `perWindow` denials in a principal's current window the
/// grant is still denied with the same answer, only not traced; the first denial traced in a
/// later window carries how many went untraced (`result_summary.suppressed_denials`), so the
/// trail itself says a flood happened, and `suppressedTotal` counts them all.
public final class DenialTraceLimiter: Sendable {
    public let perWindow: Int
    public let windowSeconds: Double
    /// Principals tracked at once; beyond it, finished windows are forgotten first.
    public let maxPrincipals: Int

    public struct Admission: Sendable, Equatable {
        /// Whether this denial is traced.
        public var trace: Bool
        /// Denials of this principal that went untraced since its last traced one.
        public var suppressedBefore: Int
    }

    private struct Window {
        var start: Timestamp
        var traced: Int
        /// Untraced since the last traced denial (reported, then reset, by the next one).
        var suppressed: Int
    }

    private struct State {
        var windows: [CodePointKey: Window] = [:]
        var suppressedTotal = 0
    }

    private let state = Mutex(State())

    public init(perWindow: Int, windowSeconds: Double = 60, maxPrincipals: Int = 10_000) throws(KernelError) {
        guard perWindow > 0, windowSeconds > 0, maxPrincipals > 0 else {
            throw KernelError(.agentKernelError, "denial trace cap must be positive")
        }
        self.perWindow = perWindow
        self.windowSeconds = windowSeconds
        self.maxPrincipals = maxPrincipals
    }

    /// Denials that were not traced since start.
    public var suppressedTotal: Int { state.withLock { $0.suppressedTotal } }

    /// Decides about one denial of `principalID` at `now` (fixed windows per principal,
    /// starting at its first denial).
    public func admit(_ principalID: String, now: Timestamp) -> Admission {
        let key = CodePointKey(principalID)
        let (cap, length, bound) = (perWindow, windowSeconds, maxPrincipals)
        return state.withLock { s in
            var w = s.windows[key] ?? Window(start: now, traced: 0, suppressed: 0)
            let age = Double(now.microseconds - w.start.microseconds) / 1_000_000
            if age >= length || age < 0 {
                w.start = now  // a new window (or the clock stepped back)
                w.traced = 0
            }
            let admission: Admission
            if w.traced < cap {
                w.traced += 1
                admission = Admission(trace: true, suppressedBefore: w.suppressed)
                w.suppressed = 0
            } else {
                w.suppressed += 1
                s.suppressedTotal += 1
                admission = Admission(trace: false, suppressedBefore: 0)
            }
            s.windows[key] = w
            if s.windows.count > bound {
                // Forget finished windows with nothing left to report; a forgotten principal
                // only starts a fresh window.
                let horizon = now.microseconds - Int64(length * 1_000_000)
                s.windows = s.windows.filter { $0.value.suppressed > 0 || $0.value.start.microseconds > horizon }
                while s.windows.count > bound, let victim = s.windows.keys.first(where: { $0 != key }) {
                    s.windows.removeValue(forKey: victim)
                }
            }
            return admission
        }
    }
}
