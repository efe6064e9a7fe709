import COpenSSL
import Testing
import CapgateX509

@Suite struct OpenSSLErrorQueueTests {
    /// Pushes at least one error onto this thread's queue (a DER parse of one bad byte).
    private func pushError() {
        let bad: [UInt8] = [0xFF]
        bad.withUnsafeBufferPointer { buf in
            var cursor: UnsafePointer<UInt8>? = buf.baseAddress
            if let cert = d2i_X509(nil, &cursor, buf.count) { X509_free(cert) }
        }
    }

    /// Many failures in a row: the drain is bounded (OpenSSL's own ring keeps fewer than
    /// `maxEntries`) and leaves the queue empty for the next call.
    @Test func drainEmptiesTheQueueAndIsBounded() {
        OpenSSLErrorQueue.clear()
        for _ in 0..<40 { pushError() }
        let drained = OpenSSLErrorQueue.drain()
        #expect(!drained.isEmpty)
        #expect(drained.entries.count <= OpenSSLErrorQueue.maxEntries)
        #expect(drained.entries.allSatisfy { $0.reason.hasPrefix("error:") })
        #expect(ERR_peek_error() == 0)
        #expect(OpenSSLErrorQueue.drain().isEmpty)
    }

    @Test func renderings() {
        let errors = OpenSSLErrors(entries: [.init(reason: "error:1:a::b", data: "file.pem"), .init(reason: "error:2:c::d")])
        #expect(errors.reasons == ["error:1:a::b", "error:2:c::d"])
        #expect(errors.detailLine == "error:1:a::b (file.pem); error:2:c::d")
        #expect(OpenSSLErrors().detailLine == "no OpenSSL error detail")
    }

    @Test func clearDiscardsStaleErrors() {
        pushError()
        OpenSSLErrorQueue.clear()
        #expect(OpenSSLErrorQueue.drain().isEmpty)
    }

    /// `clear` skips the ring reset when the queue is empty: it must still empty a full
    /// (wrapped) ring, and a clear of an empty queue leaves it empty.
    @Test func clearEmptiesAWrappedRingAndKeepsAnEmptyQueueEmpty() {
        OpenSSLErrorQueue.clear()
        #expect(ERR_peek_error() == 0)
        for _ in 0..<40 { pushError() }
        #expect(ERR_peek_error() != 0)
        OpenSSLErrorQueue.clear()
        #expect(ERR_peek_error() == 0)
        #expect(ERR_get_error() == 0)
        OpenSSLErrorQueue.clear()
        #expect(OpenSSLErrorQueue.drain().isEmpty)
    }
}
