import CapgateHTTP2
import CapgateIO

extension ServerConnection {
    /// Acts on what the HTTP/2 session reported.
    func handle(_ events: [H2Event]) {
        for event in events {
            switch event {
            case .request(let request):
                dispatch(request)
            case .streamError(let streamID, let code, let trip):
                shared.counters.recordTrip(trip.code)
                // Debug level: a hostile peer can cause many of these; the per-connection
                // summary line and the counters are what operators watch.
                shared.logger.log(.debug, "stream trip=\(trip.code) stream=\(streamID) code=\(code) "
                                  + "peer=\(peer?.spiffeID ?? "-") remote=\(remoteAddress)")
            case .streamClosed(let streamID, _):
                // Peer reset or response done: the handler's result, if any, is no longer wanted.
                // (Both tables are empty while every answer is given in place: no hashing then.)
                if !inFlight.isEmpty { inFlight.removeValue(forKey: streamID)?.cancel() }
                if !streamWriters.isEmpty { streamWriters.removeValue(forKey: streamID)?.close() }
            case .connectionError(let trip):
                shared.counters.recordTrip(trip.code)
                // A peer that trips and then never reads would keep the GOAWAY (and the
                // connection) pending forever: the lifecycle bounds it with the drain deadline.
                lifecycle.sessionSentGoAway(.protocolTrip(trip), overrides: true, now: .now())
                if let code = trip.goAwayCode { shared.counters.recordGoAway(code.description) }
                noteDrainingStarted(goAway: nil)
                rearmLifecycleTimer()
            case .draining:
                // Streams-per-connection cap reached (or our own drain): bound how long the
                // remaining streams may take.
                lifecycle.sessionSentGoAway(.streamLimitDrained, overrides: false, now: .now())
                noteDrainingStarted(goAway: H2ErrorCode.noError)
                rearmLifecycleTimer()
            case .goaway:
                // The peer is leaving: the session closes once its streams are done.
                lifecycle.peerSentGoAway()
            }
        }
    }

    /// Hands a request to the application: answered in place when the handler can do so
    /// without suspending (`RequestHandler.respondNow`: no task, no closure, no trip through
    /// the loop's task queue), else in a Task that runs on this connection's loop
    /// (`LoopTaskExecutor`): a handler that does not suspend answers within this loop
    /// iteration, with no thread hand-off and no eventfd write. Either way the request first
    /// takes its in-flight slots (or is answered 503) and the answer leaves with the flush at
    /// the end of the loop iteration (`complete`). A task's response comes back through the
    /// loop's task queue and finds the connection by id, so a connection (or a stream) that is
    /// gone by then is simply skipped.
    private func dispatch(_ request: H2Request) {
        guard let peer, let loop else { return }
        lifecycle.sessionObserved(idle: false, anyStreamOpened: true, now: Deadline.now)
        guard admitHandlerWork(streamID: request.streamID) else { return }
        requestsServed += 1
        shared.counters.requests.add(1, ordering: .relaxed)
        let handler = shared.handler
        if let response = handler.respondNow(to: request, peer: peer) {
            handlerWork.release()
            shared.handlerWork.release()
            complete(streamID: request.streamID, response: response)
            return
        }
        let handle = loop.handle
        let context = self.context
        let connectionID = id
        let streamID = request.streamID
        let (connectionWork, serverWork) = (handlerWork, shared.handlerWork)
        let responder = ResponseStream(loop: handle, context: context, connectionID: connectionID,
                                       streamID: streamID, highWaterBytes: limits.writeHighWaterBytes)
        inFlight[streamID] = Task(executorPreference: loop.taskExecutor) {
            defer {
                connectionWork.release()
                serverWork.release()
            }
            await handler.handle(request, peer: peer, responder: responder)
        }
    }

    /// A handler finished: queue the response and flush once at the end of this loop
    /// iteration, so responses completing together leave in one write.
    func complete(streamID: Int32, response: HTTPResponse) {
        guard lifecycle.isEstablished, let session else { return }
        if !inFlight.isEmpty { inFlight[streamID] = nil }
        // An invalid status is the application's bug; the peer still gets a valid answer.
        let status = (200...599).contains(response.status) ? response.status : 500
        _ = session.respond(streamID: streamID, status: status, headers: response.headers, body: response.body)
        core.scheduleAfterIO()
    }

    /// Graceful end: GOAWAY(NO_ERROR) so in-flight streams finish and new ones go elsewhere
    /// (RFC 9113 §6.8), bounded by the drain timeout. A connection still in its handshake has
    /// nothing in flight and is closed at once.
    func beginDrain(reason: CloseReason) {
        perform(lifecycle.drain(reason, now: .now()))
    }
}
