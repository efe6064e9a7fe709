import Foundation
import Synchronization

/// The HTTP tool server of the driver tests (`Tests/Fixtures/http/tool_server.py`): one per
/// test process, on 127.0.0.1 and a port the OS chose. It exits when its stdin closes, which
/// happens when the test process ends, so no test has to stop it.
public enum ToolServer {
    /// The repository root (`Products.packageRoot`, the one place that knows the layout).
    public static var repositoryRoot: String { Products.packageRoot }

    /// The venv's Python (with the reference installed by `make test`), else the system one.
    public static var python: String {
        let venv = repositoryRoot + "/.venv/bin/python"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3"
    }

    public static func fixture(_ name: String) -> String { repositoryRoot + "/Tests/Fixtures/http/" + name }

    private static let started = Task<Int, any Error> {
        try await runBlocking { try launch([]) }
    }

    /// Starts one more server with `arguments` (e.g. `--tls CERT KEY`); returns its port.
    public static func launchAnother(_ arguments: [String]) async throws -> Int {
        try await runBlocking { try launch(arguments) }
    }

    /// The server's base URL, `http://127.0.0.1:<port>`; starts it on first use.
    public static func baseURL() async throws -> String {
        "http://127.0.0.1:\(try await started.value)"
    }

    /// A loopback port where nothing listens (bound, then closed): connections are refused.
    public static func deadPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ToolServerError("socket failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard bound else { throw ToolServerError("bind failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Kept for the life of the process: dropping the stdin pipe would stop the server.
    /// Servers are kept for the life of the process: dropping a stdin pipe would stop one.
    private static let keepAlive = Mutex<[(Process, Pipe)]>([])

    private static func launch(_ arguments: [String]) throws -> Int {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [fixture("tool_server.py")] + arguments
        let stdin = Pipe(), stdout = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        try p.run()
        keepAlive.withLock { $0.append((p, stdin)) }
        var line: [UInt8] = []
        let reader = stdout.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = reader.availableData
            if chunk.isEmpty { throw ToolServerError("tool server exited before printing its port") }
            line.append(contentsOf: chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let port = Int(text) else { throw ToolServerError("tool server printed \(text)") }
        return port
    }
}

public struct ToolServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
