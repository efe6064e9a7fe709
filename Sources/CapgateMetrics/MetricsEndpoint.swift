import CapgateIO
import Foundation
import Glibc
import Synchronization

/// Why the metrics listener did not start.
public struct MetricsEndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The Prometheus scrape listener: plain HTTP/1.1, `GET /metrics`, on a LOOPBACK address only,
/// served by a thread of its own (one connection at a time, `Connection: close`).
///
/// WHY its own thread and not a handler on an event loop: a scrape renders the whole registry
/// (milliseconds with many series) and runs the pull collectors; on a loop that would delay
/// every connection the loop serves. On a thread of its own a slow or stuck scraper costs
/// nothing but itself (each connection has a 2 s read and write timeout).
///
/// WHY loopback only: the exposition names principals, verbs and limit trips, which is
/// reconnaissance for whoever can read it, and this listener has no authentication. A
/// non-loopback address is refused at start (docs/operations.md, "Metrics"); to scrape from
/// another host, run the scraper (or an mTLS proxy) on the same host. mTLS on this listener is
/// not implemented.
public final class MetricsEndpoint: Sendable {
    public let host: String
    public let port: UInt16
    private let fd: Int32
    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let render: @Sendable () -> [UInt8]

    /// The largest request head read (a scraper's GET is a few hundred bytes).
    static let maxRequestBytes = 8192

    /// Binds `host:port` (port 0: any free port) and starts serving `render()` at `/metrics`.
    public init(host: String, port: UInt16, render: @escaping @Sendable () -> [UInt8]) throws(MetricsEndpointError) {
        guard let address = Self.loopbackAddress(host) else {
            throw MetricsEndpointError("metrics listen address \(host) is not a loopback address: the metrics "
                                       + "listener serves plain HTTP without authentication and binds only 127.0.0.0/8 "
                                       + "or ::1 (docs/operations.md)")
        }
        self.host = host
        self.render = render
        let (fd, bound) = try Self.bind(address, port: port, host: host)
        self.fd = fd
        self.port = bound
        let thread = Thread { [self] in serveLoop() }
        thread.name = "capgate-metrics"
        thread.start()
    }

    /// Stops accepting, waits for the serving thread, closes the socket. Idempotent.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        done.wait()
        Glibc.close(fd)
    }

    deinit { if !stopping.load(ordering: .acquiring) { Glibc.close(fd) } }

    /// The numeric address to bind if `host` is loopback (`localhost`, 127.0.0.0/8, ::1), nil
    /// otherwise.
    static func loopbackAddress(_ host: String) -> String? {
        let name = host == "localhost" ? "127.0.0.1" : host
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return (UInt32(bigEndian: v4.s_addr) >> 24) == 127 ? name : nil
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            return bytes == [UInt8](repeating: 0, count: 15) + [1] ? name : nil
        }
        return nil
    }

    /// The listening socket, through the server's own `Socket.listen` (non-blocking: the serve
    /// loop polls it so `stop()` is noticed within 200 ms; accepted sockets are blocking).
    private static func bind(_ address: String, port: UInt16, host: String) throws(MetricsEndpointError) -> (Int32, UInt16) {
        do throws(IOError) {
            let socket = try Socket.listen(host: address, port: port, backlog: 16)  // closed by deinit if we throw
            let bound = try socket.localPort()
            return (socket.takeDescriptor(), bound)
        } catch {
            throw MetricsEndpointError("metrics listener: cannot bind \(host):\(port): \(String(cString: strerror(error.errno)))")
        }
    }

    private func serveLoop() {
        defer { done.signal() }
        while !stopping.load(ordering: .acquiring) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 200) > 0 else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            _ = setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            _ = setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            serve(client)
            Glibc.close(client)
        }
    }

    private func serve(_ client: Int32) {
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while head.count < Self.maxRequestBytes, !Self.hasEndOfHead(head) {
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            head += chunk[0..<n]
        }
        let response = Self.response(forHead: head, render: render)
        var sent = 0
        while sent < response.count {
            let n = response[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    static func hasEndOfHead(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return true
        }
        return false
    }

    /// The answer to one request head: 200 with the exposition for `GET /metrics` (a query
    /// string is ignored), 405 for another method there, 404 elsewhere, 400 for garbage.
    static func response(forHead head: [UInt8], render: () -> [UInt8]) -> [UInt8] {
        guard hasEndOfHead(head),
              let lineEnd = head.firstIndex(of: 13),
              let line = String(validating: head[..<lineEnd], as: UTF8.self) else {
            return answer(400, "Bad Request", Array("bad request\n".utf8))
        }
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else {
            return answer(400, "Bad Request", Array("bad request\n".utf8))
        }
        let path = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" else { return answer(404, "Not Found", Array("only /metrics is served here\n".utf8)) }
        guard parts[0] == "GET" else { return answer(405, "Method Not Allowed", Array("GET only\n".utf8), allow: true) }
        return answer(200, "OK", render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    static func answer(_ status: Int, _ phrase: String, _ body: [UInt8],
                       contentType: String = "text/plain; charset=utf-8", allow: Bool = false) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(phrase)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        if allow { head += "Allow: GET\r\n" }
        head += "Connection: close\r\n\r\n"
        return Array(head.utf8) + body
    }
}
