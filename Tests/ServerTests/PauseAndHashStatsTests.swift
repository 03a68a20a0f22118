// CLIENT PAUSE WRITE and DEBUG HTSTATS / HTSTATS-KEY against real processes, Cairn beside
// redis-server 7.0: paused writers block (blocked_clients, flag b) while reads are served and resume in
// order on UNPAUSE; EXEC of writes and PUBLISH wait too; no key expires during a pause; HTSTATS's text;
// tables do not resize while a BGSAVE child runs; a set shrunk in SSCAN order keeps one long chain.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

private func blockedClients(_ c: RawClient) throws -> Int { Int(try c.infoField("everything", "blocked_clients") ?? "") ?? -1 }

/// The text of a bulk or verbatim reply (verbatim's "txt:" prefix removed), or the raw reply otherwise.
private func text(_ reply: String) -> String {
    guard reply.hasPrefix("$") || reply.hasPrefix("="), let nl = reply.range(of: "\r\n") else { return reply }
    var body = String(reply[nl.upperBound...].dropLast(2))
    if reply.hasPrefix("=") { body = String(body.dropFirst(4)) }
    return body
}

/// One table's figures from HTSTATS text.
private struct TableStats { var size = 0, elements = 0, distribution: [(length: Int, buckets: Int)] = [] }

private func parseStats(_ text: String) -> [TableStats] {
    var tables: [TableStats] = []
    for line in text.split(separator: "\n") {
        let words = line.split(separator: " ")
        if line.hasPrefix("Hash table ") { tables.append(TableStats()) }
        guard !tables.isEmpty else { continue }
        if line.hasPrefix(" table size: ") { tables[tables.count - 1].size = Int(words.last!) ?? -1 }
        if line.hasPrefix(" number of elements: ") { tables[tables.count - 1].elements = Int(words.last!) ?? -1 }
        if line.hasPrefix("   "), words.count == 3, let n = Int(words[0].dropLast()), let b = Int(words[1]) {
            tables[tables.count - 1].distribution.append((n, b))
        }
    }
    return tables
}

/// Both servers, each with a client.
private func bothServers(_ args: [String] = []) throws -> [(name: String, server: ServerProcess)] {
    [("cairn", try ServerProcess(args: args)), ("redis", try ServerProcess(cairn: false, args: args))]
}

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"), .serialized)
struct PauseAndHashStatsTests {
    @Test func pauseWriteHoldsWritersAndServesReaders() throws {
        for (name, srv) in try bothServers() {
            let admin = try srv.client()
            let writer = try srv.client()
            #expect(try admin.send("SET k before") == "+OK\r\n")
            #expect(try admin.send("CLIENT PAUSE 60000 WRITE") == "+OK\r\n")
            #expect(try admin.send("CLIENT SETNAME admin") == "+OK\r\n")
            #expect(try writer.send("CLIENT SETNAME writer") == "+OK\r\n")
            try writer.write(RawClient.encode(argv("SET k after")))
            #expect(try waitFor(timeout: 10) { try blockedClients(admin) == 1 }, "\(name): the writer never blocked")
            // Reads go on, and see the old value.
            #expect(try admin.send("GET k") == "$6\r\nbefore\r\n", "\(name)")
            let list = try admin.send("CLIENT LIST")
            let writerLine = list.split(separator: "\n").first { $0.contains("name=writer") } ?? ""
            #expect(writerLine.contains("flags=b "), "\(name): \(writerLine)")
            // A command with the wrong arity is refused at once, not held.
            let other = try srv.client()
            #expect(try other.send("SET k") == "-ERR wrong number of arguments for 'set' command\r\n", "\(name)")
            #expect(try admin.send("CLIENT UNPAUSE") == "+OK\r\n")
            #expect(try writer.readReply() == Array("+OK\r\n".utf8), "\(name)")
            #expect(try admin.send("GET k") == "$5\r\nafter\r\n", "\(name)")
            #expect(try blockedClients(admin) == 0, "\(name)")
        }
    }

    @Test func heldClientsResumeInTheOrderTheyBlocked() throws {
        for (name, srv) in try bothServers() {
            let admin = try srv.client()
            #expect(try admin.send("CLIENT PAUSE 60000 WRITE") == "+OK\r\n")
            var clients: [RawClient] = []
            for i in 0 ..< 4 {
                let c = try srv.client()
                try c.write(RawClient.encode(argv("RPUSH order \(i)")))
                clients.append(c)
                #expect(try waitFor(timeout: 10) { try blockedClients(admin) == i + 1 }, "\(name)")
            }
            #expect(try admin.send("LLEN order") == ":0\r\n")
            #expect(try admin.send("CLIENT UNPAUSE") == "+OK\r\n")
            for (i, c) in clients.enumerated() { #expect(try c.readReply() == Array(":\(i + 1)\r\n".utf8), "\(name)") }
            #expect(try admin.send("LRANGE order 0 -1") == "*4\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n", "\(name)")
        }
    }

    @Test func execOfWritesAndPublishAreHeldReadOnlyExecIsNot() throws {
        for (name, srv) in try bothServers() {
            let admin = try srv.client()
            let tx = try srv.client()
            let reader = try srv.client()
            let publisher = try srv.client()
            #expect(try tx.send("MULTI") == "+OK\r\n")
            #expect(try tx.send("SET a 1") == "+QUEUED\r\n")
            #expect(try admin.send("CLIENT PAUSE 60000 WRITE") == "+OK\r\n")
            // A transaction of reads and admin commands runs.
            #expect(try reader.send("MULTI") == "+OK\r\n")
            #expect(try reader.send("PING") == "+QUEUED\r\n")
            #expect(try reader.send("GET a") == "+QUEUED\r\n")
            #expect(try reader.send("EXEC") == "*2\r\n+PONG\r\n$-1\r\n", "\(name)")
            try tx.write(RawClient.encode(argv("EXEC")))
            #expect(try waitFor(timeout: 10) { try blockedClients(admin) == 1 }, "\(name)")
            try publisher.write(RawClient.encode(argv("PUBLISH ch msg")))
            #expect(try waitFor(timeout: 10) { try blockedClients(admin) == 2 }, "\(name)")
            #expect(try admin.send("GET a") == "$-1\r\n", "\(name)")
            #expect(try admin.send("CLIENT UNPAUSE") == "+OK\r\n")
            #expect(try tx.readReply() == Array("*1\r\n+OK\r\n".utf8), "\(name)")
            #expect(try publisher.readReply() == Array(":0\r\n".utf8), "\(name)")
        }
    }

    @Test func aPauseEndsByItselfWhenItsTimePasses() throws {
        for (name, srv) in try bothServers() {
            let admin = try srv.client()
            let writer = try srv.client()
            #expect(try admin.send("CLIENT PAUSE 300 WRITE") == "+OK\r\n")
            try writer.write(RawClient.encode(argv("SET k v")))
            // Answered without an UNPAUSE (RawClient waits up to 10 s).
            #expect(try writer.readReply() == Array("+OK\r\n".utf8), "\(name)")
            #expect(try blockedClients(admin) == 0, "\(name)")
        }
    }

    @Test func pauseErrorsAreRedis() throws {
        let servers = try bothServers()
        let cairn = try servers[0].server.client(), redis = try servers[1].server.client()
        for line in ["CLIENT PAUSE -1", "CLIENT PAUSE abc", "CLIENT PAUSE abc foo", "CLIENT PAUSE 10 write extra",
                     "CLIENT PAUSE 0 WRITE", "CLIENT UNPAUSE", "CLIENT UNPAUSE now"] {
            #expect(try cairn.send(line) == (try redis.send(line)), "\(line)")
        }
    }

    @Test func noKeyExpiresDuringAPause() throws {
        for (name, srv) in try bothServers() {
            let c = try srv.client()
            #expect(try c.send("MULTI") == "+OK\r\n")
            _ = try c.send("SET foo bar PX 10")
            _ = try c.send("SET bar foo PX 10")
            _ = try c.send("CLIENT PAUSE 60000 WRITE")
            #expect(try c.send("EXEC") == "*3\r\n+OK\r\n+OK\r\n+OK\r\n", "\(name)")
            // Logically expired: reads answer as if the keys were gone...
            #expect(try waitFor(timeout: 10) { try c.send("GET foo") == "$-1\r\n" && (try c.send("EXISTS bar")) == ":0\r\n" }, "\(name)")
            // ...but neither read nor the active cycle deleted them.
            usleep(300_000)
            #expect(try c.infoField("everything", "expired_keys") == "0", "\(name)")
            #expect(try c.send("DBSIZE") == ":2\r\n", "\(name)")
            #expect(try c.send("CLIENT UNPAUSE") == "+OK\r\n")
            _ = try c.send("GET foo")
            _ = try c.send("GET bar")
            #expect(try c.infoField("everything", "expired_keys") == "2", "\(name)")
            #expect(try c.send("DBSIZE") == ":0\r\n", "\(name)")
        }
    }

    @Test func htstatsTextIsRedis() throws {
        let servers = try bothServers()
        let cairn = try servers[0].server.client(), redis = try servers[1].server.client()
        func same(_ line: String) throws {
            let a = try cairn.send(line), b = try redis.send(line)
            #expect(a == b, "\(line)")
        }
        try same("DEBUG HTSTATS 0")
        try same("DEBUG HTSTATS 16")
        try same("DEBUG HTSTATS -1")
        try same("DEBUG HTSTATS x")
        try same("DEBUG HTSTATS-KEY missing")
        // One key: its chain statistics do not depend on the hash function.
        for c in [cairn, redis] { _ = try c.send("SET k v PX 100000") }
        try same("DEBUG HTSTATS 0")
        #expect(try cairn.send("DEBUG HTSTATS 0 FULL") == (try redis.send("DEBUG HTSTATS 0")))
        for c in [cairn, redis] {
            _ = try c.send("HSET small f v")
            _ = try c.send("RPUSH list a")
        }
        try same("DEBUG HTSTATS-KEY small")
        try same("DEBUG HTSTATS-KEY list")
        try same("DEBUG HTSTATS-KEY k")
        // A hashtable set and hash: the same final table size and element count (the slots depend on
        // the hash function, and either server may still be rehashing).
        for c in [cairn, redis] {
            _ = try c.send(["SADD", "s"].map { Array($0.utf8) } + (0 ..< 100).map { Array("m\($0)".utf8) })
            _ = try c.send(["HSET", "h"].map { Array($0.utf8) } + (0 ..< 600).flatMap { [Array("f\($0)".utf8), Array("v".utf8)] })
        }
        for key in ["s", "h"] {
            let a = parseStats(text(try cairn.send("DEBUG HTSTATS-KEY \(key)")))
            let b = parseStats(text(try redis.send("DEBUG HTSTATS-KEY \(key)")))
            #expect(a.count == 1 || a.count == 2, "\(a)")
            #expect(a.last?.size == b.last?.size && a.reduce(0) { $0 + $1.elements } == (key == "s" ? 100 : 600), "\(a) \(b)")
            #expect(b.reduce(0) { $0 + $1.elements } == (key == "s" ? 100 : 600), "\(b)")
            for t in a {
                // The distribution covers every bucket and every element.
                #expect(t.distribution.reduce(0) { $0 + $1.buckets } == t.size, "\(t)")
                #expect(t.distribution.reduce(0) { $0 + $1.length * $1.buckets } == t.elements, "\(t)")
            }
        }
    }

    /// Redis's "Don't rehash if redis has child process": with a BGSAVE child running, a full keyspace
    /// table does not grow; once the child is gone, the next insert grows it.
    @Test func noResizeWhileAChildRuns() throws {
        for (name, srv) in try bothServers(["--rdb-key-save-delay", "1000000"]) {
            let c = try srv.client()
            #expect(try c.send("SELECT 9") == "+OK\r\n")
            #expect(try c.send("DEBUG POPULATE 4096") == "+OK\r\n")
            // Redis sizes the table for the count up front; Cairn grows it: wait for its rehash to end.
            #expect(try waitFor(timeout: 10) { !text(try c.send("DEBUG HTSTATS 9")).contains("rehashing target") }, "\(name)")
            #expect(text(try c.send("DEBUG HTSTATS 9")).contains(" table size: 4096\n"), "\(name)")
            #expect(try c.send("BGSAVE").hasPrefix("+Background saving started"), "\(name)")
            #expect(try waitFor(timeout: 10) { try c.infoField("everything", "rdb_bgsave_in_progress") == "1" })
            #expect(try c.send("MSET k1 v1 k2 v2") == "+OK\r\n")
            let during = text(try c.send("DEBUG HTSTATS 9"))
            #expect(!during.contains("table size: 8192"), "\(name): \(during)")
            #expect(!during.contains("rehashing target"), "\(name): \(during)")
            // Kill the child (SIGKILL, as the Redis test does) and wait for the server to reap it.
            let pid = srv.process.processIdentifier
            let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
            let childPIDs = children.split(separator: " ").compactMap { Int32($0) }
            #expect(!childPIDs.isEmpty, "\(name): no child")
            for p in childPIDs { kill(p, SIGKILL) }
            #expect(try waitFor(timeout: 10) { try c.infoField("everything", "rdb_bgsave_in_progress") == "0" }, "\(name)")
            #expect(try c.send("SET k3 v3") == "+OK\r\n")
            let after = text(try c.send("DEBUG HTSTATS 9"))
            #expect(after.contains("table size: 8192"), "\(name): \(after)")
        }
    }

    /// The scenario of Redis's "SRANDMEMBER with a dict containing long chain", smaller: a set shrunk
    /// while a child runs keeps its big table; once the child is gone a removal starts a shrink;
    /// SRANDMEMBER drives that shrink to its end; removing members in SSCAN order then leaves the rest
    /// in one bucket chain, which SRANDMEMBER still samples evenly.
    @Test func setShrinksLikeRedisDictAroundAChild() throws {
        for (name, srv) in try bothServers(["--rdb-key-save-delay", "2147483647", "--set-max-intset-entries", "0"]) {
            let c = try srv.client()
            func stats() throws -> String { text(try c.send("DEBUG HTSTATS-KEY myset")) }
            func rehashing() throws -> Bool { try stats().contains("rehashing target") }
            func killChild() throws {
                let pid = srv.process.processIdentifier
                let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
                for p in children.split(separator: " ").compactMap({ Int32($0) }) { kill(p, SIGKILL) }
                #expect(try waitFor(timeout: 10) { try c.infoField("everything", "rdb_bgsave_in_progress") == "0" }, "\(name)")
            }
            func removeFirstInScanOrder(_ n: Int) throws {
                var cursor = "0"
                var members: [[UInt8]] = []
                repeat {
                    let reply = try c.send(argv("SSCAN myset \(cursor) COUNT 100"))
                    let parts = String(decoding: reply, as: UTF8.self).split(separator: "\r\n")
                    cursor = String(parts[2])
                    var i = 5
                    while i < parts.count && members.count < n {
                        members.append(Array(parts[i].utf8))
                        i += 2
                    }
                } while cursor != "0" && members.count < n
                _ = try c.send([Array("SREM".utf8), Array("myset".utf8)] + members)
            }
            var sadd: [[UInt8]] = [Array("SADD".utf8), Array("myset".utf8)]
            for i in 0 ..< 100_000 { sadd.append(Array("m:\(i)".utf8)) }
            #expect(try c.send(sadd) == Array(":100000\r\n".utf8))
            while try rehashing() { _ = try c.send("SRANDMEMBER myset 100") }
            #expect(try stats().contains(" table size: 131072\n"), "\(name)")
            #expect(try c.send("BGSAVE").hasPrefix("+Background saving started"))
            try removeFirstInScanOrder(100_000 - 500)
            #expect(try c.send("SCARD myset") == ":500\r\n")
            // No shrink while the child runs.
            let frozen = try stats()
            #expect(frozen.contains(" table size: 131072\n") && !frozen.contains("rehashing target"), "\(name): \(frozen)")
            try killChild()
            _ = try c.send("SPOP myset 1")
            let shrinking = try stats()
            #expect(shrinking.contains("rehashing target"), "\(name): \(shrinking)")
            // With a child again, the shrink (131072 to 512, past the force ratio) still goes on.
            #expect(try c.send("BGSAVE").hasPrefix("+Background saving started"))
            var picks = 0
            while try rehashing() && picks < 100_000 { _ = try c.send("SRANDMEMBER myset 1"); picks += 1 }
            let shrunk = try stats()
            #expect(shrunk.contains(" table size: 512\n"), "\(name): \(shrunk)")
            try killChild()
            try removeFirstInScanOrder(499 - 30)
            #expect(try c.send("SCARD myset") == ":30\r\n")
            let s = try stats()
            #expect(s.contains(" different slots: 1\n") && s.contains(" max chain length: 30\n"), "\(name): \(s)")
            // Still sampled evenly: every member turns up.
            var seen = Set<String>()
            for _ in 0 ..< 300 {
                let r = String(decoding: try c.send(argv("SRANDMEMBER myset 10")), as: UTF8.self)
                for part in r.split(separator: "\r\n") where part.hasPrefix("m:") { seen.insert(String(part)) }
            }
            #expect(seen.count == 30, "\(name): \(seen.count)")
        }
    }
}
