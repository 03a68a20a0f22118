// Copy-on-write of the fork()ed children on an idle server: the snapshot and rewrite children read the
// dataset in place (no reference counting, no per-value copies), so the pages they leave private are
// a small fraction of the dataset. A dataset of over 200 MB, so that 5% means something: 1.5M
// strings of 100 bytes and 80k small aggregates of every type and encoding.
import Foundation
import Testing
@testable import Server
import TestSupport

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis), .serialized)
struct CopyOnWriteTests {
    @Test func idleChildrenCopyUnderFivePercentOfUsedMemory() throws {
        // No compression: the debug build the tests use would spend minutes in LZF.
        let s = try ServerProcess(args: ["--rdbcompression", "no"])
        let c = try s.client()
        var tv = timeval(tv_sec: 600, tv_usec: 0)
        setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        #expect(try c.send("DEBUG POPULATE 1500000 key 100") == "+OK\r\n")
        var req: [UInt8] = []
        for i in 0 ..< 20000 {
            req += RawClient.encode(argv("HSET hash:\(i) " + (0 ..< 10).map { "f\($0) value\($0)-\(i)" }.joined(separator: " ")))
            req += RawClient.encode(argv("RPUSH list:\(i) " + (0 ..< 10).map { "item\($0)-\(i)" }.joined(separator: " ")))
            req += RawClient.encode(argv("SADD set:\(i) " + (0 ..< 10).map { $0 % 2 == 0 ? "\($0 * i)" : "member\($0)" }.joined(separator: " ")))
            req += RawClient.encode(argv("ZADD zset:\(i) " + (0 ..< 10).map { "\(Double($0) * 1.5) m\($0)-\(i)" }.joined(separator: " ")))
        }
        try c.write(req)
        for _ in 0 ..< 80000 { _ = try c.readReply() }
        let used = Int(try c.infoField("memory", "used_memory") ?? "")!
        #expect(used > 200_000_000, "dataset of \(used) bytes")

        #expect(try c.send("BGSAVE") == "+Background saving started\r\n")
        #expect(try waitFor(timeout: 300) { try c.infoField("persistence", "rdb_bgsave_in_progress") == "0" })
        #expect(try c.infoField("persistence", "rdb_last_bgsave_status") == "ok")
        let rdbCow = Int(try c.infoField("persistence", "rdb_last_cow_size") ?? "")!
        print("copy-on-write: BGSAVE \(rdbCow) bytes of \(used) used")
        #expect(rdbCow < used / 20, "BGSAVE copied \(rdbCow) bytes of \(used)")

        // The plain-commands rewrite walks the values too (with the RDB preamble it is the snapshot walk).
        _ = try c.send("CONFIG SET aof-use-rdb-preamble no")
        _ = try c.send("BGREWRITEAOF")
        #expect(try waitFor(timeout: 300) {
            try c.persistenceIdle()
        })
        #expect(try c.infoField("persistence", "aof_last_bgrewrite_status") == "ok")
        let aofCow = Int(try c.infoField("persistence", "aof_last_cow_size") ?? "")!
        print("copy-on-write: BGREWRITEAOF \(aofCow) bytes of \(used) used")
        #expect(aofCow < used / 20, "BGREWRITEAOF copied \(aofCow) bytes of \(used)")
    }
}
