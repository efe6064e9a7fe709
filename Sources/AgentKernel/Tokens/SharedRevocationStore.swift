/// A revocation list shared by several sidecars (docs/deployment.md): the sidecar's
/// `RevocationStore` when `[store] backend = "postgres"`.
///
/// Why a second protocol: `RevocationStore` is synchronous (verification consults it on the
/// hot path, from memory), but a revocation shared with other processes is only in force
/// once the shared store holds it, and a token is only covered by another sidecar's
/// `revoke_all` once its issue is recorded there. Those writes are awaited here, by the
/// gateway, before it answers; `isRevoked` stays a lookup in a local copy that the store
/// keeps in step with the shared one.
public protocol SharedRevocationStore: RevocationStore {
    /// Revokes `tokenID` in the shared store (and locally); returns once every sidecar can
    /// learn it. Throws when the shared store is unreachable.
    func revokeShared(_ tokenID: String) async throws -> Void
    /// `revokeAll` over every sidecar's issued tokens; returns how many were newly revoked.
    func revokeAllShared(principalID: String) async throws -> Int
    /// Waits until every `track` made so far is in the shared store.
    func waitUntilShared() async throws -> Void
    /// Whether the local copy may be trusted: connected to the shared store and reconciled
    /// since the last (re)connection. When false, verbs that verify a token must fail closed.
    var isAvailable: Bool { get }
}
