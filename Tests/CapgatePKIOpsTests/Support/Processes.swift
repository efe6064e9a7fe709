import CapgateTesting
import Foundation
import Testing

/// The package root (CapgateTesting's `Products`).
let packageRoot = Products.packageRoot

/// Runs `capgate ARGS`; records an issue (fails the test) when the binary is missing.
func capgate(_ arguments: [String]) async throws -> ProcessResult {
    guard let binary = Products.executable("capgate") else {
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
