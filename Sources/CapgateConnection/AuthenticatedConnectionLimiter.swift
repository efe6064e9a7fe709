import CapgateCore
import Synchronization

/// The budget of AUTHENTICATED connections: `maxConnectionsGlobal` in total and
/// `maxConnectionsPerIdentity` per SPIFFE ID, shared by all loops.
///
/// WHY per identity and only after the handshake: before authentication a peer is only an
/// address, and an attacker on the agent's own host shares it; after, it is an identity the
/// operator issued and can revoke. Capping identities means one agent (or one stolen
/// certificate) cannot take the slots of the others, whatever addresses they share.
final class AuthenticatedConnectionLimiter: Sendable {
    /// Why a verified peer was refused.
    enum Refusal: Sendable, Equatable { case global, identity }

    let maxGlobal: Int
    let maxPerIdentity: Int
    private let state = Mutex<(total: Int, byIdentity: [String: Int])>((0, [:]))
    let rejectedGlobal = Atomic<Int>(0)
    let rejectedIdentity = Atomic<Int>(0)

    init(maxGlobal: Int, maxPerIdentity: Int) {
        self.maxGlobal = maxGlobal
        self.maxPerIdentity = maxPerIdentity
    }

    /// Takes a slot for `identity`, or says (and counts) why not.
    func tryAcquire(identity: String) -> Refusal? {
        let refusal: Refusal? = state.withLock { s in
            guard s.total < maxGlobal else { return .global }
            let n = s.byIdentity[identity, default: 0]
            guard n < maxPerIdentity else { return .identity }
            s.total += 1
            s.byIdentity[identity] = n + 1
            return nil
        }
        switch refusal {
        case .global: rejectedGlobal.add(1, ordering: .relaxed)
        case .identity: rejectedIdentity.add(1, ordering: .relaxed)
        case nil: break
        }
        return refusal
    }

    /// Returns a slot taken by `tryAcquire`.
    func release(identity: String) {
        state.withLock { s in
            guard let n = s.byIdentity[identity] else { return }
            s.total -= 1
            s.byIdentity[identity] = n <= 1 ? nil : n - 1
        }
    }

    /// Authenticated connections held now (in total, by `identity`).
    var active: Int { state.withLock { $0.total } }
    func count(identity: String) -> Int { state.withLock { $0.byIdentity[identity, default: 0] } }
}
