import CNghttp2
import CapgateCore

/// Buffered request bodies (docs/hardening.md "Buffered request bodies", issue 14 finding 7).
/// Credit is the only thing that makes a peer send more, so memory is bounded by granting it
/// only against a reservation:
/// - a stream that will carry a body reserves min(declared content-length, its cap), or its
///   cap when none is declared, in the connection's `BodyBudget` and in the server's shared one;
/// - an admitted stream's DATA is credited (nghttp2_session_consume) as it arrives;
/// - a stream that does not fit waits, FIFO: its DATA is kept but NOT credited, so the peer's
///   stream window (and, past it, the connection window) stops it: flow control, not memory,
///   holds the excess;
/// - when a request is handed off, or its stream is answered, reset or closed, the reservation
///   is released, every byte still uncredited is credited, and waiting streams are admitted.
/// The first stream of a connection holding nothing is always admitted (overdrawing the
/// shared budget if it must), so no connection waits on the others forever. Waiting streams
/// may hold at most `waitingBodyCeiling` uncredited bytes together; a stream that would pass
/// it is refused (RST_STREAM REFUSED_STREAM, trip `body_budget`): otherwise waiting streams
/// could take the whole connection window and starve the admitted ones (a deadlock until
/// `requestTimeout`).
extension H2ServerSession {
    /// Uncredited bytes the waiting streams of this connection may hold together: it leaves at
    /// least one stream window (and at least half the connection window) to admitted streams.
    var waitingBodyCeiling: Int {
        max(limits.connectionWindow - limits.initialStreamWindow, limits.connectionWindow / 2)
    }

    /// A request stream's HEADERS arrived and a body follows: queue it and admit what fits.
    func requestBodyExpected(_ stream: H2ServerStream) {
        stream.waitingForBudget = true
        bodyQueue.append(stream.id)
        admitWaitingBodies()
        if stream.waitingForBudget { bodyBudget.recordDeferral() }
    }

    /// Admits waiting streams in arrival order while they fit (a large body at the head is not
    /// overtaken by small ones behind it: it would otherwise wait forever).
    func admitWaitingBodies() {
        blockedOnSharedBodyBudget = false
        while let id = bodyQueue.first {
            guard let stream = liveStream(id), stream.waitingForBudget else {
                bodyQueue.removeFirst()
                continue
            }
            let want = min(stream.contentLength ?? stream.bodyLimit, stream.bodyLimit)
            if connectionBodyBudget.reserved == 0 {
                // Nothing held on this connection: always admitted, so it never starves.
                connectionBodyBudget.overdraw(want)
                if !bodyBudget.tryReserve(want) { bodyBudget.overdraw(want) }
            } else {
                guard connectionBodyBudget.tryReserve(want) else { return }
                guard bodyBudget.tryReserve(want) else {
                    connectionBodyBudget.release(want)
                    blockedOnSharedBodyBudget = true  // only room elsewhere can admit it
                    return
                }
            }
            bodyQueue.removeFirst()
            stream.waitingForBudget = false
            waitingBodyBytes -= stream.uncredited
            stream.reservedBody = want
            stream.admitted = true
            // Memory for a declared body only once it is reserved: a waiting stream's buffer
            // grows with what it received, never with what it claims.
            if stream.contentLength != nil { stream.body.reserveCapacity(want) }
            creditWithinReservation(stream)
        }
    }

    /// DATA for a stream that is buffering its body (not discarded, within its cap).
    func bodyBytesArrived(_ stream: H2ServerStream, _ count: Int) {
        stream.uncredited += count
        if stream.admitted {
            creditWithinReservation(stream)
        } else if stream.waitingForBudget {
            waitingBodyBytes += count
            if waitingBodyBytes > waitingBodyCeiling {
                resetStream(stream, code: .refusedStream, trip: .bodyBudget)
            }
        } else {
            // Not buffering under a budget (already settled): never hold credit back.
            _ = nghttp2_session_consume(session, stream.id, stream.uncredited)
            stream.uncredited = 0
        }
    }

    /// Credits what the stream received, as far as its reservation covers it.
    func creditWithinReservation(_ stream: H2ServerStream) {
        let n = min(stream.uncredited, stream.reservedBody - stream.credited)
        guard n > 0 else { return }
        stream.uncredited -= n
        stream.credited += n
        _ = nghttp2_session_consume(session, stream.id, n)
    }

    /// The body left the session (handed off, discarded, or the stream closed): release the
    /// reservation, credit every byte still held back, admit waiting streams. Idempotent.
    func settleBody(_ stream: H2ServerStream) {
        guard !stream.bodySettled else { return }
        stream.bodySettled = true
        if stream.waitingForBudget {
            stream.waitingForBudget = false
            waitingBodyBytes -= stream.uncredited
            bodyQueue.removeAll { $0 == stream.id }
        }
        releaseReservation(stream)
        if stream.uncredited > 0 {
            // A closed stream is gone from nghttp2: this then credits the connection only.
            _ = nghttp2_session_consume(session, stream.id, stream.uncredited)
            stream.uncredited = 0
        }
        if !inputClosed && !aborted { admitWaitingBodies() }
    }

    func releaseReservation(_ stream: H2ServerStream) {
        guard stream.reservedBody > 0 else { return }
        connectionBodyBudget.release(stream.reservedBody)
        bodyBudget.release(stream.reservedBody)
        stream.reservedBody = 0
    }

    /// Drops a stream's request state and settles its body (every place the session stops
    /// reading a stream goes through here).
    func discard(_ stream: H2ServerStream) {
        stream.discard()
        settleBody(stream)
    }

    // MARK: - Public view

    /// True while a stream waits for room in a budget.
    public var waitsForBodyBudget: Bool { !bodyQueue.isEmpty }

    /// True while the first waiting stream fits this connection's budget but not the shared
    /// one: room freed on another connection makes no event here, so the connection layer
    /// calls `retryBodyAdmission()` while this holds. (Room freed on this connection admits
    /// at once, from inside the session.)
    public var waitsForSharedBodyBudget: Bool { blockedOnSharedBodyBudget && !bodyQueue.isEmpty }

    /// Admits waiting streams that fit now; the credit goes out with the next `produce`.
    @discardableResult
    public func retryBodyAdmission() -> [H2Event] {
        if !inputClosed && !aborted { admitWaitingBodies() }
        return takeEvents()
    }

    /// Body bytes the session holds for requests not yet handed off (gauge; the reserved
    /// bytes plus what waiting streams received uncredited).
    public var bufferedBodyBytes: Int {
        streams.values.reduce(0) { $0 + ($1.delivered || $1.discarding ? 0 : $1.body.count) }
    }

    /// Body bytes reserved by this connection's streams (gauge).
    public var reservedBodyBytes: Int { connectionBodyBudget.reserved }

    /// Gives every reservation back to the shared budget: call when the connection ends (its
    /// open streams get no close callback). Idempotent; deinit calls it too.
    public func releaseBodyReservations() {
        for stream in streams.values { releaseReservation(stream) }
        bodyQueue.removeAll()
    }
}
