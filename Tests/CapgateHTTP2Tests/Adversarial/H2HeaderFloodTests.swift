import CapgateCore
import CapgateTesting
import Testing
@testable import CapgateHTTP2

/// Header blocks that cost decoding CPU long after the stream was refused (HPACK bomb,
/// CVE-2016-6581; zero-length fields, CVE-2019-9516) and padding-only DATA (CVE-2019-9518):
/// the connection is cut with GOAWAY(ENHANCE_YOUR_CALM) and a neighbour keeps working.
@Suite struct H2HeaderFloodTests {
    /// One ~4 KiB dynamic-table entry referenced 1 000 times (~4 MB decoded from ~5 KB): cut
    /// once the block passes `headerFloodFactor` x `maxHeaderListBytes`, long before the end.
    @Test func hpackBombIsCutWithGoaway() throws {
        let attacker = try RawPeer()
        let neighbour = try RawPeer()
        let bombValue = String(repeating: "b", count: 4_000)
        var block = HPACKWriter.request() + HPACKWriter.literalIndexed("x-bomb", bombValue)
        for _ in 0..<1_000 { block += HPACKWriter.indexed(HPACKWriter.firstDynamicIndex) }
        attacker.send(HostilePeer.headers(stream: 1, block: block, endStream: true))
        neighbour.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request(), endStream: true))
        attacker.flush()
        #expect(attacker.connectionTrips == [.headerFlood])
        #expect(attacker.goaway?.errorCode == H2ErrorCode.enhanceYourCalm.rawValue)
        #expect(!attacker.server.wantsRead)
        #expect(attacker.requests.isEmpty)
        #expect(neighbour.requests.map(\.streamID) == [1])
        #expect(neighbour.connectionTrips.isEmpty)
    }

    /// The same block counted per block, not per frame: spread over CONTINUATIONs it trips too.
    @Test func hpackBombOverContinuationsIsCut() throws {
        let peer = try RawPeer()
        let bombValue = String(repeating: "b", count: 4_000)
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request()
                                      + HPACKWriter.literalIndexed("x-bomb", bombValue), endHeaders: false))
        for i in 0..<5 where peer.server.wantsRead {
            let refs = (0..<4).flatMap { _ in HPACKWriter.indexed(HPACKWriter.firstDynamicIndex) }
            peer.send(HostilePeer.continuation(stream: 1, block: refs, endHeaders: i == 4))
        }
        peer.flush()
        #expect(peer.connectionTrips == [.headerFlood])
        #expect(peer.goaway?.errorCode == H2ErrorCode.enhanceYourCalm.rawValue)
    }

    /// Zero-length fields (empty name, empty value: 3 bytes each on the wire) are invalid, so
    /// nghttp2 drops them before on_header; they are still counted and the flood trips.
    @Test func zeroLengthFieldFloodIsCut() throws {
        let attacker = try RawPeer()
        let neighbour = try RawPeer()
        var block = HPACKWriter.request()
        for _ in 0..<5_000 { block += HPACKWriter.literal("", "") }
        attacker.send(HostilePeer.headers(stream: 1, block: Array(block.prefix(16_000)), endStream: true))
        neighbour.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request(), endStream: true))
        attacker.flush()
        #expect(attacker.connectionTrips == [.headerFlood])
        #expect(attacker.goaway?.errorCode == H2ErrorCode.enhanceYourCalm.rawValue)
        #expect(neighbour.requests.map(\.streamID) == [1])
    }

    /// Empty-valued fields with a name are valid: a flood of them past 4 x maxHeaderFields trips.
    @Test func emptyValueFieldFloodIsCut() throws {
        let peer = try RawPeer()
        var block = HPACKWriter.request()
        for _ in 0..<1_000 { block += HPACKWriter.literal("x", "") }
        peer.send(HostilePeer.headers(stream: 1, block: block, endStream: true))
        peer.flush()
        #expect(peer.connectionTrips == [.headerFlood])
        #expect(peer.goaway?.errorCode == H2ErrorCode.enhanceYourCalm.rawValue)
    }

    /// A block just over the limits still gets its 431 and the connection lives (the slack).
    @Test func modestOvershootStillGets431() throws {
        let peer = try RawPeer()
        var block = HPACKWriter.request()
        for i in 0..<300 { block += HPACKWriter.literal("x-h\(i)", "") }
        peer.send(HostilePeer.headers(stream: 1, block: block, endStream: true))
        peer.flush()
        #expect(peer.status(stream: 1) == 431)
        #expect(peer.connectionTrips.isEmpty)
        #expect(peer.goaway == nil)
    }

    /// Padding-only DATA frames carry no payload, like empty ones: they spend the glitch budget.
    @Test func paddingOnlyDataFloodGetsEnhanceYourCalm() throws {
        let peer = try RawPeer()
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request()))
        var frames = [UInt8]()
        for _ in 0..<150 {  // Pad Length 9, then 9 bytes of padding, no data
            frames += HostilePeer.frame(.data, flags: HostilePeer.padded, stream: 1,
                                        payload: [9] + [UInt8](repeating: 0, count: 9))
        }
        peer.send(frames)
        peer.flush()
        #expect(peer.connectionTrips == [.glitchFlood])
        #expect(peer.goaway?.errorCode == H2ErrorCode.enhanceYourCalm.rawValue)
        #expect(!peer.server.wantsRead)
    }

    /// Padded DATA that carries bytes is not a glitch: the body arrives intact.
    @Test func paddedDataWithPayloadIsFine() throws {
        let peer = try RawPeer()
        peer.send(HostilePeer.headers(stream: 1, block: HPACKWriter.request()))
        var frames = [UInt8]()
        for i in 0..<150 {
            frames += HostilePeer.frame(.data, flags: HostilePeer.padded | (i == 149 ? HostilePeer.endStream : 0),
                                        stream: 1, payload: [4, UInt8(i & 0xff), 0, 0, 0, 0])
        }
        peer.send(frames)
        peer.flush()
        #expect(peer.connectionTrips.isEmpty)
        #expect(peer.requests.first?.body == (0..<150).map { UInt8($0 & 0xff) })
    }
}
