#if canImport(Glibc)
import Glibc
#endif

/// File loaders (`from_toml`, `from_yaml`, `policy_dsl_parser.load_*_data`). Every failure
/// is a `.policyConfigError`; messages follow the reference's shapes (`Cannot read policy
/// file '<p>': [Errno 2] No such file or directory: '<p>'`, `TOML parse error in '<p>': …`),
/// though parse-error details come from capgate's readers, not tomllib.
extension DeclarativePolicyEngine {
    /// Policy TOML text (a `[[rules]]` array with `[rules.match]` sub-tables). Parse errors
    /// name the source as `<string>`.
    public static func fromTOML(_ text: String) throws(KernelError) -> DeclarativePolicyEngine {
        try fromTOML(text, source: "<string>")
    }

    public static func fromTOML(path: String) throws(KernelError) -> DeclarativePolicyEngine {
        try fromTOML(try readPolicyFile(path), source: path)
    }

    static func fromTOML(_ text: String, source: String) throws(KernelError) -> DeclarativePolicyEngine {
        let doc: JSONValue
        do throws(TOMLReader.ParseError) {
            doc = try TOMLReader.parse(text)
        } catch {
            throw KernelError(.policyConfigError, "TOML parse error in '\(source)': \(error)")
        }
        return try DeclarativePolicyEngine(document: doc)
    }

    /// Policy YAML text (see `DeclarativePolicyEngine+YAML.swift`).
    public static func fromYAML(_ text: String) throws(KernelError) -> DeclarativePolicyEngine {
        try fromYAML(text, source: "<string>")
    }

    public static func fromYAML(path: String) throws(KernelError) -> DeclarativePolicyEngine {
        try fromYAML(try readPolicyFile(path), source: path)
    }

    /// Dispatches on the extension: `.toml`, `.json`, `.yaml`/`.yml`.
    public static func fromFile(path: String) throws(KernelError) -> DeclarativePolicyEngine {
        let lower = path.lowercased()
        if lower.hasSuffix(".toml") { return try fromTOML(path: path) }
        if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") { return try fromYAML(path: path) }
        if lower.hasSuffix(".json") {
            let text = try readPolicyFile(path)
            let doc: JSONValue
            do throws(JSONParseError) {
                doc = try JSONParser.parse(text)
            } catch {
                throw KernelError(.policyConfigError, "JSON parse error in '\(path)': \(error)")
            }
            guard case .object = doc else {
                throw KernelError(.policyConfigError, "Policy file '\(path)' must be a JSON object.")
            }
            return try DeclarativePolicyEngine(document: doc)
        }
        throw KernelError(.policyConfigError,
                          "Unsupported policy file extension for '\(path)': expected .toml, .json, .yaml or .yml.")
    }

    /// Reads UTF-8 text; invalid UTF-8 is a config error (Python's strict decode).
    static func readPolicyFile(_ path: String) throws(KernelError) -> String {
        func osError() -> KernelError {
            let e = errno
            return KernelError(.policyConfigError, "Cannot read policy file '\(path)': [Errno \(e)] "
                                   + "\(String(cString: strerror(e))): \(PyString.repr(path))")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw osError() }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw osError()
            }
            if n == 0 { break }
            bytes.append(contentsOf: buf[0..<n])
            // Policy files are small; refuse absurd sizes rather than exhaust memory.
            if bytes.count > 16 << 20 {
                throw KernelError(.policyConfigError, "Cannot read policy file '\(path)': file larger than 16 MiB")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KernelError(.policyConfigError, "Cannot read policy file '\(path)': not valid UTF-8")
        }
        return text
    }
}
