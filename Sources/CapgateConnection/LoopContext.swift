import CapgateIO

/// The per-loop registry of server connections: lets a handler's response, a drain request
/// or a shutdown find a connection by id on its own loop.
///
/// WHY `@unchecked Sendable`: the object itself is shared (captured by `@Sendable` closures
/// posted through `EventLoopHandle.execute`), but its mutable state is touched ONLY on the
/// thread of `handle`'s loop: every access happens inside a task that loop runs (or in a
/// connection callback, which runs there too). `assertOnLoop` documents and checks it in
/// debug builds.
final class LoopContext: @unchecked Sendable {
    let handle: EventLoopHandle
    private var connections: [UInt64: ServerConnection] = [:]
    private var nextID: UInt64 = 1
    /// Set once the server drains: connections created afterwards start draining at once.
    private(set) var draining = false

    init(handle: EventLoopHandle) {
        self.handle = handle
    }

    private func assertOnLoop() {
        assert(handle.inEventLoop, "LoopContext used off its loop thread")
    }

    /// A fresh connection id (never reused: a late response for a closed connection cannot
    /// reach a new one that got the same fd).
    func allocateID() -> UInt64 {
        assertOnLoop()
        defer { nextID += 1 }
        return nextID
    }

    func add(_ connection: ServerConnection) {
        assertOnLoop()
        connections[connection.id] = connection
    }

    func remove(_ id: UInt64) {
        assertOnLoop()
        connections[id] = nil
    }

    /// The live connection with this id, or nil once it closed.
    func connection(_ id: UInt64) -> ServerConnection? {
        assertOnLoop()
        return connections[id]
    }

    var count: Int { connections.count }

    /// GOAWAY on every serving connection whose peer matches (e.g. a certificate the new CRL
    /// revokes); in-flight requests finish, bounded by the drain timeout. Returns how many.
    func drain(reason: CloseReason, where matches: (PeerInfo) -> Bool) -> Int {
        assertOnLoop()
        var n = 0
        for id in connections.keys.sorted() {
            guard let c = connections[id], let peer = c.peer, matches(peer) else { continue }
            c.beginDrain(reason: reason)
            n += 1
        }
        return n
    }

    /// Graceful shutdown on this loop: GOAWAY on every connection (in id order, so logs are
    /// deterministic), in-flight requests finish.
    func drainAll() {
        assertOnLoop()
        draining = true
        for id in connections.keys.sorted() {
            connections[id]?.beginDrain(reason: .serverShutdown)
        }
    }
}
