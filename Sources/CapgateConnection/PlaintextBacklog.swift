/// Plaintext the TLS engine has not taken yet.
///
/// WHY: `TLSEngine.writePlaintext` returns how many bytes it encrypted, which can be fewer than
/// offered (it stops on WANT_READ/WANT_WRITE). The driver has already handed those bytes
/// over (HTTP/2 frames leave nghttp2 once produced), so dropping the rest would corrupt the
/// stream. They wait here and are offered again, in order, before anything new is produced
/// (docs/hardening.md "Small leaks").
struct PlaintextBacklog {
    private var bytes: [UInt8] = []
    private var start = 0

    var isEmpty: Bool { start == bytes.count }
    var count: Int { bytes.count - start }

    /// Offers `new` (after any backlog, which must be empty: callers drain it first) to
    /// `write`, which returns how many bytes it consumed; keeps the rest. Returns the number
    /// consumed.
    mutating func write<E: Error>(_ new: [UInt8], _ write: (UnsafeRawBufferPointer) throws(E) -> Int) throws(E) -> Int {
        precondition(isEmpty, "drain the backlog before writing new plaintext")
        var result: Result<Int, E> = .success(0)
        new.withUnsafeBytes { raw in
            do throws(E) { result = .success(try write(raw)) } catch { result = .failure(error) }
        }
        let n = try result.get()
        if n < new.count {
            bytes = Array(new[n...])
            start = 0
        }
        return n
    }

    /// Offers the backlog to `write` again; keeps what it does not take. Returns the number
    /// consumed.
    mutating func drain<E: Error>(_ write: (UnsafeRawBufferPointer) throws(E) -> Int) throws(E) -> Int {
        guard !isEmpty else { return 0 }
        var result: Result<Int, E> = .success(0)
        bytes.withUnsafeBytes { raw in
            let pending = UnsafeRawBufferPointer(rebasing: raw[start...])
            do throws(E) { result = .success(try write(pending)) } catch { result = .failure(error) }
        }
        let n = try result.get()
        start += n
        if isEmpty {
            bytes.removeAll(keepingCapacity: true)
            start = 0
        }
        return n
    }
}
