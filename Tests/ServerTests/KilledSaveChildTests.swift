// A BGSAVE child that dies of a signal: its temporary file is removed (timed as Redis's
// "rdb-unlink-temp-file" latency event) and the save counts as failed, as redis-server does.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn), .serialized) struct KilledSaveChildTests {
    /// The pid of the server's only child process.
    func childPID(of server: ServerProcess) -> pid_t? {
        let pid = server.process.processIdentifier
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").first.flatMap { pid_t($0) }
    }

    /// Starts a slow BGSAVE, kills its child with `signal`; returns (temp file left, bgsave status).
    /// Starts a server whose BGSAVE of `keys` keys takes `delay` µs per key; returns it, a client and the
    /// save child's pid once the child has created its temporary file.
    func startSlowSave(cairn: Bool, delay: Int, keys: Int) throws -> (ServerProcess, RawClient, pid_t) {
        let s = try ServerProcess(cairn: cairn, args: ["--rdb-key-save-delay", String(delay)])
        let c = try s.client()
        _ = try c.send("DEBUG POPULATE \(keys)")
        #expect(try c.send("BGSAVE") == "+Background saving started\r\n")
        var child: pid_t? = nil
        try waitFor("the save child", timeout: 10) {
            child = childPID(of: s)
            return child != nil && FileManager.default.fileExists(atPath: s.dir + "/temp-\(child!).rdb")
        }
        return (s, c, child!)
    }

    func killSaveChild(cairn: Bool, signal: Int32) throws -> (tempLeft: Bool, status: String?) {
        let (s, c, child) = try startSlowSave(cairn: cairn, delay: 100_000, keys: 1000)
        kill(child, signal)
        try waitFor("the save ends", timeout: 10) { try c.infoInteger("persistence", "rdb_bgsave_in_progress") == 0 }
        return (FileManager.default.fileExists(atPath: s.dir + "/temp-\(child).rdb"), try c.infoField("persistence", "rdb_last_bgsave_status"))
    }

    /// (SIGKILL only: the test runner's children inherit a blocked signal mask, so a SIGUSR1 sent to
    /// a save child may never be delivered.)
    @Test func killedChildLeavesNoTempFile() throws {
        let redis = try killSaveChild(cairn: false, signal: SIGKILL)
        let cairn = try killSaveChild(cairn: true, signal: SIGKILL)
        #expect(!redis.tempLeft)
        #expect(!cairn.tempLeft)
        #expect(cairn.status == redis.status)
        #expect(cairn.status == "err")
    }

    /// The server dies (SIGKILL, as the OOM killer would) while its save child runs: the child finds
    /// out at its next report to the parent and exits, as Redis's does, instead of saving on alone.
    @Test(arguments: [false, true]) func childExitsWhenTheServerIsKilled(cairn: Bool) throws {
        let (s, _, child) = try startSlowSave(cairn: cairn, delay: 1000, keys: 10_000)
        s.stopping = true
        kill(s.process.processIdentifier, SIGKILL)
        s.process.waitUntilExit()
        // 10,000 keys at 1 ms each would take 10 s; the child reports about once a second.
        try waitFor("the orphaned child exits", timeout: 6) { kill(child, 0) != 0 }
        if cairn {
            let log = (try? String(contentsOfFile: s.logPath, encoding: .utf8)) ?? ""
            #expect(log.contains("Child failed reporting info to parent, exiting."))
        }
    }
}
