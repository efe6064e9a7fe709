import CapgateIO
import Glibc
import Testing

/// Reads and writes on one edge (EPOLLIN and EPOLLOUT together); its `readable` may
/// deregister itself or another descriptor first.
private final class EdgeRecorder: EventHandler, @unchecked Sendable {
    let fd: Int32
    let reads: Latch, writes: Latch
    var onRead: (() -> Void)?
    init(fd: Int32, reads: Latch, writes: Latch) {
        self.fd = fd
        self.reads = reads
        self.writes = writes
    }
    func readable() {
        var buffer = [UInt8](repeating: 0, count: 16)
        _ = read(fd, &buffer, buffer.count)
        reads.increment()
        onRead?()
    }
    func writable() { writes.increment() }
    func hangup() {}
}

/// `EventLoop.dispatch` skips the registration look-up between a handler's callbacks while
/// nothing was deregistered: a handler deregistered by an earlier callback of the same edge
/// still gets no further callback, and one that stayed registered gets all of them.
@Suite(.timeLimit(.minutes(1))) struct EventLoopDispatchTests {
    @Test func aHandlerThatDeregistersInReadableGetsNoWritable() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let reads = Latch(), writes = Latch(), otherReads = Latch(), otherWrites = Latch()
        let fds = await onLoop(group.next()) { loop -> [Int32] in
            let (a, b) = socketPair()
            let (c, d) = socketPair()
            // `other` is deregistered by `first`'s read: it must not be called after that.
            let first = EdgeRecorder(fd: a, reads: reads, writes: writes)
            let other = EdgeRecorder(fd: c, reads: otherReads, writes: otherWrites)
            first.onRead = { [unowned loop] in
                loop.deregister(c)
                loop.deregister(a)
            }
            // Data first, then register: the first edge carries EPOLLIN and EPOLLOUT together.
            var byte: UInt8 = 1
            _ = write(b, &byte, 1)
            _ = write(d, &byte, 1)
            try? loop.register(a, interest: .all, handler: first)
            try? loop.register(c, interest: .all, handler: other)
            return [a, b, c, d]
        }
        await reads.wait(for: 1)
        // One more loop turn, so a skipped check would have shown by now.
        _ = await onLoop(group.next()) { _ in 0 }
        #expect(writes.count == 0)
        // `other`'s edge came in the same batch or not at all: either way, nothing after the
        // deregistration reached it, and it certainly did not get a write without its read.
        #expect(otherWrites.count <= otherReads.count)
        for fd in fds ?? [] { _ = Glibc.close(fd) }
    }

    @Test func aHandlerThatStaysRegisteredGetsBothCallbacks() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let reads = Latch(), writes = Latch(), unusedReads = Latch(), unusedWrites = Latch()
        let fds = await onLoop(group.next()) { loop -> [Int32] in
            let (a, b) = socketPair()
            let (c, d) = socketPair()
            let recorder = EdgeRecorder(fd: a, reads: reads, writes: writes)
            // A deregistration of another fd during the read: the look-up is then made, and
            // finds `recorder` still registered.
            recorder.onRead = { [unowned loop] in loop.deregister(c) }
            try? loop.register(c, interest: .read, handler: EdgeRecorder(fd: c, reads: unusedReads, writes: unusedWrites))
            var byte: UInt8 = 1
            _ = write(b, &byte, 1)
            try? loop.register(a, interest: .all, handler: recorder)
            return [a, b, c, d]
        }
        await reads.wait(for: 1)
        await writes.wait(for: 1)
        #expect(writes.count >= 1)
        for fd in fds ?? [] { _ = Glibc.close(fd) }
    }
}
