import CIOShims
import Glibc

/// One edge-triggered epoll loop, confined to the thread that calls `run()`.
///
/// Everything registered here (handlers, timers, local tasks) is touched only
/// from that thread, so connections need no locks. Other threads reach the
/// loop only through `handle` (`EventLoopHandle.execute`, `stop`), which is
/// `Sendable` and wakes the loop through an eventfd.
///
/// Not `Sendable` on purpose. Create it on any thread, then run it on
/// exactly one (`EventLoopGroup` does both).
public final class EventLoop {
    /// Thread-safe submitter for this loop.
    public let handle: EventLoopHandle

    /// Scratch space for reads, shared by every handler of this loop: a read
    /// consumes it within one callback (TLS copies into its memory BIO), so
    /// one 64 KiB buffer per loop replaces one per connection.
    public let readBuffer: UnsafeMutableRawBufferPointer

    /// Runs tasks on this loop's thread (`Task(executorPreference:)`); see `LoopTaskExecutor`.
    public let taskExecutor: LoopTaskExecutor

    private struct Registration {
        let fd: Int32
        let handler: any EventHandler
    }

    /// Token 0 is the wake-up eventfd. Tokens are never reused, so an event
    /// for a deregistered fd still in the current epoll batch is dropped even
    /// if the fd number has already been handed to a new connection.
    private static let wakeToken: UInt64 = 0
    private var nextToken: UInt64 = 1
    private var registrations: [UInt64: Registration] = [:]
    /// Counts deregistrations: `dispatch` re-checks a handler's registration between its
    /// callbacks only when this moved.
    private var deregistrations: UInt64 = 0
    private var tokenByFD: [Int32: UInt64] = [:]

    private let epollFD: Int32
    private let events: UnsafeMutablePointer<capgate_epoll_ready>
    private static let maxEvents: Int32 = 256
    /// Rounds of posted tasks one iteration runs (see `runOnce`).
    private static let maxTaskRounds = 4
    private var timers = TimerHeap<() -> Void>()
    private var localTasks: [() -> Void] = []
    private var started = false

    public init() throws(IOError) {
        handle = try EventLoopHandle()
        taskExecutor = LoopTaskExecutor(handle: handle)
        epollFD = Int32(try Syscall.checked("epoll_create1") { Int(capgate_epoll_create()) })
        events = .allocate(capacity: Int(Self.maxEvents))
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        do {
            try Syscall.checked("epoll_ctl(eventfd)") {
                Int(capgate_epoll_ctl(epollFD, CAPGATE_EPOLL_CTL_ADD, handle.wakeFD,
                                      CAPGATE_EPOLLIN | CAPGATE_EPOLLET, Self.wakeToken))
            }
        } catch {
            _ = Glibc.close(epollFD)
            events.deallocate()
            readBuffer.deallocate()
            throw error
        }
    }

    deinit {
        _ = Glibc.close(epollFD)
        events.deallocate()
        readBuffer.deallocate()
    }

    /// Number of registered file descriptors (for metrics and leak tests).
    public var registeredCount: Int { registrations.count }
    /// Number of pending timers.
    public var pendingTimerCount: Int { timers.count }

    // MARK: - Registration

    /// Watches `fd` (edge-triggered) and retains `handler` until
    /// `deregister(_:)`. The fd must be non-blocking.
    public func register(_ fd: Int32, interest: Interest = .all, handler: any EventHandler) throws(IOError) {
        let token = nextToken
        try Syscall.checked("epoll_ctl(ADD)") {
            Int(capgate_epoll_ctl(epollFD, CAPGATE_EPOLL_CTL_ADD, fd, Self.mask(interest), token))
        }
        nextToken += 1
        registrations[token] = Registration(fd: fd, handler: handler)
        tokenByFD[fd] = token
    }

    /// Changes what `fd` is watched for.
    public func reregister(_ fd: Int32, interest: Interest) throws(IOError) {
        guard let token = tokenByFD[fd] else { throw IOError(errno: ENOENT, call: "epoll_ctl(MOD)") }
        try Syscall.checked("epoll_ctl(MOD)") {
            Int(capgate_epoll_ctl(epollFD, CAPGATE_EPOLL_CTL_MOD, fd, Self.mask(interest), token))
        }
    }

    /// Stops watching `fd` and releases its handler. Call before closing the
    /// fd: a dup'ed descriptor would otherwise stay in the epoll set.
    /// Returns false if `fd` was not registered.
    @discardableResult
    public func deregister(_ fd: Int32) -> Bool {
        guard let token = tokenByFD.removeValue(forKey: fd) else { return false }
        registrations[token] = nil
        deregistrations &+= 1
        // ENOENT/EBADF here only mean the fd is already gone from the set.
        _ = capgate_epoll_ctl(epollFD, CAPGATE_EPOLL_CTL_DEL, fd, 0, 0)
        return true
    }

    /// `deregister` for a descriptor the caller closes right away and never duplicated (an
    /// accepted connection): close(2) itself removes it from the epoll set, so the
    /// EPOLL_CTL_DEL syscall is skipped (one per connection). Should the fd have been
    /// duplicated after all, its events carry a token that is never reused and find no handler.
    @discardableResult
    public func deregisterClosing(_ fd: Int32) -> Bool {
        guard let token = tokenByFD.removeValue(forKey: fd) else { return false }
        registrations[token] = nil
        deregistrations &+= 1
        return true
    }

    /// The handler registered for `fd`, if any.
    func handler(for fd: Int32) -> (any EventHandler)? {
        tokenByFD[fd].flatMap { registrations[$0]?.handler }
    }

    private static func mask(_ interest: Interest) -> UInt32 {
        var mask = CAPGATE_EPOLLET
        // EPOLLRDHUP with EPOLLIN: a handler may stop at a short read (`readHangup`).
        if interest.contains(.read) { mask |= CAPGATE_EPOLLIN | CAPGATE_EPOLLRDHUP }
        if interest.contains(.write) { mask |= CAPGATE_EPOLLOUT }
        return mask
    }

    // MARK: - Timers and local tasks

    /// Runs `action` on this loop at `deadline` (monotonic). Timers due in
    /// the same iteration fire in deadline order, ties in scheduling order.
    @discardableResult
    public func scheduleTimer(at deadline: Deadline, _ action: @escaping () -> Void) -> TimerID {
        timers.insert(action, at: deadline)
    }

    /// Runs `action` on this loop after `delay`.
    @discardableResult
    public func scheduleTimer(after delay: Duration, _ action: @escaping () -> Void) -> TimerID {
        timers.insert(action, at: Deadline.now() + delay)
    }

    /// Cancels a pending timer. Returns false if it already fired or was
    /// cancelled (so a handler can cancel unconditionally on close).
    @discardableResult
    public func cancelTimer(_ id: TimerID) -> Bool {
        timers.remove(id) != nil
    }

    /// Runs `task` on this loop after the current batch of events (same
    /// thread; for continuing bounded work such as an accept burst).
    public func executeLater(_ task: @escaping () -> Void) {
        localTasks.append(task)
    }

    /// Asks `run()` to return after the current iteration (same as
    /// `handle.stop()`).
    public func stop() { handle.stop() }

    // MARK: - Running

    /// Serves events, tasks and timers on the calling thread until `stop()`.
    /// A loop runs once. On exit it refuses new tasks, runs the ones still
    /// queued, then calls `hangup()` on every handler still registered and
    /// drops pending timers, so nothing is leaked.
    ///
    /// Ignores SIGPIPE process-wide first: writing to a socket the peer has
    /// reset raises SIGPIPE, whose default action kills the whole process,
    /// and OpenSSL's socket BIO writes with plain write(2), where
    /// MSG_NOSIGNAL cannot be passed.
    public func run() throws(IOError) {
        guard !started else { throw IOError(errno: EINVAL, call: "EventLoop.run (already ran)") }
        started = true
        _ = capgate_ignore_sigpipe()
        handle.bindOwner()
        defer {
            shutDown()
            handle.unbindOwner()
        }
        while !handle.isStopRequested {
            try runOnce()
        }
    }

    private func runOnce() throws(IOError) {
        let ready = try Syscall.checked("epoll_wait") {
            Int(capgate_epoll_wait(epollFD, events, Self.maxEvents, timeoutMilliseconds()))
        }
        var woken = false
        for i in 0..<ready {
            let event = events[i]
            if event.token == Self.wakeToken {
                // Reset the counter so the next write produces a new edge.
                _ = capgate_eventfd_drain(handle.wakeFD)
                woken = true
                continue
            }
            dispatch(event.events, token: event.token)
        }
        // Tasks posted from the loop's own thread wrote no eventfd (`EventLoopHandle.execute`).
        // Those posted by the tasks just run (a handler's answer, a caller resumed by its
        // response posting the next request) run in this same iteration, for a few rounds: a
        // request's handler, its answer and the flush then take one wake-up and no extra
        // epoll_wait. The bound keeps a task that re-posts itself from starving the sockets.
        var rounds = 0
        while (rounds == 0 && woken) || handle.hasTasksQueuedOnLoop, rounds < Self.maxTaskRounds {
            for task in handle.takeTasks() { task(self) }
            rounds += 1
        }
        runLocalTasks()
        fireExpiredTimers()
    }

    private func dispatch(_ mask: UInt32, token: UInt64) {
        guard let handler = registrations[token]?.handler else { return }
        // Before each further callback the registration is checked again: an earlier one may
        // have deregistered the fd (tokens are never reused, so while no deregistration
        // happened at all the handler is still the token's, and the look-up is skipped).
        let seen = deregistrations
        func stillRegistered() -> Bool { deregistrations == seen || registrations[token] != nil }
        if mask & CAPGATE_EPOLLRDHUP != 0 {
            handler.readHangup()
        }
        if mask & (CAPGATE_EPOLLIN | CAPGATE_EPOLLRDHUP) != 0, stillRegistered() {
            handler.readable()
        }
        if mask & CAPGATE_EPOLLOUT != 0, stillRegistered() {
            handler.writable()
        }
        if mask & (CAPGATE_EPOLLERR | CAPGATE_EPOLLHUP) != 0, stillRegistered() {
            handler.hangup()
        }
    }

    private func runLocalTasks() {
        // Tasks queued while running wait for the next iteration, so a task
        // that re-queues itself cannot starve the sockets.
        guard !localTasks.isEmpty else { return }
        let batch = localTasks
        localTasks = []
        for task in batch { task() }
    }

    private func fireExpiredTimers() {
        guard !timers.isEmpty else { return }
        let now = Deadline.now()
        while let action = timers.popExpired(now: now) {
            action()
        }
    }

    /// epoll_wait timeout: 0 with work queued, -1 with nothing scheduled,
    /// else the nearest deadline rounded up to whole milliseconds (rounding
    /// down would wake early and spin until the deadline).
    private func timeoutMilliseconds() -> Int32 {
        if !localTasks.isEmpty || handle.hasTasksQueuedOnLoop { return 0 }
        guard let nearest = timers.nearest else { return -1 }
        let ns = nearest.nanosecondsRemaining(from: .now())
        let ms = (ns + 999_999) / 1_000_000
        return Int32(clamping: ms)
    }

    private func shutDown() {
        for task in handle.close() { task(self) }
        runLocalTasks()
        // Tasks may have queued more local work; one more bounded pass.
        runLocalTasks()
        for token in registrations.keys.sorted() {
            registrations[token]?.handler.hangup()
        }
        for (fd, _) in tokenByFD { _ = capgate_epoll_ctl(epollFD, CAPGATE_EPOLL_CTL_DEL, fd, 0, 0) }
        registrations.removeAll()
        tokenByFD.removeAll()
        timers = TimerHeap()
        localTasks.removeAll()
    }
}
