import CapgateConnection
import CapgateIO
import CapgateTLS
import Glibc
import Testing

/// A driver that sends a fixed payload and records what happens; no HTTP/2.
final class RecordingDriver: ConnectionDriver {
    weak var core: ConnectionCore?
    var toSend: [UInt8] = []
    var received: [UInt8] = []
    var ends: [String] = []
    var established = 0
    /// Refuse the peer at the handshake (like an identity check failing).
    var refuse = false
    /// Report the protocol finished once everything was sent.
    var finishWhenSent = false
    var settledCount = 0

    func transportEstablished() -> Bool {
        established += 1
        if refuse {
            core?.close(notifyPeer: true, flushFirst: true)
            return false
        }
        return true
    }

    var wantsInput: Bool { true }
    var wantsOutput: Bool { !toSend.isEmpty }
    var isFinished: Bool { finishWhenSent && toSend.isEmpty }
    func receive(_ plaintext: UnsafeRawBufferPointer) { received.append(contentsOf: plaintext) }
    func produce(into buffer: inout [UInt8], max: Int) {
        let n = min(max, toSend.count, 16 * 1024)  // at most one TLS record per round
        buffer.append(contentsOf: toSend[..<n])
        toSend.removeFirst(n)
    }
    func inputDrained() {}
    func settled() { settledCount += 1 }
    func transportEnded(_ end: TransportEnd) {
        switch end {
        case .socketFailed: ends.append("socket")
        case .tlsFailed(let e, _): ends.append(e.code)
        case .closedDuringHandshake: ends.append("closed_in_handshake")
        case .peerClosed(let notify): ends.append(notify ? "close_notify" : "eof")
        case .hangup: ends.append("hangup")
        case .finished: ends.append("finished")
        }
        core?.close(notifyPeer: false)
    }
}

/// Two cores (server and client TLS) over a socketpair on one loop that never runs: the test
/// calls `readable()`/`writable()` itself, so every step is deterministic.
final class CorePair {
    let loop: EventLoop
    let server: ConnectionCore
    let client: ConnectionCore
    let serverDriver = RecordingDriver()
    let clientDriver = RecordingDriver()

    init(serverHighWater: Int = 32 * 1024, loop shared: EventLoop? = nil) throws {
        let certs = TestCertificates.shared
        let serverTLS = try TLSContext.server(material: TLSServerMaterial(
            certificateChainPEM: certs.server.certPEM, privateKeyPEM: certs.server.keyPEM,
            trustBundlePEM: certs.clientCA.certPEM))
        let clientTLS = try TLSContext.client(material: TLSClientMaterial(
            certificateChainPEM: certs.agent.certPEM, privateKeyPEM: certs.agent.keyPEM,
            trustBundlePEM: certs.serverCA.certPEM), serverName: "127.0.0.1", alpnProtocols: ["h2"])
        var fds: [Int32] = [0, 0]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let rv = fds.withUnsafeMutableBufferPointer { socketpair(AF_UNIX, type, 0, $0.baseAddress) }
        #expect(rv == 0)
        loop = try shared ?? EventLoop()
        server = ConnectionCore(socket: Socket(adopting: fds[0]), engine: try serverTLS.makeEngine(), loop: loop,
                                highWaterMark: serverHighWater, pausesReadsAtHighWater: true)
        client = ConnectionCore(socket: Socket(adopting: fds[1]), engine: try clientTLS.makeEngine(), loop: loop,
                                highWaterMark: 256 * 1024, pausesReadsAtHighWater: false)
        server.driver = serverDriver
        serverDriver.core = server
        client.driver = clientDriver
        clientDriver.core = client
        try server.register()
        try client.register()
    }

    /// Steps both sides (as the loop would on readiness) until `done` or a step bound.
    func run(until done: () -> Bool) {
        for _ in 0..<200 where !done() {
            client.readable()
            client.writable()
            server.readable()
            server.writable()
        }
    }

    func closeAll() {
        server.close(notifyPeer: false)
        client.close(notifyPeer: false)
    }
}

@Suite("Connection core (socket + TLS + pump), without a running loop")
struct ConnectionCoreTests {
    @Test func handshakeThenBytesBothWays() throws {
        let pair = try CorePair()
        defer { pair.closeAll() }
        pair.client.begin()
        pair.server.begin()
        pair.clientDriver.toSend = Array("ping".utf8)
        pair.serverDriver.toSend = Array("pong".utf8)
        pair.run { pair.serverDriver.received.count == 4 && pair.clientDriver.received.count == 4 }
        #expect(pair.server.state == .established)
        #expect(pair.client.state == .established)
        #expect(pair.serverDriver.established == 1)
        #expect(pair.clientDriver.established == 1)
        #expect(pair.serverDriver.received == Array("ping".utf8))
        #expect(pair.clientDriver.received == Array("pong".utf8))
        #expect(pair.serverDriver.settledCount > 0)
    }

    /// A message far above the server's high-water mark arrives whole: production resumes
    /// after each flush (the pump) and after each `writable()`.
    @Test func messageAboveTheHighWaterMarkArrivesWhole() throws {
        let pair = try CorePair(serverHighWater: 8 * 1024)
        defer { pair.closeAll() }
        pair.client.begin()
        pair.server.begin()
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        pair.run { pair.server.state == .established }
        pair.serverDriver.toSend = big
        pair.server.afterIO()
        pair.run { pair.clientDriver.received.count == big.count }
        #expect(pair.clientDriver.received == big)
        #expect(pair.server.outbound.isEmpty)
    }

    @Test func refusedAtEstablishThePeerSeesCloseNotify() throws {
        let pair = try CorePair()
        defer { pair.closeAll() }
        pair.serverDriver.refuse = true
        pair.client.begin()
        pair.server.begin()
        pair.run { pair.client.isClosed }
        #expect(pair.server.isClosed)
        #expect(pair.serverDriver.ends.isEmpty)  // the driver closed it itself
        #expect(pair.serverDriver.received.isEmpty)  // no plaintext before the driver said yes
        #expect(pair.clientDriver.ends == ["close_notify"])
    }

    @Test func finishedProtocolEndsAfterItsOutputIsFlushed() throws {
        let pair = try CorePair()
        defer { pair.closeAll() }
        pair.client.begin()
        pair.server.begin()
        pair.run { pair.server.state == .established }
        pair.serverDriver.toSend = Array("last words".utf8)
        pair.serverDriver.finishWhenSent = true
        pair.server.afterIO()
        #expect(pair.serverDriver.ends == ["finished"])
        pair.run { pair.client.isClosed }
        #expect(pair.clientDriver.received == Array("last words".utf8))
        // The contexts ignore an unexpected EOF (no error logged for every client that just
        // closes), so a bare TCP close after the last record reads as a TLS close.
        #expect(pair.clientDriver.ends == ["close_notify"])
    }

    /// A peer gone before its ClientHello fails the handshake (the TLS code is the reason).
    @Test func eofBeforeTheClientHello() throws {
        let pair = try CorePair()
        defer { pair.closeAll() }
        pair.server.begin()
        pair.client.close(notifyPeer: false)  // gone before saying anything
        pair.server.readable()
        #expect(pair.server.isClosed)
        #expect(pair.serverDriver.ends == ["tls_handshake_failed"])
    }

    @Test func hangupGoesToTheDriver() throws {
        let pair = try CorePair()
        defer { pair.closeAll() }
        pair.server.hangup()
        #expect(pair.serverDriver.ends == ["hangup"])
        #expect(pair.server.isClosed)
        pair.server.readable()  // a closed core ignores later readiness
        #expect(pair.serverDriver.ends == ["hangup"])
        #expect(pair.loop.registeredCount == 1)  // deregistered on close
    }
}
