import AgentKernel
#if canImport(Glibc)
import Glibc
#endif

/// Target: the stored revocation log (`FileRevocationStore`, `<state_dir>/revocations.log`,
/// docs/audit.md "Revocations"), read back at every start. The bytes are the file: the
/// target writes them to a private tmpfs file and opens the store through its public API
/// (the open path is the reader: replay, torn-tail truncation, compaction).
///
/// Invariants: a refused file fails with a `FileRevocationStoreError` naming its cause; an
/// accepted one answers `isRevoked` for every token id the file names exactly as an
/// independent replay of the documented format does (no revocation lost, none invented);
/// after the open and one more revoke (what a running server does next), the file opens
/// again with the same answers plus that revoke.
///
/// The store compacts past `compactionThreshold` events instead of the server's 1024, so
/// inputs of a few KiB reach the compaction path (run with `-max_len=4096`: fuzz/RESULTS.md).
enum FuzzRevocationLog {
    struct FixedClock: KernelClock {
        func now() -> Timestamp { Timestamp(microseconds: 1_800_000_000_000_000) }
        func monotonic() -> Double { 0 }
    }

    static let dir: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        let d = "\(base)/capgate-fuzz-revocations-\(getpid())"
        mkdir(d, 0o700)
        atexit {  // libFuzzer and the replay tests end with exit(): leave no litter behind
            unlink(FuzzRevocationLog.path)
            rmdir(FuzzRevocationLog.dir)
        }
        return d
    }()
    static let path = dir + "/revocations.log"
    static let header: JSONValue = ["format": "capgate-revocations", "version": 1]
    static let marker = "fuzz-marker-revoked-after-open"
    static let compactionThreshold = 8

    static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        write(bytes)
        let expected = replay(bytes)
        var answers: [String: Bool]
        do {
            let store = try FileRevocationStore(path: path, clock: FixedClock(), compactionMinEvents: compactionThreshold)
            answers = ask(store, expected?.ids ?? [])
            // The server appends after the open: that must keep the log readable.
            store.revoke(marker)
            if store.writeFailures != 0 { fuzzFailure("a revoke after open was not written") }
        } catch let e as FileRevocationStoreError {
            if e.message.isEmpty { fuzzFailure("a refusal without a cause") }
            if expected != nil { fuzzFailure("refused a valid log: \(e)") }
            return
        } catch {
            fuzzFailure("refused with an untyped error \(error)")
        }
        guard let expected else { fuzzFailure("accepted a log the format refuses") }
        for (id, revoked) in answers where revoked != expected.revoked.contains(id) {
            fuzzFailure("isRevoked(\(id)) = \(revoked), the replay says \(!revoked)")
        }
        var again: [String: Bool]
        do {
            again = ask(try FileRevocationStore(path: path, clock: FixedClock(), compactionMinEvents: compactionThreshold), expected.ids.union([marker]))
        } catch {
            fuzzFailure("the log after open + one revoke does not open again: \(error)")
        }
        if again.removeValue(forKey: marker) != true { fuzzFailure("the revoke appended after open was lost") }
        answers[marker] = nil
        if again != answers { fuzzFailure("reopening changed isRevoked answers") }
    }

    static func ask(_ store: FileRevocationStore, _ ids: Set<String>) -> [String: Bool] {
        var out: [String: Bool] = [:]
        for id in ids { out[id] = store.isRevoked(id) }
        return out
    }

    static func write(_ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fuzzFailure("cannot write \(path)") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { fuzzFailure("cannot write \(path)") }
            done += n
        }
    }

    /// The format as documented on `FileRevocationStore`, replayed independently: nil when
    /// the file must be refused; otherwise the revoked set and every token id named.
    static func replay(_ bytes: [UInt8]) -> (revoked: Set<String>, ids: Set<String>)? {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        lines.removeLast()  // after the last newline: empty, or a torn write that is dropped
        if lines.isEmpty { return ([], []) }  // empty, or only a torn header: a new log
        var revoked = Set<String>(), ids = Set<String>()
        var principals: [String: Set<String>] = [:]
        var expiry: [String: Timestamp] = [:]
        for (i, line) in lines.enumerated() {
            guard let v = try? JSONParser.parse(line) else { return nil }
            if i == 0 {
                guard v == header else { return nil }
                continue
            }
            func str(_ k: String) -> String? { v[k]?.stringValue }
            func time(_ k: String) -> Timestamp? { str(k).flatMap { Timestamp(isoformat: $0) } }
            switch str("op") {
            case "revoke":
                guard let t = str("token_id") else { return nil }
                revoked.insert(t); ids.insert(t)
            case "track":
                guard let p = str("principal_id"), let t = str("token_id"), let e = time("expires_at") else { return nil }
                principals[p, default: []].insert(t); expiry[t] = e; ids.insert(t)
            case "revoke_all":
                guard let p = str("principal_id") else { return nil }
                revoked.formUnion(principals.removeValue(forKey: p) ?? [])
            case "sweep":
                guard let now = time("now") else { return nil }
                let gone = Set(expiry.filter { $0.value <= now }.keys)
                for t in gone { expiry[t] = nil; revoked.remove(t) }
                for (p, ts) in principals { principals[p] = ts.subtracting(gone).isEmpty ? nil : ts.subtracting(gone) }
            case "expiry":
                guard let t = str("token_id"), let e = time("expires_at") else { return nil }
                expiry[t] = e; ids.insert(t)
            default:
                return nil
            }
        }
        return (revoked, ids)
    }
}
