import COpenSSL

/// How to free one kind of opaque OpenSSL object.
public protocol OpenSSLObjectKind {
    static func free(_ pointer: OpaquePointer)
}

/// Sole owner of one opaque OpenSSL object: frees it in `deinit`, so no caller writes
/// `defer { X509_free(...) }` and no error path leaks.
///
/// `@unchecked Sendable`: the objects this layer hands out (certificates, CRLs, keys) are never
/// mutated after they are parsed or signed, and OpenSSL 3 allows concurrent read-only use of
/// them (it caches decoded extensions under its own lock).
public final class OpenSSLObject<Kind: OpenSSLObjectKind>: @unchecked Sendable {
    /// Valid only while this owner is alive. Swift may release an object right after its last
    /// use, which can be the read of `pointer` itself: keep the owner in a stored property, or
    /// `defer { withExtendedLifetime(owner) {} }`, across every C call that uses the pointer.
    public let pointer: OpaquePointer

    /// Takes ownership of `pointer` (the caller must not free it).
    public init(owning pointer: OpaquePointer) { self.pointer = pointer }
    deinit { Kind.free(pointer) }
}

public enum X509Kind: OpenSSLObjectKind {
    public static func free(_ pointer: OpaquePointer) { X509_free(pointer) }
}

public enum X509CRLKind: OpenSSLObjectKind {
    public static func free(_ pointer: OpaquePointer) { X509_CRL_free(pointer) }
}

public enum PrivateKeyKind: OpenSSLObjectKind {
    public static func free(_ pointer: OpaquePointer) { EVP_PKEY_free(pointer) }
}

/// An owned `X509` certificate.
public typealias OwnedX509 = OpenSSLObject<X509Kind>
/// An owned `X509_CRL`.
public typealias OwnedCRL = OpenSSLObject<X509CRLKind>
/// An owned `EVP_PKEY`.
public typealias OwnedPrivateKey = OpenSSLObject<PrivateKeyKind>
