import Synchronization

/// Runs an operation against a wall-clock deadline and returns as soon as either finishes,
/// even if the operation ignores cancellation (its late result is dropped). Cancelling the
/// caller ends the wait at once with `CancellationError`.
///
/// Why not a task group: a group waits for every child, so a stuck socket wait would hold
/// the caller past its deadline.
enum Deadline {
    static func run<T: Sendable>(seconds: Double, onTimeout: @escaping @Sendable () -> any Error,
                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let box = Rendezvous<T>()
        let result: Result<T, any Error> = await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Result<T, any Error>, Never>) in
                box.install(c)
                let work = Task {
                    do { box.finish(.success(try await body())) } catch { box.finish(.failure(error)) }
                }
                let timer = Task {
                    do {
                        try await Task.sleep(for: .seconds(seconds))
                        box.finish(.failure(onTimeout()))
                    } catch {
                        // Cancelled: the work finished first.
                    }
                }
                box.adopt([work, timer])
            }
        } onCancel: {
            box.finish(.failure(CancellationError()))
        }
        return try result.get()
    }
}

/// First result wins; the losing task is cancelled.
private final class Rendezvous<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result<T, any Error>, Never>?
        var result: Result<T, any Error>?
        var tasks: [Task<Void, Never>] = []
    }
    private let state = Mutex(State())

    func install(_ c: CheckedContinuation<Result<T, any Error>, Never>) {
        let ready: Result<T, any Error>? = state.withLock { s in
            if let r = s.result { return r }
            s.continuation = c
            return nil
        }
        if let ready { c.resume(returning: ready) }
    }

    func adopt(_ tasks: [Task<Void, Never>]) {
        let done = state.withLock { s in
            if s.result != nil { return true }
            s.tasks = tasks
            return false
        }
        if done { tasks.forEach { $0.cancel() } }
    }

    func finish(_ r: Result<T, any Error>) {
        let taken: (CheckedContinuation<Result<T, any Error>, Never>?, [Task<Void, Never>])? = state.withLock { s in
            guard s.result == nil else { return nil }
            s.result = r
            defer { s.continuation = nil; s.tasks = [] }
            return (s.continuation, s.tasks)
        }
        guard let (c, losers) = taken else { return }
        losers.forEach { $0.cancel() }
        c?.resume(returning: r)
    }
}
