import AgentKernel
import CapgateClient
import CapgateHTTPClient
import CapgateIO
import CapgateServer
import CapgateTLS
import Foundation

/// The whole `make bench` run: every point of the issue, in one process, one machine, one
/// time window, so ratios between targets are measured under the same conditions.
final class BenchRunner {
    let o: BenchOptions
    let progress = Progress()
    var run: BenchRun
    let verbs: [BenchVerb]
    /// Connections x streams per connection for the remote points.
    static let modes = [(1, 1), (1, 16), (16, 16)]

    init(_ options: BenchOptions) throws {
        o = options
        verbs = options.verbs.isEmpty ? BenchVerb.allCases : try options.verbs.map { name in
            guard let v = BenchVerb(rawValue: name) else { throw BenchError.usage("unknown verb \(name)") }
            return v
        }
        run = BenchRun(date: BenchRunner.today(), commit: Environment.commit(), quick: options.quick,
                       secondsPerPoint: options.seconds, warmupSeconds: options.warmup,
                       machine: Environment.machine(), versions: [:])
    }

    static func today() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date())
    }

    func execute() async throws -> String {
        if o.only == ["fleet"] { return try await executeFleetOnly() }
        let ws = try Workspace.create()
        defer { ws.remove() }
        let started = Date()
        // The HTTP-driver point's tool must exist before the sidecar reads its configuration.
        var tool: (ChildProcess, UInt16)?
        if o.httpDriver {
            do { tool = try await HTTPTool.start(workspace: ws) } catch {
                run.notes.append("HTTP-driver point skipped: \(error)")
            }
        }
        defer { tool?.0.stop() }
        let configPath = try ws.writeSidecarConfig(idleConnections: o.idleConnections,
                                                   extra: tool.map { HTTPTool.sidecarConfig(port: $0.1) } ?? "")

        // The in-process kernel and service come from the very configuration the sidecar
        // loads: same capabilities, policy, budgets, stores.
        var config = try ServerConfig.load(path: configPath)
        config.stateDir = ws.root + "/inproc-state"
        let kernel = try KernelFactory.makeKernel(config, secret: try SecretFile.loadOrCreate(path: ws.root + "/inproc-secret"))
        let service = KernelService(kernel: kernel, identities: config.identities)
        // Goal 1 of issue 16 compares the kernel with the reference, which keeps its traces and
        // revocations in memory: the same kernel with in-memory stores, so the durable audit's
        // SQLite reads (explain) and the revocation log's writes (grant) are not in that ratio.
        var memConfig = config
        memConfig.audit.store = .memory
        memConfig.stateDir = ws.root + "/inproc-mem-state"
        let memKernel = try KernelFactory.makeKernel(memConfig, secret: try SecretFile.loadOrCreate(path: ws.root + "/inproc-secret"),
                                                     revocations: InMemoryRevocationStore())

        let tls = try ws.clientTLS()
        let (sidecar, port) = try await startSidecar(capgate: o.capgate, config: configPath, workspace: ws)
        defer { sidecar.stop() }
        let sidecarMeter = Meter(.child(sidecar.pid, "capgate"))
        let harness = Meter(.harness)

        let nginxOK = o.nginx && which("nginx", extra: ["/usr/sbin/nginx"]) != nil
        let h2loadOK = o.h2load && H2Load.available
        if o.transportOnly {
            try await transportOnly(port: port, tls: tls, ws: ws, h2load: h2loadOK, sidecarMeter: sidecarMeter)
            run.machine.loadAverageAtEnd = Environment.loadAverage()
            return try ReportWriter(run: run, options: o).write()
        }
        if o.handshakesOnly {
            try await handshakesOnly(port: port, tls: tls, ws: ws, nginx: nginxOK, sidecarMeter: sidecarMeter)
            run.machine.loadAverageAtEnd = Environment.loadAverage()
            return try ReportWriter(run: run, options: o).write()
        }
        if o.nginx && !nginxOK { run.notes.append("nginx not installed: no nginx baseline (apt-get install nginx-light)") }
        if o.h2load && !h2loadOK { run.notes.append("h2load/nghttpx not installed: no cross-check (nghttp2-client, nghttp2-proxy)") }
        let modes = BenchRunner.modes
        var total = verbs.count * (4 + modes.count) + modes.count + 2
        // + issue 16's one-call explain points and the interleaved handshake rounds
        if nginxOK { total += modes.count + 2 + 4 + 2 * BenchRunner.extraHandshakeRounds }
        if nginxOK && h2loadOK { total += 2 * BenchRunner.transportModes.count }
        total += 3  // issue 16's JSON points
        if h2loadOK { total += modes.count * (nginxOK ? 3 : 2) }
        if o.reference { total += 1 }
        let pythonClient = o.pythonClient && verbs.contains(.invokeSummary)
        if pythonClient { total += 1 }
        if tool != nil { total += 7 }
        total += 2  // the repeated points
        if o.fleet { total += FleetBench.pointCount(verbs) }
        if o.profile { total += 1 }
        progress.setTotal(total)
        Progress.say("capgate-bench: sidecar pid \(sidecar.pid) on 127.0.0.1:\(port); \(o.seconds) s per point "
                     + "after \(o.warmup) s warm-up; workspace \(ws.root)")

        // 1-2. Each verb: kernel in process, service in process, sidecar at three concurrencies.
        for verb in verbs {
            await inProcess("kernel", verb, streams: 1, meter: harness) { try await Scenario.kernelOp(verb, kernel) }
            await inProcess("kernel", verb, streams: 16, meter: harness) { try await Scenario.kernelOp(verb, kernel) }
            await inProcess("kernel-mem", verb, streams: 1, meter: harness) { try await Scenario.kernelOp(verb, memKernel) }
            await inProcess("service", verb, streams: 1, meter: harness) { try await Scenario.serviceOp(verb, service) }
            for (c, s) in modes {
                await remote("sidecar", verb.rawValue, port: port, tls: tls, c, s, meter: sidecarMeter) { clients in
                    try await Scenario.clientOp(verb, clients)
                }
            }
        }
        // The HTTP driver against a local tool: direct, kernel, sidecar (docs/drivers.md).
        if let (_, toolPort) = tool {
            await httpDriverPoints(toolPort: toolPort, kernel: kernel, service: service, port: port, tls: tls,
                                   sidecarMeter: sidecarMeter, harness: harness)
        }
        // 4a. Transport only: our no-op route.
        for (c, s) in modes {
            await remote("health", "health", port: port, tls: tls, c, s, meter: sidecarMeter) { clients in
                let conns = clients.map(\.connection)
                return { w in
                    let r = try await conns[w % conns.count].send(method: "GET", path: "/v1/health")
                    guard r.status == 200 else { throw BenchFailure("health: \(r.status)") }
                }
            }
        }
        // The nginx file is the sidecar's own invoke (summary) response, byte for byte.
        let invokeBody = try await capturedInvokeResponse(port: port, tls: tls)
        run.invokeResponseBytes = invokeBody.count
        await issue16JSONPoints(invokeAnswer: invokeBody, meter: harness)

        // 5-6. Handshakes and idle memory against the sidecar.
        await handshakes("capgate", port: port, tls: tls, meter: sidecarMeter)
        progress.point("capgate: memory per idle connection (\(o.idleConnections) connections)")
        do {
            run.idleMemory.append(try await TransportBench.idleMemory(
                target: "capgate", pid: sidecar.pid, port: port, tls: tls, path: "/v1/health",
                count: o.idleConnections, progress: progress))
        } catch { run.notes.append("capgate idle-connection memory failed: \(error)") }

        // 4b. nginx static baseline, same client, same TLS profile and client verification.
        if nginxOK {
            do {
                let (nginx, nport) = try await startNginx(workspace: ws, staticBody: invokeBody, idleConnections: o.idleConnections)
                defer { nginx.stop() }
                let nginxMeter = Meter(.child(nginx.pid, "nginx"))
                for (c, s) in modes {
                    await remote("nginx", "static_invoke_json", port: nport, tls: tls, c, s, meter: nginxMeter) { clients in
                        let conns = clients.map(\.connection)
                        let size = invokeBody.count
                        return { w in
                            let r = try await conns[w % conns.count].send(method: "GET", path: "/invoke.json")
                            guard r.status == 200, r.body.count == size else {
                                throw BenchFailure("nginx: \(r.status), \(r.body.count) bytes")
                            }
                        }
                    }
                }
                await handshakes("nginx", port: nport, tls: tls, meter: nginxMeter)
                // Goal 6 again in interleaved rounds with both servers up: the first pair ran
                // about a minute apart, long enough for the machine's load to drift between them.
                // The order alternates (capgate first, then nginx first) so that neither server
                // always runs second, after the other has warmed or loaded the machine.
                for r in 0..<BenchRunner.extraHandshakeRounds {
                    if r % 2 == 0 {
                        await handshakes("capgate-round", port: port, tls: tls, meter: sidecarMeter)
                        await handshakes("nginx-round", port: nport, tls: tls, meter: nginxMeter)
                    } else {
                        await handshakes("nginx-round", port: nport, tls: tls, meter: nginxMeter)
                        await handshakes("capgate-round", port: port, tls: tls, meter: sidecarMeter)
                    }
                }
                progress.point("nginx: memory per idle connection (\(o.idleConnections) connections)")
                do {
                    run.idleMemory.append(try await TransportBench.idleMemory(
                        target: "nginx", pid: nginx.pid, port: nport, tls: tls, path: "/invoke.json",
                        count: o.idleConnections, progress: progress))
                } catch { run.notes.append("nginx idle-connection memory failed: \(error)") }
                await issue16TransportPoints(port: port, tls: tls, nginxPort: nport, ws: ws, h2load: h2loadOK,
                                             sidecarMeter: sidecarMeter, nginxMeter: nginxMeter)
                if h2loadOK {
                    try await crossCheck(target: "h2load-nginx", verb: "static_invoke_json", backend: nport, path: "/invoke.json",
                                   body: nil, ws: ws, meter: nginxMeter)
                }
            } catch {
                run.notes.append("nginx baseline failed: \(error)")
            }
        }

        // Cross-check with h2load through nghttpx.
        if h2loadOK {
            let client = try await ClientPool(count: 1, port: port, tls: tls)
            let body = try await Scenario.wireBody(.invokeSummary, via: client.clients[0])
            client.close()
            do {
                try await crossCheck(target: "h2load-sidecar", verb: "invoke_summary", backend: port, path: "/v1/invoke",
                               body: body, ws: ws, meter: sidecarMeter)
                try await crossCheck(target: "h2load-sidecar", verb: "health", backend: port, path: "/v1/health",
                               body: nil, ws: ws, meter: sidecarMeter)
            } catch { run.notes.append("h2load cross-check failed: \(error)") }
        }

        // 3. The reference in process.
        if o.reference {
            let r = ReferenceRunner.run(python: o.python, seconds: o.seconds, warmup: o.warmup, verbs: verbs,
                                        progress: progress)
            run.points += r.points
            if let v = r.version { run.versions["weaver-kernel (reference)"] = v }
            if let n = r.note { run.notes.append(n) }
        }
        // 3b. The Python client (capgate.RemoteKernel) against this sidecar, same run.
        if pythonClient {
            let r = PythonClientRunner.run(python: o.python, port: port, workspace: ws, seconds: o.seconds,
                                           warmup: o.warmup, progress: progress)
            run.points += r.points
            if let n = r.note { run.notes.append(n) }
            PythonClientRunner.summary(run).forEach(Progress.say)
        }

        // 2 sidecars on PostgreSQL vs 1 on SQLite (FleetPoints.swift).
        if o.fleet { await fleetPoints(workspace: ws, tls: tls) }

        // Noise: the first sidecar points again, minutes later, same process.
        await remote("repeat-sidecar", "invoke_summary", port: port, tls: tls, 1, 1, meter: sidecarMeter) { clients in
            try await Scenario.clientOp(.invokeSummary, clients)
        }
        await remote("repeat-sidecar", "request_capabilities", port: port, tls: tls, 1, 16, meter: sidecarMeter) { clients in
            try await Scenario.clientOp(.requestCapabilities, clients)
        }

        // Where the time goes: CPU profiles of the sidecar under the saturating invoke load
        // and under the handshake load (the two goals the kernel and TLS setup decide).
        if o.profile {
            let secs = max(3, o.seconds)
            progress.point("profile: perf record of the sidecar, invoke_summary 16x16 and handshakes")
            do {
                let pool = try await ClientPool(count: 16, port: port, tls: tls)
                let op = try await Scenario.clientOp(.invokeSummary, pool.clients)
                let progress = self.progress
                if let p = await Profiler.profileSidecar(pid: sidecar.pid, label: "sidecar invoke_summary 16x16", seconds: secs,
                                                         workspace: ws, notes: { self.run.notes += $0 }, load: { s in
                    _ = await LoadRunner.run(concurrency: 256, warmup: 0, seconds: s, progress: progress, op: op)
                }) { run.profiles.append(p) }
                pool.close()
                if let p = await Profiler.profileSidecar(pid: sidecar.pid, label: "sidecar full mTLS handshakes (4 workers)",
                                                         seconds: secs, workspace: ws, notes: { self.run.notes += $0 }, load: { s in
                    _ = await TransportBench.handshakes(target: "capgate", port: port, tls: tls, workers: 4, seconds: s,
                                                        meter: nil, progress: progress)
                }) { run.profiles.append(p) }
            } catch {
                run.notes.append("profile load failed: \(error)")
            }
        }

        run.versions.merge(Environment.versions(python: o.python)) { a, _ in a }
        run.machine.loadAverageAtEnd = Environment.loadAverage()
        run.notes.append(String(format: "wall time of the run: %.0f s", Date().timeIntervalSince(started)))
        return try ReportWriter(run: run, options: o).write()
    }

    // MARK: points

    func inProcess(_ target: String, _ verb: BenchVerb, streams: Int, meter: Meter,
                   makeOp: () async throws -> BenchOp) async {
        await inProcess(target, verb.rawValue, streams: streams, meter: meter, makeOp: makeOp)
    }

    /// A kernel verb timed as the reference times its own: a plain call when the verb is
    /// synchronous (`TimedBenchOp.sync`).
    func inProcess(_ target: String, _ verb: BenchVerb, streams: Int, meter: Meter,
                   makeOp: () async throws -> TimedBenchOp) async {
        await inProcess(target, verb.rawValue, streams: streams, meter: meter, makeTimedOp: makeOp)
    }

    func inProcess(_ target: String, _ verb: String, streams: Int, meter: Meter,
                   makeOp: () async throws -> BenchOp) async {
        await inProcess(target, verb, streams: streams, meter: meter) { () async throws -> TimedBenchOp in
            .async(try await makeOp())
        }
    }

    func inProcess(_ target: String, _ verb: String, streams: Int, meter: Meter,
                   makeTimedOp makeOp: () async throws -> TimedBenchOp) async {
        progress.point("\(target) in process x\(streams): \(verb)")
        var p = PointResult(target: target, verb: verb, connections: 0, streams: streams, latency: nil,
                            meanLatencyNs: nil, throughput: 0, requests: 0, errors: 0, firstError: nil, seconds: 0,
                            cpuSeconds: nil, cpuSource: meter.label, peakRSSKiB: nil, note: nil)
        do {
            let timed = try await makeOp()
            let outcome: LoadOutcome
            switch timed {
            case .async(let op):
                outcome = await LoadRunner.run(concurrency: streams, warmup: o.warmup, seconds: o.seconds,
                                               progress: progress, meter: meter, op: op)
            case .sync(let op):
                outcome = await LoadRunner.run(concurrency: streams, warmup: o.warmup, seconds: o.seconds,
                                               progress: progress, meter: meter, syncOp: op, op: { try op($0) })
            }
            record(&p, outcome)
        } catch {
            p.firstError = "setup: \(error)"
        }
        finish(p)
    }

    /// `onLoop`: each worker's task runs on the event loop of the connection it calls.
    func remote(_ target: String, _ verb: String, port: UInt16, tls: TLSContext, _ c: Int, _ s: Int, meter: Meter,
                onLoop: Bool = false, seconds: Double? = nil, makeOp: ([CapgateClient]) async throws -> BenchOp) async {
        progress.point("\(target) \(c)x\(s): \(verb)")
        var p = PointResult(target: target, verb: verb, connections: c, streams: s, latency: nil, meanLatencyNs: nil,
                            throughput: 0, requests: 0, errors: 0, firstError: nil, seconds: 0, cpuSeconds: nil,
                            cpuSource: meter.label, peakRSSKiB: nil, note: nil)
        do {
            let pool = try await ClientPool(count: c, port: port, tls: tls)
            defer { pool.close() }
            let op = try await makeOp(pool.clients)
            let executors: [any TaskExecutor] = pool.clients.map { $0.connection.taskExecutor }
            let placement: (@Sendable (Int) -> (any TaskExecutor)?)? =
                onLoop ? { @Sendable w -> (any TaskExecutor)? in executors[w % executors.count] } : nil
            let outcome = await LoadRunner.run(concurrency: c * s, warmup: seconds == nil ? o.warmup : 0,
                                               seconds: seconds ?? o.seconds, progress: progress, meter: meter,
                                               executor: placement, op: op)
            record(&p, outcome)
        } catch {
            p.firstError = "setup: \(error)"
        }
        finish(p)
    }

    func crossCheck(target: String, verb: String, backend: UInt16, path: String, body: [UInt8]?, ws: Workspace,
                    meter: Meter) async throws {
        let (proxy, front) = try await startNghttpx(workspace: ws, backend: backend)
        defer { proxy.stop() }
        for (c, s) in BenchRunner.modes {
            progress.point("\(target) \(c)x\(s): \(verb) (h2load -> nghttpx)")
            finish(H2Load.run(target: target, verb: verb, frontend: front, path: path, body: body, connections: c,
                              streams: s, seconds: o.seconds, warmup: o.warmup, workspace: ws, meter: meter))
        }
    }

    /// Rounds of capgate's and nginx's handshake points run back to back after the first
    /// pair (goal 6's median of same-round ratios, `Issue16Points`). Four, so that the median
    /// of five pairs moves little when one pair lands on a burst of the machine's other load.
    static let extraHandshakeRounds = 4

    func handshakes(_ target: String, port: UInt16, tls: TLSContext, meter: Meter) async {
        progress.point("\(target): full mTLS handshakes, 4 workers, \(o.handshakeSeconds) s")
        let h = await TransportBench.handshakes(target: target, port: port, tls: tls, workers: 4,
                                                seconds: o.handshakeSeconds, meter: meter, progress: progress)
        run.handshakes.append(h)
        Progress.say(String(format: "      -> %.0f handshakes/s  p50 %@  errors %d %@", h.perSecond, Fmt.ns(h.latency.p50),
                            h.errors, h.firstError ?? ""))
    }

    /// `--handshakes-only`: the handshake point of the full run (same workers, seconds and
    /// meters), capgate then nginx, and nothing else, so A/B runs of one binary against another
    /// take seconds. nginx serves an empty file: the handshake never reaches it.
    func handshakesOnly(port: UInt16, tls: TLSContext, ws: Workspace, nginx: Bool, sidecarMeter: Meter) async throws {
        let load = o.handshakesAfterLoad
        let loadPoints = load > 0 ? (verbs.count + 1) * BenchRunner.modes.count + 1 : 0
        let rounds = nginx ? o.handshakeRounds : 1
        progress.setTotal((nginx ? 2 * rounds : 1) + loadPoints)
        await handshakes("capgate", port: port, tls: tls, meter: sidecarMeter)
        if load > 0 {
            // The full run's sidecar points in its order (verbs, then health), shortened.
            for verb in verbs {
                for (c, s) in BenchRunner.modes {
                    await remote("sidecar", verb.rawValue, port: port, tls: tls, c, s, meter: sidecarMeter,
                                 seconds: load) { clients in
                        try await Scenario.clientOp(verb, clients)
                    }
                }
            }
            for (c, s) in BenchRunner.modes {
                await remote("health", "health", port: port, tls: tls, c, s, meter: sidecarMeter, seconds: load) { clients in
                    let conns = clients.map(\.connection)
                    return { w in
                        let r = try await conns[w % conns.count].send(method: "GET", path: "/v1/health")
                        guard r.status == 200 else { throw BenchFailure("health: \(r.status)") }
                    }
                }
            }
            await handshakes("capgate-after-load", port: port, tls: tls, meter: sidecarMeter)
        }
        let last = load > 0 ? "capgate-after-load" : "capgate"
        if nginx {
            let (server, nport) = try await startNginx(workspace: ws, staticBody: [], idleConnections: 64)
            defer { server.stop() }
            let nginxMeter = Meter(.child(server.pid, "nginx"))
            for round in 0..<rounds {
                // Round 0's capgate point ran above, before nginx started (the single-round order).
                if round > 0 { await handshakes(last, port: port, tls: tls, meter: sidecarMeter) }
                await handshakes("nginx", port: nport, tls: tls, meter: nginxMeter)
            }
        }
        for h in run.handshakes {
            let perHandshake = { (s: Double?) in s.map { String(format: "%.0f us", $0 / Double(max(h.handshakes, 1)) * 1e6) } ?? "?" }
            Progress.say(String(format: "handshakes %@ %.0f/s  server CPU per handshake %@  client %@", h.target,
                                h.perSecond, perHandshake(h.cpuSeconds), perHandshake(h.clientCPUSeconds)))
        }
        if rounds > 1 {
            let (ratios, median) = HandshakeResult.roundRatios(run.handshakes.filter { $0.target == last }.suffix(rounds),
                                                               run.handshakes.filter { $0.target == "nginx" })
            Progress.say("handshakes \(last)/nginx per round: " + ratios.map { String(format: "%.2f", $0) }.joined(separator: " ")
                         + String(format: "  median %.2f", median ?? 0))
        }
    }

    func record(_ p: inout PointResult, _ outcome: LoadOutcome) {
        p.latency = LatencySummary(outcome.histogram)
        p.throughput = outcome.throughput
        p.requests = Int(outcome.histogram.totalCount)
        p.errors = outcome.errors
        p.firstError = outcome.firstError
        p.seconds = outcome.elapsed
        p.cpuSeconds = outcome.cpuSeconds
        p.peakRSSKiB = outcome.peakRSSKiB
    }

    func finish(_ p: PointResult) {
        run.points.append(p)
        var line = String(format: "      -> %.0f req/s", p.throughput)
        if let l = p.latency { line += "  p50 \(Fmt.ns(l.p50))  p99 \(Fmt.ns(l.p99))" }
        if let m = p.meanLatencyNs { line += "  mean \(Fmt.ns(UInt64(m)))" }
        if p.errors > 0 || p.firstError != nil { line += "  errors \(p.errors): \(p.firstError ?? "")" }
        Progress.say(line)
    }

    func capturedInvokeResponse(port: UInt16, tls: TLSContext) async throws -> [UInt8] {
        let pool = try await ClientPool(count: 1, port: port, tls: tls)
        defer { pool.close() }
        let token = try await pool.clients[0].grantCapability(Scenario.request, justification: "").token
        let body = Scenario.body(.invokeSummary, token: token, handleID: "", actionID: "")
        let r = try await pool.connection0.send(method: "POST", path: "/v1/invoke",
                                                headers: [(name: "content-type", value: "application/json")], body: body)
        guard r.status == 200 else { throw BenchFailure("invoke for the nginx file: \(r.status)") }
        return r.body
    }
}

extension ClientPool {
    var connection0: HTTPClientConnection { clients[0].connection }
}
