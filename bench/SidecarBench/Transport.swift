import CapgateHTTPClient
import CapgateIO
import CapgateTLS
import Foundation
import Synchronization

/// New-connection cost and memory per idle connection, measured the same way against the
/// sidecar and nginx with the same Swift client.
enum TransportBench {
    /// Full mTLS handshakes per second: `workers` tasks each loop connect -> TLS 1.3 handshake
    /// with client certificate -> the server's first HTTP/2 bytes (so the server has verified
    /// the client chain) -> close. No session resumption (the client keeps no session), so
    /// every handshake is full: ECDHE + server signature + client certificate verification.
    static func handshakes(target: String, port: UInt16, tls: TLSContext, workers: Int, seconds: Double,
                           meter: Meter?, progress: Progress) async -> HandshakeResult {
        let group: EventLoopGroup
        do { group = try EventLoopGroup(count: ProcessInfo.processInfo.activeProcessorCount) } catch {
            return HandshakeResult(target: target, workers: workers, handshakes: 0, errors: 1,
                                   firstError: "\(error)", seconds: 0, perSecond: 0, latency: LatencySummary(newHistogram()))
        }
        defer { group.shutdown() }
        let outcome = await LoadRunner.run(concurrency: workers, warmup: min(0.5, seconds / 4), seconds: seconds,
                                           progress: progress, meter: meter, measureHarnessCPU: true) { _ in
            let c = try HTTPClientConnection(host: "127.0.0.1", port: port, tls: tls, group: group)
            defer { c.close() }
            try await c.waitUntilReady()
        }
        return HandshakeResult(target: target, workers: workers, handshakes: Int(outcome.histogram.totalCount),
                               errors: outcome.errors, firstError: outcome.firstError, seconds: outcome.elapsed,
                               perSecond: outcome.throughput, latency: LatencySummary(outcome.histogram),
                               cpuSeconds: outcome.cpuSeconds, clientCPUSeconds: outcome.harnessCPUSeconds)
    }

    /// Opens `count` mTLS HTTP/2 connections, makes one request on each (a connection that
    /// never sends a request is closed by capgate's firstRequestTimeout), lets them go idle,
    /// then divides the server's RSS growth (all its processes) by `count`.
    static func idleMemory(target: String, pid: Int32, port: UInt16, tls: TLSContext, path: String, count: Int,
                           progress: Progress) async throws -> IdleMemoryResult {
        let group = try EventLoopGroup(count: ProcessInfo.processInfo.activeProcessorCount)
        defer { group.shutdown() }
        // Warm the server's allocator with a few connections first, so the baseline is not
        // the cold process.
        let warm = try await open(16, port: port, tls: tls, group: group, path: path)
        for c in warm { c.close() }
        try await Task.sleep(for: .milliseconds(500))
        let before = ProcStats.sample(pid).rssKiB
        let conns = try await open(count, port: port, tls: tls, group: group, path: path)
        try await Task.sleep(for: .seconds(1))  // let the server release per-request buffers
        let after = ProcStats.sample(pid).rssKiB
        for c in conns { c.close() }
        Progress.say("      -> \(target): \(count) idle connections, RSS \(before) -> \(after) KiB")
        return IdleMemoryResult(target: target, connections: count, rssBeforeKiB: before, rssAfterKiB: after,
                                kibPerConnection: Double(after - before) / Double(count))
    }

    private static func open(_ count: Int, port: UInt16, tls: TLSContext, group: EventLoopGroup,
                             path: String) async throws -> [HTTPClientConnection] {
        var out: [HTTPClientConnection] = []
        out.reserveCapacity(count)
        var next = 0
        while next < count {
            let batch = min(32, count - next)
            let opened = try await withThrowingTaskGroup(of: HTTPClientConnection.self) { g in
                for _ in 0..<batch {
                    g.addTask {
                        let c = try HTTPClientConnection(host: "127.0.0.1", port: port, tls: tls, group: group)
                        let r = try await c.send(method: "GET", path: path)
                        guard r.status == 200 else { throw BenchFailure("GET \(path): status \(r.status)") }
                        return c
                    }
                }
                var got: [HTTPClientConnection] = []
                for try await c in g { got.append(c) }
                return got
            }
            out += opened
            next += batch
        }
        return out
    }
}
