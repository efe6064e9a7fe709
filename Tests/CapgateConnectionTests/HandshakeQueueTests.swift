import CapgateConnection
import CapgateCore
import CapgateTesting
import Foundation
import Glibc
import Synchronization
import Testing

/// make attack's conn_flood_mtls, small: a certificate holder floods full mTLS handshakes from
/// the agent's own address, back to back, faster than the source's handshake rate. Before the
/// handshake queue, every flight over the rate was closed at once, the flooder retried at once
/// and won nearly every token, and the agent's new connections were closed
/// (`handshake_rate_limited`). Queued in arrival order, the agent's flight waits behind the
/// flooder's few in-flight ones and gets in; the source's rate still bounds the handshakes.
@Suite("Handshake queue", .timeLimit(.minutes(2)))
struct HandshakeQueueTests {
    final class Stop: Sendable {
        let flag = Atomic<Bool>(false)
    }

    @Test func agentConnectsWhileACertificateHolderFloodsHandshakesFromItsAddress() async throws {
        var limits = PreAuthExhaustionTests.limits()
        let rate = 20.0
        limits.handshakeRatePerSource = .init(burst: 1, perSecond: rate)
        let fixture = try TestServer(limits: limits)
        defer { fixture.stop() }
        let port = fixture.port
        let stop = Stop()
        let started = Date()
        // Two flooders, each one handshake at a time and again at once (as make attack's).
        let flooders = (0..<2).map { _ in
            Task.detached {
                try await runBlocking { () -> Int in
                    var completed = 0
                    while !stop.flag.load(ordering: .relaxed) {
                        if let peer = try? RawTLSPeer(port: port) {
                            completed += 1
                            peer.close()
                        }
                    }
                    return completed
                }
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        var failures: [String] = []
        for round in 0..<4 {
            do {
                let agent = try fixture.client()
                defer { agent.close() }
                let response = try await agent.send(path: "/v1/echo")
                if response.status != 200 { failures.append("round \(round): status \(response.status)") }
            } catch {
                failures.append("round \(round): \(error)")
            }
        }
        stop.flag.store(true, ordering: .relaxed)
        var flooded = 0
        for f in flooders { flooded += try await f.value }
        let elapsed = Date().timeIntervalSince(started)

        #expect(failures.isEmpty, "the agent's new connections during the flood: \(failures)")
        let stats = fixture.server.stats
        #expect(stats.handshakesQueuedSource > 0, "the flights queued")
        #expect(flooded > 0)
        // The rate still holds: every completed handshake (the flooders' and the agent's 4)
        // took a token of the source's bucket.
        #expect(Double(flooded + 4) <= 1 + rate * elapsed + 1, "flooded \(flooded) in \(elapsed) s")
    }

    /// A waiting flight's bytes are held in memory: a first read larger than one TLS record is
    /// refused at once instead of queued (the held bytes stay bounded by the pre-auth slots).
    @Test func aFirstFlightTooLargeToHoldIsRefusedNotQueued() async throws {
        var limits = PreAuthExhaustionTests.limits()
        // One token per 222 ms: a flight right after another one's token would wait (< 0.25 s).
        limits.handshakeRatePerSource = .init(burst: 1, perSecond: 4.5)
        // The big flight must reach the server within 222 ms of the first one's token, or the
        // bucket has refilled and it is no longer a waiting flight. On a loaded machine that
        // can miss, so a round whose timing missed is retried with a fresh server; without the
        // size check no round is ever refused this way.
        var refusedRounds = 0
        for _ in 0..<5 where refusedRounds == 0 {
            let fixture = try TestServer(limits: limits)
            defer { fixture.stop() }
            let first = try SilentSocket(port: fixture.port)
            let big = try SilentSocket(port: fixture.port)
            try first.sendClientHello()
            let junk = [UInt8](repeating: 0x16, count: 20_000)
            let sent = junk.withUnsafeBytes { send(big.fd, $0.baseAddress, $0.count, 0) }
            #expect(sent == junk.count)
            #expect(try await runBlocking { big.closedByServer() })
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(2)
            // The refusal is counted when decided, but the close is counted after the fd is
            // closed (ServerConnection.close), so the peer can see its EOF before that count:
            // a refused round waits for both.
            func settled(_ s: ServerStats) -> Bool {
                s.handshakeRateLimitedSource != 0 && s.closedByReason["handshake_rate_limited"] != nil
            }
            while clock.now < deadline && !settled(fixture.server.stats) {
                try? await Task.sleep(for: .milliseconds(5))
            }
            let stats = fixture.server.stats
            if stats.handshakeRateLimitedSource == 1 {
                #expect(stats.closedByReason["handshake_rate_limited"] == 1)
                #expect(try await runBlocking { first.serverAnswered() })
                refusedRounds += 1
            }
        }
        #expect(refusedRounds == 1, "the oversized waiting flight was never refused as rate limited")
    }
}
