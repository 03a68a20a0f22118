// Settings that follow the replica role, on both servers: oom-score-adj gives a replica the second of
// oom-score-adj-values and a primary the first, changing with REPLICAOF; bind-source-addr is the
// address a replica's link to its primary leaves from (the primary's INFO shows it).
import Foundation
import Testing
import TestSupport

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn)) struct ReplicaRoleSettingsTests {
    func oomScore(_ s: ServerProcess) -> Int? {
        let text = try? String(contentsOfFile: "/proc/\(s.process.processIdentifier)/oom_score_adj", encoding: .utf8)
        return text.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test func oomScoreFollowsTheRole() throws {
        for cairn in [true, false] {
            let who = cairn ? "cairn" : "redis"
            let s = try ServerProcess(cairn: cairn)
            let c = try s.client()
            let base = try #require(oomScore(s))
            #expect(try c.send("CONFIG SET oom-score-adj-values \"10 20 30\"") == "+OK\r\n")
            #expect(try c.send("CONFIG SET oom-score-adj yes") == "+OK\r\n")
            #expect(oomScore(s) == base + 10, "\(who)")
            #expect(try c.send("REPLICAOF localhost 1") == "+OK\r\n")
            #expect(oomScore(s) == base + 20, "\(who): a replica")
            #expect(try c.send("REPLICAOF NO ONE") == "+OK\r\n")
            #expect(oomScore(s) == base + 10, "\(who): a primary again")
        }
    }

    @Test func bindSourceAddrIsTheReplicasAddress() throws {
        for cairn in [true, false] {
            let who = cairn ? "cairn" : "redis"
            let p = try ServerProcess(cairn: cairn, args: ["--protected-mode", "no"])
            let r = try ServerProcess(cairn: cairn)
            let pc = try p.client(), rc = try r.client()
            #expect(try rc.send("CONFIG SET bind-source-addr 127.0.0.2") == "+OK\r\n")
            #expect(try rc.send("REPLICAOF 127.0.0.1 \(p.port)") == "+OK\r\n")
            try waitFor("\(who): link up", timeout: 30) { try rc.infoField("replication", "master_link_status") == "up" }
            let slave0 = try pc.infoField("replication", "slave0") ?? ""
            #expect(slave0.hasPrefix("ip=127.0.0.2,"), "\(who): \(slave0)")
        }
    }

    /// CLIENT PAUSE WRITE on a replica holds back its primary's stream: the bytes are read
    /// (slave_read_repl_offset reaches the primary's offset) but the write is applied, and
    /// slave_repl_offset moved, only once the pause ends.
    @Test func aPausedReplicaReadsButDoesNotApplyTheStream() throws {
        for cairn in [true, false] {
            let who = cairn ? "cairn" : "redis"
            let p = try ServerProcess(cairn: cairn)
            let r = try ServerProcess(cairn: cairn)
            let pc = try p.client(), rc = try r.client()
            #expect(try rc.send("REPLICAOF 127.0.0.1 \(p.port)") == "+OK\r\n")
            try waitFor("\(who): link up", timeout: 30) { try rc.infoField("replication", "master_link_status") == "up" }
            _ = try pc.send("SET foo bar")
            let before = try #require(try pc.infoField("replication", "master_repl_offset"))
            try waitFor("\(who): caught up", timeout: 10) { try rc.infoField("replication", "slave_repl_offset") == before }
            #expect(try rc.send("CLIENT PAUSE 100000 WRITE") == "+OK\r\n")
            _ = try pc.send("SET foo2 bar2")
            let after = try #require(try pc.infoField("replication", "master_repl_offset"))
            try waitFor("\(who): read", timeout: 10) { try rc.infoField("replication", "slave_read_repl_offset") == after }
            #expect(try rc.infoField("replication", "slave_repl_offset") == before, "\(who)")
            #expect(try rc.send("GET foo2") == "$-1\r\n", "\(who)")
            #expect(try rc.send("CLIENT UNPAUSE") == "+OK\r\n")
            try waitFor("\(who): applied", timeout: 10) { try rc.infoField("replication", "slave_repl_offset") == after }
            #expect(try rc.send("GET foo2") == "$4\r\nbar2\r\n", "\(who)")
        }
    }

    /// PSYNC's FAILOVER word as Redis 7.0 takes it: refused on a primary with its own error, refused on a
    /// replica whose replication ID differs; any other word after the offset is ignored.
    @Test func psyncFailoverChecks() throws {
        var replies: [Bool: [String]] = [:]
        for cairn in [true, false] {
            let p = try ServerProcess(cairn: cairn)
            let r = try ServerProcess(cairn: cairn)
            let pc = try p.client(), rc = try r.client()
            var out: [String] = []
            out.append(try pc.send("PSYNC abc -1 FAILOVER"))
            #expect(try rc.send("REPLICAOF 127.0.0.1 \(p.port)") == "+OK\r\n")
            try waitFor("\(cairn): link up", timeout: 30) { try rc.infoField("replication", "master_link_status") == "up" }
            out.append(try rc.send("PSYNC abc -1 FAILOVER"))
            #expect(try rc.infoField("replication", "role") == "slave", "\(cairn)")
            // Another word: a plain full sync.
            let sync = try p.client()
            try sync.write(RawClient.encode(argv("PSYNC ? -1 whatever")))
            try sync.fill(12)
            out.append(String(decoding: sync.buffer.prefix(12), as: UTF8.self))
            replies[cairn] = out
        }
        #expect(replies[true] == replies[false])
        #expect(replies[true]?.first == "-ERR PSYNC FAILOVER can't be sent to a master.\r\n")
        #expect(replies[true]?[1] == "-ERR PSYNC FAILOVER replid must match my replid.\r\n")
        #expect(replies[true]?[2] == "+FULLRESYNC ")
    }
}
