// `daemonize yes` and `pidfile`, as redis-server does them: the command returns to the shell at once
// (exit status 0) while the server keeps running in the background; the pid file holds the server's
// pid (also without daemonize when pidfile is set) and is removed at shutdown.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct DaemonizeTests {
    func pid(in path: String) -> Int32? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int32(s.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func daemonizeReturnsToTheShellAndThePidFileNamesTheServer() throws {
        guard Paths.haveCairn else { return }
        let dir = try makeTempDir("cairn-daemonize")
        defer { removeTree(dir) }
        let port = freeLoopbackPort()
        let pidfile = dir + "/cairn.pid"
        let started = Date()
        let r = try runProcess(Paths.cairnServer, ["--port", "\(port)", "--bind", "127.0.0.1", "--dir", dir, "--save", "",
                                                   "--daemonize", "yes", "--pidfile", pidfile, "--logfile", dir + "/log"],
                               timeout: 20)
        #expect(r.status == 0)
        #expect(Date().timeIntervalSince(started) < 10)
        let client = try waitForClient(port)
        #expect(try client.send("PING") == "+PONG\r\n")
        let p = try #require(pid(in: pidfile))
        #expect(kill(p, 0) == 0, "the pid file names a live process")
        #expect(p != getpid())
        _ = try? client.send("SHUTDOWN NOSAVE")
        #expect(waitFor(timeout: 10) { kill(p, 0) != 0 })
        #expect(!FileManager.default.fileExists(atPath: pidfile), "the pid file is removed at shutdown")
        let log = (try? String(contentsOfFile: dir + "/log", encoding: .utf8)) ?? ""
        #expect(log.contains("Removing the pid file."))
    }

    @Test func aPidFileIsWrittenWithoutDaemonizeToo() throws {
        guard Paths.haveCairn else { return }
        let dir = try makeTempDir("cairn-pidfile")
        defer { removeTree(dir) }
        let port = freeLoopbackPort()
        let pidfile = dir + "/p.pid"
        let server = Process()
        server.executableURL = URL(fileURLWithPath: Paths.cairnServer)
        server.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--pidfile", pidfile,
                            "--logfile", dir + "/log"]
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        let client = try waitForClient(port)
        #expect(pid(in: pidfile) == server.processIdentifier)
        _ = try? client.send("SHUTDOWN NOSAVE")
        server.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: pidfile))
    }

    func waitForClient(_ port: Int) throws -> RawClient {
        var client: RawClient? = nil
        try waitFor("the server on port \(port)", timeout: 20) {
            client = try? RawClient(port: port)
            return client != nil
        }
        return client!
    }
}
