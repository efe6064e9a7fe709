import Foundation

/// One measured point. `target` names what was measured:
/// - `kernel`: the Swift kernel API in process (no JSON, no transport);
/// - `service`: `KernelService.handle` in process: wire JSON decode + kernel + JSON encode;
/// - `sidecar`: `capgate serve` over the typed Swift client (mTLS HTTP/2);
/// - `health`: the sidecar's GET /v1/health (transport only, no kernel);
/// - `nginx`: nginx static JSON of the invoke response's size, same client, same TLS;
/// - `reference`: the Python reference in process;
/// - `python-client`: the Python client (`capgate.RemoteKernel`) over one warm connection;
/// - `python-decode`: the Python client's decode of a real answer, in process (verb
///   `<answer>_json_loads` / `<answer>_dataclasses`);
/// - `h2load-sidecar` / `h2load-nginx`: h2load through nghttpx (plain h2 -> mTLS h2).
struct PointResult: Sendable, Codable {
    var target: String
    var verb: String
    var connections: Int
    var streams: Int
    var latency: LatencySummary?
    /// h2load reports mean/sd/max only.
    var meanLatencyNs: Double?
    var throughput: Double
    var requests: Int
    var errors: Int
    var firstError: String?
    var seconds: Double
    /// Server CPU seconds during the measured window; `cpuSource` says whose.
    var cpuSeconds: Double?
    var cpuSource: String?
    var peakRSSKiB: Int?
    var note: String?

    /// In-process points have `connections == 0` and `streams` concurrent tasks.
    var mode: String {
        if connections == 0 { return streams == 1 ? "in-process" : "in-process x\(streams)" }
        return "\(connections)x\(streams)"
    }
    var concurrency: Int { connections == 0 ? max(1, streams) : connections * streams }
    var key: String { "\(target)/\(verb)/\(mode)" }
    /// Server CPU per request, microseconds.
    var cpuMicrosPerRequest: Double? {
        guard let c = cpuSeconds, requests > 0 else { return nil }
        return c / Double(requests) * 1e6
    }
}

struct HandshakeResult: Sendable, Codable {
    var target: String
    var workers: Int
    var handshakes: Int
    var errors: Int
    var firstError: String?
    var seconds: Double
    var perSecond: Double
    var latency: LatencySummary
    var cpuSeconds: Double?
    /// The client's CPU (the harness process) over the same window: both sides share the
    /// machine's cores, so a server that makes the client work harder lowers its own rate.
    var clientCPUSeconds: Double? = nil

    /// Each round's rate ratio (`ours[i]` over `theirs[i]`, in round order) and their median:
    /// pairs measured back to back follow the servers, not the machine's load drift.
    static func roundRatios(_ ours: some Sequence<HandshakeResult>, _ theirs: some Sequence<HandshakeResult>)
        -> (ratios: [Double], median: Double?) {
        let ratios = zip(ours, theirs).map { $0.perSecond / max($1.perSecond, 1) }
        return (ratios, ratios.isEmpty ? nil : ratios.sorted()[ratios.count / 2])
    }
}

struct IdleMemoryResult: Sendable, Codable {
    var target: String
    var connections: Int
    var rssBeforeKiB: Int
    var rssAfterKiB: Int
    var kibPerConnection: Double
}

struct ProfileResult: Sendable, Codable {
    var tool: String
    var point: String
    var seconds: Double
    /// Share of samples per shared object (`perf report --sort dso`).
    var byObject: [Entry]
    /// Top symbols (demangled), self time.
    var bySymbol: [Entry]
    /// Samples grouped into layers (TLS, HTTP/2, kernel, JSON, allocator, syscalls...).
    var byLayer: [Entry]

    struct Entry: Sendable, Codable {
        var name: String
        var percent: Double
    }
}

struct MachineInfo: Sendable, Codable {
    var cores: Int
    var cpuModel: String
    var memoryGiB: Double
    var kernel: String
    var loadAverageAtStart: String
    var loadAverageAtEnd: String?
}

/// Everything the run measured; `results.json` is this, encoded.
struct BenchRun: Sendable, Codable {
    var date: String
    var commit: String
    var quick: Bool
    var secondsPerPoint: Double
    var warmupSeconds: Double
    var machine: MachineInfo
    var versions: [String: String]
    var points: [PointResult] = []
    var handshakes: [HandshakeResult] = []
    var idleMemory: [IdleMemoryResult] = []
    var profiles: [ProfileResult] = []
    var invokeResponseBytes: Int = 0
    /// Size of the sidecar's explain answer nginx serves for issue 16's transport goal.
    var explainResponseBytes: Int = 0
    var notes: [String] = []

    func point(_ target: String, _ verb: String, _ c: Int, _ s: Int) -> PointResult? {
        points.first { $0.target == target && $0.verb == verb && $0.connections == c && $0.streams == s }
    }
}
