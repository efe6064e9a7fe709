import CapgateFormats
import Foundation
import Logging

/// The access log (docs/operations.md, "Access log"): one JSON object per line per answered
/// request, through swift-log (a `Logger` labelled `capgate.access` whose handler writes the
/// message as the line), to a file (appended, created 0640) or to stderr.
///
/// WHAT is logged is fixed by `line(for:)`: fields from the verified identity, the identity map,
/// the verb list, the status and error code, sizes and timing. Never a body, a header, a path
/// (an unknown path is logged as verb `unknown`), a token or its signature, or a secret.
public final class AccessLog: Sendable {
    let logger: Logger

    /// Opens the destination; a file that cannot be opened fails start-up.
    public init(destination: AccessLogSettings.Destination) throws(ConfigError) {
        let fd: Int32
        switch destination {
        case .stderr:
            fd = 2
        case .file(let path):
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard fd >= 0 else {
                throw ConfigError("access_log.path", "cannot open \(path): \(String(cString: strerror(errno)))")
            }
        }
        let sink = AccessLogSink(fd: fd, owned: fd != 2)
        logger = Logger(label: "capgate.access") { _ in AccessLogHandler(sink: sink) }
    }

    public func write(_ record: RequestRecord) {
        logger.info(Logger.Message(stringLiteral: Self.line(for: record)))
    }

    /// The JSON line (without the newline). Field order is fixed; absent values are null.
    public static func line(for r: RequestRecord) -> String {
        let object: JSONValue = [
            "time": .string(timestamp(r.startedAt)),
            "connection": .int(Int(truncatingIfNeeded: r.peer.connectionID)),
            "stream": .int(Int(r.streamID)),
            "peer": .string(r.peer.spiffeID),
            "remote": .string(r.peer.remoteAddress),
            "principal": r.principal.map(JSONValue.string) ?? .null,
            "verb": .string(r.verb),
            "status": r.status.map(JSONValue.int) ?? .null,
            "code": .string(r.code),
            "reason_code": r.reasonCode.map(JSONValue.string) ?? .null,
            "latency_seconds": .double((r.seconds * 1_000_000).rounded() / 1_000_000),
            "bytes_in": .int(r.bytesIn),
            "bytes_out": .int(r.bytesOut),
            "tls_version": .string(r.peer.tlsVersion),
            "tls_cipher": .string(r.peer.tlsCipher),
        ]
        return object.serialized()
    }

    /// RFC 3339 UTC with milliseconds (`2026-12-05T14:21:07.123Z`).
    static func timestamp(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = time_t(t.rounded(.down))
        let ms = Int((t - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), ms)
    }
}

/// The file descriptor the access log writes to; closed with the log (never stderr).
final class AccessLogSink: Sendable {
    let fd: Int32
    let owned: Bool
    init(fd: Int32, owned: Bool) {
        self.fd = fd
        self.owned = owned
    }
    deinit { if owned { close(fd) } }

    /// One `write(2)` per line: O_APPEND makes each line land whole, never interleaved.
    func writeLine(_ text: String) {
        var line = text
        line += "\n"
        line.withUTF8 { buf in _ = Glibc.write(fd, buf.baseAddress, buf.count) }
    }
}

/// swift-log handler of the access log: the message is the line (no level, no label, no
/// metadata: the line is the record).
struct AccessLogHandler: LogHandler {
    let sink: AccessLogSink
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) { sink.writeLine(event.message.description) }
}
