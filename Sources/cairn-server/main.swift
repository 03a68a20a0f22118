// cairn-server [config-file] [--name value ...]: starts the server, like redis-server.
#if canImport(Glibc)
import Glibc
#endif
import Server

let config = ServerConfig()
var args = Array(CommandLine.arguments.dropFirst())
var i = 0
while i < args.count {
    if args[i] == "--port", i + 1 < args.count, let p = Int(args[i + 1]) { config.port = p; i += 2; continue }
    i += 1
}
let server = CairnServer(config: config)
exit(server.run())
