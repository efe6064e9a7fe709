import Synchronization

/// What one pull from a streaming driver produced.
enum ChunkPull: Sendable {
    case chunk(JSONObject)
    case end
    case failure(any Error)
    case timedOut
    case cancelled
}

/// Pulls a streaming driver's chunks one at a time, each against an inactivity deadline.
///
/// WHY a task of its own: the deadline must hold even if the driver never returns from `next()`
/// (as `DeadlineRace` does for `execute`), and an async iterator cannot be raced from a child
/// task. The pump task owns the iterator and advances it only when `pull` asks (no read-ahead,
/// so the driver is stalled exactly as long as the consumer is); each pull resolves once, with
/// the first of: the chunk/end/error, the timer, or the caller's cancellation. After anything
/// but a chunk the caller `close`s the pump, which cancels the task and thereby terminates the
/// driver's sequence.
final class ChunkPump: Sendable {
    private let box = PullBox()
    private let demand: AsyncStream<Void>.Continuation
    private let task: Task<Void, Never>

    init(_ chunks: AsyncThrowingStream<JSONObject, any Error>) {
        let (demands, demand) = AsyncStream<Void>.makeStream(bufferingPolicy: .unbounded)
        self.demand = demand
        let box = self.box
        task = Task {
            var iterator = chunks.makeAsyncIterator()
            for await _ in demands {
                let result: ChunkPull
                do {
                    if let chunk = try await iterator.next() { result = .chunk(chunk) } else { result = .end }
                } catch is CancellationError {
                    result = .cancelled
                } catch {
                    result = .failure(error)
                }
                box.resolve(round: nil, result)
                guard case .chunk = result else { return }
            }
        }
    }

    deinit { close() }

    /// Stops the driver: no more pulls will be answered.
    func close() {
        demand.finish()
        task.cancel()
    }

    /// The next chunk, or why there is none. `timeout` (seconds) bounds only this wait.
    func pull(timeout: Double?) async -> ChunkPull {
        let box = self.box
        let round = box.begin()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<ChunkPull, Never>) in
                guard box.install(c) else { return }
                demand.yield(())
                if let t = timeout, t.isFinite, t <= FallbackExecutor.maxArmedSeconds {
                    let timer = Task {
                        guard (try? await Task.sleep(for: .seconds(max(t, 0)))) != nil else { return }
                        box.resolve(round: round, .timedOut)
                    }
                    box.adopt(timer, round: round)
                }
            }
        } onCancel: {
            box.resolve(round: round, .cancelled)
        }
    }

}

/// The per-pull rendezvous of `ChunkPump`: one continuation per round, resumed exactly once.
private final class PullBox: Sendable {
    private struct State {
        var round = 0
        var resolved = false
        var waiter: CheckedContinuation<ChunkPull, Never>?
        var early: ChunkPull?
        var timer: Task<Void, Never>?
    }
    private let state = Mutex(State())

    /// Starts a round and returns its number.
    func begin() -> Int {
        state.withLock { s in
            s.round += 1
            s.resolved = false
            s.early = nil
            return s.round
        }
    }

    /// Parks the caller; false (and resumed at once) when the round already has its result
    /// (the caller was cancelled before it got here).
    func install(_ c: CheckedContinuation<ChunkPull, Never>) -> Bool {
        let ready: ChunkPull? = state.withLock { s in
            if let e = s.early { return e }
            s.waiter = c
            return nil
        }
        guard let ready else { return true }
        c.resume(returning: ready)
        return false
    }

    /// Keeps the round's timer so the result can cancel it; a timer for a finished round is
    /// cancelled at once.
    func adopt(_ timer: Task<Void, Never>, round: Int) {
        let keep = state.withLock { s in
            if s.round == round && !s.resolved { s.timer = timer; return true }
            return false
        }
        if !keep { timer.cancel() }
    }

    /// First result of a round wins; `round` nil means "the current one" (the pump only works
    /// inside the current round).
    func resolve(round: Int?, _ result: ChunkPull) {
        let taken: (CheckedContinuation<ChunkPull, Never>?, Task<Void, Never>?)? = state.withLock { s in
            if let round, round != s.round { return nil }
            if s.resolved { return nil }
            s.resolved = true
            let out = (s.waiter, s.timer)
            if out.0 == nil { s.early = result }
            s.waiter = nil
            s.timer = nil
            return out
        }
        guard let (waiter, timer) = taken else { return }
        timer?.cancel()
        waiter?.resume(returning: result)
    }
}
