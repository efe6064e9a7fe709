import Foundation

/// A fresh private (0700, `mkdtemp`) directory under the system temporary directory, named
/// `capgate-TAG-XXXXXX`; the caller removes it. Tests write keys there, so it is never
/// world-readable.
public func makeTempDirectory(_ tag: String) throws -> String {
    let base = NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/"
    var template = Array((base + "capgate-\(tag)-XXXXXX").utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    guard let made else { throw CocoaError(.fileWriteUnknown) }
    return String(cString: made)
}
