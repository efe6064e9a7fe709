import Foundation

/// "Reading the misses": for each goal this run missed, what the numbers of the same run say
/// about where the time (or memory) goes. Data-driven sentences, so the published report
/// never explains a miss with numbers from another run.
extension ReportWriter {
    func analysis() -> String {
        var m = "## Reading the misses\n\n"
        var any = false
        let sat = best("sidecar", "invoke_summary"), kSat = best("kernel", "invoke_summary")
        let nSat = best("nginx", "static_invoke_json"), h = best("health", "health")
        if let s = sat, let n = nSat, s.throughput < n.throughput / 2 {
            any = true
            m += "- **Invoke throughput vs nginx.** The sidecar's invoke saturates at \(Fmt.rate(s.throughput))/s, "
            if let k = kSat {
                m += String(format: "%.0f%%", s.throughput / k.throughput * 100)
                m += " of what the kernel alone does in process (\(Fmt.rate(k.throughput))/s, \(k.mode)); "
            }
            if let h { m += "the transport alone (GET /v1/health) carries \(Fmt.rate(h.throughput))/s. " }
            m += "The ceiling is the kernel's invoke (policy, driver, firewall redaction and summary of 200 rows, "
            m += "handle and trace stores, a \(run.invokeResponseBytes)-byte JSON answer): "
            if let c = s.cpuMicrosPerRequest { m += String(format: "%.0f µs of server CPU per invoke", c) }
            m += ", against a static file nginx sends from the page cache. Half of nginx needs the invoke itself to "
            m += "get about \(Fmt.ratio(n.throughput / 2 / max(1, s.throughput))) cheaper; the transport is not where the time goes "
            m += "(see the profile layers above).\n"
        }
        if let l = invoke1?.latency, l.p99 > 3 * l.p50 {
            any = true
            m += "- **p99 at one connection.** invoke 1x1 p99/p50 = \(Fmt.ratio(Double(l.p99) / Double(max(1, l.p50)))). "
            if let k = kernelInvoke1?.latency {
                m += "The kernel in process has p99/p50 = \(Fmt.ratio(Double(k.p99) / Double(max(1, k.p50)))) on its own: "
            }
            m += "the tail follows the kernel's own tail plus scheduler wake-up delays of the 3 parties (client, server, "
            m += "the other engineers' jobs: load average \(run.machine.loadAverageAtStart) at start) on 2 cores.\n"
        }
        let hc = run.handshakes.first { $0.target == "capgate" }, hn = run.handshakes.first { $0.target == "nginx" }
        if let c = hc, let n = hn, c.perSecond < 0.9 * n.perSecond {
            any = true
            m += "- **Handshakes.** \(String(format: "%.0f/s vs %.0f/s", c.perSecond, n.perSecond)); server CPU per handshake "
            m += "\(c.cpuSeconds.map { String(format: "%.2f ms", $0 / Double(max(1, c.handshakes)) * 1000) } ?? "?") vs "
            m += "\(n.cpuSeconds.map { String(format: "%.2f ms", $0 / Double(max(1, n.handshakes)) * 1000) } ?? "?"). "
            m += "Both verify the same chain and CRL with the same OpenSSL; the handshake profile above shows what capgate "
            m += "adds per connection (SPIFFE identity extraction, nghttp2 session and SETTINGS, timers, one log line).\n"
        }
        let ic = run.idleMemory.first { $0.target == "capgate" }, inx = run.idleMemory.first { $0.target == "nginx" }
        if let c = ic, c.kibPerConnection > 32 {
            any = true
            m += String(format: "- **Idle connections.** %.1f KiB per idle connection", c.kibPerConnection)
            if let n = inx { m += String(format: " (nginx %.1f KiB)", n.kibPerConnection) }
            m += ". nginx sets `SSL_MODE_RELEASE_BUFFERS` (OpenSSL frees its ~34 KiB of record buffers between reads) "
            m += "and frees its HTTP/2 state buffers when a connection goes idle; capgate keeps OpenSSL's buffers, the "
            m += "nghttp2 session with two 4 KiB HPACK tables, and output buffers whose capacity is kept after the first "
            m += "response. Releasing the TLS buffers and the idle output capacity is the first thing to try.\n"
        }
        if !any { m += "Every goal of the issue was met in this run.\n" }
        return m + "\n"
    }
}
