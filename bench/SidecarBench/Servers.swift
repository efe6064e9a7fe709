import CapgateClient
import CapgateHTTPClient
import CapgateIO
import CapgateTLS
import Foundation
import Synchronization

/// Starts `capgate serve --config` as a child (its CPU and RSS are read from /proc/PID, no
/// harness noise in them) and learns its port from the "capgate listening on" log line.
func startSidecar(capgate: String, config: String, workspace: Workspace,
                  log: String = "capgate.log") async throws -> (ChildProcess, UInt16) {
    guard FileManager.default.isExecutableFile(atPath: capgate) else {
        throw BenchError.setup("no capgate executable at \(capgate) (build it, or pass --capgate)")
    }
    let child = try await ChildProcess.spawn(name: "capgate", executable: capgate, arguments: ["serve", "--config", config],
                                 logPath: workspace.root + "/" + log)
    let portText = try child.waitForLog(#"capgate listening on [^ ]+:(\d+) "#)
    guard let port = UInt16(portText) else { throw BenchError.child("capgate: bad port \(portText)") }
    return (child, port)
}

/// nginx from Debian with the temp config (`-p prefix -c conf -e log`: no default paths).
func startNginx(workspace: Workspace, staticBody: [UInt8], idleConnections: Int) async throws -> (ChildProcess, UInt16) {
    guard let nginx = which("nginx", extra: ["/usr/sbin/nginx"]) else {
        throw BenchError.setup("nginx not installed (apt-get install nginx-light)")
    }
    let port = try Ports.free()
    let conf = try workspace.writeNginxConfig(port: port, staticBody: staticBody, idleConnections: idleConnections)
    let prefix = workspace.root + "/nginx"
    let child = try await ChildProcess.spawn(name: "nginx", executable: nginx,
                                 arguments: ["-p", prefix, "-c", conf, "-e", prefix + "/logs/error.log"],
                                 logPath: prefix + "/logs/stdout.log")
    try child.waitForPort(port)
    return (child, port)
}

/// nghttpx in front of `backend`: plain h2 in, mTLS h2 out with alice's certificate.
func startNghttpx(workspace: Workspace, backend: UInt16) async throws -> (ChildProcess, UInt16) {
    guard let nghttpx = which("nghttpx", extra: ["/usr/sbin/nghttpx"]) else {
        throw BenchError.setup("nghttpx not installed (apt-get install nghttp2-proxy)")
    }
    let port = try Ports.free()
    let child = try await ChildProcess.spawn(name: "nghttpx", executable: nghttpx,
                                 arguments: workspace.nghttpxArguments(frontend: port, backend: backend),
                                 logPath: workspace.root + "/nghttpx-\(backend).out")
    try child.waitForPort(port)
    return (child, port)
}

func which(_ name: String, extra: [String] = []) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
        let p = dir + "/" + name
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return extra.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// `count` warm mTLS HTTP/2 connections on a client loop group of min(count, cores) loops,
/// spread round-robin over `ports` (several sidecars: the fleet point).
/// The client shares the machine's 2 cores with the server: both sides are on the same
/// budget for every target, so ratios stay fair.
final class ClientPool: Sendable {
    let group: EventLoopGroup
    let clients: [CapgateClient]

    convenience init(count: Int, port: UInt16, tls: TLSContext) async throws {
        try await self.init(count: count, ports: [port], tls: tls)
    }

    init(count: Int, ports: [UInt16], tls: TLSContext) async throws {
        group = try EventLoopGroup(count: max(1, min(count, ProcessInfo.processInfo.activeProcessorCount)))
        var out: [CapgateClient] = []
        for i in 0..<count {
            let c = try HTTPClientConnection(host: "127.0.0.1", port: ports[i % ports.count], tls: tls, group: group)
            try await c.waitUntilReady()
            out.append(CapgateClient(connection: c))
        }
        clients = out
    }

    var connections: [HTTPClientConnection] { clients.map(\.connection) }

    func close() {
        for c in clients { c.close() }
        group.shutdown()
    }
}

/// Server CPU and peak RSS over a measured window: from /proc for a child server (all its
/// processes), or getrusage + VmHWM of the harness itself for in-process points.
final class Meter: Sendable {
    enum Source: Sendable {
        case child(Int32, String)
        case harness
    }

    let source: Source
    private let startCPU = Mutex<Double>(0)

    init(_ source: Source) { self.source = source }

    var label: String {
        switch source {
        case .child(_, let name): return "/proc: \(name) process tree (utime+stime, VmHWM)"
        case .harness: return "getrusage(RUSAGE_SELF) of the harness (kernel + load generator), VmHWM"
        }
    }

    func start() {
        switch source {
        case .child(let pid, _):
            ProcStats.resetPeak(pid)
            let c = ProcStats.sample(pid).cpuSeconds
            startCPU.withLock { $0 = c }
        case .harness:
            try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
            let c = ProcStats.selfCPUSeconds()
            startCPU.withLock { $0 = c }
        }
    }

    func stop() -> (cpu: Double, peakKiB: Int) {
        let begin = startCPU.withLock { $0 }
        switch source {
        case .child(let pid, _):
            let s = ProcStats.sample(pid)
            return (s.cpuSeconds - begin, s.peakRSSKiB)
        case .harness:
            return (ProcStats.selfCPUSeconds() - begin, ProcStats.selfPeakRSSKiB())
        }
    }
}
