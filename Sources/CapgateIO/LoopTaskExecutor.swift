/// Runs Swift concurrency jobs on an event loop's own thread.
///
/// A request handled by a task on the cooperative pool costs two thread hand-offs per request
/// (loop -> pool worker to start the handler, pool -> loop through the eventfd to answer) and
/// two wake-ups of sleeping threads: on a small machine that was most of a cheap verb's time.
/// A task started with this executor as its preference (`Task(executorPreference:)`) runs on
/// the loop after the current batch of events, and a handler that never really suspends
/// answers in the same loop iteration, with no eventfd write and no other thread woken.
///
/// The price is the one of any event loop: work in such a task holds the loop, so it must not
/// block the thread (await instead; the stores already resume continuations from their own
/// threads). Jobs enqueued from other threads (a continuation resumed by a store's writer)
/// come in through `EventLoopHandle.execute`. Once the loop has shut down, jobs run on the
/// global concurrent executor so no task is ever stranded.
public final class LoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the only stored property is the Sendable handle.
    private let handle: EventLoopHandle

    /// An executor for the loop behind `handle` (any number may exist: they all run jobs there).
    public init(handle: EventLoopHandle) {
        self.handle = handle
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let accepted = handle.execute { [self] _ in
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
        if !accepted {
            globalConcurrentExecutor.enqueue(job)
        }
    }
}
