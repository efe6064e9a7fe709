import CapgateHTTP2
import CapgateIO
import CapgateTLS
import Synchronization

/// A response as the client saw it.
public typealias HTTPClientResponse = (status: Int, headers: [(name: String, value: String)], body: [UInt8])

/// One mTLS HTTP/2 connection usable from any number of tasks at once: every `send` becomes
/// its own stream on the same connection (multiplexed, bounded by the server's
/// MAX_CONCURRENT_STREAMS; extra requests wait inside nghttp2).
///
/// Threading: the socket, TLS engine and HTTP/2 session live on ONE event loop (a private
/// one-thread group by default, or a loop of a shared group for many connections). `send`
/// posts into the loop's locked task queue and suspends on a continuation the loop resumes;
/// submissions that arrive together are written together (one TLS write per loop
/// iteration), so 16 concurrent streams do not serialize on syscalls.
public final class HTTPClientConnection: Sendable {
    let handle: EventLoopHandle
    private let ownedGroup: EventLoopGroup?
    let ref: CoreRef
    /// `:authority` sent with every request.
    public let authority: String
    /// Runs tasks on this connection's event loop. A caller that makes its calls from such a
    /// task (`Task(executorPreference:)`, `withTaskExecutorPreference`) posts each request and
    /// is resumed by the answer on the loop's own thread: no eventfd write and no other thread
    /// woken per call, which is most of a cheap call's latency. The task then holds the loop
    /// while it runs: it must not block.
    public let taskExecutor: LoopTaskExecutor

    /// Connects (TCP, blocking up to `connectTimeout`) and starts the TLS handshake on the
    /// loop. Handshake problems surface on the first `send` (or `waitUntilReady()`).
    ///
    /// - Parameters:
    ///   - tls: a client context (`TLSContext.client`), its `serverName` is verified.
    ///   - authority: defaults to "host:port".
    ///   - group: share loops between many connections (bench); nil = a private thread.
    ///   - requestTimeout: how long a request waits for its response before it fails with
    ///     `.timedOut` and its stream is reset; nil waits forever.
    ///   - expectedPeerID: when set, the server's verified leaf must carry exactly this SPIFFE
    ///     ID, else the connection fails with `.peerIdentityMismatch` before any request is
    ///     sent (driver hosts: the name check alone would accept any leaf of the CA).
    public init(host: String, port: UInt16, tls: TLSContext, authority: String? = nil,
                group: EventLoopGroup? = nil, connectTimeout: Duration = .seconds(10),
                requestTimeout: Duration? = .seconds(60), expectedPeerID: String? = nil) throws(HTTPClientError) {
        let socket: Socket
        do {
            socket = try Socket.connect(host: host, port: port, timeout: connectTimeout, nonBlocking: true)
        } catch {
            throw .io(error)
        }
        let engine: TLSEngine
        do { engine = try tls.makeEngine() } catch { throw .tls(error) }
        let session: H2ClientSession
        do { session = try H2ClientSession() } catch { throw .protocolError(-1) }
        let loopGroup: EventLoopGroup
        if let group {
            loopGroup = group
            ownedGroup = nil
        } else {
            do { loopGroup = try EventLoopGroup(count: 1) } catch { throw .io(error) }
            ownedGroup = loopGroup
        }
        self.handle = loopGroup.next()
        self.taskExecutor = LoopTaskExecutor(handle: handle)
        self.authority = authority ?? (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        let ref = CoreRef()
        self.ref = ref
        // The fd, engine and session cross to the loop thread exactly once, inside the box.
        let transfer = Transfer(fd: socket.takeDescriptor(), engine: engine, session: session)
        let posted = handle.execute { loop in
            let core = ClientCore(socket: Socket(adopting: transfer.fd), engine: transfer.engine,
                                  session: transfer.session, loop: loop, ref: ref)
            core.requestTimeout = requestTimeout
            core.expectedPeerID = expectedPeerID
            ref.core = core
            core.start()
        }
        if !posted {
            Socket(adopting: transfer.fd).close()
            throw .closed
        }
    }

    deinit { ownedGroup?.shutdown() }

    /// Sends one request on a new stream and waits for the complete response.
    /// Safe to call concurrently from many tasks. Cancelling the calling task does not reset
    /// the stream (the response is simply discarded when it arrives after `close()`);
    /// `timeout` (default: the connection's `requestTimeout`) does. `maxResponseBytes` bounds
    /// the body: past it the stream is reset and the call fails with `.responseTooLarge`.
    public func send(method: String = "POST", path: String, headers: [(name: String, value: String)] = [],
                     body: [UInt8] = [], timeout: Duration? = nil,
                     maxResponseBytes: Int? = nil) async throws(HTTPClientError) -> HTTPClientResponse {
        let request = ClientRequest(method: method, path: path, authority: authority, headers: headers, body: body,
                                    timeout: timeout, maxResponseBytes: maxResponseBytes)
        let ref = self.ref
        let result = await withCheckedContinuation { (continuation: ResponseContinuation) in
            let posted = handle.execute { _ in
                if let core = ref.core {
                    core.submit(request, continuation)
                } else {
                    continuation.resume(returning: .failure(.closed))
                }
            }
            if !posted { continuation.resume(returning: .failure(.closed)) }
        }
        let response = try result.get()
        return (response.status, response.headers, response.body)
    }

    /// Waits for the TLS handshake (and the server's first bytes) to complete; throws what
    /// ended the connection. Optional: `send` waits for the handshake by itself.
    public func waitUntilReady() async throws(HTTPClientError) {
        let ref = self.ref
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<HTTPClientError?, Never>) in
            let posted = handle.execute { _ in
                if let core = ref.core {
                    core.whenReady(continuation)
                } else {
                    continuation.resume(returning: .closed)
                }
            }
            if !posted { continuation.resume(returning: .closed) }
        }
        if let result { throw result }
    }

    /// Waits until the connection ends (server close, idle timeout, error, `close()`) and
    /// returns why. Lets tests wait for a server-side close as an event, not with a sleep.
    public func waitUntilClosed() async -> HTTPClientError {
        let ref = self.ref
        return await withCheckedContinuation { (continuation: CheckedContinuation<HTTPClientError, Never>) in
            let posted = handle.execute { _ in
                if let core = ref.core {
                    core.whenClosed(continuation)
                } else {
                    continuation.resume(returning: .closed)
                }
            }
            if !posted { continuation.resume(returning: .closed) }
        }
    }

    /// Closes the connection (close_notify); pending and later requests fail with `.closed`.
    /// Stops the private loop thread, if any. Idempotent.
    public func close() {
        let ref = self.ref
        handle.execute { _ in ref.core?.close(.closed) }
        ownedGroup?.shutdown()
    }

    /// True once the connection ended (closed, server gone, or failed).
    public var isClosed: Bool { ref.closed.load(ordering: .acquiring) }
}

typealias ResponseContinuation = CheckedContinuation<Result<H2Response, HTTPClientError>, Never>

/// A request on its way to the loop.
struct ClientRequest: Sendable {
    let method: String
    let path: String
    let authority: String
    let headers: [(name: String, value: String)]
    let body: [UInt8]
    /// This request's deadline; nil: the connection's `requestTimeout`.
    var timeout: Duration? = nil
    /// Response body bytes accepted; nil: unbounded.
    var maxResponseBytes: Int? = nil
    /// A streamed response goes here as it arrives (`stream(...)`); nil: buffered.
    var sink: (any H2ResponseSink)? = nil
}

/// Holds the loop-confined core. WHY @unchecked Sendable: `core` is written and read only on
/// the connection's loop thread (inside tasks that loop runs); `closed` is atomic.
final class CoreRef: @unchecked Sendable {
    var core: ClientCore?
    let closed = Atomic<Bool>(false)
}

/// Moves the socket fd, engine and session to the loop thread. WHY @unchecked Sendable: the
/// creating thread gives them up (never touches them again) before the loop uses them.
private final class Transfer: @unchecked Sendable {
    let fd: Int32
    let engine: TLSEngine
    let session: H2ClientSession
    init(fd: Int32, engine: TLSEngine, session: H2ClientSession) {
        self.fd = fd
        self.engine = engine
        self.session = session
    }
}
