/// The shared store's schema, as numbered migrations (docs/deployment.md).
///
/// Why numbered: several sidecars of different releases may meet one database during a
/// rolling upgrade. Each start applies the migrations it knows under an advisory lock (one
/// migrator at a time) and refuses to run against a schema newer than it knows, rather than
/// writing rows a newer release would misread. `capgate store migrate` applies them ahead of
/// a deployment.
public enum PostgresSchema {
    /// Migrations in order; never edit a released one, append a new one.
    static let migrations: [(version: Int, sql: String)] = [
        (1, """
            CREATE TABLE capgate_revocations (
                token_id   text PRIMARY KEY,
                expires_at timestamptz,
                revoked_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX capgate_revocations_revoked_at ON capgate_revocations (revoked_at);
            CREATE TABLE capgate_issued_tokens (
                token_id     text PRIMARY KEY,
                principal_id text NOT NULL,
                expires_at   timestamptz NOT NULL);
            CREATE INDEX capgate_issued_tokens_principal ON capgate_issued_tokens (principal_id);
            """),
        (2, """
            CREATE TABLE capgate_budget_spends (
                session text NOT NULL,
                sidecar text NOT NULL,
                used    bigint NOT NULL,
                PRIMARY KEY (session, sidecar));
            """),
        (3, """
            CREATE TABLE capgate_handles (
                handle_id    text PRIMARY KEY,
                principal_id text NOT NULL,
                expires_at   timestamptz NOT NULL,
                payload      text NOT NULL);
            CREATE INDEX capgate_handles_expires_at ON capgate_handles (expires_at);
            """),
        (4, """
            CREATE TABLE capgate_traces (
                chain         text NOT NULL,
                seq           bigint NOT NULL,
                action_id     text NOT NULL UNIQUE,
                prev_hash     text NOT NULL,
                record_hash   text NOT NULL,
                invoked_at    text NOT NULL,
                principal_id  text NOT NULL,
                capability_id text NOT NULL,
                payload       text NOT NULL,
                PRIMARY KEY (chain, seq));
            CREATE INDEX capgate_traces_principal ON capgate_traces (principal_id);
            CREATE INDEX capgate_traces_capability ON capgate_traces (capability_id);
            """),
        // Audit retention (docs/audit.md): per chain, the checkpoint pruning leaves (the
        // reference's checkpoint_hash / checkpoint_next_seq) and the counts size-based pruning
        // sums, kept by each chain's writer in the transaction of its records. Existing chains
        // were never pruned: they start at the genesis hash and seq 1.
        (5, """
            CREATE TABLE capgate_trace_chains (
                chain               text PRIMARY KEY,
                checkpoint_hash     text NOT NULL,
                checkpoint_next_seq bigint NOT NULL,
                records             bigint NOT NULL DEFAULT 0,
                live_bytes          bigint NOT NULL DEFAULT 0);
            INSERT INTO capgate_trace_chains (chain, checkpoint_hash, checkpoint_next_seq, records, live_bytes)
                SELECT chain, repeat('0', 64), 1, count(*), sum(octet_length(payload) + 256)
                FROM capgate_traces GROUP BY chain;
            CREATE INDEX capgate_traces_invoked_at ON capgate_traces ((invoked_at COLLATE "C"), chain, seq);
            """),
    ]

    public static var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Any 64-bit constant shared by every capgate: the migration lock.
    static let lockKey = "4242137013"

    /// The version recorded in the database (0 for an empty one).
    public static func currentVersion(_ c: PostgresConnection) throws(PostgresError) -> Int {
        let exists = try c.query("SELECT to_regclass('capgate_schema') IS NOT NULL").first?[0] == "t"
        guard exists else { return 0 }
        return Int(try c.query("SELECT coalesce(max(version), 0) FROM capgate_schema").first?[0] ?? "0") ?? 0
    }

    /// Applies every pending migration in one transaction under the advisory lock and returns
    /// (from, to). Throws, changing nothing, when the database is newer than this release.
    @discardableResult
    public static func migrate(_ c: PostgresConnection) throws(PostgresError) -> (from: Int, to: Int) {
        try c.transaction { (c) throws(PostgresError) in
            try c.query("SELECT pg_advisory_xact_lock($1::bigint)", [lockKey])
            try c.execute("CREATE TABLE IF NOT EXISTS capgate_schema (version integer PRIMARY KEY, "
                          + "applied_at timestamptz NOT NULL DEFAULT now())")
            let from = try currentVersion(c)
            guard from <= latestVersion else {
                throw PostgresError("the PostgreSQL schema is at version \(from), newer than this capgate knows "
                                    + "(\(latestVersion)); refusing to start: upgrade capgate (docs/deployment.md)")
            }
            for m in migrations where m.version > from {
                try c.execute(m.sql)
                try c.query("INSERT INTO capgate_schema (version) VALUES ($1::integer)", [String(m.version)])
            }
            return (from, latestVersion)
        }
    }
}
