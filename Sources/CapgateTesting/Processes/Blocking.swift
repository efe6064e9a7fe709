import Foundation

/// Runs blocking work (waiting for a child process, a blocking read) on a thread of its
/// own, never on Swift's cooperative pool. The pool has one thread per core (two here):
/// two tests blocking it at once starve every server handler task in the process, and
/// a curl waiting for such a handler then times out. Async tests must not block the pool.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
        let thread = Thread {
            do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
        }
        thread.start()
    }
}

/// What a finished child process printed and returned.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs `executable` to completion off the cooperative pool. Output goes to temporary
/// files rather than pipes, so a child that fills one stream while we read the other can
/// never deadlock.
public func runProcess(_ executable: String, _ arguments: [String], stdin: [UInt8] = [],
                       environment: [String: String] = [:], directory: String? = nil) async throws -> ProcessResult {
    try await runBlocking {
        let tmp = FileManager.default.temporaryDirectory
        let outURL = tmp.appendingPathComponent("proc-\(UUID().uuidString).out")
        let errURL = tmp.appendingPathComponent("proc-\(UUID().uuidString).err")
        let inURL = tmp.appendingPathComponent("proc-\(UUID().uuidString).in")
        FileManager.default.createFile(atPath: inURL.path, contents: Data(stdin))
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
            try? FileManager.default.removeItem(at: inURL)
        }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        p.standardOutput = out
        p.standardError = err
        let input = try FileHandle(forReadingFrom: inURL)
        defer { try? input.close() }
        p.standardInput = input
        try p.run()
        p.waitUntilExit()
        try? out.close()
        try? err.close()
        return ProcessResult(status: p.terminationStatus,
                             stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}
