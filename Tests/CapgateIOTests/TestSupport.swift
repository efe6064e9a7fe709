import CapgateIO
import Glibc
import Synchronization
import Testing

/// Runs `body` on the loop and returns its result (nil if the loop is gone).
func onLoop<T: Sendable>(_ handle: EventLoopHandle,
                         _ body: @escaping @Sendable (EventLoop) -> T) async -> T? {
    await withCheckedContinuation { continuation in
        let posted = handle.execute { loop in continuation.resume(returning: body(loop)) }
        if !posted { continuation.resume(returning: nil) }
    }
}

/// A connected, non-blocking pair of Unix stream sockets: one end for the loop, one for the test.
func socketPair() -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    _ = fds.withUnsafeMutableBufferPointer { socketpair(AF_UNIX, type, 0, $0.baseAddress) }
    return (fds[0], fds[1])
}

/// A counter that async code can wait on (no sleeps: waiters resume when
/// the count reaches their target).
final class Latch: Sendable {
    private struct State {
        var count = 0
        var waiters: [(Int, CheckedContinuation<Void, Never>)] = []
    }
    private let state = Mutex(State())

    var count: Int { state.withLock { $0.count } }

    func increment() {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.count += 1
            let due = s.waiters.filter { $0.0 <= s.count }.map(\.1)
            s.waiters.removeAll { $0.0 <= s.count }
            return due
        }
        for c in ready { c.resume() }
    }

    func wait(for target: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.count >= target { return true }
                s.waiters.append((target, c))
                return false
            }
            if now { c.resume() }
        }
    }
}

/// Echoes every byte back; closes on EOF or error and releases its permit.
final class EchoHandler: EventHandler {
    private let socket: Socket
    private weak var loop: EventLoop?
    private var outbound = OutboundBuffer()
    private let permit: ConnectionPermit?
    private let closed: Latch?

    init(socket: Socket, loop: EventLoop, permit: ConnectionPermit?, closed: Latch?) {
        self.socket = socket
        self.loop = loop
        self.permit = permit
        self.closed = closed
    }

    func readable() {
        guard let loop else { return }
        // Edge-triggered: read until EAGAIN.
        while socket.isOpen {
            switch try? socket.read(into: loop.readBuffer) {
            case .processed(0)?, nil:
                close()
                return
            case .processed(let n)?:
                outbound.append(UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<n]))
                writable()
            case .wouldBlock?:
                return
            }
        }
    }

    func writable() {
        guard socket.isOpen, !outbound.isEmpty else { return }
        if (try? outbound.flush(to: socket)) == nil { close() }
    }

    func hangup() { close() }

    func close() {
        guard socket.isOpen else { return }
        loop?.deregister(socket.descriptor)
        socket.close()
        permit?.release()
        closed?.increment()
    }
}

/// Adopts accepted connections as echo handlers; records which loop got each.
final class EchoServer: Sendable {
    let closed = Latch()
    private let loopsUsed = Mutex<[UInt]>([])

    var loopThreads: [UInt] { loopsUsed.withLock { $0 } }

    func accept(_ connection: AcceptedConnection, on loop: EventLoop) {
        loopsUsed.withLock { $0.append(loop.handle.threadID) }
        let handler = EchoHandler(socket: Socket(adopting: connection.descriptor), loop: loop,
                                  permit: connection.permit, closed: closed)
        do {
            try loop.register(connection.descriptor, handler: handler)
        } catch {
            handler.close()
        }
    }
}

enum ClientError: Error { case timedOut, closed }

/// Blocking client helpers (SO_RCVTIMEO set, so a bug fails instead of hanging).
func connectClient(port: UInt16, host: String = "127.0.0.1") throws -> Socket {
    let socket = try Socket.connect(host: host, port: port)
    try socket.setReceiveTimeout(.seconds(20))
    return socket
}

func writeAll(_ socket: Socket, _ bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
        let result = try bytes.withUnsafeBytes { raw in
            try socket.write(UnsafeRawBufferPointer(rebasing: raw[offset...]))
        }
        guard case .processed(let n) = result else { throw ClientError.timedOut }
        offset += n
    }
}

/// Reads exactly `count` bytes (throws on EOF or timeout).
func readExactly(_ socket: Socket, _ count: Int) throws -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(count)
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while out.count < count {
        let want = min(chunk.count, count - out.count)
        let result = try chunk.withUnsafeMutableBytes { raw in
            try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]))
        }
        switch result {
        case .processed(0): throw ClientError.closed
        case .processed(let n): out.append(contentsOf: chunk[0..<n])
        case .wouldBlock: throw ClientError.timedOut
        }
    }
    return out
}

func roundTrip(_ socket: Socket, _ text: String) throws -> String {
    let bytes = Array(text.utf8)
    try writeAll(socket, bytes)
    return String(decoding: try readExactly(socket, bytes.count), as: UTF8.self)
}

/// Reads until EOF/reset; returns true if the peer closed (0 or ECONNRESET).
func peerCloses(_ socket: Socket) throws -> Bool {
    var byte = [UInt8](repeating: 0, count: 1)
    do {
        let result = try byte.withUnsafeMutableBytes { try socket.read(into: $0) }
        switch result {
        case .processed(0): return true
        case .processed: return false
        case .wouldBlock: throw ClientError.timedOut
        }
    } catch let error as IOError where error.errno == ECONNRESET {
        return true
    }
}
