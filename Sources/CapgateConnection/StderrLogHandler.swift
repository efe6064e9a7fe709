import Glibc
import Logging

// The transport's and the server's log lines (one per connection end with peer identity and
// reason, start-up, reloads, shutdown) go through swift-log `Logger`s, so an embedder can
// route them with `LoggingSystem` or its own handler. Lines never contain secrets: no key
// material, no request bodies, no header values, only stable reason codes, identities and
// addresses.

/// The default handler: `capgate <level>: <message>`, one `write(2)` per line to stderr, so
/// lines from different loop threads never interleave mid-line (a single write of
/// < PIPE_BUF bytes is atomic on pipes). Metadata, when a caller adds some, follows as
/// ` key=value` pairs in key order.
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(label: String, logLevel: Logger.Level = .info) {
        self.logLevel = logLevel
    }

    /// The server's default logger: label `capgate`, level info.
    public static func logger(level: Logger.Level = .info) -> Logger {
        Logger(label: "capgate") { StderrLogHandler(label: $0, logLevel: level) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "capgate \(event.level.rawValue): \(event.message)"
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in all.keys.sorted() { line += " \(key)=\(all[key]!)" }
        line += "\n"
        line.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
    }
}

extension Logger {
    /// `logger.log(.info, "…")`: the transport's and the server's call sites spell a line this
    /// way (a level chosen at run time reads the same as a fixed one). The message is built
    /// only when the level is enabled.
    package func log(_ level: Logger.Level, _ message: @autoclosure () -> String,
                     file: String = #fileID, function: String = #function, line: UInt = #line) {
        log(level: level, "\(message())", file: file, function: function, line: line)
    }
}
