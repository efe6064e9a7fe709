import Foundation
import Testing

/// The package root, from this file's path (Tests/CapgatePKIOpsTests/Support/Processes.swift).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.path
}()

/// The `capgate` executable built next to the test bundle (this target depends on it, so
/// `swift build --build-tests` builds it), else `.build/debug/capgate` under the package root.
func capgateBinary() -> String? {
    var candidates: [String] = []
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        var parts = exe.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast()
        if let bundle = parts.firstIndex(where: { $0.hasSuffix(".xctest") }) { parts.removeSubrange(bundle...) }
        candidates.append((parts + ["capgate"]).joined(separator: "/"))
    }
    candidates.append(packageRoot + "/.build/debug/capgate")
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `executable` with `arguments` (and extra environment) in `directory`; waits for it.
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                directory: String? = nil) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read before waiting: a child filling the pipe buffer would otherwise block forever.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return ProcessResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                         stderr: String(decoding: e, as: UTF8.self))
}

/// Runs `capgate ARGS`; records an issue (fails the test) when the binary is missing.
func capgate(_ arguments: [String]) throws -> ProcessResult {
    guard let binary = capgateBinary() else {
        Issue.record("capgate binary not found next to the test bundle nor in .build/debug")
        return ProcessResult(status: -1, stdout: "", stderr: "")
    }
    return try runProcess(binary, arguments)
}

/// Permission bits of a file.
func fileMode(_ path: String) throws -> Int {
    let attrs = try FileManager.default.attributesOfItem(atPath: path)
    return (attrs[.posixPermissions] as? NSNumber)?.intValue ?? -1
}
