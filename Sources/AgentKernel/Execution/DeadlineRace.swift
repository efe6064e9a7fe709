import Synchronization

/// How one bounded operation ended.
public enum DeadlineOutcome<T: Sendable>: Sendable {
    case success(T)
    case failure(any Error)
    case timedOut
    case cancelled
}

/// Runs one operation against a deadline and returns as soon as either finishes. The one
/// deadline race of the project: driver attempts (`invoke_timeout_s`) and calls that leave the
/// process (driver hosts) both use it.
///
/// A task group would wait for a non-cooperative operation to finish before returning, so the
/// operation and the timer are unstructured tasks that race to resume one continuation; the
/// loser is cancelled and abandoned. That keeps the deadline real even if the operation ignores
/// cancellation (its late result is dropped). Cancellation of the calling task resolves the
/// race immediately as `.cancelled` and cancels the operation; a `CancellationError` thrown by
/// the operation is `.cancelled` too.
public enum DeadlineRace {
    public static func run<T: Sendable>(seconds: Double,
                                        _ body: @escaping @Sendable () async throws -> T) async -> DeadlineOutcome<T> {
        let box = RaceBox<T>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<DeadlineOutcome<T>, Never>) in
                box.install(c)
                let work = Task {
                    do {
                        box.finish(.success(try await body()))
                    } catch is CancellationError {
                        box.finish(.cancelled)
                    } catch {
                        box.finish(.failure(error))
                    }
                }
                let timer = Task {
                    do {
                        try await Task.sleep(for: .seconds(seconds))
                        box.finish(.timedOut)
                    } catch {
                        // Cancelled because the operation finished first.
                    }
                }
                box.adopt(work, timer)
            }
        } onCancel: {
            box.finish(.cancelled)
        }
    }
}

/// The single-resumption rendezvous of `DeadlineRace`.
private final class RaceBox<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<DeadlineOutcome<T>, Never>?
        var result: DeadlineOutcome<T>?
        var tasks: [Task<Void, Never>] = []
    }
    private let state = Mutex(State())

    func install(_ c: CheckedContinuation<DeadlineOutcome<T>, Never>) {
        // onCancel may already have produced a result before the continuation existed.
        let ready: DeadlineOutcome<T>? = state.withLock { s in
            if let r = s.result { return r }
            s.continuation = c
            return nil
        }
        if let r = ready { c.resume(returning: r) }
    }

    func adopt(_ tasks: Task<Void, Never>...) {
        let finished = state.withLock { s in
            if s.result != nil { return true }
            s.tasks = tasks
            return false
        }
        if finished { tasks.forEach { $0.cancel() } }
    }

    /// First caller wins; later results (a late operation, a late timer) are dropped.
    func finish(_ r: DeadlineOutcome<T>) {
        let taken: (CheckedContinuation<DeadlineOutcome<T>, Never>?, [Task<Void, Never>])? = state.withLock { s in
            guard s.result == nil else { return nil }
            s.result = r
            let out = (s.continuation, s.tasks)
            s.continuation = nil
            s.tasks = []
            return out
        }
        guard let (continuation, losers) = taken else { return }
        losers.forEach { $0.cancel() }
        continuation?.resume(returning: r)
    }
}
