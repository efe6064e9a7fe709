import CapgateIO
import Glibc
import Synchronization
import Testing

/// Touched only on the loop thread; the unchecked conformance lets the
/// test's @Sendable tasks carry it there.
final class LoopLocal<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

final class RecordingHandler: EventHandler {
    let hangups: Latch
    let socket: Socket?
    init(hangups: Latch, socket: Socket? = nil) {
        self.hangups = hangups
        self.socket = socket
    }
    func readable() {}
    func writable() {}
    func hangup() {
        socket?.close()
        hangups.increment()
    }
}

@Suite(.timeLimit(.minutes(1))) struct EventLoopTests {
    /// An idle loop sits in epoll_wait(-1); only the eventfd can wake it.
    @Test func crossThreadSubmitWakesIdleLoop() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let handle = group.next()
        let ranOnLoop = await onLoop(handle) { _ in handle.inEventLoop }
        #expect(ranOnLoop == true)
        #expect(!handle.inEventLoop)
    }

    /// Tasks from several threads all run, on the loop thread, none lost.
    @Test func concurrentSubmittersAllRun() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let handle = group.next()
        let counter = LoopLocal(0)
        let wrongThread = Latch()
        await withTaskGroup(of: Void.self) { tasks in
            for _ in 0..<4 {
                tasks.addTask {
                    for _ in 0..<500 {
                        handle.execute { _ in
                            if !handle.inEventLoop { wrongThread.increment() }
                            counter.value += 1
                        }
                    }
                }
            }
        }
        // The queue is FIFO: this task runs after every earlier one.
        let total = await onLoop(handle) { _ in counter.value }
        #expect(total == 2000)
        #expect(wrongThread.count == 0)
    }

    @Test func timersFireInDeadlineOrderAndCancelledOnesDoNot() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let handle = group.next()
        let (order, cancelled): ([Int], Bool) = await withCheckedContinuation { continuation in
            handle.execute { loop in
                var fired: [Int] = []
                var cancelled = false
                let start = Deadline.now()
                for ms in [30, 10, 20, 5, 25] {
                    let id = loop.scheduleTimer(at: start + .milliseconds(ms)) { fired.append(ms) }
                    if ms == 20 { cancelled = loop.cancelTimer(id) }
                }
                // Latest deadline: fires last. Nothing else wakes this loop,
                // so reaching it proves epoll_wait's timeout follows the heap.
                loop.scheduleTimer(at: start + .milliseconds(40)) {
                    continuation.resume(returning: (fired, cancelled))
                }
            }
        }
        #expect(cancelled)
        #expect(order == [5, 10, 25, 30])
    }

    @Test func timerScheduledFromTimerAndCancelAfterFireIsNoOp() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let result: (Bool, Int) = await withCheckedContinuation { continuation in
            group.next().execute { loop in
                var firstID: TimerID?
                firstID = loop.scheduleTimer(after: .milliseconds(1)) {
                    loop.scheduleTimer(after: .zero) {
                        continuation.resume(returning: (loop.cancelTimer(firstID!), loop.pendingTimerCount))
                    }
                }
            }
        }
        #expect(result.0 == false)
        #expect(result.1 == 0)
    }

    /// Shutdown runs tasks still queued and hangs up registered handlers, so
    /// neither fds nor permits leak.
    @Test func shutdownHangsUpRemainingHandlers() async throws {
        let group = try EventLoopGroup(count: 1)
        let hangups = Latch()
        let registered = await onLoop(group.next()) { loop -> Int in
            let (a, b) = socketPair()
            for fd in [a, b] {
                try? loop.register(fd, interest: .read,
                                   handler: RecordingHandler(hangups: hangups, socket: Socket(adopting: fd)))
            }
            return loop.registeredCount
        }
        #expect(registered == 2)
        group.shutdown()
        #expect(hangups.count == 2)
        #expect(group.loopFailures.isEmpty)
        // The loop is gone: submissions are refused, not silently dropped.
        #expect(group.next().execute { _ in } == false)
    }

    @Test func roundRobinVisitsEveryLoop() throws {
        let group = try EventLoopGroup(count: 3)
        defer { group.shutdown() }
        let picked = (0..<6).map { _ in ObjectIdentifier(group.next()) }
        let expected = group.handles.map { ObjectIdentifier($0) }
        #expect(picked == expected + expected)
    }

    @Test func registerRejectsDuplicateAndDeregisterUnknownIsFalse() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let outcome = await onLoop(group.next()) { loop -> (Bool, Bool, Bool) in
            let socket = try? Socket.listen(host: "127.0.0.1", port: 0)
            guard let socket else { return (false, false, false) }
            let handler = RecordingHandler(hangups: Latch())
            let first = (try? loop.register(socket.descriptor, handler: handler)) != nil
            let second = (try? loop.register(socket.descriptor, handler: handler)) != nil
            let removed = loop.deregister(socket.descriptor)
            let removedAgain = loop.deregister(socket.descriptor)
            return (first && !second, removed, removedAgain)
        }
        #expect(outcome?.0 == true)
        #expect(outcome?.1 == true)
        #expect(outcome?.2 == false)
    }
}
