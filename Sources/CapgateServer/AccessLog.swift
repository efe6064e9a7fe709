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
    /// Streamed with the project's JSON writer (its escaping) rather than built as a
    /// `JSONValue` first: this runs once per request.
    public static func line(for r: RequestRecord) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(384)
        var first = true
        func key(_ k: String) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            JSONWriter.writeString(k, ascii: false, into: &out)
            out.append(UInt8(ascii: ":"))
        }
        func string(_ k: String, _ v: String?) {
            key(k)
            if let v { JSONWriter.writeString(v, ascii: false, into: &out) } else { out.append(contentsOf: "null".utf8) }
        }
        func int(_ k: String, _ v: Int?) {
            key(k)
            out.append(contentsOf: (v.map(String.init) ?? "null").utf8)
        }
        string("time", timestamp(r.startedAt))
        int("connection", Int(truncatingIfNeeded: r.peer.connectionID))
        int("stream", Int(r.streamID))
        string("peer", r.peer.spiffeID)
        string("remote", r.peer.remoteAddress)
        string("principal", r.principal)
        string("verb", r.verb)
        int("status", r.status)
        string("code", r.code)
        string("reason_code", r.reasonCode)
        key("latency_seconds")
        JSONWriter.write(.double((r.seconds * 1_000_000).rounded() / 1_000_000), style: .compact, into: &out)
        int("bytes_in", r.bytesIn)
        int("bytes_out", r.bytesOut)
        string("tls_version", r.peer.tlsVersion)
        string("tls_cipher", r.peer.tlsCipher)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 3339 UTC with milliseconds (`2026-12-05T14:21:07.123Z`).
    static func timestamp(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = time_t(t.rounded(.down))
        let ms = Int((t - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + ":" + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2) + "." + pad(Int32(ms), 3) + "Z"
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
