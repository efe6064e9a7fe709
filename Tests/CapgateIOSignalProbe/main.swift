// Test helper for SignalWatcherTests: proves the documented set-up
// (block signals in main, then start loops) turns a process-directed
// `kill(getpid(), SIGHUP)` into a loop callback.
// Exit 0: SIGHUP seen; 2: timed out; 3: wrong signal; 4: set-up failed.
import CapgateIO
import Glibc
import Synchronization

do {
    try SignalWatcher.blockSignals()
    let group = try EventLoopGroup(count: 2)
    let outcome = Atomic<Int32>(2)
    group.handles[0].execute { loop in
        do {
            _ = try SignalWatcher(loop: loop) { signal in
                outcome.store(signal == SIGHUP ? 0 : 3, ordering: .relaxed)
                group.shutdown()
            }
            // Watchdog: fail instead of hanging if the signal never arrives.
            loop.scheduleTimer(after: .seconds(20)) { group.shutdown() }
            // Process-directed: every thread blocks SIGHUP, so it stays
            // pending for the process until the signalfd reads it.
            kill(getpid(), SIGHUP)
        } catch {
            outcome.store(4, ordering: .relaxed)
            group.shutdown()
        }
    }
    group.waitUntilStopped()
    exit(outcome.load(ordering: .relaxed))
} catch {
    exit(4)
}
