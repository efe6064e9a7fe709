import CapgateIO
import Glibc
import Synchronization
import Testing

/// Produces `total` patterned bytes into an OutboundBuffer, pausing above the
/// high-water mark and resuming from `writable()`.
final class BulkWriter: EventHandler {
    static let chunk = 16 * 1024
    /// Byte i of the stream is i % 251 (a period that never aligns with
    /// buffer sizes, so a dropped or repeated chunk shows up).
    static let pattern = (0..<(chunk + 251)).map { UInt8(truncatingIfNeeded: $0 % 251) }
    private let socket: Socket
    private weak var loop: EventLoop?
    private var outbound = OutboundBuffer(highWaterMark: 64 * 1024)
    private var produced = 0
    private let total: Int
    let stats: WriterStats

    init(socket: Socket, loop: EventLoop, total: Int, stats: WriterStats) {
        self.socket = socket
        self.loop = loop
        self.total = total
        self.stats = stats
    }

    func readable() {}

    func writable() {
        guard socket.isOpen else { return }
        while true {
            while produced < total, !outbound.isAboveHighWaterMark {
                let n = min(Self.chunk, total - produced)
                let phase = produced % 251
                outbound.append(contentsOf: Self.pattern[phase..<phase + n])
                produced += n
            }
            stats.notePending(outbound.count)
            switch try? outbound.flush(to: socket) {
            case .drained?:
                if produced == total {
                    close()
                    return
                }
            case .pending?:
                stats.wouldBlock.add(1, ordering: .relaxed)
                return // resume on the next writable() edge
            case nil:
                close()
                return
            }
        }
    }

    func hangup() { close() }

    private func close() {
        guard socket.isOpen else { return }
        loop?.deregister(socket.descriptor)
        socket.close()
    }
}

final class WriterStats: Sendable {
    let wouldBlock = Atomic<Int>(0)
    let maxPending = Atomic<Int>(0)
    func notePending(_ n: Int) { maxPending.max(n, ordering: .relaxed) }
}

@Suite(.timeLimit(.minutes(1))) struct PartialWriteTests {
    @Test func smallSendBufferResumesOnWritable() async throws {
        let total = 4 * 1024 * 1024
        let listener = try Socket.listen(host: "127.0.0.1", port: 0)
        let client = try connectClient(port: try listener.localPort())
        guard case .processed(let (fd, _)) = try listener.accept() else {
            Issue.record("connection not in backlog after connect")
            return
        }
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let stats = WriterStats()
        let posted = group.next().execute { loop in
            let socket = Socket(adopting: fd)
            try? socket.setSendBufferSize(16 * 1024)
            let writer = BulkWriter(socket: socket, loop: loop, total: total, stats: stats)
            // Registration reports the writable edge immediately.
            try? loop.register(fd, interest: .write, handler: writer)
        }
        #expect(posted)

        let received = try readExactly(client, total)
        #expect(received.count == total)
        let firstMismatch = received.withUnsafeBufferPointer { bytes in
            (0..<total).first { bytes[$0] != UInt8(truncatingIfNeeded: $0 % 251) }
        }
        #expect(firstMismatch == nil)
        #expect(try peerCloses(client))
        #expect(stats.wouldBlock.load(ordering: .relaxed) > 0)
        // The producer honoured the mark: never more than mark + one chunk queued.
        #expect(stats.maxPending.load(ordering: .relaxed) <= 64 * 1024 + BulkWriter.chunk)
    }
}
