#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Why a `FileRevocationStore` could not be opened.
public struct FileRevocationStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "revocation store '\(path)': \(message)" }
}

/// A durable revocation list for the sidecar: a token revoked here stays revoked across a
/// restart (docs/reference-semantics.md §12.3 item 6; the reference's `SQLiteRevocationStore` plays this role).
/// Semantics are exactly `InMemoryRevocationStore`'s, including the lazy sweep every 256
/// `track` calls, which is logged as a `sweep` event so replay reproduces it.
///
/// ## File format
/// UTF-8 JSON Lines, append-only. The first line is a header
/// `{"format":"capgate-revocations","version":1}`; every later line is one event:
/// - `{"op":"revoke","token_id":T}`
/// - `{"op":"track","principal_id":P,"token_id":T,"expires_at":ISO}`
/// - `{"op":"revoke_all","principal_id":P}`
/// - `{"op":"sweep","now":ISO}`
/// - `{"op":"expiry","token_id":T,"expires_at":ISO}` (compaction only: an expiry whose
///   principal index was already cleared by `revoke_all`)
///
/// ISO datetimes are Python `isoformat()` in UTC. On open the events are replayed in
/// order. A final line without its newline is a write torn by a crash: it is dropped
/// (the file is truncated to the last newline). Any other unreadable line fails the open:
/// guessing at a damaged revocation list could un-revoke a token (fail closed).
///
/// ## Durability
/// `revoke` and `revoke_all` are `fsync`ed before they return: a revocation the operator
/// saw succeed survives power loss. `track` and `sweep` are written but not synced (they
/// survive a process crash; after power loss a `revoke_all` could miss a token issued in
/// the last moments, while explicit revocations are never lost).
///
/// ## Compaction
/// On open, when the log holds more than `compactionMinEvents` events (1024 by default) and
/// more than twice the lines a snapshot of the live state needs, it is rewritten as that
/// snapshot (temp file, fsync, rename, fsync of the directory), so restarts stay fast and the
/// file stays bounded.
///
/// One process owns the file (an exclusive `flock`; a second opener fails fast).
/// Thread-safe: all state and file writes are under one lock. A write failure after open
/// keeps the in-memory state (this process still denies the token), cuts the partial line
/// back off, and is counted in `writeFailures` (the gateway then answers the revoke with a
/// 5xx, never 200) and reported by `persistenceError` for health checks.
public final class FileRevocationStore: RevocationStore {
    static let header: JSONValue = ["format": "capgate-revocations", "version": 1]
    /// The default event count past which an open may compact the log.
    public static let defaultCompactionMinEvents = 1024

    private struct Inner: ~Copyable {
        var state = RevocationState()
        var fd: Int32
        var error: String?
        /// Failed appends since open; a caller compares it around a revoke to learn whether
        /// that revoke reached the disk (`writeFailures`).
        var failures = 0
        /// The end of the last complete line: a failed append is cut back to it, so a torn
        /// line can never sit in the middle of the log once a later append succeeds.
        var length: off_t = 0
        /// Set when cutting back failed too: the tail is unknown, so nothing more is written
        /// (appending after garbage would corrupt the log) and every append counts as failed.
        var poisoned = false
        deinit { if fd >= 0 { close(fd) } }
    }

    private let inner: Mutex<Inner>
    private let clock: any KernelClock
    public let path: String

    /// `compactionMinEvents` exists so the fuzz target and the tests reach compaction with
    /// logs of a few dozen lines (a 1024-event log is ~100 KB, which keeps a fuzzer slow);
    /// servers keep the default.
    public init(path: String, clock: any KernelClock = SystemClock(),
                compactionMinEvents: Int = FileRevocationStore.defaultCompactionMinEvents) throws {
        self.path = path
        self.clock = clock
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileRevocationStoreError(path: path, message: "open: \(Self.errnoText())") }
        var ok = false
        defer { if !ok { close(fd) } }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw FileRevocationStoreError(path: path, message: "already in use by another process (\(Self.errnoText()))")
        }
        let bytes = try Self.readAll(fd: fd, path: path)
        var state = RevocationState()
        let (events, validLength) = try Self.replay(bytes, into: &state, path: path)
        var fdToUse = fd
        if validLength < bytes.count {
            // Drop a torn final line so the next append starts on a fresh line.
            guard ftruncate(fd, off_t(validLength)) == 0 else {
                throw FileRevocationStoreError(path: path, message: "truncate: \(Self.errnoText())")
            }
        }
        if validLength == 0 {
            // A new log, or one whose only line, the header, was torn by a crash (found by the
            // revocation_log fuzz target: events appended without a header made the next start fail).
            guard lseek(fd, 0, SEEK_SET) == 0 else {
                throw FileRevocationStoreError(path: path, message: "seek: \(Self.errnoText())")
            }
            try Self.writeAll(fd: fd, Self.line(Self.header), path: path)
            guard fsync(fd) == 0 else { throw FileRevocationStoreError(path: path, message: "fsync: \(Self.errnoText())") }
            // A new file's directory entry is durable only once its directory is synced.
            try Self.syncDirectory(of: path)
        }
        let snapshot = Self.snapshotLines(state)
        if events > compactionMinEvents && events > 2 * (snapshot.count - 1) {
            fdToUse = try Self.compact(path: path, lines: snapshot, oldFD: fd)
        }
        let end = lseek(fdToUse, 0, SEEK_END)
        ok = true
        inner = Mutex(Inner(state: state, fd: fdToUse, length: end))
    }

    // MARK: RevocationStore

    public func isRevoked(_ tokenID: String) -> Bool {
        inner.withLock { $0.state.revoked.contains(tokenID) }
    }

    public func revoke(_ tokenID: String) {
        inner.withLock { s in
            s.state.revoked.insert(tokenID)
            Self.append(&s, ["op": "revoke", "token_id": .string(tokenID)], sync: true)
        }
    }

    public func track(principalID: String, tokenID: String, expiresAt: Timestamp) {
        let now = clock.now()
        inner.withLock { s in
            s.state.track(principalID: principalID, tokenID: tokenID, expiresAt: expiresAt)
            Self.append(&s, ["op": "track", "principal_id": .string(principalID), "token_id": .string(tokenID),
                             "expires_at": .string(expiresAt.isoformat)], sync: false)
            s.state.trackCount += 1
            if s.state.trackCount % InMemoryRevocationStore.sweepInterval == 0 {
                Self.sweepLocked(&s, now: now)
            }
        }
    }

    public func revokeAll(principalID: String) -> Int {
        inner.withLock { s in
            let n = s.state.revokeAll(principalID: principalID)
            Self.append(&s, ["op": "revoke_all", "principal_id": .string(principalID)], sync: true)
            return n
        }
    }

    public func sweep(now: Timestamp) -> Int {
        inner.withLock { Self.sweepLocked(&$0, now: now) }
    }

    /// The first write failure since open, if any (never includes token data).
    public var persistenceError: String? { inner.withLock { $0.error } }

    @discardableResult
    private static func sweepLocked(_ s: inout Inner, now: Timestamp) -> Int {
        let n = s.state.sweep(now: now)
        if n > 0 { append(&s, ["op": "sweep", "now": .string(now.isoformat)], sync: false) }
        return n
    }

    /// The number of appends that failed since open (write, fsync, or refused after an
    /// unrecoverable failure). The gateway answers a revoke whose append failed with
    /// `revocation_unavailable` instead of 200 (docs/audit.md).
    public var writeFailures: Int { inner.withLock { $0.failures } }

    /// Closes the log and releases its lock now, not whenever the last reference goes away: a
    /// restart in the same process (tests, an embedding host) must be able to reopen it. Later
    /// revocations keep working in memory but count as failed writes (the gateway answers
    /// them 5xx), so nothing claims durability after close. Idempotent.
    public func closeLog() {
        inner.withLock { s in
            guard s.fd >= 0 else { return }
            _ = Glibc.close(s.fd)
            s.fd = -1
            s.poisoned = true
            if s.error == nil { s.error = "closed" }
        }
    }

    private static func append(_ s: inout Inner, _ event: JSONValue, sync: Bool) {
        do throws(FileRevocationStoreError) {
            if s.poisoned { throw FileRevocationStoreError(path: "", message: "log tail unknown after a failed write") }
            let bytes = line(event)
            try writeAll(fd: s.fd, bytes, path: "")
            if sync && fsync(s.fd) != 0 { throw FileRevocationStoreError(path: "", message: "fsync: \(errnoText())") }
            s.length += off_t(bytes.count)
        } catch {
            s.failures += 1
            if s.error == nil { s.error = error.message }
            // Cut a partial line back off; if that fails, stop writing (fail closed).
            if !s.poisoned && (ftruncate(s.fd, s.length) != 0 || lseek(s.fd, s.length, SEEK_SET) != s.length) {
                s.poisoned = true
            }
        }
    }
}

// MARK: - Replay, snapshot and I/O

extension FileRevocationStore {
    static func line(_ v: JSONValue) -> [UInt8] { v.serializedBytes(.compact) + [0x0A] }

    /// Applies every complete event line; returns the number of events and the byte length
    /// of the valid prefix (everything but a torn final line).
    static func replay(_ bytes: [UInt8], into state: inout RevocationState,
                       path: String) throws(FileRevocationStoreError) -> (Int, Int) {
        var events = 0
        var start = 0
        var lineNo = 0
        while start < bytes.count {
            guard let nl = bytes[start...].firstIndex(of: 0x0A) else {
                return (events, start)  // torn final write
            }
            lineNo += 1
            let fail = { (why: String) in FileRevocationStoreError(path: path, message: "line \(lineNo): \(why)") }
            guard let v = try? JSONParser.parse(Array(bytes[start..<nl])) else { throw fail("not valid JSON") }
            if lineNo == 1 {
                guard v == header else { throw fail("not a capgate revocation log header") }
            } else {
                try apply(v, to: &state, fail: fail)
                events += 1
            }
            start = nl + 1
        }
        if lineNo == 0 && !bytes.isEmpty { throw FileRevocationStoreError(path: path, message: "missing header") }
        return (events, bytes.count)
    }

    private static func apply(_ v: JSONValue, to state: inout RevocationState,
                              fail: (String) -> FileRevocationStoreError) throws(FileRevocationStoreError) {
        func str(_ k: String) throws(FileRevocationStoreError) -> String {
            guard let s = v[k]?.stringValue else { throw fail("missing string '\(k)'") }
            return s
        }
        func time(_ k: String) throws(FileRevocationStoreError) -> Timestamp {
            guard let t = Timestamp(isoformat: try str(k)) else { throw fail("bad datetime '\(k)'") }
            return t
        }
        switch try str("op") {
        case "revoke": state.revoked.insert(try str("token_id"))
        case "track":
            state.track(principalID: try str("principal_id"), tokenID: try str("token_id"), expiresAt: try time("expires_at"))
        case "revoke_all": _ = state.revokeAll(principalID: try str("principal_id"))
        case "sweep": _ = state.sweep(now: try time("now"))
        case "expiry": state.setExpiry(try str("token_id"), try time("expires_at"))
        default: throw fail("unknown op")
        }
    }

    /// The header plus the fewest events that rebuild `state`, in a stable order.
    static func snapshotLines(_ state: RevocationState) -> [[UInt8]] {
        var out = [line(header)]
        var indexed = Set<String>()
        let expiry = state.expiry
        for pid in state.principalTokens.keys.sorted(by: PyString.less) {
            // A principal's index may list an id twice (RevocationState); write it once.
            for tid in Set(state.principalTokens[pid]!).sorted(by: PyString.less) {
                indexed.insert(tid)
                let exp = expiry[tid]?.isoformat ?? Timestamp(microseconds: 0).isoformat
                out.append(line(["op": "track", "principal_id": .string(pid), "token_id": .string(tid),
                                 "expires_at": .string(exp)]))
            }
        }
        for tid in expiry.keys.sorted(by: PyString.less) where !indexed.contains(tid) {
            out.append(line(["op": "expiry", "token_id": .string(tid), "expires_at": .string(expiry[tid]!.isoformat)]))
        }
        for tid in state.revoked.sorted(by: PyString.less) {
            out.append(line(["op": "revoke", "token_id": .string(tid)]))
        }
        return out
    }

    /// Writes the snapshot beside the log, syncs it, renames it over the log and syncs the
    /// directory, so a crash leaves either the old or the new file, never a mix.
    static func compact(path: String, lines: [[UInt8]], oldFD: Int32) throws(FileRevocationStoreError) -> Int32 {
        let tmp = path + ".compact"
        let fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileRevocationStoreError(path: tmp, message: "open: \(errnoText())") }
        do throws(FileRevocationStoreError) {
            try writeAll(fd: fd, Array(lines.joined()), path: tmp)
            guard fsync(fd) == 0 else { throw FileRevocationStoreError(path: tmp, message: "fsync: \(errnoText())") }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                throw FileRevocationStoreError(path: tmp, message: "lock: \(errnoText())")
            }
            guard rename(tmp, path) == 0 else { throw FileRevocationStoreError(path: path, message: "rename: \(errnoText())") }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
        close(oldFD)
        return fd
    }

    static func readAll(fd: Int32, path: String) throws(FileRevocationStoreError) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileRevocationStoreError(path: path, message: "read: \(errnoText())")
            }
            if n == 0 { return out }
            out.append(contentsOf: buf[0..<n])
        }
    }

    static func writeAll(fd: Int32, _ bytes: [UInt8], path: String) throws(FileRevocationStoreError) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileRevocationStoreError(path: path, message: "write: \(errnoText())")
            }
            off += n
        }
    }

    static func syncDirectory(of path: String) throws(FileRevocationStoreError) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw FileRevocationStoreError(path: dir, message: "open: \(errnoText())") }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw FileRevocationStoreError(path: dir, message: "fsync: \(errnoText())") }
    }

    static func errnoText() -> String {
        let e = errno
        return String(cString: strerror(e)) + " (errno \(e))"
    }
}
