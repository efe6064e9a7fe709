import CapgateHTTP2

extension RequestHandler {
    /// Handlers without an error shape of their own answer an empty 503.
    public func overloadedBody() -> [UInt8] { [] }

    /// Handlers without a synchronous path answer every request from a task.
    public func respondNow(to request: HTTPRequest, peer: PeerInfo) -> HTTPResponse? { nil }
}

extension ServerConnection {
    /// Takes a slot of this connection's and of the server's in-flight handler budget for a
    /// request, or answers it 503 at once (the handler never runs, the connection stays up).
    /// 503 with the application's `overloaded` envelope rather than RST_STREAM(REFUSED_STREAM):
    /// the request is complete by now (END_STREAM seen), clients see one parseable error shape
    /// and retry on their own schedule, while REFUSED_STREAM invites an immediate automatic
    /// retry into the same overload. The slots are given back when the task ends
    /// (`releaseHandlerWork`). A Bool, not the two budgets in an array: that was one
    /// allocation per request.
    func admitHandlerWork(streamID: Int32) -> Bool {
        let trip: String
        if handlerWork.tryAcquire() {
            if shared.handlerWork.tryAcquire() { return true }
            handlerWork.release()
            trip = "in_flight_cap_global"
        } else {
            trip = "in_flight_cap_connection"
        }
        shared.counters.recordTrip(trip)
        shared.logger.log(.debug, "stream trip=\(trip) stream=\(streamID) peer=\(peer?.spiffeID ?? "-") "
                          + "remote=\(remoteAddress)")
        if let session {
            _ = session.respond(streamID: streamID, status: 503,
                                headers: [(name: "content-type", value: "application/json")],
                                body: shared.handler.overloadedBody())
            core.scheduleAfterIO()
        }
        return false
    }
}
