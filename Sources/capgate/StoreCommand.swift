import ArgumentParser
import CapgatePostgres
import CapgateServer
import Foundation

/// `capgate store migrate --config FILE`: applies the shared store's schema migrations
/// (docs/deployment.md) ahead of a deployment. `serve` applies them at start too; both
/// refuse a database whose schema is newer than this release knows.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Manage the shared store of a fleet (`[store] backend = \"postgres\"`, docs/deployment.md).",
        subcommands: [Migrate.self])

    func run() throws { throw ValidationError("a store command is required: migrate") }

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Apply the PostgreSQL schema migrations; refuse a newer schema.")

        @Option(help: ArgumentHelp("The server configuration (TOML) with `[store] backend = \"postgres\"`.",
                                   valueName: "file"))
        var config: String

        func run() throws {
            let settings: PostgresSettings
            do {
                guard let s = try ServerConfig.load(path: config).store.postgresSettings() else {
                    fail("\(config): [store] backend is not \"postgres\"; there is nothing to migrate", code: 1)
                }
                settings = s
            } catch {
                fail("\(error)", code: 1)
            }
            do {
                let (from, to) = try PostgresSchema.migrate(try PostgresConnection(settings))
                print(from == to ? "ok: schema at version \(to), nothing to apply" : "ok: schema migrated from version \(from) to \(to)")
            } catch {
                fail(error.description, code: 1)
            }
        }
    }
}
