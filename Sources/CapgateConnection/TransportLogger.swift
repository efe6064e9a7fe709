import Glibc
import Synchronization

/// Where the transport writes its log lines: one line per connection end (peer identity and
/// reason), start-up, reloads, shutdown. A protocol so the CLI can route lines elsewhere and
/// tests can capture them. Lines never contain secrets: no key material, no request bodies,
/// no header values, only stable reason codes, identities and addresses.
///
/// Named `TransportLogger` (not `Logger`) so it never collides with swift-log's `Logger`.
public protocol TransportLogger: Sendable {
    func log(_ level: TransportLogLevel, _ message: String)
}

public enum TransportLogLevel: String, Sendable, Comparable {
    case debug, info, warning, error

    private var rank: Int {
        switch self {
        case .debug: 0
        case .info: 1
        case .warning: 2
        case .error: 3
        }
    }

    public static func < (a: TransportLogLevel, b: TransportLogLevel) -> Bool { a.rank < b.rank }
}

/// Default logger: one `write(2)` per line to stderr, so lines from different loop threads
/// never interleave mid-line (a single write of < PIPE_BUF bytes is atomic on pipes).
public struct StderrTransportLogger: TransportLogger {
    public let minimumLevel: TransportLogLevel

    public init(minimumLevel: TransportLogLevel = .info) {
        self.minimumLevel = minimumLevel
    }

    public func log(_ level: TransportLogLevel, _ message: String) {
        guard level >= minimumLevel else { return }
        var line = "capgate \(level.rawValue): \(message)\n"
        line.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
    }
}

/// Keeps every line in memory (tests, diagnostics).
public final class MemoryTransportLogger: TransportLogger {
    private let storage = Mutex<[String]>([])

    public init() {}

    public func log(_ level: TransportLogLevel, _ message: String) {
        storage.withLock { $0.append("\(level.rawValue): \(message)") }
    }

    /// Lines logged so far.
    public var lines: [String] { storage.withLock { $0 } }
}
