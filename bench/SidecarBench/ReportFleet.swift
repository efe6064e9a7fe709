import Foundation

/// The fleet point's report (FleetPoints.swift): a section of the full report, between two
/// markers so that `--only fleet --publish-docs` (make bench-fleet) replaces just that section
/// of docs/benchmarks.md and a full `make bench` writes it in place like every other section.
extension ReportWriter {
    static let fleetBegin = "<!-- fleet point: written by capgate-bench (bench/SidecarBench/ReportFleet.swift) -->"
    static let fleetEnd = "<!-- end of the fleet point -->"

    /// The section, or "" when the run has no fleet point. `standalone`: measured by a
    /// `--only fleet` run, apart from the rest of the page, which it says.
    func fleetSection(standalone: Bool = false) -> String {
        let verbs = FleetBench.verbs.map(\.rawValue)
        guard run.points.contains(where: { $0.target.hasPrefix("fleet-") }) else { return "" }
        var m = Self.fleetBegin + "\n## Fleet: 2 sidecars on PostgreSQL vs 1 on SQLite (issue 13)\n\n"
        if standalone {
            m += "Measured by `make bench-fleet` (run of \(run.date), commit `\(run.commit)`, "
            m += "\(fmt1(run.secondsPerPoint)) s per point after \(fmt1(run.warmupSeconds)) s warm-up, load average "
            m += "\(run.machine.loadAverageAtStart) at start, \(run.machine.loadAverageAtEnd ?? "?") at end), "
            m += "not in the run of the rest of this page: compare these rows with each other only.\n\n"
        }
        m += "The same grant and invoke (billing summary) load against two `capgate serve` sharing one PostgreSQL "
        m += "database (`[store] backend = \"postgres\"`, [deployment.md](deployment.md)) and against one `capgate serve` "
        m += "on the embedded store (SQLite audit, `durability = \"fsync\"`). PostgreSQL runs on this machine with "
        m += "`fsync=on`. Mode `CxS`: C connections in all (for the fleet alternating between the two sidecars, "
        m += "so half go to each; an invoke on B uses a token granted through A), S streams each. Points alternate "
        m += "between the setups. Server CPU: the sidecars' process trees, plus PostgreSQL's for the fleet.\n\n"
        m += "| verb | mode | setup | req/s | p50 | p99 | server CPU µs/req | errors |\n|---|---|---|---|---|---|---|---|\n"
        var ratios = ""
        for v in verbs {
            for (c, s) in FleetBench.modes {
                let one = p(FleetBench.sqliteTarget, v, c, s), two = p(FleetBench.postgresTarget, v, c, s)
                for (label, pt) in [("1 sidecar, SQLite", one), ("2 sidecars, PostgreSQL", two)] {
                    guard let pt else { continue }
                    let l = pt.latency
                    m += "| \(v) | \(pt.mode) | \(label) | \(String(format: "%.0f", pt.throughput)) | "
                    m += "\(ns(l.map { Double($0.p50) })) | \(ns(l.map { Double($0.p99) })) | "
                    m += "\(pt.cpuMicrosPerRequest.map { String(format: "%.0f", $0) } ?? "-") | "
                    m += (pt.errors == 0 && pt.firstError == nil ? "0" : "\(pt.errors) (\(pt.firstError ?? ""))") + " |\n"
                }
                guard one != nil || two != nil else { continue }
                ratios += "| \(v) | \(c)x\(s) | \(ratio(two?.throughput, one?.throughput)) | \(ratio(p50(two), p50(one))) | "
                ratios += "\(ratio(two?.latency.map { Double($0.p99) }, one?.latency.map { Double($0.p99) })) | "
                ratios += "\(ratio(two?.cpuMicrosPerRequest, one?.cpuMicrosPerRequest)) |\n"
            }
        }
        m += "\n| verb | mode | throughput, 2 PG / 1 SQLite | p50, 2 PG / 1 SQLite | p99, 2 PG / 1 SQLite | "
        m += "server CPU per request, 2 PG / 1 SQLite |\n|---|---|---|---|---|---|\n" + ratios
        m += "\nReading it: both setups share the same cores with the load generator (and PostgreSQL), so the second "
        m += "sidecar adds no CPU here: the ratios show what the shared store costs per request, not the capacity a "
        m += "fleet gains on separate hosts. On the embedded store a granted token writes nothing (only denials are "
        m += "traced) and an invoke waits for one fsynced SQLite commit of its trace; in the fleet a grant waits until "
        m += "its token is recorded in PostgreSQL (for `revoke_all`) and its rate-limit hit announced, and an invoke "
        m += "until its trace is committed and its handle (metadata and data) shared, each a round trip to "
        m += "PostgreSQL plus its commit. `make bench-fleet` runs this point alone (about 2 minutes) and replaces only "
        m += "this section here.\n"
        return m + Self.fleetEnd + "\n\n"
    }

    /// `--only fleet`: `<out>/<date>-<commit>-fleet[-quick]/{report.md,results.json}`, and the
    /// section spliced into --publish-docs.
    func writeFleetOnly() throws -> String {
        let dir = options.outDirectory + "/\(run.date)-\(run.commit)-fleet" + (run.quick ? "-quick" : "")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(run).write(to: URL(fileURLWithPath: dir + "/results.json"))
        var m = "# capgate benchmarks: the fleet point\n\n"
        m += "Run of \(run.date), commit `\(run.commit)`\(run.quick ? " (**quick run**: numbers are rough)" : ""), "
        m += "\(run.machine.cores) cores (\(run.machine.cpuModel)), \(run.machine.memoryGiB) GiB, Linux \(run.machine.kernel).\n\n"
        m += fleetSection(standalone: true)
        if !run.notes.isEmpty { m += "Notes of this run:\n\n" + run.notes.map { "- \($0)\n" }.joined() + "\n" }
        m += "Versions: " + run.versions.sorted { $0.key < $1.key }.map { "\($0.key) `\($0.value)`" }.joined(separator: ", ")
        m += ".\n\nReproduce: `make bench-fleet` (or `capgate-bench --only fleet`); raw numbers in `results.json`.\n"
        try m.write(toFile: dir + "/report.md", atomically: true, encoding: .utf8)
        if let docs = options.publishDocs {
            let old = (try? String(contentsOfFile: docs, encoding: .utf8)) ?? ""
            try Self.splice(fleetSection(standalone: true), into: old).write(toFile: docs, atomically: true, encoding: .utf8)
        }
        return dir
    }

    /// `doc` with its fleet section replaced by `section` (an empty section removes it); with
    /// none yet, inserted before "## Where the time goes" (where a full run writes it), else
    /// appended.
    static func splice(_ section: String, into doc: String) -> String {
        if let begin = doc.range(of: fleetBegin), let end = doc.range(of: fleetEnd, range: begin.upperBound..<doc.endIndex) {
            var rest = doc[end.upperBound...]
            while rest.first == "\n" { rest = rest.dropFirst() }
            return String(doc[..<begin.lowerBound]) + section + rest
        }
        if let next = doc.range(of: "\n## Where the time goes") {
            return String(doc[..<next.lowerBound]) + "\n" + section + String(doc[doc.index(after: next.lowerBound)...])
        }
        return doc + (doc.isEmpty || doc.hasSuffix("\n\n") ? "" : "\n") + section
    }
}
