// MIGRATE between Cairn and Redis 7.0 in both directions: keys of every type arrive with their
// values, TTLs and encodings, the source deletes them (or keeps them with COPY), errors read as
// Redis's (NOKEY, BUSYKEY from the target, IOERR for a closed port), and INFO's
// migrate_cached_sockets counts the cached connection as Redis does.
import Foundation
import Testing
import TestSupport

private let setup = [
    "SET str hello", "SET num 12345", "RPUSH list a b c", "HSET hash f1 v1 f2 v2", "SADD iset 1 2 3", "SADD set a b",
    "ZADD zset 1 a 2 b", "XADD stream 1-1 f v", "PEXPIRE str 100000", "SET big \(String(repeating: "x", count: 300))",
]
private let keys = ["str", "num", "list", "hash", "iset", "set", "zset", "stream", "big"]

private func field(_ info: String, _ name: String) -> String? {
    for line in info.split(separator: "\r\n") where line.hasPrefix(name + ":") { return String(line.dropFirst(name.count + 1)) }
    return nil
}

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct MigrateTests {
    /// Moves every key from `from` to `to` with one MIGRATE KEYS, then checks what arrived.
    func migrateAll(from: ServerProcess, to: ServerProcess) throws {
        let src = try from.client(), dst = try to.client()
        for line in setup { _ = try src.send(line) }
        var expected: [String: (dump: String, encoding: String)] = [:]
        for k in keys {
            // A hashtable set's DUMP lists members in table order, which differs between servers.
            let value = k == "set" ? "SORT \(k) ALPHA" : "DUMP \(k)"
            expected[k] = (try src.send(value), try src.send("OBJECT ENCODING \(k)"))
        }
        #expect(try src.send("MIGRATE 127.0.0.1 \(to.port) \"\" 0 5000 KEYS \(keys.joined(separator: " "))") == "+OK\r\n")
        for k in keys {
            #expect(try src.send("EXISTS \(k)") == ":0\r\n", "\(k) left on the source")
            #expect(try dst.send(k == "set" ? "SORT \(k) ALPHA" : "DUMP \(k)") == expected[k]!.dump, "\(k) value")
            #expect(try dst.send("OBJECT ENCODING \(k)") == expected[k]!.encoding, "\(k) encoding")
        }
        let ttl = try dst.send("PTTL str")
        let ms = Int(ttl.dropFirst().trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(ms > 90_000 && ms <= 100_000, "TTL \(ttl)")
        #expect(try dst.send("PTTL num") == ":-1\r\n")
        #expect(field(try src.send("INFO stats"), "migrate_cached_sockets") == "1")
        // Back again with COPY and REPLACE into database 2, over the same cached connection.
        #expect(try dst.send("MIGRATE 127.0.0.1 \(from.port) str 2 5000 COPY") == "+OK\r\n")
        #expect(try dst.send("EXISTS str") == ":1\r\n")
        #expect(try dst.send("MIGRATE 127.0.0.1 \(from.port) str 2 5000 COPY") == "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n")
        #expect(try dst.send("MIGRATE 127.0.0.1 \(from.port) str 2 5000 COPY REPLACE") == "+OK\r\n")
        _ = try src.send("SELECT 2")
        #expect(try src.send("GET str") == "$5\r\nhello\r\n")
        #expect(try src.send("MIGRATE 127.0.0.1 \(to.port) nosuch 0 1000") == "+NOKEY\r\n")
    }

    @Test func cairnToRedis() throws {
        try migrateAll(from: try ServerProcess(), to: try ServerProcess(cairn: false))
    }

    @Test func redisToCairn() throws {
        try migrateAll(from: try ServerProcess(cairn: false), to: try ServerProcess())
    }

    /// The same error replies as Redis for bad arguments and unreachable or refusing targets.
    @Test func errorsLikeRedis() throws {
        let cairn = try ServerProcess(), redis = try ServerProcess(cairn: false)
        let closed = freeLoopbackPort()
        let lines = [
            "SET k v", "MIGRATE 127.0.0.1 \(closed) k 0 200", "MIGRATE 127.0.0.1 \(closed) k 0 200 KEYS k",
            "MIGRATE 127.0.0.1 \(closed) \"\" 0 200 KEYS nosuch", "MIGRATE 127.0.0.1 \(closed) k x 200",
            "MIGRATE 127.0.0.1 \(closed) k 0 200 BOGUS", "MIGRATE 127.0.0.1 \(closed) k 0 200 AUTH",
            "MIGRATE 127.0.0.1 {peer} k 0 1000 AUTH secret", "MIGRATE 127.0.0.1 {peer} k 99 1000 COPY",
            "EXISTS k", "RESTORE-ASKING r 0 \"\"", "INFO stats",
        ]
        var out: [[String]] = [[], []]
        for (i, (server, peer)) in [(cairn, redis), (redis, cairn)].enumerated() {
            let c = try server.client()
            for line in lines {
                let reply = try c.send(line.replacingOccurrences(of: "{peer}", with: String(peer.port)))
                out[i].append(line == "INFO stats" ? field(reply, "migrate_cached_sockets") ?? "missing" : reply)
            }
        }
        #expect(out[0] == out[1])
        #expect(out[1][1] == "-IOERR error or timeout writing to target instance\r\n")
    }
}
