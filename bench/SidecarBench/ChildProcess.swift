import Foundation

/// A server the harness started (capgate, nginx, nghttpx): its pid, its log file, and a
/// clean stop. Output goes to a file in the run's temp dir, never to a pipe the harness would
/// have to drain (a full pipe would stall the server mid-measurement).
///
/// WHY @unchecked Sendable: `Process` is used from one task at a time (start, poll, stop),
/// never concurrently.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let process: Process
    let logPath: String

    init(name: String, executable: String, arguments: [String], logPath: String,
         environment: [String: String]? = nil) throws {
        self.name = name
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        guard let log = FileHandle(forWritingAtPath: logPath) else { throw BenchError.setup("cannot write \(logPath)") }
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        if let environment { process.environment = environment }
        // posix_spawn copies the calling thread's signal mask, and Swift concurrency's pool
        // threads block nearly every signal: a child started from one would never see
        // SIGINT/SIGTERM/SIGCHLD (perf record then never stops). Start it with an empty mask.
        var empty = sigset_t(), saved = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        do { try process.run() } catch { throw BenchError.child("\(name): cannot start \(executable): \(error)") }
    }

    /// Starts the child (async so callers stay uniform; the spawn itself is synchronous).
    static func spawn(name: String, executable: String, arguments: [String], logPath: String) async throws -> ChildProcess {
        try ChildProcess(name: name, executable: executable, arguments: arguments, logPath: logPath)
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// The log so far (start-up diagnostics, the capgate "listening on" line).
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Polls the log for `pattern` (a regex with one capture group) until `timeout`.
    func waitForLog(_ pattern: String, timeout: Double = 30) throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = log
            if let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
               let r = Range(m.range(at: 1), in: text) {
                return String(text[r])
            }
            guard isRunning else { throw BenchError.child("\(name) exited: \(text.suffix(2000))") }
            usleep(20_000)
        }
        throw BenchError.child("\(name): no \(pattern) in its log after \(timeout) s: \(log.suffix(2000))")
    }

    /// Polls until a TCP connect to 127.0.0.1:`port` succeeds (servers without a ready line).
    func waitForPort(_ port: UInt16, timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if Ports.canConnect(port) { return }
            guard isRunning else { throw BenchError.child("\(name) exited: \(log.suffix(2000))") }
            usleep(20_000)
        }
        throw BenchError.child("\(name): port \(port) not open after \(timeout) s: \(log.suffix(2000))")
    }

    /// SIGTERM (graceful), then SIGKILL after `grace` seconds. Only this child's pid.
    func stop(grace: Double = 5) {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Loopback port helpers. Servers that cannot report the port they bound (nginx, nghttpx)
/// get one the kernel just handed out for port 0; the tiny race is acceptable for a bench.
enum Ports {
    static func free() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError.setup("socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else { throw BenchError.setup("bind: errno \(errno)") }
        return UInt16(bigEndian: addr.sin_port)
    }

    static func canConnect(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// CPU time and memory of a server process and its children (nginx workers), from /proc.
/// CPU is utime+stime (clock ticks, 10 ms resolution: fine over seconds-long points); peak RSS
/// is VmHWM, reset before each point by writing "5" to /proc/PID/clear_refs (Linux >= 4.0).
struct ProcSample: Sendable {
    var cpuSeconds: Double
    var rssKiB: Int
    var peakRSSKiB: Int
}

enum ProcStats {
    static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// `pid` and its descendants (nginx master + workers).
    static func tree(_ pid: Int32) -> [Int32] {
        var out = [pid]
        var i = 0
        while i < out.count {
            out += children(out[i])
            i += 1
        }
        return out
    }

    static func children(_ pid: Int32) -> [Int32] {
        let dir = "/proc/\(pid)/task"
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        var out: [Int32] = []
        for t in tasks {
            guard let s = try? String(contentsOfFile: "\(dir)/\(t)/children", encoding: .utf8) else { continue }
            out += s.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return out
    }

    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = s.lastIndex(of: ")") else { return 0 }
        // Fields after "comm)": state(3) ppid(4) ... utime(14) stime(15).
        let rest = s[s.index(after: close)...].split(separator: " ")
        guard rest.count > 12, let u = Double(rest[11]), let k = Double(rest[12]) else { return 0 }
        return (u + k) / ticks
    }

    static func statusKiB(_ pid: Int32, _ field: String) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
        }
        return 0
    }

    static func sample(_ pid: Int32) -> ProcSample {
        var out = ProcSample(cpuSeconds: 0, rssKiB: 0, peakRSSKiB: 0)
        for p in tree(pid) {
            out.cpuSeconds += cpuSeconds(p)
            out.rssKiB += statusKiB(p, "VmRSS")
            out.peakRSSKiB += statusKiB(p, "VmHWM")
        }
        return out
    }

    static func resetPeak(_ pid: Int32) {
        for p in tree(pid) { try? "5".write(toFile: "/proc/\(p)/clear_refs", atomically: false, encoding: .utf8) }
    }

    /// The harness's own CPU (in-process points): getrusage(RUSAGE_SELF), all threads.
    static func selfCPUSeconds() -> Double {
        var u = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6
            + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    static func selfPeakRSSKiB() -> Int { statusKiB(getpid(), "VmHWM") }
}
