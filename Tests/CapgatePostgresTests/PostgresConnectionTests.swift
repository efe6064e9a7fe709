import CapgatePostgres
import CapgateTesting
import Foundation
import Testing

/// The libpq wrapper against a real throwaway cluster: password auth, parameterized values,
/// SQLSTATEs, the pool off the cooperative pool, LISTEN/NOTIFY, migrations.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct PostgresConnectionTests {
    static func settings(_ cluster: PostgresCluster, _ db: String, poolSize: Int = 2) throws -> PostgresSettings {
        let password = try String(contentsOfFile: cluster.passwordFile, encoding: .utf8).trimmingCharacters(in: .newlines)
        return PostgresSettings(dsn: cluster.dsn(database: db), password: password, poolSize: poolSize)
    }

    @Test func parameterizedValuesRoundTripVerbatim() async throws {
        let cluster = try await PostgresCluster.shared()
        let db = try await cluster.createDatabase()
        let pool = PostgresPool(try Self.settings(cluster, db))
        defer { pool.close() }
        let hostile = "x'); DROP TABLE t; --  é \\ \"q\""
        let rows = try await pool.run { c throws(PostgresError) in
            try c.execute("CREATE TABLE t (k text PRIMARY KEY, v text)")
            try c.query("INSERT INTO t VALUES ($1, $2)", [hostile, nil])
            return try c.query("SELECT k, v, (SELECT count(*) FROM t) FROM t WHERE k = $1", [hostile]).rows
        }
        #expect(rows.count == 1)
        #expect(rows[0][0] == hostile && rows[0][1] == nil && rows[0][2] == "1")
    }

    @Test func errorsCarryTheirSQLState() async throws {
        let cluster = try await PostgresCluster.shared()
        let db = try await cluster.createDatabase()
        let pool = PostgresPool(try Self.settings(cluster, db))
        defer { pool.close() }
        try await pool.run { c throws(PostgresError) in try c.execute("CREATE TABLE u (k text PRIMARY KEY)") }
        try await pool.run { c throws(PostgresError) in try c.query("INSERT INTO u VALUES ($1)", ["a"]) }
        do {
            try await pool.run { c throws(PostgresError) in try c.query("INSERT INTO u VALUES ($1)", ["a"]) }
            Issue.record("a duplicate key was accepted")
        } catch {
            #expect(error.sqlState == "23505" && !error.connectionLost, "\(error)")
        }
        do {
            try await pool.run { c throws(PostgresError) in try c.query("SELEKT 1") }
            Issue.record("a syntax error was accepted")
        } catch {
            #expect(error.sqlState == "42601", "\(error)")
        }
        // A NUL byte cannot be sent as text: refused before it reaches the server.
        await #expect(throws: PostgresError.self) {
            try await pool.run { c throws(PostgresError) in try c.query("SELECT $1", ["a\u{0}b"]) }
        }
    }

    @Test func aWrongPasswordIsRefusedWithoutEchoingIt() async throws {
        let cluster = try await PostgresCluster.shared()
        var s = try Self.settings(cluster, "postgres")
        s.password = "not-the-password-1234"
        do {
            _ = try PostgresConnection(s)
            Issue.record("connected with a wrong password")
        } catch {
            #expect(error.connectionLost && error.message.contains("password authentication failed"), "\(error)")
            #expect(!error.message.contains("not-the-password-1234"))
        }
    }

    @Test func thePoolRunsConcurrentJobsAndResumesEveryCaller() async throws {
        let cluster = try await PostgresCluster.shared()
        let db = try await cluster.createDatabase()
        let pool = PostgresPool(try Self.settings(cluster, db, poolSize: 3))
        defer { pool.close() }
        let sum = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<60 {
                group.addTask {
                    try await pool.run { c throws(PostgresError) in
                        Int(try c.query("SELECT $1::integer * 2", [String(i)]).first?[0] ?? "") ?? -1
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(sum == (0..<60).reduce(0) { $0 + 2 * $1 })
    }

    @Test func notificationsArriveOnTheListeningConnection() async throws {
        let cluster = try await PostgresCluster.shared()
        let s = try Self.settings(cluster, "postgres")
        let got = try await runBlocking { () throws -> [String] in
            let listener = try PostgresConnection(s)
            try listener.execute("LISTEN capgate_test")
            let sender = try PostgresConnection(s)
            try sender.query("SELECT pg_notify($1, $2)", ["capgate_test", "hello"])
            try sender.query("SELECT pg_notify($1, $2)", ["capgate_test", "world"])
            var payloads: [String] = []
            for _ in 0..<100 where payloads.count < 2 {
                var pfd = pollfd(fd: listener.socket, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, 20)
                payloads += try listener.notifications().map(\.payload)
            }
            return payloads
        }
        #expect(got == ["hello", "world"])
    }

    @Test func migrationsApplyOnceAndANewerSchemaIsRefused() async throws {
        let cluster = try await PostgresCluster.shared()
        let db = try await cluster.createDatabase()
        let s = try Self.settings(cluster, db)
        try await runBlocking {
            let c = try PostgresConnection(s)
            let first = try PostgresSchema.migrate(c)
            #expect(first.from == 0 && first.to == PostgresSchema.latestVersion)
            let again = try PostgresSchema.migrate(c)
            #expect(again.from == PostgresSchema.latestVersion && again.to == PostgresSchema.latestVersion)
            #expect(try c.query("SELECT count(*) FROM capgate_revocations").first?[0] == "0")
        }
        try await cluster.psql("INSERT INTO capgate_schema (version) VALUES (\(PostgresSchema.latestVersion + 1))", database: db)
        try await runBlocking {
            let c = try PostgresConnection(s)
            do {
                try PostgresSchema.migrate(c)
                Issue.record("migrated a newer schema")
            } catch {
                #expect("\(error)".contains("newer than this capgate knows"), "\(error)")
            }
        }
    }
}
