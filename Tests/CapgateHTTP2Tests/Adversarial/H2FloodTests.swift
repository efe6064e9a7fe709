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

    /// Data dribble (CVE-2019-9511): INITIAL_WINDOW_SIZE 1, then 1-byte WINDOW_UPDATEs, so each
    /// response would go out a byte per frame. Every such frame while more of the body is ready
    /// spends a glitch; past the budget the connection gets GOAWAY(ENHANCE_YOUR_CALM).
    @Test func dataDribbleGetsEnhanceYourCalm() throws {
        let peer = try RawPeer(handshake: false)
        peer.send(HostilePeer.handshake(settings: [(0x4, 1)]))
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request(), endStream: true))
        #expect(peer.server.respond(streamID: 1, status: 200, body: [UInt8](repeating: 7, count: 1_000)))
        peer.flush()
        var updates = 0
        while peer.goaway == nil && updates < 500 {
            peer.send(HostilePeer.windowUpdate(stream: 1, increment: 1))
            peer.flush()
            updates += 1
        }
        #expect(peer.connectionTrips == [.glitchFlood])
        #expect(peer.goaway?.errorCode == H2ErrorCode.enhanceYourCalm.rawValue)
        #expect(updates <= 101)  // burst 100 at a frozen clock
        #expect(peer.frames(.data, stream: 1).allSatisfy { $0.payload.count == 1 })
    }

    /// The control: small frames the server sends on its own account cost nothing. A body's
    /// short last frame, a window that opens in 25-byte steps now and then, and the same
    /// check switched off (0) with 1-byte windows all leave the connection alone.
    @Test func smallFramesThePeerDidNotForceAreNotGlitches() throws {
        let peer = try RawPeer()
        for i in 0..<150 {  // 150 one-frame bodies of 5 bytes: more than the glitch burst
            let id = UInt32(2 * i + 1)
            peer.send(HostilePeer.headers(stream: id, block: HPACKWriter.request(), endStream: true))
            #expect(peer.server.respond(streamID: Int32(id), status: 200, body: Array("short".utf8)))
            peer.flush()
        }
        #expect(peer.frames(.data).count == 150)
        #expect(peer.connectionTrips.isEmpty && peer.goaway == nil)

        var off = GatewayLimits()
        off.smallDataFrameBytes = 0
        let dribbled = try RawPeer(limits: off, handshake: false)
        dribbled.send(HostilePeer.handshake(settings: [(0x4, 1)]))
        dribbled.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request(), endStream: true))
        #expect(dribbled.server.respond(streamID: 1, status: 200, body: [UInt8](repeating: 7, count: 300)))
        dribbled.flush()
        for _ in 0..<299 {
            dribbled.send(HostilePeer.windowUpdate(stream: 1, increment: 1))
            dribbled.flush()
        }
        #expect(dribbled.frames(.data, stream: 1).count == 300)
        #expect(dribbled.connectionTrips.isEmpty && dribbled.goaway == nil)
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
