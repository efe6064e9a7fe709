import AgentKernel
import CapgateDrivers
import Foundation

/// `[[driver]] type = "http"` (docs/configuration.md, docs/drivers.md). Every check names the
/// offending key; secret header values read from `header_files` never appear in a message.
extension ServerConfig {
    static let httpMethods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    static func httpDriver(_ t: inout Table, id: String, key: String,
                           resolve: (String) -> String) throws(ConfigError) -> HTTPDriverConfig {
        var config = HTTPDriverConfig(id: id)
        if let s = try t.optionalNumber("timeout_s") { config.timeoutSeconds = try timeout(s, key: "\(key).timeout_s") }
        if let n = try t.optionalInt("max_response_bytes") {
            guard n >= 1 else { throw ConfigError("\(key).max_response_bytes", "must be >= 1") }
            config.maxResponseBytes = n
        }
        config.headers = try headers(try t.stringMap("headers"), key: "\(key).headers")
        for (name, pathValue) in try t.stringMap("header_files") {
            let k = "\(key).header_files.\(name)"
            try checkHeaderName(name, key: k)
            if config.headers.contains(where: { $0.name.lowercased() == name.lowercased() }) {
                throw ConfigError(k, "header also set in headers")
            }
            config.headers.append(HTTPHeader(name: name, value: try secretHeaderValue(resolve(pathValue.stringValue!), key: k),
                                             isSecret: true))
        }
        config.tls.caFile = try readableFile(try t.optionalString("ca_file"), key: "\(key).ca_file", resolve)
        config.tls.clientCertificate = try readableFile(try t.optionalString("client_certificate"),
                                                        key: "\(key).client_certificate", resolve)
        config.tls.clientPrivateKey = try readableFile(try t.optionalString("client_private_key"),
                                                       key: "\(key).client_private_key", resolve)
        if (config.tls.clientCertificate == nil) != (config.tls.clientPrivateKey == nil) {
            throw ConfigError("\(key).client_certificate", "client_certificate and client_private_key go together")
        }
        let endpointTables = try t.nestedList("endpoint")
        if endpointTables.isEmpty { throw ConfigError("\(key).endpoint", "at least one [[driver.endpoint]] is required") }
        for (i, table) in endpointTables.enumerated() {
            var e = table
            let ek = "\(key).endpoint[\(i)]"
            let operation = try e.string("operation")
            if config.endpoints.keys.contains(where: { CodePointKey($0) == CodePointKey(operation) }) {
                throw ConfigError("\(ek).operation", "duplicate operation \(PyString.repr(operation))")
            }
            config.endpoints[operation] = try endpoint(&e, key: ek)
            try e.finish()
        }
        return config
    }

    private static func endpoint(_ e: inout Table, key: String) throws(ConfigError) -> HTTPEndpoint {
        let url = try e.string("url")
        try checkURL(url, key: "\(key).url")
        let method = (try e.optionalString("method") ?? "GET")
        guard httpMethods.contains(method.uppercased()) else {
            throw ConfigError("\(key).method", "must be one of GET, POST, PUT, PATCH, DELETE")
        }
        var endpoint = HTTPEndpoint(url: url, method: method, headers: try headers(try e.stringMap("headers"),
                                                                                  key: "\(key).headers"))
        if let s = try e.optionalNumber("timeout_s") { endpoint.timeoutSeconds = try timeout(s, key: "\(key).timeout_s") }
        if let f = try e.optionalString("response_format") {
            guard let format = HTTPResponseFormat(rawValue: f) else {
                throw ConfigError("\(key).response_format", "must be \"json\" or \"text\"")
            }
            endpoint.responseFormat = format
        }
        return endpoint
    }

    private static func timeout(_ s: Double, key: String) throws(ConfigError) -> Double {
        guard s.isFinite, s > 0, s <= 86_400 else { throw ConfigError(key, "must be a number of seconds in (0, 86400]") }
        return s
    }

    /// Absolute http(s) URL with a host, no whitespace or control characters, and no query or
    /// fragment: the arguments replace the query (GET/DELETE) or it is dropped (other methods),
    /// exactly as the reference's client does, so a configured query could only mislead.
    private static func checkURL(_ url: String, key: String) throws(ConfigError) {
        let lower = url.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") { rest = url.dropFirst(7) } else if lower.hasPrefix("https://") {
            rest = url.dropFirst(8)
        } else {
            throw ConfigError(key, "must be an absolute http:// or https:// URL")
        }
        guard let first = rest.first, first != "/", first != ":" else { throw ConfigError(key, "has no host") }
        if url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            throw ConfigError(key, "must not contain spaces or control characters")
        }
        if url.contains("?") || url.contains("#") {
            throw ConfigError(key, "must not contain a query or fragment (the arguments become the query)")
        }
    }

    private static func headers(_ map: JSONObject, key: String) throws(ConfigError) -> [HTTPHeader] {
        var out: [HTTPHeader] = []
        for (name, value) in map {
            try checkHeaderName(name, key: "\(key).\(name)")
            let v = value.stringValue!
            try checkHeaderValue(v, key: "\(key).\(name)")
            out.append(HTTPHeader(name: name, value: v))
        }
        return out
    }

    /// RFC 9110 token characters only: a header name can never smuggle a second header.
    private static func checkHeaderName(_ name: String, key: String) throws(ConfigError) {
        let ok = !name.isEmpty && name.utf8.allSatisfy { b in
            (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
                || "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
        if !ok { throw ConfigError(key, "is not a valid header name") }
    }

    /// No CR, LF or NUL: a value must not split into a second header (request smuggling).
    /// The message never repeats the value, which may be a secret.
    private static func checkHeaderValue(_ v: String, key: String) throws(ConfigError) {
        if v.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
            throw ConfigError(key, "value contains a line break or NUL")
        }
    }

    /// The file's text minus one trailing newline (`\n` or `\r\n`), as secret files are
    /// usually written by `echo` or a secret manager. Read once, at load.
    private static func secretHeaderValue(_ path: String, key: String) throws(ConfigError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(key, "cannot read \(path)")
        }
        var bytes = [UInt8](data)
        if bytes.last == 0x0A { bytes.removeLast() }
        if bytes.last == 0x0D { bytes.removeLast() }
        guard let value = String(validating: bytes, as: UTF8.self) else { throw ConfigError(key, "\(path) is not UTF-8") }
        if value.isEmpty { throw ConfigError(key, "\(path) is empty") }
        try checkHeaderValue(value, key: key)
        return value
    }

    private static func readableFile(_ p: String?, key: String, _ resolve: (String) -> String) throws(ConfigError) -> String? {
        guard let p else { return nil }
        let path = resolve(p)
        guard access(path, R_OK) == 0 else { throw ConfigError(key, "cannot read \(path)") }
        return path
    }
}
