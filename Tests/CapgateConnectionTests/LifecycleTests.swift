import CapgateConnection
import CapgateCore
import CapgateHTTPClient
import CapgateIO
import CapgateTesting
import Foundation
import Testing

/// Blocks a plain thread (not the cooperative pool) until the server's loops are gone.
func waitUntilStopped(_ server: Server) async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        Thread.detachNewThread {
            server.waitUntilStopped()
            c.resume()
        }
    }
}

@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    @Test func inFlightRequestFinishesThenNewConnectionsAreRefused() async throws {
        let fixture = try TestServer()
        let client = try fixture.client()
        defer { client.close() }
        let slow = Task { try await client.send(path: "/slow") }
        await fixture.handler.slowEntered.wait()

        let listenerClosed = AsyncEvent()
        fixture.server.beginGracefulShutdown(listenerClosed: { listenerClosed.fire() })
        await listenerClosed.wait()
        #expect(!fixture.server.isAcceptingConnections)
        // The listening socket is closed: the kernel refuses the TCP connect.
        #expect(throws: HTTPClientError.self) { _ = try fixture.client() }

        fixture.handler.slowGate.fire()
        let response = try await slow.value
        #expect(response.status == 200)
        #expect(echoField(response.body, "path") == "/slow")

        await waitUntilStopped(fixture.server)
        let why = await client.waitUntilClosed()
        #expect(why == .connectionClosed)
        #expect(fixture.server.stats.closedByReason["server_shutdown"] == 1)
        #expect(fixture.server.stats.active == 0)
    }

    @Test func shutdownWithoutConnectionsStopsAtOnce() async throws {
        let fixture = try TestServer()
        fixture.server.beginGracefulShutdown()
        await waitUntilStopped(fixture.server)
        #expect(fixture.server.stats.active == 0)
    }
}

@Suite("TLS reload")
struct ReloadTests {
    private func material(_ leaf: TestIdentity) -> TLSServerMaterialForTests {
        TLSServerMaterialForTests(leaf: leaf)
    }

    @Test func newConnectionsSeeNewCertificateOldOnesKeepWorking() async throws {
        let certs = TestCertificates.shared
        let fixture = try TestServer()
        defer { fixture.stop() }
        let old = try fixture.client()
        defer { old.close() }
        #expect(try await old.send(path: "/before").status == 200)

        // Before the reload, a client trusting only the new server CA cannot connect.
        let early = try fixture.client(serverCA: certs.serverCA2)
        defer { early.close() }
        await #expect(throws: HTTPClientError.self) { _ = try await early.send(path: "/x") }

        try fixture.server.reloadTLS(material(certs.server2).value)
        #expect(fixture.server.tlsGeneration == 2)

        let fresh = try fixture.client(serverCA: certs.serverCA2)
        defer { fresh.close() }
        #expect(try await fresh.send(path: "/after").status == 200)
        // The existing connection keeps its TLS session and keeps serving.
        #expect(try await old.send(path: "/still").status == 200)
    }

    @Test func corruptedMaterialIsRefusedAndOldOneKeepsServing() async throws {
        let certs = TestCertificates.shared
        let fixture = try TestServer()
        defer { fixture.stop() }
        var corrupted = material(certs.server2).value
        corrupted.certificateChainPEM = Array("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".utf8)
        #expect(throws: TLSErrorForTests.self) { try fixture.server.reloadTLS(corrupted) }
        var mismatched = material(certs.server2).value
        mismatched.privateKeyPEM = certs.server.keyPEM
        #expect(throws: TLSErrorForTests.self) { try fixture.server.reloadTLS(mismatched) }
        #expect(fixture.server.tlsGeneration == 1)

        let client = try fixture.client()  // trusts the ORIGINAL server CA only
        defer { client.close() }
        #expect(try await client.send(path: "/v1/echo").status == 200)
        _ = await fixture.logger.waitForLine(containing: "TLS reload refused")
    }
}

@Suite("Timeouts and caps")
struct TimeoutAndCapTests {
    @Test func idleTimeoutClosesIdleConnection() async throws {
        var limits = GatewayLimits()
        limits.idleTimeout = 0.2
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let client = try fixture.client()
        defer { client.close() }
        #expect(try await client.send(path: "/v1/echo").status == 200)
        let why = await client.waitUntilClosed()  // the close event, not a sleep
        #expect(why == .connectionClosed)
        let line = await fixture.logger.waitForLine(containing: "reason=idle_timeout")
        #expect(line.contains("peer=\(TestCertificates.agentID)"))
        #expect(line.contains("requests=1"))
    }

    @Test func firstRequestTimeout() async throws {
        var limits = GatewayLimits()
        limits.firstRequestTimeout = 0.2
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let client = try fixture.client()
        defer { client.close() }
        try await client.waitUntilReady()
        _ = await client.waitUntilClosed()
        _ = await fixture.logger.waitForLine(containing: "reason=first_request_timeout")
        #expect(fixture.server.stats.trips["first_request_timeout"] == 1)
    }

    @Test func handshakeTimeoutClosesSilentPeer() async throws {
        var limits = GatewayLimits()
        limits.handshakeTimeout = 0.2
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let socket = try Socket.connect(host: "127.0.0.1", port: fixture.port)
        try socket.setReceiveTimeout(.seconds(10))  // safety net only; EOF comes after 0.2 s
        var buffer = [UInt8](repeating: 0, count: 64)
        let result = try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
        #expect(result == .processed(0))
        _ = await fixture.logger.waitForLine(containing: "reason=handshake_timeout")
        #expect(fixture.server.stats.trips["handshake_timeout"] == 1)
        #expect(fixture.server.stats.established == 0)
    }

    @Test func maxConnectionAgeDrainsConnection() async throws {
        var limits = GatewayLimits()
        limits.maxConnectionAge = 0.3
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let client = try fixture.client()
        defer { client.close() }
        #expect(try await client.send(path: "/v1/echo").status == 200)
        _ = await client.waitUntilClosed()
        _ = await fixture.logger.waitForLine(containing: "reason=max_connection_age")
    }

    @Test func perIPCap() async throws {
        var limits = GatewayLimits()
        limits.maxConnectionsPerIP = 2
        // The first two connections send nothing for a while: on a loaded machine the 10 s
        // first-request timeout could free a slot before the third connects.
        limits.firstRequestTimeout = 120
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let first = try fixture.client()
        let second = try fixture.client()
        defer { second.close() }
        try await first.waitUntilReady()
        try await second.waitUntilReady()
        let third = try fixture.client()
        defer { third.close() }
        await #expect(throws: HTTPClientError.self) { try await third.waitUntilReady() }
        #expect(fixture.server.stats.rejectedPerIP == 1)
        _ = await fixture.logger.waitForLine(containing: "reason=per_ip_cap")

        // A slot frees up when a connection ends.
        first.close()
        _ = await fixture.logger.waitForLine(containing: "connection closed")
        let fourth = try fixture.client()
        defer { fourth.close() }
        #expect(try await fourth.send(path: "/v1/echo").status == 200)
    }
}

@Suite("Request timeout")
struct RequestTimeoutTests {
    @Test func stalledRequestBodyIsResetAndCounted() async throws {
        var limits = GatewayLimits()
        limits.requestTimeout = 0.3
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let certs = TestCertificates.shared
        let curl = try startCurlWithEndlessUpload([
            "--http2", "--cert", certs.path("agent.pem"), "--key", certs.path("agent-key.pem"),
            "--cacert", certs.path("server-ca.pem"), "https://127.0.0.1:\(fixture.port)/v1/echo",
        ])
        defer {
            kill(curl.process.processIdentifier, SIGKILL)
            curl.process.waitUntilExit()
            try? curl.stdin.fileHandleForWriting.close()
        }
        // The server resets the stalled stream (RST_STREAM CANCEL) after requestTimeout.
        let line = await fixture.logger.waitForLine(containing: "trip=request_timeout")
        #expect(line.contains("code=CANCEL"))
        #expect(line.contains("peer=\(TestCertificates.agentID)"))
        #expect(fixture.server.stats.trips["request_timeout"] == 1)
        #expect(fixture.server.stats.requests == 0)
    }
}
