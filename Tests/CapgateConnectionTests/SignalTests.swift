import CapgateConnection
import Glibc
import Testing

@Suite("Signal wiring")
struct SignalTests {
    /// Thread-directed signals at the loop thread (the watcher blocks them there), so the
    /// test process's other threads are never affected.
    @Test func sighupReloadsAndSigtermDrains() async throws {
        let fixture = try TestServer(loops: 1)
        let reloaded = AsyncEvent()
        try fixture.server.installSignalHandlers(onReload: { reloaded.fire() })
        let loopThread = fixture.server.loopHandles[0].threadID
        #expect(loopThread != 0)

        #expect(pthread_kill(pthread_t(loopThread), SIGHUP) == 0)
        await reloaded.wait()
        _ = await fixture.logger.waitForLine(containing: "SIGHUP")
        #expect(fixture.server.isAcceptingConnections)

        #expect(pthread_kill(pthread_t(loopThread), SIGTERM) == 0)
        await waitUntilStopped(fixture.server)
        #expect(!fixture.server.isAcceptingConnections)
        _ = await fixture.logger.waitForLine(containing: "graceful shutdown")
    }
}
