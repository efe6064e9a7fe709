/// One request header. A value read from a secret file (`header_files`) is marked secret:
/// every textual rendering of the header (`description`, `debugDescription`, `dump`, string
/// interpolation of a containing struct) shows `<redacted>` instead of the value, so a
/// configuration printed in a log or an error can never carry a credential.
public struct HTTPHeader: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public var name: String
    public var value: String
    public var isSecret: Bool

    public init(name: String, value: String, isSecret: Bool = false) {
        self.name = name
        self.value = value
        self.isSecret = isSecret
    }

    public var description: String { "\(name): \(isSecret ? "<redacted>" : value)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "value": isSecret ? "<redacted>" : value, "isSecret": isSecret])
    }
}

/// How a successful body becomes `RawResult.data`.
public enum HTTPResponseFormat: String, Sendable, CaseIterable {
    /// Parsed with the strict JSON reader; an empty body is `null`.
    case json
    /// Decoded as UTF-8, invalid bytes replaced by U+FFFD.
    case text
}

/// The endpoint serving one operation (the reference's `HTTPEndpoint`).
public struct HTTPEndpoint: Sendable, Equatable {
    /// Absolute `http://` or `https://` URL, from operator configuration only.
    public var url: String
    /// Sent upper-cased. GET and DELETE carry the arguments as query parameters; every other
    /// method carries them as a JSON body.
    public var method: String
    /// Added after the driver's headers; a same-named header (case-insensitive) replaces it.
    public var headers: [HTTPHeader]
    /// Inactivity timeout in seconds for this endpoint; nil uses the driver's.
    public var timeoutSeconds: Double?
    public var responseFormat: HTTPResponseFormat

    public init(url: String, method: String = "GET", headers: [HTTPHeader] = [], timeoutSeconds: Double? = nil,
                responseFormat: HTTPResponseFormat = .json) {
        self.url = url
        self.method = method
        self.headers = headers
        self.timeoutSeconds = timeoutSeconds
        self.responseFormat = responseFormat
    }
}

/// TLS material for `https://` endpoints. Paths are read by libcurl when a connection is made.
public struct HTTPTLSFiles: Sendable, Equatable {
    /// PEM bundle the tool's certificate must chain to; nil uses the system bundle.
    public var caFile: String?
    /// PEM client certificate and key presented to the tool (both or neither).
    public var clientCertificate: String?
    public var clientPrivateKey: String?

    public init(caFile: String? = nil, clientCertificate: String? = nil, clientPrivateKey: String? = nil) {
        self.caFile = caFile
        self.clientCertificate = clientCertificate
        self.clientPrivateKey = clientPrivateKey
    }
}

/// A configured HTTP driver (`[[driver]] type = "http"`, docs/drivers.md).
public struct HTTPDriverConfig: Sendable, Equatable {
    public var id: String
    /// Driver-wide inactivity timeout in seconds (the reference's `default_timeout`, 30).
    public var timeoutSeconds: Double
    /// Largest successful body accepted, checked while reading; nil is unbounded (reference).
    public var maxResponseBytes: Int?
    /// Sent on every request (the reference's `base_headers`), secret ones included.
    public var headers: [HTTPHeader]
    public var tls: HTTPTLSFiles
    /// Operation name -> endpoint.
    public var endpoints: [String: HTTPEndpoint]

    public init(id: String, timeoutSeconds: Double = 30, maxResponseBytes: Int? = nil, headers: [HTTPHeader] = [],
                tls: HTTPTLSFiles = HTTPTLSFiles(), endpoints: [String: HTTPEndpoint] = [:]) {
        self.id = id
        self.timeoutSeconds = timeoutSeconds
        self.maxResponseBytes = maxResponseBytes
        self.headers = headers
        self.tls = tls
        self.endpoints = endpoints
    }
}
