// Failover managed by Debian's redis-sentinel 7.0, with real processes on loopback: three Sentinels
// monitor a Cairn primary and two replicas (both Cairn, or one Cairn and one Redis); a writer whose
// every write is followed by `WAIT 1 1000` runs until the primary is killed with SIGKILL; the
// Sentinels promote a replica, reconfigure the other to follow it, answer
// `SENTINEL get-master-addr-by-name` with the new address, and no write WAIT acknowledged is missing
// on the new primary. Also the transaction Sentinel sends to reconfigure a node, compared byte for
// byte with redis-server.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A redis-sentinel process on a free loopback port, monitoring `mymaster`.
final class SentinelProcess {
    let process = Process()
    let port = freeLoopbackPort()
    let dir: String

    static let path = "/usr/bin/redis-sentinel"
    static var available: Bool { access(path, X_OK) == 0 }

    /// Monitors 127.0.0.1:`primaryPort` with a quorum of 2, down after 2 s (1 s is short enough for a
    /// loaded machine to make a just-promoted primary look down and fail over twice), a 10 s failover timeout.
    init(primaryPort: Int) throws {
        dir = try makeTempDir("cairn-sentinel")
        let conf = """
            port \(port)
            bind 127.0.0.1
            daemonize no
            dir \(dir)
            logfile \(dir)/sentinel.log
            sentinel monitor mymaster 127.0.0.1 \(primaryPort) 2
            sentinel down-after-milliseconds mymaster 2000
            sentinel failover-timeout mymaster 10000
            sentinel parallel-syncs mymaster 2

            """
        try conf.write(toFile: dir + "/sentinel.conf", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: SentinelProcess.path)
        process.arguments = [dir + "/sentinel.conf"]
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitFor("sentinel on port \(port) answers", timeout: 20) {
            guard process.isRunning else { throw TestFailure(description: "sentinel exited: \(log())") }
            return (try? RawClient(port: port).send("PING")) == "+PONG\r\n"
        }
    }

    func client() throws -> RawClient { try RawClient(port: port) }

    func log() -> String { (try? String(contentsOfFile: dir + "/sentinel.log", encoding: .utf8)) ?? "" }

    /// SENTINEL MASTER mymaster as field → value.
    func masterState() throws -> [String: String] { configPairs(try client().send(argv("SENTINEL MASTER mymaster"))) }

    /// The port SENTINEL get-master-addr-by-name answers for mymaster.
    func primaryPort() throws -> Int? {
        let reply = try client().send(argv("SENTINEL get-master-addr-by-name mymaster"))
        let text = String(decoding: reply, as: UTF8.self).split(separator: "\r\n")
        // *2 $9 127.0.0.1 $<n> <port>
        guard text.count == 5, text[2] == "127.0.0.1" else { return nil }
        return Int(text[4])
    }

    deinit {
        // Sentinels keep nothing worth a clean shutdown.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        removeTree(dir)
    }
}

/// The writes a writer thread made and the ones its WAIT acknowledged.
final class AcknowledgedWrites: @unchecked Sendable {
    private let lock = NSLock()
    private var acked: [Int] = []
    private var attempted = 0
    private var finished = false
    private var stopReason = ""

    func record(_ i: Int, acknowledged: Bool) {
        lock.withLock {
            attempted = i + 1
            if acknowledged { acked.append(i) }
        }
    }
    func finish(_ why: String) { lock.withLock { finished = true; stopReason = why } }
    var acknowledged: [Int] { lock.withLock { acked } }
    var attempts: Int { lock.withLock { attempted } }
    var done: Bool { lock.withLock { finished } }
    var reason: String { lock.withLock { stopReason } }

    /// Starts a thread that writes `w:<i>` to 127.0.0.1:`port`, each followed by WAIT `replicas` 1000,
    /// until the connection fails (the primary was killed).
    static func startWriter(port: Int, replicas: Int) -> AcknowledgedWrites {
        let log = AcknowledgedWrites()
        let thread = Thread {
            do {
                let c = try RawClient(port: port, timeout: 5)
                var i = 0
                while true {
                    guard try c.send("SET w:\(i) \(i)") == "+OK\r\n" else { log.finish("SET refused"); return }
                    let reply = try c.send("WAIT \(replicas) 1000")
                    // (":n\r\n"; "\r\n" is one Character, so split rather than drop.)
                    let n = reply.hasPrefix(":") ? Int(reply.dropFirst().split(separator: "\r\n").first ?? "") ?? 0 : 0
                    log.record(i, acknowledged: n >= replicas)
                    i += 1
                }
            } catch {
                log.finish("\(error)")
            }
        }
        thread.start()
        return log
    }
}

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn && SentinelProcess.available), .serialized)
struct SentinelTests {
    /// `redisReplica`: the second replica is Debian's redis-server instead of Cairn. `preferRedis`: the
    /// Cairn replica has a worse replica-priority, so Sentinel promotes the Redis one and the Cairn
    /// replica must follow Redis; a write then counts as acknowledged only once both replicas have it
    /// (WAIT 2), since Sentinel picks by priority before offset.
    func failover(redisReplica: Bool, preferRedis: Bool = false) throws {
        let primary = try ServerProcess(cairn: true, args: ["--repl-diskless-sync", "no"])
        let replicaOf = ["--replicaof", "127.0.0.1", String(primary.port)]
        let replicas = [try ServerProcess(cairn: true, args: replicaOf + (preferRedis ? ["--replica-priority", "200"] : [])),
                        try ServerProcess(cairn: !redisReplica, args: replicaOf)]
        let pc = try primary.client()
        try waitFor("two replicas online", timeout: 30) {
            try pc.send("INFO replication").components(separatedBy: "state=online").count == 3
        }
        let sentinels = try (0 ..< 3).map { _ in try SentinelProcess(primaryPort: primary.port) }
        func dump() -> String {
            sentinels.enumerated().map { "--- sentinel \($0.offset)\n" + $0.element.log() }.joined(separator: "\n")
                + "\n--- primary\n" + primary.log()
                + replicas.enumerated().map { "\n--- replica \($0.offset) (\($0.element.isCairn ? "cairn" : "redis") :\($0.element.port))\n" + $0.element.log() }.joined()
        }
        do {
            // Every Sentinel knows the two replicas and the two other Sentinels before the failure.
            try waitFor("sentinels discover each other and the replicas", timeout: 40, every: 0.25) {
                try sentinels.allSatisfy { s in
                    let m = try s.masterState()
                    return m["num-slaves"] == "2" && m["num-other-sentinels"] == "2" && m["flags"] == "master"
                }
            }
            let writes = AcknowledgedWrites.startWriter(port: primary.port, replicas: preferRedis ? 2 : 1)
            try waitFor("acknowledged writes", timeout: 20) { writes.acknowledged.count >= 300 || writes.done }
            #expect(!writes.done, "the writer stopped before the kill: \(writes.reason)")
            primary.stopping = true
            kill(primary.process.processIdentifier, SIGKILL)
            try waitFor("the writer sees the primary gone", timeout: 10) { writes.done }
            let acked = writes.acknowledged
            #expect(acked.count >= 300)
            // Where each replica's copy of the stream ended (it stands still once the primary is dead).
            var offsetAtKill: [Int: Int] = [:]
            for r in replicas { offsetAtKill[r.port] = try r.client().infoInteger("replication", "master_repl_offset") }

            // The Sentinels agree on a promoted replica.
            var newPort = 0
            try waitFor("Sentinel reports a new primary", timeout: 45, every: 0.25) {
                let ports = try sentinels.map { try $0.primaryPort() }
                guard let first = ports[0], first != primary.port, ports.allSatisfy({ $0 == first }) else { return false }
                newPort = first
                return true
            }
            let promoted = try #require(replicas.first { $0.port == newPort })
            if preferRedis { #expect(!promoted.isCairn, "Sentinel promoted the replica with the worse priority") }
            let other = try #require(replicas.first { $0.port != newPort })
            // (A new connection for each look: Sentinel's reconfiguration kills every normal client.)
            func follows(_ node: ServerProcess) throws -> Bool {
                guard let c = try? node.client(), let info = try? c.send("INFO replication") else { return false }
                return infoField(info, "master_port") == String(newPort) && infoField(info, "master_link_status") == "up"
            }
            #expect(try promoted.client().infoField("replication", "role") == "master")
            // Sentinel reconfigures the other replica to follow the promoted one.
            try waitFor("the other replica follows the new primary", timeout: 30, every: 0.25) { try follows(other) }
            try waitFor("sentinels end the failover", timeout: 30, every: 0.25) {
                try sentinels.allSatisfy { s in
                    let m = try s.masterState()
                    return m["port"] == String(newPort) && m["flags"] == "master" && m["failover-state"] == nil
                }
            }
            let nc = try promoted.client(), oc = try other.client()
            // The other replica continued from the promoted one's history: a partial resync, unless it
            // had received more of the dead primary's stream than the promoted one (its history is then
            // not a prefix of the new primary's, and Redis too answers with a full sync; this happens
            // when Sentinel promotes by priority, not offset).
            if let o = offsetAtKill[other.port], let p = offsetAtKill[newPort], o > p {
                #expect(try nc.infoInteger("stats", "sync_partial_ok") + nc.infoInteger("stats", "sync_full") == 1)
            } else {
                #expect(try nc.infoInteger("stats", "sync_partial_ok") == 1)
                #expect(try nc.infoInteger("stats", "sync_full") == 0)
            }
            // Nothing WAIT acknowledged is lost.
            var missing: [Int] = []
            for i in acked where try nc.send("GET w:\(i)") != "$\(String(i).utf8.count)\r\n\(i)\r\n" { missing.append(i) }
            #expect(missing.isEmpty, "\(missing.count) of \(acked.count) acknowledged writes missing on the new primary, e.g. \(missing.prefix(5))")
            // The new primary takes writes and the other replica gets them.
            #expect(try nc.send("SET after failover") == "+OK\r\n")
            #expect(try nc.send("WAIT 1 5000") == ":1\r\n")
            #expect(try oc.send("GET after") == "$8\r\nfailover\r\n")
            // The old primary comes back empty on its old port: Sentinel turns it into a replica of the
            // new one, and it gets the data.
            let reborn = try ServerProcess(cairn: true, port: primary.port)
            try waitFor("Sentinel converts the old primary to a replica", timeout: 30, every: 0.25) { try follows(reborn) }
            if let last = acked.last { #expect(try reborn.client().send("GET w:\(last)") == "$\(String(last).utf8.count)\r\n\(last)\r\n") }
            if !missing.isEmpty { Issue.record("logs:\n\(dump())\n--- old primary restarted\n\(reborn.log())") }
            // CAIRN_SENTINEL_LOGS=1 prints every log of a passing run too.
            if ProcessInfo.processInfo.environment["CAIRN_SENTINEL_LOGS"] != nil {
                print("acknowledged \(acked.count) of \(writes.attempts) writes; promoted :\(newPort)\n\(dump())")
            }
        } catch {
            Issue.record("\(error)\nlogs:\n\(dump())")
        }
    }

    @Test func failoverOfCairnPrimaryWithCairnReplicas() throws { try failover(redisReplica: false) }
    @Test func failoverOfCairnPrimaryWithARedisReplica() throws { try failover(redisReplica: true) }
    @Test func failoverToARedisReplicaThatCairnFollows() throws { try failover(redisReplica: true, preferRedis: true) }

    /// The transaction a Sentinel sends to reconfigure a node (MULTI, SLAVEOF, CONFIG REWRITE, CLIENT
    /// KILL TYPE normal and pubsub, EXEC) answers as on redis-server, kills the same clients, and
    /// rewrites the config file with the new replicaof line; then the same with SLAVEOF NO ONE.
    @Test func sentinelReconfigurationTransaction() throws {
        func run(cairn: Bool) throws -> [String] {
            let dir = try makeTempDir("cairn-sentinel-tx")
            defer { removeTree(dir) }
            try "appendonly no\nmin-replicas-to-write 1\nmin-replicas-max-lag 10\n".write(toFile: dir + "/node.conf", atomically: true, encoding: .utf8)
            let node = try ServerProcess(cairn: cairn, dir: dir, configFile: dir + "/node.conf")
            let sentinel = try node.client()
            var out: [String] = []
            for round in 0 ..< 2 {
                let normal = try node.client(), subscriber = try node.client()
                out.append(try sentinel.send("CLIENT SETNAME sentinel-0123abcd-cmd"))
                out.append(try subscriber.send("SUBSCRIBE __sentinel__:hello"))
                out.append(try sentinel.send("PUBLISH __sentinel__:hello 127.0.0.1,26379,0123,0,mymaster,127.0.0.1,6379,0"))
                let targetPort = freeLoopbackPort()
                let target = round == 0 ? "SLAVEOF 127.0.0.1 \(targetPort)" : "SLAVEOF NO ONE"
                for line in ["MULTI", target, "CONFIG REWRITE", "CLIENT KILL TYPE normal", "CLIENT KILL TYPE pubsub", "EXEC"] {
                    out.append(try sentinel.send(line))
                }
                out.append(normal.isClosedByServer() ? "normal client closed" : "normal client open")
                out.append(subscriber.isClosedByServer() ? "subscriber closed" : "subscriber open")
                out.append(try sentinel.send("PING"))
                out.append(try sentinel.send("ROLE").split(separator: "\r\n").prefix(3).joined(separator: " "))
                out.append(try sentinel.send("SCRIPT KILL"))
                // The replicaof line CONFIG REWRITE left, and the INFO fields Sentinel reads.
                out.append(try String(contentsOfFile: dir + "/node.conf", encoding: .utf8).split(separator: "\n")
                    .filter { $0.hasPrefix("replicaof") || $0.hasPrefix("slaveof") }.joined(separator: "\n")
                    .replacingOccurrences(of: String(targetPort), with: "<port>"))
                let info = try sentinel.send("INFO")
                for field in ["role", "master_host", "master_link_status", "master_link_down_since_seconds", "slave_priority",
                              "slave_repl_offset", "replica_announced", "connected_slaves", "min_slaves_good_slaves"] {
                    out.append("\(field)=\(infoField(info, field) ?? "absent")")
                }
                out.append("run_id length \(infoField(info, "run_id")?.count ?? 0)")
            }
            return out
        }
        let redis = try run(cairn: false), cairn = try run(cairn: true)
        #expect(cairn.count == redis.count)
        for (c, r) in zip(cairn, redis) { #expect(c == r) }
    }

    /// HELLO's role: master on a primary, replica on a replica.
    @Test func helloRole() throws {
        let p = try ServerProcess(cairn: true)
        let r = try ServerProcess(cairn: true, args: ["--replicaof", "127.0.0.1", String(p.port)])
        #expect(try p.client().send("HELLO 2").contains("$4\r\nrole\r\n$6\r\nmaster\r\n"))
        #expect(try r.client().send("HELLO 2").contains("$4\r\nrole\r\n$7\r\nreplica\r\n"))
        #expect(try r.client().send("HELLO 3").contains("$4\r\nrole\r\n$7\r\nreplica\r\n"))
    }
}
