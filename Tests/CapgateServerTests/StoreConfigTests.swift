import CapgateServer
import Foundation
import Testing

/// `[store]` (docs/configuration.md): embedded SQLite unless asked, every key checked and named.
struct StoreConfigTests {
    @Test func theDefaultIsTheEmbeddedStore() throws {
        let c = try ServerConfig.parse(AuditConfigTests.base, baseDirectory: "/etc/capgate")
        #expect(c.store.backend == .sqlite)
        #expect(try c.store.postgresSettings() == nil)
        let explicit = try ServerConfig.parse(AuditConfigTests.base + "[store]\nbackend = \"sqlite\"\n", baseDirectory: "/")
        #expect(explicit.store.backend == .sqlite)
    }

    @Test func postgresKeysAreParsedAndThePasswordComesFromItsFile() throws {
        let dir = NSTemporaryDirectory() + "capgate-storecfg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "s3cret-pw\nignored\n".write(toFile: dir + "/pg.pw", atomically: true, encoding: .utf8)
        chmod(dir + "/pg.pw", 0o600)
        let c = try ServerConfig.parse(AuditConfigTests.base + """
            [store]
            backend = "postgres"
            dsn = "host=db.internal dbname=capgate sslmode=verify-full sslrootcert=/etc/capgate/pg-ca.pem"
            password_file = "pg.pw"
            pool_size = 8

            """, baseDirectory: dir)
        #expect(c.store.backend == .postgres(dsn: "host=db.internal dbname=capgate sslmode=verify-full sslrootcert=/etc/capgate/pg-ca.pem",
                                             passwordFile: dir + "/pg.pw", poolSize: 8))
        let s = try #require(try c.store.postgresSettings())
        #expect(s.password == "s3cret-pw" && s.poolSize == 8)
        chmod(dir + "/pg.pw", 0o644)
        #expect { _ = try c.store.postgresSettings() } throws: { e in (e as? ConfigError)?.key == "store.password_file" }
    }

    @Test(arguments: [
        ("backend = \"mysql\"", "store.backend"),
        ("dsn = \"host=x\"", "store.dsn"),
        ("password_file = \"p\"", "store.password_file"),
        ("pool_size = 2", "store.pool_size"),
        ("backend = \"postgres\"", "store.dsn"),
        ("backend = \"postgres\"\ndsn = \"host=x password=hunter2\"", "store.dsn"),
        ("backend = \"postgres\"\ndsn = \"postgresql://u:hunter2@h/db\"", "store.dsn"),
        ("backend = \"postgres\"\ndsn = \"host=x\"\npool_size = 0", "store.pool_size"),
        ("backend = \"postgres\"\ndsn = \"host=x\"\npool_size = 65", "store.pool_size"),
        ("backend = \"postgres\"\ndsn = \"host=x\"\npool = 3", "store.pool"),
    ])
    func badValuesNameTheirKey(_ body: String, _ key: String) {
        #expect {
            _ = try ServerConfig.parse(AuditConfigTests.base + "[store]\n" + body + "\n", baseDirectory: "/")
        } throws: { e in (e as? ConfigError)?.key == key }
    }
}
