import CapgateX509
import COpenSSL
import COpenSSLShims

/// An owned private key (OpenSSL `EVP_PKEY`). Exists so the rest of the library never handles
/// a raw pointer and so key material leaves memory only through `pemBytes()`, which the
/// directory layer writes straight to a 0600 file. `description` never prints the key.
public final class PrivateKey: @unchecked Sendable, CustomStringConvertible {
    // @unchecked Sendable: the EVP_PKEY is never mutated after creation; OpenSSL 3 allows
    // concurrent read-only use (signing, public-key export) of one EVP_PKEY from many threads.

    /// Key algorithms the PKI issues. P-256 is the default: small, fast, accepted by every
    /// TLS 1.3 stack and by the gateway's group list (docs/platform-notes.md).
    public enum Algorithm: String, Sendable, CaseIterable {
        case p256 = "P-256"
        case p384 = "P-384"
    }

    let object: OwnedPrivateKey
    var pointer: OpaquePointer { object.pointer }

    init(_ object: OwnedPrivateKey) { self.object = object }
    /// Takes ownership of a freshly generated `EVP_PKEY *`.
    convenience init(owning pointer: OpaquePointer) { self.init(OwnedPrivateKey(owning: pointer)) }

    /// Generates a fresh key from OpenSSL's CSPRNG.
    public static func generate(_ algorithm: Algorithm = .p256) throws(PKIError) -> PrivateKey {
        OpenSSLErrorQueue.clear()
        let key = try require(capgate_ec_keygen(algorithm.rawValue), "EVP_EC_gen(\(algorithm.rawValue))")
        return PrivateKey(owning: key)
    }

    /// Loads an unencrypted PEM private key (PKCS#8 "PRIVATE KEY" or the traditional
    /// "EC PRIVATE KEY" form). Passphrase prompts are disabled: a dev PKI key is protected by
    /// its 0600 mode, and a prompt would hang an unattended gateway start.
    public convenience init(pem: [UInt8]) throws(PKIError) {
        do throws(X509Error) { self.init(try PEM.privateKey(pem)) } catch { throw PKIError(error) }
    }

    /// The key as unencrypted PKCS#8 PEM. Callers must write it only to a 0600 file (see
    /// `SecureFile`) and must never log it.
    public func pemBytes() throws(PKIError) -> [UInt8] {
        do throws(X509Error) { return try PEM.encode(privateKey: pointer) } catch { throw PKIError(error) }
    }

    /// The SubjectPublicKeyInfo as PEM: safe to print, useful to compare keys.
    public func publicKeyPEM() throws(PKIError) -> String {
        do throws(X509Error) {
            return String(decoding: try PEM.encode(publicKeyOf: pointer), as: UTF8.self)
        } catch {
            throw PKIError(error)
        }
    }

    /// Key size in bits (256 for P-256): lets tests and `pki list` report the profile.
    public var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }

    /// Redacted on purpose: a stray `print(key)` must not leak the secret.
    public var description: String { "PrivateKey(\(bits) bits, redacted)" }
}
