import CapgateCore
import CapgateTesting
import Testing
@testable import CapgateHTTP2

/// One test per connection-scoped attack: each asserts the GOAWAY code, the trip reported to
/// the connection layer, and that the session stops reading.
@Suite struct H2FloodTests {
    /// Rapid Reset (CVE-2023-44487): HEADERS + RST_STREAM pairs, concurrency never binds.
    @Test func rapidResetFloodGetsEnhanceYourCalm() throws {
        let peer = try RawPeer()
        var sent = 0
        for i in 0..<300 where peer.server.wantsRead {
            let id = UInt32(2 * i + 1)
            peer.send(HostilePeer.headers(stream: id, block: HPACKWriter.request()) + HostilePeer.rstStream(stream: id))
            sent += 1
        }
        #expect(sent == 201)  // burst 200 at a frozen clock: the 201st reset trips
        peer.flush()
        #expect(peer.connectionTrips == [.resetFlood])
        #expect(peer.goaway?.errorCode == H2ErrorCode.enhanceYourCalm.rawValue)
        #expect(!peer.server.wantsRead)
        #expect(peer.server.isClosed)
    }

    /// The same resets spread over time stay within the budget (20/s refill).
    @Test func resetsWithinRateAreTolerated() throws {
        let peer = try RawPeer()
        for i in 0..<350 {
            let id = UInt32(2 * i + 1)
            peer.send(HostilePeer.headers(stream: id, block: HPACKWriter.request()) + HostilePeer.rstStream(stream: id))
            peer.clock.advance(0.05)  // exactly 20 per second
        }
        peer.flush()
        #expect(peer.connectionTrips.isEmpty)
        #expect(peer.goaway == nil)
        #expect(peer.server.wantsRead)
    }

    /// CONTINUATION flood (CVE-2024-28182): a header block that never ends.
    @Test func continuationFloodGetsEnhanceYourCalm() throws {
        let peer = try RawPeer()
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request(), endHeaders: false))
        for i in 0..<20 where peer.server.wantsRead {
            peer.send(HostilePeer.continuation(stream: 1, block: HPACKWriter.literal("x-c\(i)", "v")))
        }
        peer.flush()
        #expect(peer.connectionTrips == [.continuationFlood])
        #expect(peer.goaway?.errorCode == H2ErrorCode.enhanceYourCalm.rawValue)
        #expect(peer.requests.isEmpty)
    }

    /// Empty frames (CVE-2019-9518): zero-length DATA without END_STREAM are glitches.
    @Test func emptyDataFloodGetsEnhanceYourCalm() throws {
        let peer = try RawPeer()
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request()))
        var frames = [UInt8]()
        for _ in 0..<150 { frames += HostilePeer.data(stream: 1, []) }
        peer.send(frames)
        peer.flush()
        #expect(peer.connectionTrips == [.glitchFlood])
        #expect(peer.goaway?.errorCode == H2ErrorCode.enhanceYourCalm.rawValue)
        #expect(!peer.server.wantsRead)
    }

    /// MadeYouReset (CVE-2025-8671): valid-looking frames that make the server reset streams
    /// (here a WINDOW_UPDATE that overflows the stream's send window, a stream error per
    /// RFC 9113 §6.9.1) spend the glitch budget.
    @Test func serverResetsSpendTheGlitchBudget() throws {
        let peer = try RawPeer()
        for i in 0..<120 where peer.server.wantsRead {
            let id = UInt32(2 * i + 1)
            peer.send(HostilePeer.headers(stream: id, block: HPACKWriter.request())
                      + HostilePeer.windowUpdate(stream: id, increment: 0x7fff_ffff))
            peer.flush()
        }
        #expect(peer.connectionTrips == [.glitchFlood])
        #expect(peer.goaway?.errorCode == H2ErrorCode.enhanceYourCalm.rawValue)
        let resets = peer.frames(.rstStream)
        #expect(!resets.isEmpty && resets.count <= 100)
        #expect(resets.allSatisfy { $0.errorCode == H2ErrorCode.flowControlError.rawValue })
    }

    /// Ping flood without reading: the outbound queue passes its cap and the session
    /// terminates without flushing (nothing more is produced).
    @Test func outboundQueueOverflowTerminates() throws {
        var limits = GatewayLimits()
        limits.maxOutboundQueueFrames = 50
        let peer = try RawPeer(limits: limits)
        var pings = [UInt8]()
        for i in 0..<100 { pings += HostilePeer.ping(UInt64(i)) }
        peer.send(pings)
        #expect(peer.connectionTrips == [.outboundQueueOverflow])
        #expect(peer.server.isClosed)
        #expect(!peer.server.wantsWrite)
        #expect(peer.flush().isEmpty)
    }

    /// After a terminate, bytes are never fed to nghttp2 again (CVE-2026-27135 shape): a valid
    /// request and garbage are both ignored without events or crashes.
    @Test func noBytesAcceptedAfterTerminate() throws {
        let peer = try RawPeer()
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request(), endHeaders: false))
        for _ in 0..<20 where peer.server.wantsRead {
            peer.send(HostilePeer.continuation(stream: 1, block: []))
        }
        #expect(!peer.server.wantsRead)
        let before = peer.events.count
        peer.send(HostilePeer.headers(stream: 3, block: HPACKWriter.request(), endStream: true))
        peer.send([UInt8](repeating: 0xff, count: 4_096))
        #expect(peer.events.count == before)
        #expect(peer.requests.isEmpty)
        peer.flush()
        #expect(peer.server.isClosed)
    }

    /// A garbage preface is a connection error, reported once, and the session closes.
    @Test func badPrefaceClosesTheConnection() throws {
        let peer = try RawPeer(handshake: false)
        peer.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        peer.flush()
        #expect(peer.connectionTrips.count == 1)
        #expect(!peer.server.wantsRead)
        #expect(peer.server.isClosed)
    }
}
