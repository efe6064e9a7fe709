import Logging

/// A swift-log handler for tests: hands every line (any level, trace included) to `sink`, so
/// a test can assert on the transport's and the server's log lines or wait for one.
public struct CapturingLogHandler: LogHandler {
    public var logLevel: Logger.Level = .trace
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: @Sendable (Logger.Level, String) -> Void

    public init(_ sink: @escaping @Sendable (Logger.Level, String) -> Void) {
        self.sink = sink
    }

    /// A logger whose lines go to `sink`.
    public static func logger(_ sink: @escaping @Sendable (Logger.Level, String) -> Void) -> Logger {
        Logger(label: "capgate-test") { _ in CapturingLogHandler(sink) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) { sink(event.level, "\(event.message)") }
}
