import CapgateIO
import CapgateTesting
import Glibc
import Testing

@Suite(.timeLimit(.minutes(1))) struct SignalWatcherTests {
    /// In-process: the test runner's own threads do not block SIGHUP, so a
    /// process-directed kill could kill the runner. Direct the signal at the
    /// loop thread, which the watcher blocked. (The process-wide path is
    /// covered by `processDirectedSignalReachesWatcher`.)
    @Test func threadDirectedSignalIsDelivered() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let handle = group.next()
        let received = Latch()
        let signals = LoopLocal<[Int32]>([])
        let ready = await onLoop(handle) { loop -> Bool in
            do {
                let watcher = try SignalWatcher(signals: [SIGHUP, SIGUSR1], loop: loop) { signal in
                    signals.value.append(signal)
                    received.increment()
                }
                _ = watcher // retained by the loop's registration
                return true
            } catch {
                return false
            }
        }
        #expect(ready == true)
        #expect(pthread_kill(handle.threadID, SIGHUP) == 0)
        await received.wait(for: 1)
        #expect(pthread_kill(handle.threadID, SIGUSR1) == 0)
        await received.wait(for: 2)
        let seen = await onLoop(handle) { _ in signals.value }
        #expect(seen == [SIGHUP, SIGUSR1])
    }

    /// Process-directed `kill(getpid(), SIGHUP)` in a child process that
    /// blocks the signals in main before starting its loop (the documented
    /// set-up), built from Tests/CapgateIOSignalProbe.
    @Test func processDirectedSignalReachesWatcher() throws {
        let probe = try #require(Products.executable("capgate-io-signal-probe"), "capgate-io-signal-probe not built next to the test bundle")
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(probe), nil]
        defer { for p in argv { free(p) } }
        let env: [UnsafeMutablePointer<CChar>?] = [nil]
        #expect(posix_spawn(&pid, probe, nil, nil, argv, env) == 0)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED && WEXITSTATUS == 0: the probe saw SIGHUP via its signalfd.
        #expect(status & 0x7f == 0, "probe was killed by signal \(status & 0x7f)")
        #expect((status >> 8) & 0xff == 0, "probe exit status \((status >> 8) & 0xff)")
    }
}
