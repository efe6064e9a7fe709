import CapgateTesting
import Foundation

/// Runs curl (an independent HTTP/2 + TLS implementation) and returns its exit status and
/// stdout, off the cooperative pool (`runProcess`). Fails loudly when curl is missing: the
/// Makefile installs it.
func runCurl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    let path = "/usr/bin/curl"
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw CurlMissing()
    }
    let r = try await runProcess(path, ["--silent", "--show-error", "--max-time", "20"] + arguments)
    return (r.status, r.stdout)
}

struct CurlMissing: Error, CustomStringConvertible {
    var description: String { "curl is not installed at /usr/bin/curl (apt-get install curl)" }
}

/// Starts curl uploading from a stdin pipe that is never written nor closed: the request
/// body never ends (a slow-body dribble). The caller terminates it.
func startCurlWithEndlessUpload(_ arguments: [String]) throws -> (process: Process, stdin: Pipe) {
    let path = "/usr/bin/curl"
    guard FileManager.default.isExecutableFile(atPath: path) else { throw CurlMissing() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = ["--silent", "--max-time", "30", "-T", "-"] + arguments
    let input = Pipe()
    process.standardInput = input
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return (process, input)
}
