import CapgateConnection
import CapgateCore
import CapgateHTTPClient
import CapgateIO
import CapgateTLS
import CapgateTesting
import Glibc
import Testing

/// A raw TCP socket to 127.0.0.1:`port`, optionally from another loopback `source` address,
/// that never sends a byte (a silent pre-authentication socket: slowloris on TLS).
final class SilentSocket: Sendable {
    let fd: Int32

    init(port: UInt16, source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errno: errno, call: "socket") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let rc = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { Glibc.close(fd); throw IOError(errno: errno, call: "bind") }
        }
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
        let rc = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { Glibc.close(fd); throw IOError(errno: errno, call: "connect") }
    }

    /// The same over IPv6 to [::1]:`port` (from ::1).
    init(ipv6LoopbackPort port: UInt16) throws {
        fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errno: errno, call: "socket") }
        var remote = sockaddr_in6()
        remote.sin6_family = sa_family_t(AF_INET6)
        remote.sin6_port = port.bigEndian
        inet_pton(AF_INET6, "::1", &remote.sin6_addr)
        let rc = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard rc == 0 else { Glibc.close(fd); throw IOError(errno: errno, call: "connect") }
    }

    deinit { Glibc.close(fd) }

    /// Sends a real ClientHello and nothing after it: a handshake in progress that never
    /// completes (it spends a handshake token, docs/hardening.md "Pre-authentication exhaustion").
    func sendClientHello() throws {
        let certs = TestCertificates.shared
        let material = TLSClientMaterial(certificateChainPEM: certs.agent.certPEM, privateKeyPEM: certs.agent.keyPEM,
                                         trustBundlePEM: certs.serverCA.certPEM)
        let engine = try TLSContext.client(material: material, serverName: "127.0.0.1", alpnProtocols: ["h2"]).makeEngine()
        _ = engine.handshake()
        var hello: [UInt8] = []
        engine.drainCiphertext(into: &hello)
        let sent = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == hello.count else { throw IOError(errno: errno, call: "send") }
    }

    /// Whether the server answered (its handshake flight is waiting to be read) within
    /// `timeoutMs`: the ClientHello was admitted and processed.
    func serverAnswered(timeoutMs: Int32 = 10_000) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMs) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_DONTWAIT) | Int32(MSG_PEEK)) > 0
    }

    /// Whether the server closed this socket (EOF or reset) within `timeoutMs`.
    func closedByServer(timeoutMs: Int32 = 10_000) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMs) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0
    }
}

/// Polls `condition` (server counters) until it holds; records an issue after `timeout`.
/// Polling observable state, never sleeping a guessed time: the test is as fast as the server.
func eventually(timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
                _ condition: () -> Bool) async {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if condition() { return }
        try? await Task.sleep(for: .milliseconds(5))
    }
    Issue.record("condition never held within \(timeout)", sourceLocation: sourceLocation)
}

/// docs/hardening.md "Pre-authentication exhaustion": live, over loopback, with small limits.
@Suite("Pre-auth exhaustion")
struct PreAuthExhaustionTests {
    /// Small budgets, generous rates, long handshake timeout: the silent sockets stay put unless
    /// the budget evicts them.
    static func limits() -> GatewayLimits {
        var l = GatewayLimits()
        l.maxPreAuthPerSource = 4
        l.maxPreAuthGlobal = 8
        l.handshakeTimeout = 120
        return l
    }

    @Test func agentGetsInWhileSilentSocketsFromItsOwnAddressHoldTheBudget() async throws {
        let fixture = try TestServer(limits: Self.limits())
        defer { fixture.stop() }
        // One at a time: sockets are dealt to two loops, and waiting for each admission is what
        // makes attackers[0] the oldest in the budget.
        var attackers: [SilentSocket] = []
        for n in 1...4 {
            attackers.append(try SilentSocket(port: fixture.port))
            await eventually { fixture.server.stats.preAuthActive == n }
        }

        let client = try fixture.client()
        defer { client.close() }
        let response = try await client.send(path: "/v1/echo")
        #expect(response.status == 200)
        #expect(echoField(response.body, "identity") == TestCertificates.agentID)
        #expect(try await client.send(path: "/v1/echo").status == 200)

        // The agent's socket pushed out the oldest silent one (and only that one); the agent
        // itself now counts as authenticated, not pre-auth.
        #expect(fixture.server.stats.preAuthEvictedSource == 1)
        let oldest = attackers[0]
        #expect(try await runBlocking { oldest.closedByServer() })
        await eventually { fixture.server.stats.closedByReason["preauth_evicted"] == 1 }
        await eventually { fixture.server.stats.preAuthActive == 3 }
        #expect(fixture.server.stats.established == 1)
        _ = attackers
    }

    @Test func fullGlobalBudgetFromOtherAddressesEvictsTheOldest() async throws {
        var limits = Self.limits()
        limits.maxPreAuthPerSource = 2
        limits.maxPreAuthGlobal = 4
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        // 127.0.0.0/8 is all loopback on Linux: two more "hosts" fill the global budget.
        var attackers: [SilentSocket] = []
        for source in ["127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"] {
            attackers.append(try SilentSocket(port: fixture.port, source: source))
            let n = attackers.count
            await eventually { fixture.server.stats.preAuthActive == n }  // keeps the admission order known
        }
        let client = try fixture.client()
        defer { client.close() }
        #expect(try await client.send(path: "/v1/echo").status == 200)
        #expect(fixture.server.stats.preAuthEvictedGlobal == 1)
        #expect(fixture.server.stats.preAuthEvictedSource == 0)
        let oldest = attackers[0]
        #expect(try await runBlocking { oldest.closedByServer() })
    }

    /// The same defence on IPv6 loopback: silent sockets from ::1 (source key `::/64`) fill
    /// the source's budget; an agent connecting over ::1 still gets answers.
    @Test func agentGetsInOverIPv6Loopback() async throws {
        var limits = Self.limits()
        limits.maxPreAuthPerSource = 2
        let certs = TestCertificates.shared
        let material = TLSServerMaterial(certificateChainPEM: certs.server.certPEM, privateKeyPEM: certs.server.keyPEM,
                                         trustBundlePEM: certs.clientCA.certPEM)
        let server = try Server(configuration: ServerTransportConfig(host: "::1", port: 0, loops: 2, limits: limits,
                                                                      tls: .material(material)),
                                handler: EchoHandler(limits: limits), logger: AwaitableLogger().asLogger)
        let port = try server.start()
        defer {
            server.stop()
            server.waitUntilStopped()
        }
        var attackers: [SilentSocket] = []
        for n in 1...2 {
            attackers.append(try SilentSocket(ipv6LoopbackPort: port))
            await eventually { server.stats.preAuthActive == n }  // admission order = attackers order
        }
        let tls = try TLSContext.client(material: TLSClientMaterial(certificateChainPEM: certs.agent.certPEM,
                                                                    privateKeyPEM: certs.agent.keyPEM,
                                                                    trustBundlePEM: certs.serverCA.certPEM),
                                        serverName: "127.0.0.1", alpnProtocols: ["h2"])
        let client = try HTTPClientConnection(host: "::1", port: port, tls: tls, requestTimeout: .seconds(60))
        defer { client.close() }
        #expect(try await client.send(path: "/v1/echo").status == 200)
        #expect(server.stats.preAuthEvictedSource == 1)
        let oldest = attackers[0]
        #expect(try await runBlocking { oldest.closedByServer() })
    }

    @Test func perIdentityCapAfterTheHandshake() async throws {
        var limits = GatewayLimits()
        limits.maxConnectionsPerIdentity = 1
        limits.firstRequestTimeout = 120
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let first = try fixture.client()
        defer { first.close() }
        #expect(try await first.send(path: "/v1/echo").status == 200)

        let second = try fixture.client()
        defer { second.close() }
        await #expect(throws: HTTPClientError.self) { _ = try await second.send(path: "/v1/echo") }
        _ = await fixture.logger.waitForLine(containing: "reason=per_identity_cap")
        #expect(fixture.server.stats.rejectedPerIdentity == 1)

        // Another identity from the same address is not affected by the first one's cap.
        let certs = TestCertificates.shared
        let other = certs.clientCA.client("other", serial: 0x300, uris: ["spiffe://example.org/agent/other"])
        let third = try fixture.client(identity: other)
        defer { third.close() }
        let response = try await third.send(path: "/v1/echo")
        #expect(response.status == 200)
        #expect(echoField(response.body, "identity") == "spiffe://example.org/agent/other")
        // And the first identity's slot comes back when its connection ends.
        first.close()
        await eventually { fixture.server.stats.active == 1 }  // only `third` is left
        let fourth = try fixture.client()
        defer { fourth.close() }
        #expect(try await fourth.send(path: "/v1/echo").status == 200)
    }

    @Test func globalCapCountsAuthenticatedConnectionsOnly() async throws {
        var limits = GatewayLimits()
        limits.maxConnectionsGlobal = 1
        limits.maxConnectionsPerIP = 1
        limits.maxConnectionsPerIdentity = 1
        limits.firstRequestTimeout = 120
        limits.handshakeTimeout = 120
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        // Silent sockets do not use the authenticated budget...
        let silent = try SilentSocket(port: fixture.port)
        await eventually { fixture.server.stats.preAuthActive == 1 }
        let first = try fixture.client()
        defer { first.close() }
        #expect(try await first.send(path: "/v1/echo").status == 200)
        // ...but a second authenticated connection (another identity) is over the global cap.
        let other = TestCertificates.shared.clientCA.client("other", serial: 0x301,
                                                            uris: ["spiffe://example.org/agent/other"])
        let second = try fixture.client(identity: other)
        defer { second.close() }
        await #expect(throws: HTTPClientError.self) { _ = try await second.send(path: "/v1/echo") }
        _ = await fixture.logger.waitForLine(containing: "reason=global_cap")
        #expect(fixture.server.stats.rejectedGlobal == 1)
        #expect(fixture.server.stats.preAuthActive == 1)
        _ = silent
    }

    /// The handshake rate is spent when a socket's first bytes arrive: ClientHellos over the
    /// source's rate are closed before any TLS work, and counted.
    @Test func handshakeRatePerSourceTripsAndIsCounted() async throws {
        var limits = Self.limits()
        limits.handshakeRatePerSource = .init(burst: 2, perSecond: 0.001)
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let a = try SilentSocket(port: fixture.port)
        let b = try SilentSocket(port: fixture.port)
        try a.sendClientHello()
        try b.sendClientHello()
        #expect(try await runBlocking { a.serverAnswered() && b.serverAnswered() })
        let c = try SilentSocket(port: fixture.port)
        try c.sendClientHello()
        #expect(try await runBlocking { c.closedByServer() })
        await eventually { fixture.server.stats.closedByReason["handshake_rate_limited"] == 1 }
        #expect(fixture.server.stats.handshakeRateLimitedSource == 1)
        #expect(fixture.server.stats.preAuthActive == 2)
        #expect(fixture.server.stats.preAuthEvictedSource == 0)
        // Another source has a bucket of its own.
        let d = try SilentSocket(port: fixture.port, source: "127.0.0.2")
        try d.sendClientHello()
        #expect(try await runBlocking { d.serverAnswered() })
        #expect(fixture.server.stats.preAuthActive == 3)
        #expect(fixture.server.stats.handshakeRateLimitedSource == 1)
        _ = (a, b, d)
    }

    @Test func handshakeRateGlobalTripsAndIsCounted() async throws {
        var limits = Self.limits()
        limits.handshakeRateGlobal = .init(burst: 2, perSecond: 0.001)
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let a = try SilentSocket(port: fixture.port, source: "127.0.0.2")
        let b = try SilentSocket(port: fixture.port, source: "127.0.0.3")
        try a.sendClientHello()
        try b.sendClientHello()
        #expect(try await runBlocking { a.serverAnswered() && b.serverAnswered() })
        let c = try SilentSocket(port: fixture.port, source: "127.0.0.4")
        try c.sendClientHello()
        #expect(try await runBlocking { c.closedByServer() })
        await eventually { fixture.server.stats.handshakeRateLimitedGlobal == 1 }
        #expect(fixture.server.stats.handshakeRateLimitedSource == 0)
        _ = (a, b)
    }

    /// make attack's slowloris_tls: silent sockets from the agent's own address, far more than
    /// the source's budget AND its handshake rate, spend no handshake token and are evicted
    /// before a handshake in progress, so the agent's new connections still get answers.
    @Test func silentFloodSpendsNoHandshakeTokens() async throws {
        var limits = Self.limits()
        limits.handshakeRatePerSource = .init(burst: 4, perSecond: 0.001)
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        var silent: [SilentSocket] = []
        for _ in 0..<40 { silent.append(try SilentSocket(port: fixture.port)) }
        await eventually { fixture.server.stats.preAuthEvictedSource >= 36 }
        for round in 0..<3 {
            let agent = try fixture.client()
            defer { agent.close() }
            #expect(try await agent.send(path: "/v1/echo").status == 200, "agent connection \(round)")
            for _ in 0..<10 { silent.append(try SilentSocket(port: fixture.port)) }
            // Accepted (and evicting each other) before the next agent connects: a socket is
            // silent until its first read, so a burst accepted in that instant could still push
            // the agent's out (documented in docs/hardening.md).
            let expected = 36 + 10 * (round + 1)
            await eventually { fixture.server.stats.preAuthEvictedSource >= expected }
        }
        #expect(fixture.server.stats.handshakeRateLimitedSource == 0)
        _ = silent
    }

    @Test func serverRefusesToStartWhenRLIMITCannotCoverTheCaps() throws {
        var limits = GatewayLimits()
        limits.maxConnectionsGlobal = 1 << 40
        let certs = TestCertificates.shared
        let material = TLSServerMaterial(certificateChainPEM: certs.server.certPEM, privateKeyPEM: certs.server.keyPEM,
                                         trustBundlePEM: certs.clientCA.certPEM)
        let server = try Server(configuration: ServerTransportConfig(limits: limits, tls: .material(material)),
                                handler: EchoHandler())
        #expect {
            try server.start()
        } throws: { error in
            let text = "\(error)"
            return text.contains("RLIMIT_NOFILE") && text.contains("maxConnectionsGlobal")
        }
    }
}
