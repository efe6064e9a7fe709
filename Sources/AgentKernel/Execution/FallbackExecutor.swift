/// What `FallbackExecutor.execute` observed (`execute_with_fallback`'s 4-tuple).
public struct FallbackOutcome: Sendable {
    /// The serving driver's result; nil when every attempt failed or none was possible.
    public var raw: RawResult?
    /// The serving driver, else the last driver attempted, else "" (every id unregistered).
    public var driverID: String
    /// The last failure (nil on success). On cancellation, a `CancellationError`.
    public var lastError: (any Error)?
    /// At least one attempt failed before success or all-failed (counts a fallback activation).
    public var hadFailures: Bool

    public init(raw: RawResult?, driverID: String, lastError: (any Error)?, hadFailures: Bool) {
        self.raw = raw
        self.driverID = driverID
        self.lastError = lastError
        self.hadFailures = hadFailures
    }

    /// The walk stopped because the task was cancelled (Python's `CancelledError` escaping
    /// `execute_with_fallback`): the caller records "invocation cancelled".
    public var wasCancelled: Bool { lastError is CancellationError }
}

/// Tries a route plan's drivers in order until one succeeds (docs/reference-semantics.md §7.2;
/// `kernel/_driver_exec.execute_with_fallback`).
public enum FallbackExecutor {
    /// Walks `plan.driverIDs`:
    /// - an unregistered id is skipped silently (not a failure, not "last attempted");
    /// - success returns `(raw, id, nil, failed > 0)`;
    /// - a timeout becomes the synthetic `DriverError("Driver '<id>' timed out after <t>s for
    ///   capability '<cid>'.")` with site `.driverTimeout`; it and any thrown error count as a
    ///   failed attempt, are kept as `lastError`, and the walk continues;
    /// - all failed: `(nil, last attempted id or "", lastError, failed > 0)`.
    ///
    /// `timeoutSeconds` (nil = no deadline) bounds each attempt and returns promptly even if the
    /// driver ignores cancellation. `<t>` is `timeoutText` when given, else Python's
    /// `str(float)` of `timeoutSeconds` (the reference always holds the timeout as a float,
    /// so `1` prints `1.0`).
    ///
    /// Cancellation (the task is cancelled, or a driver throws `CancellationError`) stops the
    /// walk and returns `(nil, "", CancellationError(), false)`: exactly the state the
    /// reference's `perform_invoke` sees when `CancelledError` escapes, since its tuple
    /// assignment never happens.
    public static func execute(plan: RoutePlan, drivers: [String: any Driver], context: ExecutionContext,
                               timeoutSeconds: Double?, timeoutText: String?) async -> FallbackOutcome {
        var lastError: (any Error)?
        var lastDriverID = ""
        var failed = 0
        // Built only when returned: a `CancellationError` boxed as `any Error` is an allocation,
        // which every invoke paid when the outcome was built up front.
        var cancelled: FallbackOutcome {
            FallbackOutcome(raw: nil, driverID: "", lastError: CancellationError(), hadFailures: false)
        }
        for driverID in plan.driverIDs {
            guard let driver = drivers[driverID] else { continue }
            if Task.isCancelled { return cancelled }
            lastDriverID = driverID
            switch await attempt(driver, context, timeoutSeconds) {
            case .success(let raw):
                return FallbackOutcome(raw: raw, driverID: driverID, lastError: nil, hadFailures: failed > 0)
            case .cancelled:
                return cancelled
            case .timedOut:
                let t = timeoutText ?? PyFloat.repr(timeoutSeconds ?? 0)
                lastError = KernelError(
                    .driverError,
                    "Driver '\(driverID)' timed out after \(t)s for capability '\(context.capabilityID)'.",
                    site: .driverTimeout)
                failed += 1
            case .failure(let error):
                lastError = error
                failed += 1
            }
        }
        return FallbackOutcome(raw: nil, driverID: lastDriverID, lastError: lastError, hadFailures: failed > 0)
    }

    /// Longest deadline that is armed; beyond it (about 31 years, or infinity) the attempt is
    /// simply awaited, because `Duration` cannot represent arbitrary doubles.
    static let maxArmedSeconds = 1e9

    private static func attempt(_ driver: any Driver, _ ctx: ExecutionContext,
                                _ timeout: Double?) async -> DeadlineOutcome<RawResult> {
        if let t = timeout, t.isFinite, t <= maxArmedSeconds {
            return await DeadlineRace.run(seconds: max(t, 0)) { try await driver.execute(ctx) }
        }
        do {
            return .success(try await driver.execute(ctx))
        } catch is CancellationError {
            return .cancelled
        } catch {
            return .failure(error)
        }
    }
}
