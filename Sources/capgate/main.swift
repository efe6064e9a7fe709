import CapgateIO
import CapgateServer
import Foundation

// capgate: the CLI. Parse, validate, fail fast, run.
//   capgate serve [--config FILE] [--listen HOST:PORT] [--state-dir DIR]
//   capgate check-config FILE
//   capgate pki <init|issue|server|revoke|crl|list> ...   (see `capgate pki help`)

// Block the signals the server handles before any thread exists, so they reach the
// signalfd and not a random thread's default handler.
do { try SignalWatcher.blockSignals() } catch { FileHandle.standardError.write("capgate: cannot block signals: \(error)\n".data(using: .utf8)!); exit(1) }

func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(("capgate: " + message + "\n").data(using: .utf8)!)
    exit(code)
}

let usage = """
    usage: capgate serve [--config FILE] [--listen HOST:PORT] [--state-dir DIR]
           capgate check-config FILE
           capgate pki help
    """

var args = Array(CommandLine.arguments.dropFirst())
guard let command = args.first else { fail(usage) }
args.removeFirst()

switch command {
case "serve":
    var configPath: String?
    var listen: String?
    var stateDir: String?
    while let a = args.first {
        args.removeFirst()
        guard let v = args.first else { fail("\(a) needs a value\n\(usage)") }
        args.removeFirst()
        switch a {
        case "--config": configPath = v
        case "--listen": listen = v
        case "--state-dir": stateDir = v
        default: fail("unknown option \(a)\n\(usage)")
        }
    }
    do {
        var config: ServerConfig
        if let path = configPath {
            config = try ServerConfig.load(path: path)
            if let dir = stateDir { config.stateDir = dir }
        } else {
            let (host, port) = try ServerConfig.parseListen(listen ?? "127.0.0.1:8443", key: "--listen")
            config = try DemoConfig.prepare(stateDir: stateDir ?? "./.capgate", host: host, port: port)
        }
        if let l = listen, configPath != nil {
            (config.listenHost, config.listenPort) = try ServerConfig.parseListen(l, key: "--listen")
        }
        let gateway = try Gateway(config: config, configPath: configPath)
        let port = try gateway.start()
        try gateway.installSignalHandlers()
        if configPath == nil {
            // Unbuffered: the command must show up at once, also when stdout is a pipe.
            let curl = DemoConfig.curlExample(stateDir: config.stateDir, host: config.listenHost, port: Int(port))
            FileHandle.standardOutput.write("capgate demo ready. Try:\n  \(curl)\n".data(using: .utf8)!)
        }
        gateway.waitUntilStopped()
        print("capgate stopped")
    } catch {
        fail("\(error)", code: 1)
    }
case "check-config":
    guard let path = args.first else { fail(usage) }
    do {
        let config = try ServerConfig.load(path: path)
        print("ok: \(config.capabilities.count) capabilities, \(config.drivers.count) drivers, "
              + "\(config.identities.rules.count) identity rules, listen \(config.listenHost):\(config.listenPort)")
    } catch {
        fail("\(path): \(error)", code: 1)
    }
case "pki":
    PKICommand.run(args)
case "help", "--help", "-h":
    print(usage)
default:
    fail("unknown command \(command)\n\(usage)")
}
