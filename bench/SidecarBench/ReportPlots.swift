import Foundation

/// The SVG plots of a run, from its points.
extension ReportWriter {
    /// File name -> SVG text.
    func plots() -> [(String, String)] {
        var out: [(String, String)] = []
        let pcts = ["p50", "p90", "p99", "p99.9"]
        func pv(_ p: PointResult?) -> [Double?] {
            guard let l = p?.latency else { return [nil, nil, nil, nil] }
            return [l.p50, l.p90, l.p99, l.p999].map { Double($0) }
        }
        let nginx1 = run.point("nginx", "static_invoke_json", 1, 1)
        let nginx256 = run.point("nginx", "static_invoke_json", 16, 16)
        for verb in BenchVerb.allCases {
            let v = verb.rawValue
            guard run.point("sidecar", v, 1, 1) != nil || run.point("kernel", v, 0, 1) != nil else { continue }
            var series: [SVGSeries] = [
                SVGSeries(name: "kernel in process", color: SVGPlot.palette[2], values: pv(run.point("kernel", v, 0, 1))),
                SVGSeries(name: "service in process", color: SVGPlot.palette[8], values: pv(run.point("service", v, 0, 1))),
                SVGSeries(name: "sidecar 1x1", color: SVGPlot.palette[0], values: pv(run.point("sidecar", v, 1, 1))),
                SVGSeries(name: "sidecar 1x16", color: SVGPlot.palette[4], values: pv(run.point("sidecar", v, 1, 16))),
                SVGSeries(name: "sidecar 16x16", color: SVGPlot.palette[7], values: pv(run.point("sidecar", v, 16, 16))),
                SVGSeries(name: "reference (Python)", color: SVGPlot.palette[1], values: pv(run.point("reference", v, 0, 1))),
            ]
            if nginx1 != nil {
                series.append(SVGSeries(name: "nginx static 1x1", color: SVGPlot.palette[3], dashed: true, values: pv(nginx1)))
                series.append(SVGSeries(name: "nginx static 16x16", color: SVGPlot.palette[5], dashed: true, values: pv(nginx256)))
            }
            out.append(("latency-\(v).svg", SVGPlot.lines(
                title: "\(v): latency percentiles (billing scenario)", categories: pcts, yLabel: "latency",
                series: series.filter { $0.values.contains { $0 != nil } }, format: { Fmt.ns($0) })))
        }
        // p50 per verb, side by side.
        let verbs = BenchVerb.allCases.map(\.rawValue).filter { run.point("sidecar", $0, 1, 1) != nil }
        func p50(_ t: String, _ c: Int, _ s: Int) -> [Double?] {
            verbs.map { v in run.point(t, v, c, s)?.latency.map { Double($0.p50) } }
        }
        var bars = [
            SVGSeries(name: "kernel in process", color: SVGPlot.palette[2], values: p50("kernel", 0, 1)),
            SVGSeries(name: "service in process", color: SVGPlot.palette[8], values: p50("service", 0, 1)),
            SVGSeries(name: "sidecar 1x1", color: SVGPlot.palette[0], values: p50("sidecar", 1, 1)),
            SVGSeries(name: "reference (Python)", color: SVGPlot.palette[1], values: p50("reference", 0, 1)),
        ]
        if let n = nginx1?.latency {
            bars.append(SVGSeries(name: "nginx static 1x1", color: SVGPlot.palette[3], values: verbs.map { _ in Double(n.p50) }))
        }
        out.append(("p50-by-verb.svg", SVGPlot.bars(title: "p50 latency per verb, one call at a time", categories: verbs,
                                                    yLabel: "p50 latency", series: bars.filter { $0.values.contains { $0 != nil } },
                                                    format: { Fmt.ns($0) })))
        // Throughput against concurrency (requests in flight).
        let conc = ["1", "16", "256"]
        let modes = BenchRunner.modes
        func tput(_ t: String, _ v: String) -> [Double?] { modes.map { run.point(t, v, $0.0, $0.1)?.throughput } }
        var tp: [SVGSeries] = []
        for (i, verb) in BenchVerb.allCases.enumerated() {
            let values = tput("sidecar", verb.rawValue)
            if values.contains(where: { $0 != nil }) {
                tp.append(SVGSeries(name: "sidecar \(verb.rawValue)", color: SVGPlot.palette[i], values: values))
            }
        }
        tp.append(SVGSeries(name: "sidecar /v1/health", color: SVGPlot.palette[8], dashed: true, values: tput("health", "health")))
        tp.append(SVGSeries(name: "nginx static", color: SVGPlot.palette[9], dashed: true, values: tput("nginx", "static_invoke_json")))
        tp.append(SVGSeries(name: "kernel invoke_summary", color: SVGPlot.palette[6], dashed: true,
                            values: [run.point("kernel", "invoke_summary", 0, 1)?.throughput,
                                     run.point("kernel", "invoke_summary", 0, 16)?.throughput, nil]))
        tp.append(SVGSeries(name: "reference invoke_summary", color: SVGPlot.palette[1], dashed: true,
                            values: [run.point("reference", "invoke_summary", 0, 1)?.throughput, nil, nil]))
        tp.append(SVGSeries(name: "h2load sidecar invoke", color: SVGPlot.palette[7], dashed: true,
                            values: tput("h2load-sidecar", "invoke_summary")))
        tp.append(SVGSeries(name: "h2load nginx static", color: SVGPlot.palette[5], dashed: true,
                            values: tput("h2load-nginx", "static_invoke_json")))
        out.append(("throughput.svg", SVGPlot.lines(
            title: "Throughput against requests in flight (1x1, 1x16, 16x16)", categories: conc, yLabel: "requests/s",
            series: tp.filter { $0.values.contains { $0 != nil } }, format: { Fmt.rate($0) + "/s" })))
        return out
    }
}
