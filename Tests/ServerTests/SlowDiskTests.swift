// A slow disk under appendfsync everysec, as Redis behaves: while a background fsync takes seconds
// (injected with CAIRN_DEBUG_FSYNC_DELAY_MS), the server keeps answering, postpones the AOF write for
// up to 2 s, then writes anyway and counts it in aof_delayed_fsync. Every acknowledged write is in
// the AOF after a clean shutdown.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: Paths.haveCairn, "needs cairn-server built"))
struct SlowDiskTests {
    @Test func everysecKeepsServingAndCountsDelayedFsyncs() throws {
        let server = try ServerProcess(args: ["--appendonly", "yes", "--appendfsync", "everysec"],
                                       environment: ["CAIRN_DEBUG_FSYNC_DELAY_MS": "3000"])
        let c = try server.client()
        var acked = 0
        var slowest = 0.0
        let start = Date()
        while Date().timeIntervalSince(start) < 7 {
            let t0 = Date()
            #expect(try c.send("SET key:\(acked) \(acked)") == "+OK\r\n")
            slowest = max(slowest, Date().timeIntervalSince(t0))
            acked += 1
            usleep(2000)
        }
        let info = try c.send("INFO persistence")
        func field(_ name: String) -> Int {
            for line in info.split(separator: "\r\n") where line.hasPrefix(name + ":") { return Int(line.dropFirst(name.count + 1)) ?? -1 }
            return -1
        }
        #expect(field("aof_delayed_fsync") >= 1, "\(info)")
        #expect(field("aof_last_write_status") == -1 && info.contains("aof_last_write_status:ok"))
        // Writes are never held for the fsync: the worst reply stays far below the injected 3 s.
        #expect(slowest < 1.0, "slowest reply \(slowest) s")
        #expect(acked > 500, "only \(acked) writes in 7 s")
        // After a clean shutdown every acknowledged write is back.
        #expect(server.terminate() == 0)
        let again = try ServerProcess(args: ["--appendonly", "yes"], dir: server.dir)
        #expect(try again.client().send("DBSIZE") == ":\(acked)\r\n")
    }
}
