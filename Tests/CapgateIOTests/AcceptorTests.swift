import CapgateIO
import Glibc
import Testing

@Suite(.timeLimit(.minutes(1))) struct AcceptorTests {
    private func startEcho(group: EventLoopGroup, limiter: ConnectionLimiter,
                           server: EchoServer) throws -> Acceptor {
        try Acceptor(host: "127.0.0.1", port: 0, on: group.handles[0], distributingTo: group.handles,
                     limiter: limiter) { connection, loop in server.accept(connection, on: loop) }
    }

    @Test func echoServesManyClientsAcrossLoops() async throws {
        let group = try EventLoopGroup(count: 2)
        defer { group.shutdown() }
        let server = EchoServer()
        let acceptor = try startEcho(group: group, limiter: ConnectionLimiter(maxConnections: 100), server: server)
        #expect(acceptor.localPort != 0)

        let clients = try (0..<8).map { _ in try connectClient(port: acceptor.localPort) }
        for round in 0..<3 {
            for (i, client) in clients.enumerated() {
                let message = "client \(i) round \(round) " + String(repeating: "x", count: 1000 * i)
                #expect(try roundTrip(client, message) == message)
            }
        }
        #expect(acceptor.accepted == 8)
        // Round robin over both loops: 4 connections each.
        let threads = server.loopThreads
        #expect(Set(threads).count == 2)
        #expect(threads.filter { $0 == threads[0] }.count == 4)

        for client in clients { client.close() }
        await server.closed.wait(for: 8)
        #expect(server.closed.count == 8)
    }

    @Test func stopAcceptingRefusesNewConnectionsButKeepsExistingOnes() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let server = EchoServer()
        let acceptor = try startEcho(group: group, limiter: ConnectionLimiter(maxConnections: 100), server: server)
        let existing = try connectClient(port: acceptor.localPort)
        #expect(try roundTrip(existing, "before") == "before")

        await withCheckedContinuation { done in acceptor.stopAccepting { done.resume() } }
        #expect(!acceptor.isListening)
        #expect(throws: IOError(errno: ECONNREFUSED, call: "connect")) {
            try Socket.connect(host: "127.0.0.1", port: acceptor.localPort)
        }
        #expect(try roundTrip(existing, "after") == "after")
        #expect(acceptor.accepted == 1)
    }

    @Test func connectionCapClosesExtraConnectionsAndCountsThem() async throws {
        let group = try EventLoopGroup(count: 2)
        defer { group.shutdown() }
        let server = EchoServer()
        let limiter = ConnectionLimiter(maxConnections: 2)
        let acceptor = try startEcho(group: group, limiter: limiter, server: server)

        let a = try connectClient(port: acceptor.localPort)
        let b = try connectClient(port: acceptor.localPort)
        #expect(try roundTrip(a, "a") == "a")
        #expect(try roundTrip(b, "b") == "b")

        // The TCP handshake completes in the kernel backlog; the acceptor
        // then closes the connection because the cap is reached.
        let c = try connectClient(port: acceptor.localPort)
        #expect(try peerCloses(c))
        #expect(limiter.rejected == 1)
        #expect(limiter.active == 2)
        #expect(acceptor.accepted == 2)

        // Closing one connection frees its permit; a new client fits again.
        a.close()
        await server.closed.wait(for: 1)
        #expect(limiter.active == 1)
        let d = try connectClient(port: acceptor.localPort)
        #expect(try roundTrip(d, "d") == "d")
        #expect(limiter.active == 2)
        #expect(limiter.rejected == 1)
    }

    /// Fail closed: a connection dealt to a loop that has shut down is
    /// closed, its permit returned and the failure counted.
    @Test func handOffToStoppedLoopClosesConnectionAndReleasesPermit() async throws {
        let acceptLoop = try EventLoopGroup(count: 1)
        defer { acceptLoop.shutdown() }
        let gone = try EventLoopGroup(count: 1)
        gone.shutdown()
        let limiter = ConnectionLimiter(maxConnections: 10)
        let acceptor = try Acceptor(host: "127.0.0.1", port: 0, on: acceptLoop.handles[0],
                                    distributingTo: gone.handles, limiter: limiter) { _, _ in }
        let client = try connectClient(port: acceptor.localPort)
        #expect(try peerCloses(client))
        #expect(limiter.active == 0)
        #expect(acceptor.acceptErrors == 1)
    }

    @Test func permitIsReleasedWhenDroppedAndOnlyOnce() {
        let limiter = ConnectionLimiter(maxConnections: 1)
        var permit = limiter.tryAcquire()
        #expect(permit != nil)
        #expect(limiter.tryAcquire() == nil)
        permit?.release()
        permit?.release()
        #expect(limiter.active == 0)
        permit = limiter.tryAcquire()
        #expect(limiter.active == 1)
        permit = nil
        #expect(limiter.active == 0)
        #expect(limiter.rejected == 1)
    }
}
