import CapgatePostgres
import CapgateTesting
import Foundation
import Testing

/// TLS to PostgreSQL (docs/deployment.md, docs/configuration.md `[store] dsn`): libpq's
/// `sslmode=verify-full` with `sslrootcert` reaches a cluster serving a certificate of our test
/// CA over an encrypted session, and refuses a cluster whose certificate another CA issued.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct PostgresTLSTests {
    @Test func verifyFullConnectsOverTLSAndRefusesAForeignCA() async throws {
        let ca = TestCA("postgres test CA")
        let stranger = TestCA("someone else's CA")
        let cluster = try await PostgresCluster.create()
        defer { cluster.remove() }
        let server = ca.server(serial: 0x51)  // SANs: localhost, 127.0.0.1
        try cluster.enableTLS(certificatePEM: server.certPEM, keyPEM: server.keyPEM)
        try await cluster.stop()
        try await cluster.start()

        let dir = try makeTempDirectory("pgtls")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ours = dir + "/ca.pem", theirs = dir + "/other.pem"
        try Data(ca.certPEM).write(to: URL(fileURLWithPath: ours))
        try Data(stranger.certPEM).write(to: URL(fileURLWithPath: theirs))
        let password = try String(contentsOfFile: cluster.passwordFile, encoding: .utf8)
            .trimmingCharacters(in: .newlines)
        func settings(rootCert: String) -> PostgresSettings {
            PostgresSettings(dsn: "host=127.0.0.1 port=\(cluster.port) user=capgate dbname=postgres "
                                + "sslmode=verify-full sslrootcert=\(rootCert)",
                             password: password, poolSize: 1)
        }

        let pool = PostgresPool(settings(rootCert: ours))
        defer { pool.close() }
        let rows = try await pool.run { c throws(PostgresError) in
            try c.query("SELECT ssl::text, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").rows
        }
        #expect(rows.first?[0] == "true")
        #expect(rows.first?[1] == "TLSv1.3")

        do {
            _ = try PostgresConnection(settings(rootCert: theirs))
            Issue.record("verify-full accepted a server certificate from a CA it does not trust")
        } catch {
            #expect(error.connectionLost && error.message.contains("certificate verify failed"), "\(error)")
        }
    }
}
