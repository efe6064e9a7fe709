import Synchronization

/// The revocation list `HMACTokenProvider.verify` consults before any crypto (docs/reference-semantics.md §4,
/// `RevocationStoreProtocol`). Behind a protocol so the sidecar can swap the in-memory
/// default for a durable store without weakening verify-before-invoke (I-02: a token
/// revoked before verification never validates afterwards).
///
/// Implementations must be thread-safe: many event loops verify concurrently.
public protocol RevocationStore: Sendable {
    /// Whether `tokenID` was revoked (and not yet swept as expired).
    func isRevoked(_ tokenID: String) -> Bool
    /// Revokes one token. Idempotent; unknown ids are accepted.
    func revoke(_ tokenID: String)
    /// Records that `tokenID` was issued to `principalID` (for `revokeAll`) with its expiry
    /// (so `sweep` can drop state for tokens that can no longer verify anyway).
    func track(principalID: String, tokenID: String, expiresAt: Timestamp)
    /// Revokes every token tracked so far for `principalID` and forgets that index, so
    /// tokens issued later stay valid (it is not a blacklist). Returns how many tokens
    /// were newly revoked.
    func revokeAll(principalID: String) -> Int
    /// Drops tracking and revocation state of tokens with `expiresAt <= now`. Never
    /// un-revokes a live token. Returns the number of tracked tokens removed.
    func sweep(now: Timestamp) -> Int
}

/// The revocation bookkeeping shared by the in-memory and file stores: a revoked set, a
/// principal → token-ids index and the tracked tokens' expiries (`InMemoryRevocationStore`).
///
/// The index is a list per principal, not a set: `track` runs on every grant, and an append
/// costs no hash of the 36-byte id and no rehash as the index grows. The expiries are a log
/// in tracking order for the same reason (a map keyed by token id cost a fifth of a grant:
/// SipHash of the id, and ever larger rehashes as an hour of tokens accumulates); only a
/// sweep that finds something expired, a snapshot or `trackedCount` pays for look-ups. Such
/// a sweep hashes each tracked id twice (once to find an expired id's later entries, once
/// to filter the principal index, which the map's sweep did too) instead of once; the map
/// paid an insertion and, amortized, more than one rehash per grant.
/// An id tracked twice appears twice in both; its last tracked expiry is the one that counts
/// (as a map's overwrite would), `revokeAll` counts it once (the revoked set decides) and the
/// snapshot writes it once.
struct RevocationState: Sendable {
    struct TrackedExpiry: Sendable {
        var tokenID: String
        var expiresAt: Timestamp
    }

    var revoked: Set<String> = []
    private(set) var principalTokens: [String: [String]] = [:]
    /// The principal `track` appended for last and its entry's index: an agent's grants
    /// repeat one principal, whose id is then compared (`String ==`, the dictionary's own
    /// key equality) instead of hashed (~2% of a grant). Appending to that entry's list
    /// keeps the index valid; every insertion or removal of a key clears it.
    private var lastPrincipal: (id: String, index: Dictionary<String, [String]>.Index)?
    /// Every expiry recorded, oldest first; for an id listed more than once the last wins.
    private(set) var expiryLog: [TrackedExpiry] = []
    var trackCount = 0
    /// No tracked expiry is earlier than this (microseconds), so a sweep before it has
    /// nothing to drop and skips its scan of every tracked token (which, every 256th
    /// grant, made grants O(tokens issued in the last hour)). It may be lower than the
    /// true minimum (an overridden expiry), which only costs a scan.
    private var earliestExpiry = Int64.max

    mutating func track(principalID: String, tokenID: String, expiresAt: Timestamp) {
        if let last = lastPrincipal, last.id == principalID {
            principalTokens.values[last.index].append(tokenID)
        } else {
            principalTokens[principalID, default: []].append(tokenID)
            lastPrincipal = principalTokens.index(forKey: principalID).map { (principalID, $0) }
        }
        setExpiry(tokenID, expiresAt)
    }

    mutating func setExpiry(_ tokenID: String, _ expiresAt: Timestamp) {
        expiryLog.append(TrackedExpiry(tokenID: tokenID, expiresAt: expiresAt))
        earliestExpiry = min(earliestExpiry, expiresAt.microseconds)
    }

    /// Each tracked id's expiry (its last recorded one).
    var expiry: [String: Timestamp] {
        var map = [String: Timestamp](minimumCapacity: expiryLog.count)
        for e in expiryLog { map[e.tokenID] = e.expiresAt }
        return map
    }

    mutating func revokeAll(principalID: String) -> Int {
        guard let ids = principalTokens.removeValue(forKey: principalID) else { return 0 }
        lastPrincipal = nil
        var newly = 0
        for id in ids where revoked.insert(id).inserted { newly += 1 }
        return newly
    }

    mutating func sweep(now: Timestamp) -> Int {
        guard earliestExpiry <= now.microseconds else { return 0 }
        // Ids with an entry that has passed; whether each is gone depends on its last entry.
        var candidates = Set<String>()
        for e in expiryLog where e.expiresAt <= now { candidates.insert(e.tokenID) }
        var earliest = Int64.max
        guard !candidates.isEmpty else {
            for e in expiryLog { earliest = min(earliest, e.expiresAt.microseconds) }
            earliestExpiry = earliest
            return 0
        }
        // One pass from the newest entry back: the first entry met of a candidate is its
        // last tracked one, which decides; its earlier entries are dropped. A surviving
        // candidate keeps one entry, under its first-tracked spelling (the key a map would
        // have kept).
        var decided: [String: Int] = [:]  // candidate -> its entry in `kept`, or -1 when gone
        var gone = Set<String>()
        var kept: [TrackedExpiry] = []
        kept.reserveCapacity(expiryLog.count)
        for e in expiryLog.reversed() {
            guard candidates.contains(e.tokenID) else {
                kept.append(e)
                earliest = min(earliest, e.expiresAt.microseconds)
                continue
            }
            if let slot = decided[e.tokenID] {
                if slot >= 0 { kept[slot].tokenID = e.tokenID }
            } else if e.expiresAt <= now {
                gone.insert(e.tokenID)
                decided[e.tokenID] = -1
            } else {
                decided[e.tokenID] = kept.count
                kept.append(e)
                earliest = min(earliest, e.expiresAt.microseconds)
            }
        }
        expiryLog = kept.reversed()
        earliestExpiry = earliest
        guard !gone.isEmpty else { return 0 }
        for id in gone { revoked.remove(id) }
        lastPrincipal = nil
        for (pid, ids) in principalTokens {
            let left = ids.filter { !gone.contains($0) }
            principalTokens[pid] = left.isEmpty ? nil : left
        }
        return gone.count
    }
}

/// Process-local revocation list, the provider's default (docs/reference-semantics.md §4 "In-memory store").
/// State is lost on restart; the sidecar uses `FileRevocationStore`.
///
/// Memory stays bounded (reference #182): every 256th `track` sweeps tokens whose expiry
/// has passed on the injected wall clock, as the reference does.
public final class InMemoryRevocationStore: RevocationStore {
    /// The reference's `_SWEEP_INTERVAL`.
    static let sweepInterval = 256

    private let state = Mutex(RevocationState())
    private let clock: any KernelClock

    public init(clock: any KernelClock = SystemClock()) {
        self.clock = clock
    }

    public func isRevoked(_ tokenID: String) -> Bool {
        state.withLock { $0.revoked.contains(tokenID) }
    }

    public func revoke(_ tokenID: String) {
        state.withLock { _ = $0.revoked.insert(tokenID) }
    }

    /// The clock is read only by the 256th call that sweeps (under the lock): a read on
    /// every grant, for a value 255 of 256 calls dropped, was ~2% of a grant.
    public func track(principalID: String, tokenID: String, expiresAt: Timestamp) {
        state.withLock { s in
            s.track(principalID: principalID, tokenID: tokenID, expiresAt: expiresAt)
            s.trackCount += 1
            if s.trackCount % Self.sweepInterval == 0 { _ = s.sweep(now: clock.now()) }
        }
    }

    public func revokeAll(principalID: String) -> Int {
        state.withLock { $0.revokeAll(principalID: principalID) }
    }

    public func sweep(now: Timestamp) -> Int {
        state.withLock { $0.sweep(now: now) }
    }

    /// Number of tokens with tracked expiry (for tests and metrics).
    public var trackedCount: Int { state.withLock { $0.expiry.count } }
}
