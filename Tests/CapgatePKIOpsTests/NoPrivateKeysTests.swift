import Foundation
import Testing

/// No private key is ever committed under certs/ (certs/README.md section 6): the directory
/// holds no PEM private key, and its .gitignore ignores key files.
@Suite("No private keys in certs/")
struct NoPrivateKeysTests {
    @Test func certsDirectoryHoldsNoPrivateKey() throws {
        let root = packageRoot + "/certs"
        let files = try #require(FileManager.default.subpaths(atPath: root))
        #expect(files.contains("README.md"))  // the walk really ran over the directory
        for rel in files {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + rel, isDirectory: &isDir), !isDir.boolValue else {
                continue
            }
            #expect(!rel.hasSuffix(".key"), "key file \(rel) under certs/")
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: root + "/" + rel)), as: UTF8.self)
            #expect(!text.contains("PRIVATE KEY-----"), "PEM private key in certs/\(rel)")
        }
    }

    @Test func gitignoreIgnoresKeyFiles() throws {
        let rules = try String(contentsOfFile: packageRoot + "/certs/.gitignore", encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(rules.contains("*.key"))
        #expect(rules.contains("*-key.pem"))
        #expect(rules.contains("*.pem"))
    }
}
