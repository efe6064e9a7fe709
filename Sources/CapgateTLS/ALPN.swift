import COpenSSL
import COpenSSLShims

/// ALPN (RFC 7301) handling for the server: only `h2` is acceptable.
enum ALPN {
    /// `h2` as a protocol-name string without the length prefix.
    static let h2Bytes: [UInt8] = Array("h2".utf8)

    /// Encodes protocol names into the wire list (each name prefixed by its 1-byte length).
    /// Names that are empty or longer than 255 bytes are invalid (RFC 7301 section 3.1).
    static func wireList(_ names: [String]) -> [UInt8]? {
        var out: [UInt8] = []
        for name in names {
            let bytes = Array(name.utf8)
            guard !bytes.isEmpty, bytes.count <= 255 else { return nil }
            out.append(UInt8(bytes.count))
            out.append(contentsOf: bytes)
        }
        return out.isEmpty ? nil : out
    }

    /// Offset of the `h2` name inside a protocol-name list (without the outer 2-byte length),
    /// or nil when absent or when the list is malformed (a malformed list is refused, never
    /// partially trusted).
    static func offsetOfH2(inProtocolList list: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        var found: Int?
        while i < list.count {
            let len = Int(list[i])
            guard len > 0, i + 1 + len <= list.count else { return nil }
            if found == nil, len == h2Bytes.count, list[i + 1] == h2Bytes[0], list[i + 2] == h2Bytes[1] {
                found = i + 1
            }
            i += 1 + len
        }
        return found
    }

    /// ClientHello callback: refuse a hello whose ALPN extension is missing or lacks `h2`, with
    /// the `no_application_protocol` alert (RFC 7301 section 3.2). Without this gate a client
    /// that sends no ALPN at all would complete the handshake (the select callback never runs).
    static let clientHelloCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = { ssl, alert, _ in
        var data: UnsafePointer<UInt8>?
        var length = 0
        guard let ssl,
              SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_application_layer_protocol_negotiation), &data, &length) == 1,
              let data, length >= 2 else {
            alert?.pointee = Int32(SSL_AD_NO_APPLICATION_PROTOCOL)
            return SSL_CLIENT_HELLO_ERROR
        }
        // Extension body: uint16 list length, then the list (RFC 7301 section 3.1).
        let declared = Int(data[0]) << 8 | Int(data[1])
        guard declared == length - 2,
              offsetOfH2(inProtocolList: UnsafeBufferPointer(start: data + 2, count: declared)) != nil else {
            alert?.pointee = Int32(SSL_AD_NO_APPLICATION_PROTOCOL)
            return SSL_CLIENT_HELLO_ERROR
        }
        return SSL_CLIENT_HELLO_SUCCESS
    }

    /// The ClientHello gate of a server that allows a hello WITHOUT the ALPN extension
    /// (``TLSServerMaterial/allowMissingALPN``): no extension passes (the select callback then
    /// never runs and nothing is negotiated); an extension present is judged as by
    /// ``clientHelloCallback`` (must list h2, must be well formed).
    static let clientHelloCallbackAllowingAbsent: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = { ssl, alert, arg in
        var data: UnsafePointer<UInt8>?
        var length = 0
        if let ssl, SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_application_layer_protocol_negotiation), &data, &length) != 1 {
            return SSL_CLIENT_HELLO_SUCCESS
        }
        return clientHelloCallback(ssl, alert, arg)
    }

    /// ALPN select callback: pick `h2` (pointing into the client's list, as OpenSSL requires)
    /// or abort with a fatal alert.
    static let selectCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?, UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?) -> Int32 = { _, out, outLength, input, inputLength, _ in
        guard let out, let outLength, let input,
              let offset = offsetOfH2(inProtocolList: UnsafeBufferPointer(start: input, count: Int(inputLength))) else {
            return SSL_TLSEXT_ERR_ALERT_FATAL
        }
        out.pointee = input + offset
        outLength.pointee = UInt8(h2Bytes.count)
        return SSL_TLSEXT_ERR_OK
    }
}
