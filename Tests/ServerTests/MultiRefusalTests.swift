// Commands Redis 7.0 marks no-multi (SAVE, SHUTDOWN, SYNC, PSYNC) are refused inside MULTI and fail the
// transaction, and BGREWRITEAOF inside EXEC is only scheduled (the fork follows the transaction): the
// same replies from both servers.
import Foundation
import Testing
import TestSupport

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn)) struct MultiRefusalTests {
    @Test func noMultiCommandsFailTheTransaction() throws {
        var replies: [Bool: [String]] = [:]
        for cairn in [true, false] {
            let s = try ServerProcess(cairn: cairn, args: ["--save", ""])
            let c = try s.client()
            var r: [String] = []
            for cmd in ["SAVE", "SHUTDOWN", "SYNC", "PSYNC ? -1"] {
                r.append(try c.send("MULTI"))
                r.append(try c.send("SET k v"))
                r.append(try c.send(cmd))
                r.append(try c.send("EXEC"))
            }
            r.append(try c.send("EXISTS k"))
            // The server is still up and no snapshot was written.
            #expect(!FileManager.default.fileExists(atPath: s.dir + "/dump.rdb"), "\(cairn)")
            let forks = try c.infoInteger("stats", "total_forks")
            r.append(try c.send("MULTI"))
            r.append(try c.send("BGREWRITEAOF"))
            r.append(try c.send("EXEC"))
            try waitFor("\(cairn): the scheduled rewrite", timeout: 10) { try c.infoInteger("stats", "total_forks") > forks }
            replies[cairn] = r
        }
        #expect(replies[true] == replies[false])
        #expect(replies[true]?[2] == "-ERR Command not allowed inside a transaction\r\n")
        #expect(replies[true]?.last == "*1\r\n+Background append only file rewriting scheduled\r\n")
    }
}
