import CapgateTLS

/// One `[[driver]]` entry of `type = "host"` (docs/drivers.md): a driver that runs in a
/// separate driver-host process, reached over mTLS HTTP/2.
///
/// Every value comes from operator configuration: nothing a caller sends can choose the host
/// (the sidecar must never become an open proxy).
public struct HostDriverConfig: Sendable, Equatable {
    /// The driver id capabilities route to; sent to the host as `driver_id`.
    public var id: String
    /// `https://host[:port][/prefix]`; the host is an IP literal or `localhost`.
    public var url: String
    /// The SPIFFE ID the host's verified leaf must carry, exactly.
    public var identity: String
    /// PEM bundle the host's certificate must chain to.
    public var caFile: String
    /// The sidecar's certificate (chain) and key presented to the host.
    public var clientCertificate: String
    public var clientPrivateKey: String
    /// Bounds the whole call (connect, handshake, request, answer).
    public var timeoutSeconds: Double
    /// Largest answer body accepted.
    public var maxResponseBytes: Int

    public static let defaultTimeoutSeconds = 30.0
    public static let defaultMaxResponseBytes = 1 << 20

    public init(id: String, url: String, identity: String, caFile: String, clientCertificate: String,
                clientPrivateKey: String, timeoutSeconds: Double = HostDriverConfig.defaultTimeoutSeconds,
                maxResponseBytes: Int = HostDriverConfig.defaultMaxResponseBytes) {
        self.id = id
        self.url = url
        self.identity = identity
        self.caFile = caFile
        self.clientCertificate = clientCertificate
        self.clientPrivateKey = clientPrivateKey
        self.timeoutSeconds = timeoutSeconds
        self.maxResponseBytes = maxResponseBytes
    }

    /// Checks what can be checked without touching files: the URL shape, the identity
    /// syntax and the bounds. Returns a message naming the problem, or nil.
    public func validationError() -> String? {
        if case .failure(let e) = HostEndpoint.parse(url) { return "url: \(e.message)" }
        if !identity.hasPrefix("spiffe://") || identity.count <= "spiffe://".count {
            return "identity: must be a spiffe:// ID"
        }
        if !timeoutSeconds.isFinite || timeoutSeconds <= 0 { return "timeout_s: must be a positive number" }
        if maxResponseBytes < 1 { return "max_response_bytes: must be >= 1" }
        return nil
    }
}

/// Where a host listens, parsed from `HostDriverConfig.url`.
public struct HostEndpoint: Sendable, Hashable {
    /// The address connected to (an IP literal; `localhost` connects to 127.0.0.1).
    public let address: String
    public let port: UInt16
    /// The name the host's certificate is checked against (the URL's host as written).
    public let serverName: String
    /// Path prefix before `/v1/...` ("" or "/something", no trailing slash).
    public let pathPrefix: String

    public struct ParseError: Error, Sendable, Equatable { public let message: String }

    /// Accepts `https://` only (the protocol is mTLS), no user info, query or fragment, and a
    /// host that is an IP literal (IPv6 in brackets) or `localhost`: the sidecar does no DNS
    /// resolution, so an operator's URL cannot be redirected by a resolver.
    public static func parse(_ url: String) -> Result<HostEndpoint, ParseError> {
        func fail(_ m: String) -> Result<HostEndpoint, ParseError> { .failure(ParseError(message: m)) }
        let scheme = "https://"
        guard url.hasPrefix(scheme) else { return fail("must start with https://") }
        let rest = url.dropFirst(scheme.count)
        if rest.contains("?") || rest.contains("#") || rest.contains("@") {
            return fail("must not contain user info, a query or a fragment")
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        var prefix = String(rest[slash...])
        while prefix.hasSuffix("/") { prefix.removeLast() }
        var host: String
        var portText: String?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return fail("unterminated IPv6 literal") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return fail("bad authority") }
                portText = String(after.dropFirst())
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return fail("bad authority") }
            host = String(parts[0])
            if parts.count == 2 { portText = String(parts[1]) }
        }
        var port: UInt16 = 443
        if let p = portText {
            guard !p.isEmpty, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt16(p), v > 0 else {
                return fail("bad port")
            }
            port = v
        }
        guard !host.isEmpty else { return fail("missing host") }
        let address: String
        if host.lowercased() == "localhost" {
            host = "localhost"
            address = "127.0.0.1"
        } else if TLSContext.isIPLiteral(host) {
            address = host
        } else {
            return fail("host must be an IP literal or localhost (no DNS resolution)")
        }
        return .success(HostEndpoint(address: address, port: port, serverName: host, pathPrefix: prefix))
    }
}
