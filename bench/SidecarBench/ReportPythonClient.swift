import Foundation

/// The Python client's rows and section of the report (its points: PythonClient.swift).
extension ReportWriter {
    var pyInvoke1: PointResult? { p("python-client", "invoke_summary", 1, 1) }
    /// p50 of the Python client's decode of one answer: json.loads plus the reference's dataclasses.
    func pyDecode(_ answer: String) -> (loads: Double?, objects: Double?) {
        let t = PythonClientRunner.decodeTarget
        return (p50(p(t, answer + "_json_loads", 0, 1)), p50(p(t, answer + "_dataclasses", 0, 1)))
    }

    /// The Python client's own section: its remote invoke against the typed Swift client and the
    /// reference, and what decoding costs per answer (in process, no transport).
    func pythonClient() -> String {
        guard pyInvoke1 != nil || run.points.contains(where: { $0.target == PythonClientRunner.decodeTarget }) else {
            return ""
        }
        var m = "## Python client (capgate.RemoteKernel, bench/python_client_bench.py)\n\n"
        m += "billing.list_invoices invoke (summary mode, as the other invoke points), one synchronous caller, one warm connection: Python client "
        m += "\(ns(p50(pyInvoke1))) p50 (p99 \(ns(pyInvoke1?.latency.map { Double($0.p99) }))), typed Swift client "
        m += "\(ns(p50(invoke1))) (\(ratio(p50(pyInvoke1), p50(invoke1))) of it), reference in process "
        m += "\(ns(p50(refInvoke))) (ratio \(ratio(p50(pyInvoke1), p50(refInvoke)))).\n\n"
        m += "| decode p50, per answer | bytes | json.loads | into the reference's dataclasses |\n|---|---|---|---|\n"
        for answer in ["summary_frame", "table_frame", "capability_grant"] {
            let d = pyDecode(answer)
            let bytes = p(PythonClientRunner.decodeTarget, answer + "_json_loads", 0, 1)?.note ?? "-"
            m += "| \(answer) | \(bytes) | \(ns(d.loads)) | \(ns(d.objects)) |\n"
        }
        return m + "\n"
    }
}
