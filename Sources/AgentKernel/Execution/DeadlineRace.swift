import Synchronization

/// How one bounded driver attempt ended.
enum AttemptResult: Sendable {
    case success(RawResult)
    case failure(any Error)
    case timedOut
    case cancelled
}

/// Runs one driver attempt against a deadline and returns as soon as either finishes.
///
/// A task group would wait for a non-cooperative driver to finish before returning, so the
/// attempt and the timer are unstructured tasks that race to resume one continuation; the
/// loser is cancelled and abandoned. That keeps the deadline real even if a driver ignores
/// cancellation (its late result is dropped). Cancellation of the calling task resolves the
/// race immediately as `.cancelled` and cancels the driver task.
enum DeadlineRace {
    static func run(_ driver: any Driver, _ ctx: ExecutionContext, seconds: Double) async -> AttemptResult {
        let box = RaceBox()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<AttemptResult, Never>) in
                box.install(c)
                let work = Task {
                    do {
                        box.finish(.success(try await driver.execute(ctx)))
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
                        // Cancelled because the attempt finished first.
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
private final class RaceBox: Sendable {
    private struct State {
        var continuation: CheckedContinuation<AttemptResult, Never>?
        var result: AttemptResult?
        var tasks: [Task<Void, Never>] = []
    }
    private let state = Mutex(State())

    func install(_ c: CheckedContinuation<AttemptResult, Never>) {
        // onCancel may already have produced a result before the continuation existed.
        let ready: AttemptResult? = state.withLock { s in
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

    /// First caller wins; later results (a late driver, a late timer) are dropped.
    func finish(_ r: AttemptResult) {
        let taken: (CheckedContinuation<AttemptResult, Never>?, [Task<Void, Never>])? = state.withLock { s in
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
