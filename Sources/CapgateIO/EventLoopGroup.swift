import Glibc
import Synchronization

/// N event loops on N dedicated threads (SwiftNIO's
/// `MultiThreadedEventLoopGroup` shape), with round-robin `next()`.
///
/// Threads are plain pthreads, not Swift concurrency: a loop blocks in
/// epoll_wait and must own its thread.
public final class EventLoopGroup: Sendable {
    /// One handle per loop, in thread order.
    public let handles: [EventLoopHandle]
    private let threads: Mutex<[pthread_t]>
    private let cursor = Atomic<Int>(0)
    private let failures = FailureLog()

    /// The default loop count: one per online core.
    public static var defaultLoopCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Creates `count` loops and starts each on its own thread. Threads
    /// inherit the caller's signal mask: block signals first (see
    /// `SignalWatcher.blockSignals`).
    public init(count: Int = EventLoopGroup.defaultLoopCount) throws(IOError) {
        precondition(count > 0, "an event loop group needs at least one loop")
        var loops: [EventLoop] = []
        for _ in 0..<count { loops.append(try EventLoop()) }
        handles = loops.map(\.handle)
        threads = Mutex([])
        var started: [pthread_t] = []
        for loop in loops {
            do {
                started.append(try Self.spawn(loop, failures: failures))
            } catch {
                for h in handles { h.stop() }
                for t in started { pthread_join(t, nil) }
                throw error
            }
        }
        threads.withLock { $0 = started }
    }

    deinit { shutdown() }

    /// The next loop, round robin (thread-safe).
    public func next() -> EventLoopHandle {
        let n = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        return handles[Int(UInt(bitPattern: n) % UInt(handles.count))]
    }

    /// Errors that made a loop's `run()` exit early (normally empty).
    public var loopFailures: [IOError] { failures.all }

    /// Blocks the calling thread until every loop has stopped (for example
    /// after a SIGTERM callback called `stop()` on each handle), without
    /// asking them to stop. For a server's main thread.
    public func waitUntilStopped() {
        precondition(!handles.contains(where: { $0.inEventLoop }), "a loop thread cannot wait for itself")
        joinAll()
    }

    /// Stops every loop and joins its thread (each loop first runs its
    /// queued tasks and hangs up its handlers). Idempotent. From a loop
    /// thread it only requests the stop: joining itself would deadlock.
    public func shutdown() {
        for h in handles { h.stop() }
        if handles.contains(where: { $0.inEventLoop }) { return }
        joinAll()
    }

    private func joinAll() {
        let toJoin = threads.withLock { t -> [pthread_t] in
            let all = t
            t = []
            return all
        }
        for t in toJoin { pthread_join(t, nil) }
    }

    /// Moves `loop` to a new thread. The creating thread never touches it
    /// again: ownership passes through the box, which is why the unchecked
    /// transfer is sound.
    private static func spawn(_ loop: EventLoop, failures: FailureLog) throws(IOError) -> pthread_t {
        let box = Unmanaged.passRetained(LoopBox(loop: loop, failures: failures)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<LoopBox>.fromOpaque(raw!).takeRetainedValue()
            let loop = box.loop
            do throws(IOError) {
                try loop.run()
            } catch {
                box.failures.record(error)
            }
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<LoopBox>.fromOpaque(box).release()
            throw IOError(errno: rc, call: "pthread_create")
        }
        return thread
    }
}

/// Carries a loop to its thread (see `EventLoopGroup.spawn`): the creating
/// thread gives the loop up, so the unchecked transfer is sound.
private final class LoopBox: @unchecked Sendable {
    let loop: EventLoop
    let failures: FailureLog
    init(loop: EventLoop, failures: FailureLog) {
        self.loop = loop
        self.failures = failures
    }
}

/// Errors that ended a loop thread, readable from any thread.
private final class FailureLog: Sendable {
    private let errors = Mutex<[IOError]>([])
    func record(_ error: IOError) { errors.withLock { $0.append(error) } }
    var all: [IOError] { errors.withLock { $0 } }
}
