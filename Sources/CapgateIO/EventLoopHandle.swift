import CIOShims
import Glibc
import Synchronization

/// The thread-safe face of an `EventLoop`: the only way other threads talk
/// to a loop. Posts closures into a locked queue and wakes the loop through
/// an eventfd.
///
/// The handle owns the eventfd and closes it in `deinit`, so a thread still
/// holding a handle can never write into an fd number the loop already gave
/// back to the kernel (and that a new connection may have received).
public final class EventLoopHandle: Sendable {
    /// A task posted from another thread; it receives the loop on the loop's
    /// own thread, so it need not (and cannot) capture the non-Sendable loop.
    public typealias Task = @Sendable (EventLoop) -> Void

    private struct State {
        var tasks: [Task] = []
        var wakePending = false
        /// A task was posted from the loop's own thread: the loop takes it without an eventfd
        /// write (it is awake by definition and checks this before sleeping).
        var queuedOnLoop = false
        var accepting = true
    }

    let wakeFD: Int32
    private let state = Mutex(State())
    private let stopRequested = Atomic<Bool>(false)
    private let owner = Atomic<UInt>(0)

    init() throws(IOError) {
        wakeFD = Int32(try Syscall.checked("eventfd") { Int(capgate_eventfd()) })
    }

    deinit { _ = Glibc.close(wakeFD) }

    /// Runs `task` on the loop's thread, after the current batch of events.
    /// Returns false (and drops the task) once the loop has shut down: the
    /// caller must then release what the task would have owned (for example
    /// close an accepted fd). Tasks still queued when the loop stops are run
    /// during its shutdown, never silently dropped.
    @discardableResult
    public func execute(_ task: @escaping Task) -> Bool {
        let onLoop = inEventLoop
        let mustWake = state.withLock { (s) -> Bool? in
            guard s.accepting else { return nil }
            s.tasks.append(task)
            if onLoop {
                s.queuedOnLoop = true
                return false
            }
            if s.wakePending { return false }
            s.wakePending = true
            return true
        }
        guard let mustWake else { return false }
        if mustWake { wake() }
        return true
    }

    /// Asks the loop to leave `run()` after the current iteration. Callable
    /// from any thread, idempotent.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    /// True on the thread currently running this loop.
    public var inEventLoop: Bool {
        owner.load(ordering: .acquiring) == capgate_thread_self()
    }

    /// The pthread running this loop (0 when not running); lets a test or a
    /// signal set-up direct a signal at the loop thread.
    public var threadID: UInt { owner.load(ordering: .acquiring) }

    // MARK: - Loop side

    var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    func bindOwner() { owner.store(capgate_thread_self(), ordering: .releasing) }
    func unbindOwner() { owner.store(0, ordering: .releasing) }

    /// True when the loop's own thread posted tasks since the last `takeTasks`.
    var hasTasksQueuedOnLoop: Bool { state.withLock { $0.queuedOnLoop } }

    /// Takes the queued tasks; a later `execute` will write the eventfd again.
    func takeTasks() -> [Task] {
        state.withLock { s in
            s.wakePending = false
            s.queuedOnLoop = false
            let batch = s.tasks
            s.tasks = []
            return batch
        }
    }

    /// Refuses further tasks and returns the ones still queued.
    func close() -> [Task] {
        state.withLock { s in
            s.accepting = false
            let batch = s.tasks
            s.tasks = []
            return batch
        }
    }

    private func wake() {
        // EAGAIN means the counter is saturated: the loop is already due to wake.
        _ = capgate_eventfd_signal(wakeFD)
    }
}
