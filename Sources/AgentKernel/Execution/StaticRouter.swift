import Synchronization

/// Maps a capability to the ordered driver ids to try (docs/reference-semantics.md §7.1; `router.StaticRouter`).
///
/// Thread-safe so that an admin verb can add routes while invocations route.
public final class StaticRouter: Sendable {
    private struct State {
        var routes: [CodePointKey: [String]]
        let fallback: [String]
    }
    private let state: Mutex<State>

    /// `fallback` nil **or empty** becomes `["memory"]`: the reference uses
    /// `fallback or ["memory"]`, and an empty list is falsy in Python.
    public init(routes: [String: [String]] = [:], fallback: [String]? = nil) {
        var r: [CodePointKey: [String]] = [:]
        for (k, v) in routes { r[CodePointKey(k)] = v }
        let fb = (fallback?.isEmpty ?? true) ? ["memory"] : fallback!
        state = Mutex(State(routes: r, fallback: fb))
    }

    /// Adds or replaces the route of `capabilityID`. An explicit `[]` yields an empty plan.
    public func addRoute(_ capabilityID: String, _ driverIDs: [String]) {
        state.withLock { $0.routes[CodePointKey(capabilityID)] = driverIDs }
    }

    /// The explicit route, else the fallback list (a copy either way).
    public func route(_ capabilityID: String) -> RoutePlan {
        let ids = state.withLock { $0.routes[CodePointKey(capabilityID)] ?? $0.fallback }
        return RoutePlan(capabilityID: capabilityID, driverIDs: ids)
    }
}
