import CapgateIO
import Glibc
import Testing

/// Counts readable callbacks.
private final class ReadCounter: EventHandler {
    let reads: Latch
    init(reads: Latch) { self.reads = reads }
    func readable() { reads.increment() }
    func writable() {}
    func hangup() {}
}

@Suite(.timeLimit(.minutes(1))) struct DeregisterClosingTests {
    /// Without EPOLL_CTL_DEL: the handler is dropped, and once the fd is closed the kernel has
    /// removed it from the epoll set, so the same fd number registers again (no EEXIST) and its
    /// events reach only the new handler.
    @Test func closedDescriptorLeavesTheSetAndItsNumberRegistersAgain() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let oldReads = Latch(), newReads = Latch()
        let outcome = await onLoop(group.next()) { loop -> (Bool, Int, Bool, Bool, Int32, Int32) in
            let (a, b) = socketPair()
            try? loop.register(a, interest: .read, handler: ReadCounter(reads: oldReads))
            let dropped = loop.deregisterClosing(a)
            let left = loop.registeredCount
            _ = Glibc.close(a)
            let again = loop.deregisterClosing(a)
            _ = Glibc.close(b)
            let (c, d) = socketPair()  // lowest free numbers: `a` again
            var reRegistered = true
            do { try loop.register(c, interest: .read, handler: ReadCounter(reads: newReads)) } catch { reRegistered = false }
            var byte: UInt8 = 1
            _ = write(d, &byte, 1)
            return (dropped, left, again, reRegistered, a, c)
        }
        let (dropped, left, again, reRegistered, a, c) = try #require(outcome)
        #expect(dropped)
        #expect(left == 0)
        #expect(!again)
        #expect(a == c)
        #expect(reRegistered)
        await newReads.wait(for: 1)
        #expect(oldReads.count == 0)
    }
}
