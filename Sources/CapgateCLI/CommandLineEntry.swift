import ArgumentParser
import Foundation

/// How the project's executables (`capgate`, `capgate-bench`, `kernel-bench`) turn argv into
/// a command. swift-argument-parser parses, validates and writes `--help`; this keeps the
/// conventions the tools had before it, which scripts and tests rely on:
/// - help (`--help`, `-h`, `help`) goes to stdout with exit status 0;
/// - a usage error goes to stderr as `<tool>: <message>` and the usage, with exit status 2
///   (argument-parser's own default is 64, EX_USAGE); an unknown option reads
///   `unknown option --name`, as before;
/// - a failing operation is the command's business: it prints and exits 1 itself (`fail`).
public enum CommandLineEntry {
    /// The exit status of a usage error.
    public static let usageExitCode: Int32 = 2

    /// Parses a command tree (`capgate serve`, `capgate pki issue`, ...), or exits.
    public static func parseTree<Root: ParsableCommand>(_ root: Root.Type, tool: String,
                                                        arguments: [String] = Array(CommandLine.arguments.dropFirst()))
        -> ParsableCommand
    {
        if let (message, group) = unknownCommand(arguments, root: root) {
            FileHandle.standardError.write(Data("\(tool): \(message)\nUsage: \(root.usageString(for: group))\n".utf8))
            Foundation.exit(usageExitCode)
        }
        do { return try root.parseAsRoot(helpLast(arguments, root: root)) } catch { exit(root, tool: tool, error) }
    }

    /// `capgate frobnicate`, `capgate pki frobnicate --dir p`: "unknown command frobnicate",
    /// "unknown pki command frobnicate", as before (argument-parser would first complain about
    /// an option the unknown command cannot have). Nil when the words name commands.
    static func unknownCommand(_ arguments: [String], root: any ParsableCommand.Type)
        -> (String, any ParsableCommand.Type)?
    {
        var command = root
        var path: [String] = []
        for word in arguments {
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty, !word.hasPrefix("-"), word != "help" else { return nil }
            guard let sub = subcommands.first(where: { $0._commandName == word }) else {
                return ("unknown \((path + ["command"]).joined(separator: " ")) \(word)", command)
            }
            path.append(word)
            command = sub
        }
        return nil
    }

    /// Runs a parsed command; an error it throws is reported without argument-parser's usage
    /// line (which would name the root, not the command that ran): the message says it all.
    public static func run<Root: ParsableCommand>(_ command: inout ParsableCommand, root: Root.Type, tool: String) {
        do { try command.run() } catch {
            let code = root.exitCode(for: error)
            // argument-parser answers `help <command>` and a subcommand's `--help` from run().
            if code == .success { exit(root, tool: tool, error) }
            FileHandle.standardError.write(Data("\(tool): \(root.message(for: error))\n".utf8))
            Foundation.exit(isUsageError(code) ? usageExitCode : code.rawValue)
        }
    }

    /// `tool group help` (the old spelling, e.g. `capgate pki help`) -> `tool help group`,
    /// which argument-parser understands; only when the words before `help` name a command
    /// group, so a value that happens to be "help" stays a value.
    static func helpLast(_ arguments: [String], root: any ParsableCommand.Type) -> [String] {
        guard arguments.count > 1, arguments.last == "help" else { return arguments }
        var command = root
        for word in arguments.dropLast() {
            guard let sub = command.configuration.subcommands.first(where: { $0._commandName == word })
            else { return arguments }
            command = sub
        }
        return command.configuration.subcommands.isEmpty ? arguments : ["help"] + arguments.dropLast()
    }

    /// Parses a single command's options, or exits.
    public static func parse<Command: ParsableCommand>(_ command: Command.Type, tool: String,
                                                       arguments: [String] = Array(CommandLine.arguments.dropFirst()))
        -> Command
    {
        do { return try command.parse(arguments) } catch { exit(command, tool: tool, error) }
    }

    /// Reports a parse `error` (help or a usage error) and exits.
    public static func exit<Root: ParsableCommand>(_ root: Root.Type, tool: String, _ error: any Error) -> Never {
        let code = root.exitCode(for: error)
        let text = root.fullMessage(for: error)
        if code == .success {
            print(text)
            Foundation.exit(0)
        }
        var message = text.hasPrefix("Error: ") ? String(text.dropFirst("Error: ".count)) : text
        message = rewordUnknownOption(message)
        FileHandle.standardError.write(Data("\(tool): \(message)\n".utf8))
        Foundation.exit(isUsageError(code) ? usageExitCode : code.rawValue)
    }

    /// argument-parser's EX_USAGE (64) is this project's 2; any other code passes through.
    static func isUsageError(_ code: ExitCode) -> Bool { code == .validationFailure }

    /// `Unknown option '--dsn'` -> `unknown option --dsn` (the wording the tools always used).
    static func rewordUnknownOption(_ message: String) -> String {
        let marker = "Unknown option '"
        guard let start = message.range(of: marker),
              let end = message[start.upperBound...].firstIndex(of: "'") else { return message }
        let name = message[start.upperBound..<end]
        return message.replacingCharacters(in: start.lowerBound...end, with: "unknown option \(name)")
    }
}
