import CapgateCLI
import CapgateIO
import Foundation

// capgate: the CLI. Parse (swift-argument-parser: `capgate --help`, `capgate <command> --help`),
// validate, fail fast, run. Commands: Capgate.swift (serve, check-config), PKICommand.swift (pki),
// AuditCommand.swift (audit), OperationsCommand.swift (doctor, status, pause, resume, paused).

// Block the signals the server handles before any thread exists, so they reach the
// signalfd and not a random thread's default handler.
do { try SignalWatcher.blockSignals() } catch { FileHandle.standardError.write("capgate: cannot block signals: \(error)\n".data(using: .utf8)!); exit(1) }

var command = CommandLineEntry.parseTree(Capgate.self, tool: "capgate")
CommandLineEntry.run(&command, root: Capgate.self, tool: "capgate")
