// Banner: the start-up picture. As redis-server does, it is shown when the log goes to a terminal
// (no logfile, no syslog) or when `always-show-logo yes`; otherwise one "Running mode=…, port=…."
// line is logged instead. Scripts and Redis's test harness read the ` PID: <pid>` field from it.
#if canImport(Glibc)
import Glibc
#endif

extension CairnServer {
    func showBanner() {
        let port = config.port != 0 ? config.port : config.int("tls-port")
        let toTerminal = !config.bool("syslog-enabled") && config.logfile.isEmpty && isatty(1) != 0
        guard toTerminal || config.bool("always-show-logo") else {
            log.notice("Running mode=standalone, port=\(port).")
            return
        }
        // A cairn: stones stacked on a ridge, the facts beside it.
        let facts = ["",
                     "Cairn \(CairnServer.version) (Redis-compatible) 64 bit",
                     "",
                     "Running in standalone mode",
                     "Port: \(port)",
                     "PID: \(getpid())",
                     "",
                     ""]
        let stones = ["            .--.           ",
                      "          .(____).        ",
                      "         (________)       ",
                      "       .(__________).     ",
                      "      (______________)    ",
                      "    .(________________).  ",
                      " __(____________________)_",
                      "/~~~~~~~~~~~~~~~~~~~~~~~~~~\\"]
        var text = "\n"
        for (i, stone) in stones.enumerated() {
            let fact = i < facts.count ? facts[i] : ""
            text += fact.isEmpty ? stone + "\n" : stone + "     " + fact + "\n"
        }
        text += "\n"
        log.raw(.notice, text)
    }
}
