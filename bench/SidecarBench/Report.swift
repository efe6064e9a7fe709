import Foundation

/// Writes `bench/reports/<date>-<commit>/{report.md,results.json,*.svg}` and, with
/// --publish-docs, the same comparison as docs/benchmarks.md (plots linked from the report
/// directory). Headline ratios first, each from points of this one run.
struct ReportWriter {
    let run: BenchRun
    let options: BenchOptions

    func write() throws -> String {
        let dir = options.outDirectory + "/\(run.date)-\(run.commit)" + (run.quick ? "-quick" : "")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(run).write(to: URL(fileURLWithPath: dir + "/results.json"))
        let plots = plots()
        for (name, svg) in plots { try svg.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        try markdown(imagePrefix: "", plots: plots.map(\.0))
            .write(toFile: dir + "/report.md", atomically: true, encoding: .utf8)
        if let docs = options.publishDocs {
            let rel = relativePath(from: URL(fileURLWithPath: docs).deletingLastPathComponent().path, to: dir)
            // Hand-written sections of the previous docs page survive the regeneration.
            let previous = (try? String(contentsOfFile: docs, encoding: .utf8)) ?? ""
            try markdown(imagePrefix: rel + "/", plots: plots.map(\.0), kept: HandWritten.sections(of: previous))
                .write(toFile: docs, atomically: true, encoding: .utf8)
        }
        return dir
    }

    func relativePath(from base: String, to target: String) -> String {
        let b = URL(fileURLWithPath: base).standardizedFileURL.pathComponents
        let t = URL(fileURLWithPath: target).standardizedFileURL.pathComponents
        var i = 0
        while i < min(b.count, t.count) && b[i] == t[i] { i += 1 }
        return (Array(repeating: "..", count: b.count - i) + t[i...]).joined(separator: "/")
    }

    // MARK: lookups

    func p(_ t: String, _ v: String, _ c: Int, _ s: Int) -> PointResult? { run.point(t, v, c, s) }
    var invoke1: PointResult? { p("sidecar", "invoke_summary", 1, 1) }
    var kernelInvoke1: PointResult? { p("kernel", "invoke_summary", 0, 1) }
    var refInvoke: PointResult? { p("reference", "invoke_summary", 0, 1) }
    var nginx1: PointResult? { p("nginx", "static_invoke_json", 1, 1) }
    func best(_ t: String, _ v: String) -> PointResult? {
        run.points.filter { $0.target == t && $0.verb == v && $0.errors == 0 }.max { $0.throughput < $1.throughput }
    }

    func ratio(_ a: Double?, _ b: Double?) -> String {
        guard let a, let b, b > 0 else { return "n/a" }
        return Fmt.ratio(a / b)
    }

    func p50(_ x: PointResult?) -> Double? { x?.latency.map { Double($0.p50) } }

    // MARK: markdown

    /// `kept`: the hand-written sections of docs/benchmarks.md (`HandWritten`), placed after
    /// the goal table.
    func markdown(imagePrefix: String, plots: [String], kept: String = "") -> String {
        var m = "# capgate benchmarks: sidecar vs in-process vs the Python reference vs nginx\n\n"
        m += "Run of \(run.date), commit `\(run.commit)`\(run.quick ? " (**quick run**: short points, numbers are rough)" : ""), "
        m += "\(run.machine.cores) cores (\(run.machine.cpuModel)), \(run.machine.memoryGiB) GiB, Linux \(run.machine.kernel). "
        m += "\(fmt1(run.secondsPerPoint)) s per point after \(fmt1(run.warmupSeconds)) s warm-up. "
        m += "Load average at start \(run.machine.loadAverageAtStart), at end \(run.machine.loadAverageAtEnd ?? "?").\n\n"
        m += issue16Goals()
        m += kept
        m += headline()
        m += pythonClient()
        m += goals()
        m += httpDriverSection()
        m += fleetSection()
        m += whereTimeGoes()
        m += analysis()
        m += latencyTables()
        m += throughputTable()
        m += crossCheck()
        m += transportTables()
        m += "## Plots\n\n"
        for name in plots { m += "![\(name)](\(imagePrefix)\(name))\n\n" }
        m += method()
        return m
    }

    func headline() -> String {
        var m = "## Headline ratios (all measured in this run)\n\n"
        m += "| ratio | value | points compared |\n|---|---|---|\n"
        m += "| sidecar / in-process kernel, invoke p50 | \(ratio(p50(invoke1), p50(kernelInvoke1))) | "
        m += "sidecar 1x1 \(ns(p50(invoke1))) vs kernel \(ns(p50(kernelInvoke1))) |\n"
        let sat = best("sidecar", "invoke_summary"), kSat = best("kernel", "invoke_summary")
        m += "| in-process kernel / sidecar, invoke throughput at saturation | \(ratio(kSat?.throughput, sat?.throughput)) | "
        m += "kernel \(rate(kSat)) (\(kSat?.mode ?? "-")) vs sidecar \(rate(sat)) (\(sat?.mode ?? "-")) |\n"
        m += "| sidecar / reference in process, invoke p50 | \(ratio(p50(invoke1), p50(refInvoke))) | "
        m += "sidecar 1x1 \(ns(p50(invoke1))) vs reference \(ns(p50(refInvoke))) |\n"
        m += "| sidecar / nginx static, p50 at 1x1 | \(ratio(p50(invoke1), p50(nginx1))) | "
        m += "sidecar invoke \(ns(p50(invoke1))) vs nginx \(ns(p50(nginx1))) (\(run.invokeResponseBytes) B body) |\n"
        m += "| Python client remote / reference in process, invoke p50 | \(ratio(p50(pyInvoke1), p50(refInvoke))) | "
        m += "capgate.RemoteKernel 1x1 \(ns(p50(pyInvoke1))) vs reference \(ns(p50(refInvoke))) |\n"
        let d = pyDecode("summary_frame")
        m += "| Python client decode / remote invoke, p50 (summary Frame) | "
        m += "\(ratio(d.loads.flatMap { l in d.objects.map { l + $0 } }, p50(pyInvoke1))) | "
        m += "json.loads \(ns(d.loads)) + dataclasses \(ns(d.objects)) of \(ns(p50(pyInvoke1))) |\n"
        let nSat = best("nginx", "static_invoke_json")
        m += "| sidecar / nginx static, throughput at saturation | \(ratio(sat?.throughput, nSat?.throughput)) | "
        m += "sidecar invoke \(rate(sat)) (\(sat?.mode ?? "-")) vs nginx \(rate(nSat)) (\(nSat?.mode ?? "-")) |\n"
        let h = best("health", "health")
        m += "| sidecar no-op route / nginx static, throughput at saturation | \(ratio(h?.throughput, nSat?.throughput)) | "
        m += "GET /v1/health \(rate(h)) vs nginx \(rate(nSat)) |\n\n"
        return m
    }

    func goals() -> String {
        var m = "## Goals of issue 6 (targets, not test gates)\n\n| goal | measured | met |\n|---|---|---|\n"
        func row(_ goal: String, _ measured: String, _ ok: Bool?) {
            m += "| \(goal) | \(measured) | \(ok.map { $0 ? "yes" : "**no**" } ?? "n/a") |\n"
        }
        let a = p50(invoke1), b = p50(refInvoke)
        row("remote invoke p50 (1 warm connection) below the reference's in-process invoke p50",
            "\(ns(a)) vs \(ns(b))", a.flatMap { a in b.map { a < $0 } })
        let sat = best("sidecar", "invoke_summary"), nSat = best("nginx", "static_invoke_json")
        row("sidecar invoke throughput at saturation >= 1/2 of nginx static",
            "\(rate(sat)) vs \(rate(nSat)) (\(ratio(sat?.throughput, nSat?.throughput)))",
            sat.flatMap { s in nSat.map { s.throughput >= $0.throughput / 2 } })
        let l = invoke1?.latency
        row("p99 at one connection <= 3x its p50 (invoke, 1x1)",
            l.map { "p99 \(Fmt.ns($0.p99)) / p50 \(Fmt.ns($0.p50)) = \(Fmt.ratio(Double($0.p99) / Double(max(1, $0.p50))))" } ?? "n/a",
            l.map { $0.p99 <= 3 * $0.p50 })
        let hc = run.handshakes.first { $0.target == "capgate" }, hn = run.handshakes.first { $0.target == "nginx" }
        row("full mTLS handshakes/s >= 90% of nginx",
            "\(hc.map { String(format: "%.0f/s", $0.perSecond) } ?? "n/a") vs \(hn.map { String(format: "%.0f/s", $0.perSecond) } ?? "n/a")",
            hc.flatMap { c in hn.map { c.perSecond >= 0.9 * $0.perSecond } })
        let ic = run.idleMemory.first { $0.target == "capgate" }, inx = run.idleMemory.first { $0.target == "nginx" }
        row("<= 32 KiB per idle connection",
            "\(ic.map { String(format: "%.1f KiB", $0.kibPerConnection) } ?? "n/a") (nginx here: \(inx.map { String(format: "%.1f KiB", $0.kibPerConnection) } ?? "n/a"))",
            ic.map { $0.kibPerConnection <= 32 })
        var p99rows: [String] = []
        for v in BenchVerb.allCases {
            if let l = p("sidecar", v.rawValue, 1, 1)?.latency {
                p99rows.append("\(v.rawValue) \(Fmt.ratio(Double(l.p99) / Double(max(1, l.p50))))")
            }
        }
        m += "\np99/p50 at 1x1 for every verb: " + p99rows.joined(separator: ", ") + ".\n\n"
        return m
    }

    func whereTimeGoes() -> String {
        var m = "## Where the time goes\n\n"
        m += "One invoke (summary) at a time, p50, split by what each target adds:\n\n"
        m += "| step | p50 | adds |\n|---|---|---|\n"
        let k = p50(kernelInvoke1), s = p50(p("service", "invoke_summary", 0, 1)), h = p50(p("health", "health", 1, 1))
        let r = p50(invoke1), n = p50(nginx1)
        m += "| kernel API in process | \(ns(k)) | the verb itself |\n"
        m += "| KernelService in process (wire JSON decode + kernel + encode) | \(ns(s)) | \(ns(diff(s, k))) JSON + identity mapping |\n"
        m += "| GET /v1/health over mTLS HTTP/2 (no kernel) | \(ns(h)) | the round trip: client, TLS, HTTP/2, loopback, wake-ups |\n"
        m += "| nginx static file of the same size, same client | \(ns(n)) | the same round trip in nginx |\n"
        m += "| sidecar invoke over the typed client | \(ns(r)) | \(ns(diff(r, s))) over the service: transport + client-side decoding |\n\n"
        for prof in run.profiles {
            m += "CPU profile of the sidecar process: \(prof.point), \(fmt1(prof.seconds)) s, \(prof.tool):\n\n"
            m += "| layer | share of server CPU samples |\n|---|---|\n"
            for e in prof.byLayer { m += "| \(e.name) | \(String(format: "%.1f%%", e.percent)) |\n" }
            m += "\n<details><summary>Top symbols (self time): \(prof.point)</summary>\n\n| symbol | % |\n|---|---|\n"
            for e in prof.bySymbol { m += "| `\(e.name.replacingOccurrences(of: "|", with: "\\|"))` | \(String(format: "%.1f", e.percent)) |\n" }
            m += "\n</details>\n\n"
        }
        if run.profiles.isEmpty {
            m += "(No CPU profile in this run: `make bench` records them with perf.)\n\n"
        }
        return m
    }

    func latencyTables() -> String {
        var m = "## Latency and throughput per verb\n\n"
        m += "Server CPU: capgate/nginx from /proc (utime+stime of the server's processes over the measured window); "
        m += "in-process points: getrusage of the harness (kernel + load generator). Peak RSS: VmHWM, reset before each point.\n\n"
        let header = "| target | mode | p50 | p90 | p99 | p99.9 | max | req/s | server CPU µs/req | peak RSS MiB | errors |\n"
            + "|---|---|---|---|---|---|---|---|---|---|---|\n"
        var verbs = BenchVerb.allCases.map(\.rawValue)
        verbs += ["health", "static_invoke_json"]
        for v in verbs {
            let rows = run.points.filter { $0.verb == v && $0.latency != nil }
            guard !rows.isEmpty else { continue }
            m += "### \(v)\n\n" + header
            for r in rows.sorted(by: { order($0) < order($1) }) { m += row(r) }
            m += "\n"
        }
        return m
    }

    func order(_ r: PointResult) -> Int {
        let t = ["kernel": 0, "service": 1, "reference": 2, "sidecar": 3, "health": 4, "nginx": 5, "python-client": 6][r.target] ?? 9
        return t * 10_000 + r.concurrency
    }

    func row(_ r: PointResult) -> String {
        let l = r.latency
        let cols: [String] = [
            r.target, r.mode, l.map { Fmt.ns($0.p50) } ?? "-", l.map { Fmt.ns($0.p90) } ?? "-",
            l.map { Fmt.ns($0.p99) } ?? "-", l.map { Fmt.ns($0.p999) } ?? "-", l.map { Fmt.ns($0.max) } ?? "-",
            String(format: "%.0f", r.throughput), r.cpuMicrosPerRequest.map { String(format: "%.1f", $0) } ?? "-",
            r.peakRSSKiB.map { String(format: "%.1f", Double($0) / 1024) } ?? "-",
            r.errors == 0 && r.firstError == nil ? "0" : "\(r.errors) (\(r.firstError ?? ""))",
        ]
        return "| " + cols.joined(separator: " | ") + " |\n"
    }

    func throughputTable() -> String {
        var m = "## Throughput against concurrency (requests/s)\n\n| target / verb | 1x1 | 1x16 | 16x16 |\n|---|---|---|---|\n"
        let pairs = BenchVerb.allCases.map { ("sidecar", $0.rawValue) } + [("health", "health"), ("nginx", "static_invoke_json")]
        for (t, v) in pairs {
            let cells = BenchRunner.modes.map { c, s in p(t, v, c, s).map { String(format: "%.0f", $0.throughput) } ?? "-" }
            if cells.allSatisfy({ $0 == "-" }) { continue }
            m += "| \(t) \(v) | " + cells.joined(separator: " | ") + " |\n"
        }
        m += "\nIn process, for scale: " + BenchVerb.allCases.compactMap { v -> String? in
            guard let a = p("kernel", v.rawValue, 0, 1) else { return nil }
            let b = p("kernel", v.rawValue, 0, 16)
            return "\(v.rawValue) \(Fmt.rate(a.throughput))/s (16 tasks: \(b.map { Fmt.rate($0.throughput) } ?? "-")/s)"
        }.joined(separator: "; ") + ".\n\n"
        return m
    }

    func crossCheck() -> String {
        let rows = run.points.filter { $0.target.hasPrefix("h2load") }
        guard !rows.isEmpty else { return "## Cross-check with h2load\n\nNot run (h2load/nghttpx missing or --no-h2load).\n\n" }
        var m = "## Cross-check with h2load (through nghttpx)\n\n"
        m += "h2load cannot present a client certificate, so it speaks plain HTTP/2 to a local nghttpx "
        m += "(`--conf=/dev/null`, one worker) that presents alice's certificate to the server over TLS 1.3 + h2. "
        m += "The proxy hop and its CPU are inside every h2load number: compare h2load with h2load.\n\n"
        m += "| point | h2load req/s | h2load mean | our client req/s | our client mean | errors |\n|---|---|---|---|---|---|\n"
        for r in rows {
            let ours = r.target == "h2load-nginx" ? p("nginx", r.verb, r.connections, r.streams)
                : p(r.verb == "health" ? "health" : "sidecar", r.verb, r.connections, r.streams)
            m += "| \(r.target) \(r.verb) \(r.mode) | \(String(format: "%.0f", r.throughput)) | \(r.meanLatencyNs.map { Fmt.ns($0) } ?? "-") | "
            m += "\(ours.map { String(format: "%.0f", $0.throughput) } ?? "-") | \(ours?.latency.map { Fmt.ns($0.mean) } ?? "-") | "
            m += "\(r.errors)\(r.firstError.map { " (\($0))" } ?? "") |\n"
        }
        return m + "\n"
    }

    func transportTables() -> String {
        var m = "## New connections and idle connections\n\n"
        m += "| server | full mTLS handshakes/s | p50 | p99 | server CPU ms/handshake | errors |\n|---|---|---|---|---|---|\n"
        for h in run.handshakes {
            let cpu = h.cpuSeconds.map { String(format: "%.2f", $0 / Double(max(1, h.handshakes)) * 1000) } ?? "-"
            m += "| \(h.target) (\(h.workers) client workers) | \(String(format: "%.0f", h.perSecond)) | \(Fmt.ns(h.latency.p50)) | "
            m += "\(Fmt.ns(h.latency.p99)) | \(cpu) | \(h.errors)\(h.firstError.map { " (\($0))" } ?? "") |\n"
        }
        m += "\n| server | idle connections | RSS before | RSS after | KiB per connection |\n|---|---|---|---|---|\n"
        for i in run.idleMemory {
            m += "| \(i.target) | \(i.connections) | \(i.rssBeforeKiB) KiB | \(i.rssAfterKiB) KiB | \(String(format: "%.1f", i.kibPerConnection)) |\n"
        }
        return m + "\n"
    }

    func method() -> String {
        var m = "## Method, caveats and noise\n\n"
        m += """
            - Scenario: the reference README's billing example (bench/reference_bench.py): `alice`, reader of tenant \
            acme, `billing.list_invoices` (PII, allowed fields), goal "list unpaid invoices", expand of 20 rows x 2 fields. \
            The sidecar, the in-process kernel (built by `KernelFactory` from the sidecar's own TOML) and the reference run \
            the same kernel work: READ rate limit lifted (10^12 per 1 ms window), budgets off.
            - Remote points use the typed Swift client (`CapgateClient`): request encoding, response parsing and model \
            decoding are inside every sidecar latency; /v1/health and nginx use the raw HTTP/2 client (no JSON decode).
            - nginx serves the sidecar's own invoke (summary) response, \(run.invokeResponseBytes) bytes, with GET; the \
            sidecar's invoke is a POST with a ~600 B body. Same TLS 1.3 groups, same CA, CRL and client verification, \
            workers = cores = the sidecar's event loops, access log off.
            - Closed loop: each of the c x s workers sends its next request when the previous one returned; latency at \
            saturation is therefore not corrected for coordinated omission, and throughput is what the 2 cores gave to \
            client + server together. Client and server share the same 2 cores for every target, so ratios are fair, \
            absolute throughput is lower than on separate machines.
            - HdrHistogram (3 significant digits); the reference's per-call samples go through the same histogram.
            - The Python client point (bench/python_client_bench.py) calls `RemoteKernel.invoke` from a synchronous \
            caller (`run_until_complete`, as the reference bench calls its kernel) over one warm connection; its decode \
            points time the client's own decoders (clients/python/tools/clientbench.py) on this sidecar's answers.
            - Noise: other engineers build on this machine; the load averages above show how busy it was. Every ratio \
            compares points of the same run, minutes apart at most.

            """
        m += noise()
        if !run.notes.isEmpty { m += "\nNotes of this run:\n\n" + run.notes.map { "- \($0)\n" }.joined() }
        m += "\nVersions: " + run.versions.sorted { $0.key < $1.key }.map { "\($0.key) `\($0.value)`" }.joined(separator: ", ") + ".\n\n"
        m += """
            ## Reproduce

            ```
            make bench          # release build, ~5 s per point, perf profile, writes bench/reports/<date>-<commit>/ and docs/benchmarks.md
            make bench-quick    # ~1 s per point, no profile, writes bench/reports/<date>-<commit>-quick/
            swift run -c release capgate-bench --help
            ```

            `make bench` installs nginx-light, nghttp2-client (h2load), nghttp2-proxy (nghttpx) and linux-perf when \
            missing, and the reference into `.venv`. Raw numbers: `results.json` next to this report.

            """
        return m
    }

    /// The same points measured at the start and again at the end of the run.
    func noise() -> String {
        var parts: [String] = []
        for (verb, c, s) in [("invoke_summary", 1, 1), ("request_capabilities", 1, 16)] {
            guard let a = p("sidecar", verb, c, s), let b = p("repeat-sidecar", verb, c, s),
                  let la = a.latency, let lb = b.latency else { continue }
            let dp = (Double(lb.p50) - Double(la.p50)) / Double(max(1, la.p50)) * 100
            let dt = (b.throughput - a.throughput) / max(1, a.throughput) * 100
            parts.append("sidecar \(verb) \(c)x\(s): p50 \(Fmt.ns(la.p50)) then \(Fmt.ns(lb.p50)) (\(String(format: "%+.0f%%", dp))), "
                         + "\(Fmt.rate(a.throughput))/s then \(Fmt.rate(b.throughput))/s (\(String(format: "%+.0f%%", dt)))")
        }
        guard !parts.isEmpty else { return "" }
        return "- Measured noise: the first points repeated at the end of the run gave " + parts.joined(separator: "; ")
            + ". Differences of this size between two points are noise, not findings.\n"
    }

    func ns(_ v: Double?) -> String { v.map { Fmt.ns($0) } ?? "n/a" }
    func rate(_ p: PointResult?) -> String { p.map { Fmt.rate($0.throughput) + "/s" } ?? "n/a" }
    func fmt1(_ v: Double) -> String { String(format: "%.1f", v) }
    func diff(_ a: Double?, _ b: Double?) -> Double? { a.flatMap { a in b.map { max(0, a - $0) } } }
}
