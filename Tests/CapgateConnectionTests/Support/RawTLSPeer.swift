import CapgateTLS
import CapgateTesting
import Glibc

/// A hostile HTTP/2 client over a real socket and a real TLS 1.3 handshake (mTLS with the
/// agent's certificate): writes raw frames (`HostilePeer`), reads the server's frames raw
/// (`FrameReader`). Blocking: call it through `runBlocking`, never on the cooperative pool.
/// Used by one test at a time, hence `@unchecked Sendable`.
final class RawTLSPeer: @unchecked Sendable {
    private let socket: SilentSocket
    private let engine: TLSEngine
    private var reader = FrameReader()
    private(set) var frames: [RawFrame] = []
    /// The server closed the connection (close_notify, EOF or reset), or the receive timeout
    /// passed (then `timedOut` too).
    private(set) var closed = false
    private(set) var timedOut = false
    private var settingsAcked = 0

    init(port: UInt16, identity: TestIdentity = TestCertificates.shared.agent,
         settings: [(UInt16, UInt32)] = []) throws {
        socket = try SilentSocket(port: port)
        // A safety net so a broken server fails the test instead of hanging it; no test
        // outcome depends on it.
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let material = TLSClientMaterial(certificateChainPEM: identity.certPEM, privateKeyPEM: identity.keyPEM,
                                         trustBundlePEM: TestCertificates.shared.serverCA.certPEM)
        let tls = try TLSContext.client(material: material, serverName: "127.0.0.1", alpnProtocols: ["h2"])
        engine = try tls.makeEngine()
        handshake: while true {
            switch engine.handshake() {
            case .done: break handshake
            case .wantIO:
                try flushCiphertext()
                guard try readSocket() else { throw TLSError(.handshakeFailed, "server closed during the handshake") }
            case .failed(let error): throw error
            }
        }
        try flushCiphertext()
        try send(HostilePeer.handshake(settings: settings))
        // Acknowledge the server's SETTINGS before anything else: nghttp2 applies its own
        // (smaller) windows only once they are acknowledged.
        guard try read(until: { frames in frames.contains { $0.kind == .settings && $0.flags & HostilePeer.ack == 0 } })
        else { throw TLSError(.protocolError, "server sent no SETTINGS") }
    }

    /// Sends plaintext (frames) through TLS.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            offset += try engine.writePlaintext(Array(bytes[offset...]))
            try flushCiphertext()
        }
    }

    /// Reads until `done(frames)` holds; false when the server closed first.
    @discardableResult
    func read(until done: ([RawFrame]) -> Bool) throws -> Bool {
        while !done(frames) {
            if closed { return false }
            if try !readSocket() {
                closed = true
                continue
            }
            try drainPlaintext()
            try ackSettings()
            try flushCiphertext()
        }
        return true
    }

    /// Reads until the server closed the connection.
    func readUntilClosed() throws { try read { _ in false } }

    /// Closes the TCP connection both ways (no close_notify): the server sees the peer go.
    func close() { _ = shutdown(socket.fd, Int32(SHUT_RDWR)) }

    // MARK: - What the server sent

    func frames(_ kind: HostilePeer.FrameType, stream: UInt32? = nil) -> [RawFrame] {
        frames.filter { $0.kind == kind && (stream == nil || $0.stream == stream) }
    }

    /// Flow-control credit the server gave `stream` so far.
    func credit(stream: UInt32) -> UInt32 {
        frames(.windowUpdate, stream: stream).compactMap(\.windowIncrement).reduce(0, +)
    }

    /// The response body of `stream` (DATA payloads) once it ended, else nil.
    func responseBody(stream: UInt32) -> String? {
        let data = frames(.data, stream: stream)
        guard data.contains(where: { $0.flags & HostilePeer.endStream != 0 }) else { return nil }
        return String(decoding: data.flatMap(\.payload), as: UTF8.self)
    }

    static func responded(_ stream: UInt32) -> ([RawFrame]) -> Bool {
        { frames in frames.contains { $0.kind == .data && $0.stream == stream && $0.flags & HostilePeer.endStream != 0 } }
    }

    // MARK: - Plumbing

    private func ackSettings() throws {
        let received = frames(.settings).filter { $0.flags & HostilePeer.ack == 0 }.count
        while settingsAcked < received {
            settingsAcked += 1
            try send(HostilePeer.settings(ack: true))
        }
    }

    private func flushCiphertext() throws {
        var out: [UInt8] = []
        engine.drainCiphertext(into: &out)
        var offset = 0
        while offset < out.count {
            let n = out[offset...].withUnsafeBytes { Glibc.send(socket.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TLSError(.protocolError, "send failed: errno \(errno)") }
            offset += n
        }
    }

    /// One read from the socket into TLS; false on EOF, reset or timeout.
    private func readSocket() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { timedOut = true }
        guard n > 0 else { return false }
        try engine.feed(Array(buffer[0..<n]))
        return true
    }

    private func drainPlaintext() throws {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let result = buffer.withUnsafeMutableBytes { engine.readPlaintext(into: $0) }
            switch result {
            case .bytes(let n): frames += reader.feed(Array(buffer[0..<n]))
            case .wantRead: return
            case .closed:
                closed = true
                return
            case .error(let error): throw error
            }
        }
    }
}
