import CapgateTesting
import Foundation

/// A fresh temporary directory per test (CapgateTesting's `makeTempDirectory`), removed on deinit.
final class TestDirectory {
    let path: String
    init() throws { path = try makeTempDirectory("pki") }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Permission bits of a file.
    func mode(_ relative: String) throws -> Int {
        let attrs = try FileManager.default.attributesOfItem(atPath: path + "/" + relative)
        return (attrs[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// Every regular file (relative path -> bytes), to prove an operation changed nothing.
    func snapshot() throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: path)
        while let rel = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
                out[rel] = try Data(contentsOf: URL(fileURLWithPath: path + "/" + rel))
            }
        }
        return out
    }

    func bytes(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path + "/" + relative)))
    }

    func write(_ relative: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/" + relative))
    }
}
