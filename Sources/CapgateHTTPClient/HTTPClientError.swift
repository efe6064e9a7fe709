import CapgateHTTP2
import CapgateIO
import CapgateTLS

/// Why a request (or the whole connection) failed. Typed so tests can tell "the server
/// refused my certificate" (`tls`) from "the server closed the connection" or "the stream was
/// reset".
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// TCP connect or socket IO failed.
    case io(IOError)
    /// TLS failed: handshake, certificate verification (either side), or a fatal alert later.
    /// Under TLS 1.3 a server that refuses the CLIENT certificate is seen here on the first
    /// read after the client believed the handshake done (docs/platform-notes.md).
    case tls(TLSError)
    /// The server closed the connection (TCP EOF or close_notify) with this request pending.
    case connectionClosed
    /// The HTTP/2 session failed (nghttp2 library error code).
    case protocolError(Int32)
    /// The server reset the stream (RST_STREAM, or GOAWAY above its id).
    case streamReset(H2ErrorCode)
    /// No new stream can be opened (GOAWAY received, stream ids exhausted).
    case streamRefused
    /// `close()` was called, or the client's loop is gone.
    case closed
    /// No response arrived within the connection's request timeout.
    case timedOut
    /// The response body passed the request's `maxResponseBytes` (the stream was reset).
    case responseTooLarge
    /// The server's verified leaf does not carry the SPIFFE ID the connection was opened for
    /// (the received ID, or the identity error); no request was sent.
    case peerIdentityMismatch(String)

    public var description: String {
        switch self {
        case .io(let e): "io: \(e)"
        case .tls(let e): "tls: \(e)"
        case .connectionClosed: "connection closed by the server"
        case .protocolError(let rv): "HTTP/2 error \(rv)"
        case .streamReset(let code): "stream reset: \(code)"
        case .streamRefused: "no new stream allowed on this connection"
        case .closed: "client closed"
        case .timedOut: "no response within the request timeout"
        case .responseTooLarge: "response body larger than the limit"
        case .peerIdentityMismatch(let got): "server identity \(got) is not the expected one"
        }
    }
}
