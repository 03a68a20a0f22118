// cairn-server [config-file] [--name value ...]: starts the server, exactly as redis-server takes
// its configuration (a redis.conf-style file, then `--name value` arguments as extra lines).
#if canImport(Glibc)
import Glibc
#endif
import Server

CairnServer.tuneAllocator()

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "-v" || arguments.first == "--version" {
    print("Cairn server v=\(CairnServer.version) (Redis-compatible) bits=64")
    exit(0)
}
do {
    let config = try loadConfig(arguments: arguments)
    let server = CairnServer(config: config)
    exit(server.run())
} catch let e as ConfigError {
    var text = Array(e.message.utf8)
    if text.last != 10 { text.append(10) }
    _ = text.withUnsafeBytes { write(e.isLogLine ? 1 : 2, $0.baseAddress, $0.count) }
    exit(1)
} catch {
    let text = Array("\(error)\n".utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}
