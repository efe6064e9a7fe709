import COpenSSL
import COpenSSLShims

/// Memory BIOs: the one way bytes go into and come out of OpenSSL's PEM/DER codecs.
public enum MemoryBIO {
    /// Runs `body` with a read-only memory BIO over `bytes`, valid only inside `body`.
    public static func reading<T>(_ bytes: [UInt8], _ body: (OpaquePointer) -> T) throws(X509Error) -> T {
        // A memory BIO length is an Int32; PEM/DER inputs this large are never legitimate.
        guard bytes.count < Int(Int32.max) else { throw X509Error(.inputTooLarge, operation: "BIO_new_mem_buf") }
        OpenSSLErrorQueue.clear()
        let result: T? = bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
        guard let result else { throw .drained(.failed, "BIO_new_mem_buf") }
        return result
    }

    /// Runs `body` (an OpenSSL writer returning 1 on success) with a fresh memory BIO and
    /// returns everything written to it. A failing `body` throws `.failed` named `operation`.
    public static func collecting(_ operation: String, _ body: (OpaquePointer) -> Int32) throws(X509Error) -> [UInt8] {
        OpenSSLErrorQueue.clear()
        guard let bio = BIO_new(BIO_s_mem()) else { throw .drained(.failed, "BIO_new") }
        defer { BIO_free(bio) }
        guard body(bio) == 1 else { throw .drained(.failed, operation) }
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = capgate_bio_get_mem_data(bio, &data)
        guard length >= 0, let data else { throw .drained(.failed, "BIO_get_mem_data") }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }
}
