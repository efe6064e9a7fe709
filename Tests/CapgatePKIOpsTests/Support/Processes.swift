import CapgateTestSupport
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

/// Runs `capgate ARGS`; records an issue (fails the test) when the binary is missing.
func capgate(_ arguments: [String]) async throws -> ProcessResult {
    guard let binary = capgateBinary() else {
        Issue.record("capgate binary not found next to the test bundle nor in .build/debug")
        return ProcessResult(status: -1, stdout: "", stderr: "")
    }
    return try await runProcess(binary, arguments)
}

/// Permission bits of a file.
func fileMode(_ path: String) throws -> Int {
    let attrs = try FileManager.default.attributesOfItem(atPath: path)
    return (attrs[.posixPermissions] as? NSNumber)?.intValue ?? -1
}
