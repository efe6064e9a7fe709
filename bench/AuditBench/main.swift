import AgentKernel
import CapgateClient
import CapgatePKI
import CapgateServer
import Foundation
import Synchronization

// make bench-audit (docs/audit.md, "Throughput"): durable vs in-memory audit invoke
// throughput through the whole gateway, in ONE run, so both see the same machine load.
//
// Each point starts a gateway in this process on the embedded demo with one audit store
// (`[audit] store = "memory"`, or the SQLite chain with `durability = "fsync"`), opens
// 16 mTLS connections as alice with 16 invokes in flight on each (closed loop), warms up,
// then counts acknowledged invokes for `--seconds`. Rounds alternate the stores so drifting
// load hits both alike; the report is the median of each and their ratio. Budgets are on
// (with a total no run exhausts), so the durable point also persists every spend.
//
// Usage: audit-bench [--seconds S] [--warmup S] [--rounds N] [--connections C] [--streams S]
//                    [--durability fsync|batch]

struct Options {
    var seconds = 5.0
    var warmup = 1.0
    var rounds = 3
    var connections = 16
    var streams = 16
    var durability = "fsync"
    var only: Store?

    init(_ args: [String]) {
        var it = args.makeIterator()
        while let a = it.next() {
            let v = it.next() ?? ""
            switch a {
            case "--seconds": seconds = Double(v) ?? seconds
            case "--warmup": warmup = Double(v) ?? warmup
            case "--rounds": rounds = Int(v) ?? rounds
            case "--connections": connections = Int(v) ?? connections
            case "--streams": streams = Int(v) ?? streams
            case "--durability": durability = v
            case "--only": only = Store(rawValue: v)
            default:
                FileHandle.standardError.write(Data("unknown option \(a)\n".utf8))
                exit(2)
            }
        }
    }
}

enum Store: String { case memory, durable }

struct Point {
    let ops: Int
    let errors: Int
    let seconds: Double
    /// Process CPU (user + system) during the measured window: client and server share it.
    let cpuSeconds: Double
    var rate: Double { Double(ops) / seconds }
    var cpuMicrosPerInvoke: Double { ops > 0 ? cpuSeconds * 1e6 / Double(ops) : 0 }
}

func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

func measure(_ store: Store, _ o: Options) async throws -> Point {
    let dir = NSTemporaryDirectory() + "audit-bench-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = try DemoConfig.prepare(stateDir: dir, host: "127.0.0.1", port: 0)
    config.budgetTotal = 1 << 60
    switch store {
    case .memory: config.audit.store = .memory
    case .durable:
        config.audit.store = .sqlite(path: nil)
        config.audit.durability = o.durability == "batch" ? .batch(maxDelayMilliseconds: 50) : .fsync
    }
    let gateway = try Gateway(config: config)
    let port = try gateway.start()
    defer {
        gateway.shutdown()
        gateway.waitUntilStopped()
    }
    let pki = PKIDirectory(path: dir + "/pki")
    let connect: @Sendable () throws -> CapgateClient = {
        try CapgateClient(host: "127.0.0.1", port: port, certificate: pki.agentCertificatePath("alice"),
                          key: pki.agentKeyPath("alice"), trustBundle: pki.caCertificatePath)
    }
    var slots: [Slot] = []
    var tokens: [CapabilityToken] = []
    for _ in 0..<o.connections {
        let slot = Slot(try connect(), connect)
        slots.append(slot)
        let request = CapabilityRequest(capabilityID: "tasks.list", goal: "audit bench", constraints: [:])
        tokens.append(try await slot.client.grantCapability(request, justification: "").token)
    }
    defer { for s in slots { s.client.close() } }

    final class Flags: Sendable {
        let counting = Atomic<Bool>(false), stop = Atomic<Bool>(false)
        let ops = Atomic<Int>(0), errors = Atomic<Int>(0)
    }
    let f = Flags()
    let pairs = Array(zip(slots, tokens))
    let streams = o.streams
    let load = Task {
        await withTaskGroup(of: Void.self) { group in
            for (slot, t) in pairs {
                for _ in 0..<streams {
                    group.addTask {
                        while !f.stop.load(ordering: .relaxed) {
                            let c = slot.client
                            do {
                                _ = try await c.invoke(t)
                                if f.counting.load(ordering: .relaxed) { f.ops.add(1, ordering: .relaxed) }
                            } catch CapgateClientError.transport {
                                // The server retires a connection after maxStreamsPerConnection
                                // (GOAWAY), as in production: reconnect, as a real agent does.
                                if !slot.replace(c) { f.errors.add(1, ordering: .relaxed) }
                            } catch {
                                f.errors.add(1, ordering: .relaxed)
                            }
                        }
                    }
                }
            }
        }
    }
    try await Task.sleep(for: .seconds(o.warmup))
    f.counting.store(true, ordering: .relaxed)
    let t0 = Date(), cpu0 = processCPUSeconds()
    try await Task.sleep(for: .seconds(o.seconds))
    f.counting.store(false, ordering: .relaxed)
    let elapsed = Date().timeIntervalSince(t0), cpu = processCPUSeconds() - cpu0
    f.stop.store(true, ordering: .relaxed)
    await load.value
    return Point(ops: f.ops.load(ordering: .relaxed), errors: f.errors.load(ordering: .relaxed), seconds: elapsed,
                 cpuSeconds: cpu)
}

/// One connection position: its current client, replaced when the server retires it.
final class Slot: Sendable {
    private let current: Mutex<CapgateClient>
    private let connect: @Sendable () throws -> CapgateClient
    init(_ c: CapgateClient, _ connect: @escaping @Sendable () throws -> CapgateClient) {
        current = Mutex(c)
        self.connect = connect
    }
    var client: CapgateClient { current.withLock { $0 } }
    /// Replaces `old` (if still current) with a new connection; false if connecting failed.
    func replace(_ old: CapgateClient) -> Bool {
        current.withLock { c in
            guard c === old else { return true }
            guard let fresh = try? connect() else { return false }
            old.close()
            c = fresh
            return true
        }
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
print("audit-bench: \(options.connections) connections x \(options.streams) streams, invoke tasks.list, "
      + "\(options.seconds) s per point after \(options.warmup) s warm-up, \(options.rounds) round(s), "
      + "durable = sqlite \(options.durability)")
var rates: [Store: [Double]] = [:]
var failed = false
for round in 0..<options.rounds {
    // Alternate which store goes first so a trend in machine load favours neither.
    for store in round % 2 == 0 ? [Store.memory, .durable] : [.durable, .memory] where options.only == nil || options.only == store {
        let p = try await measure(store, options)
        rates[store, default: []].append(p.rate)
        print(String(format: "round %d  %-8@ %9.0f invokes/s  (%d invokes, %d errors, %.0f%% CPU, %.0f us CPU/invoke)",
                     round + 1, store.rawValue as NSString, p.rate, p.ops, p.errors,
                     100 * p.cpuSeconds / p.seconds, p.cpuMicrosPerInvoke))
        if p.errors > 0 { failed = true }
    }
}
let m = median(rates[.memory] ?? []), d = median(rates[.durable] ?? [])
print(String(format: "median   memory %.0f invokes/s, durable %.0f invokes/s, durable/memory = %.1f%%",
             m, d, m > 0 ? 100 * d / m : 0))
if failed { print("errors occurred: the numbers are not valid") }
exit(failed ? 1 : 0)
