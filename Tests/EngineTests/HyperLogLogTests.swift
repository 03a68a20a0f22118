// HyperLogLog commands against a real redis-server 7.0.15: replies (RESP2 and RESP3) and errors, and
// the HLL bytes themselves (GET) after every step: sparse opcodes, promotion to dense at
// hll-sparse-max-bytes and past the sparse value range, PFMERGE of sparse and dense inputs, PFCOUNT of
// several keys, corrupt HLLs written with SET/SETRANGE, and a DUMP payload of Redis's HLLs restored here.
import Foundation
import Testing
@testable import Engine
import StorageFormat
import TestSupport

@Suite struct HyperLogLogTests {
    /// An element whose hash has 33 zeros above the register index (a register value past the sparse
    /// VAL range of 32), found by searching "x0", "x1", ... with Redis's MurmurHash64A.
    static let element33 = "x4433771783"

    @Test func commandsMatchRedis() throws {
        try #require(RedisOracle.available)
        for resp in ["!resp2", "!resp3"] {
            try compareKeyspace(resp + "\n" + #"""
            PFADD hll
            EXISTS hll
            GET hll
            OBJECT ENCODING hll
            PFCOUNT hll
            GET hll
            PFADD hll a b c
            GETRANGE hll 15 15
            PFADD hll a b c
            PFCOUNT hll
            GETRANGE hll 15 15
            PFADD hll a b c
            GETRANGE hll 15 15
            PFADD hll 1 2 3
            GETRANGE hll 15 15
            PFADD hll ""
            GET hll
            PFCOUNT hll
            GET hll
            PFCOUNT nokey
            PFCOUNT nokey nokey2
            PFCOUNT hll nokey
            PFADD h2 b c d e f g
            PFCOUNT hll h2
            PFCOUNT h2 hll h2
            PFMERGE dest hll h2
            GET dest
            PFCOUNT dest
            PFMERGE dest
            PFMERGE newdest
            GET newdest
            PFMERGE h2 hll
            GET h2
            PFMERGE nokey3 nokey4
            EXISTS nokey3 nokey4
            PFDEBUG ENCODING hll
            PFDEBUG encoding hll
            PFDEBUG DECODE hll
            PFDEBUG DECODE newdest
            PFDEBUG TODENSE hll
            PFDEBUG TODENSE hll
            PFDEBUG ENCODING hll
            PFDEBUG DECODE hll
            GET hll
            PFDEBUG GETREG h2
            GET h2
            PFDEBUG GETREG h2
            PFDEBUG FOO h2
            PFDEBUG FOO nokey
            PFDEBUG GETREG nokey
            PFCOUNT hll
            PFCOUNT hll h2 dest
            PFADD hll x y z
            GET hll
            PFCOUNT hll
            PFMERGE m1 hll h2
            PFDEBUG ENCODING m1
            GET m1
            SET str bar
            PFADD str a
            PFCOUNT str
            PFCOUNT hll str
            PFMERGE str hll
            PFMERGE hll str
            PFDEBUG ENCODING str
            SET int 123456789012345678
            PFADD int a
            PFCOUNT int
            SET short HYLL
            PFADD short a
            RPUSH list a
            PFADD list a
            PFCOUNT list
            PFCOUNT hll list
            PFMERGE hll list
            PFMERGE list hll
            PFDEBUG ENCODING list
            PFADD
            PFCOUNT
            PFMERGE
            PFDEBUG ENCODING
            PFDEBUG ENCODING a b
            PFSELFTEST x
            OBJECT ENCODING hll
            SET embstr "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
            OBJECT ENCODING embstr
            PFCOUNT embstr
            OBJECT ENCODING embstr
            GET embstr
            PFADD embstr q
            OBJECT ENCODING embstr
            GET embstr
            SET hll2 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
            SET ttl x
            DEL ttl
            PFADD ttl a
            EXPIRE ttl 1000
            PFADD ttl b
            PFMERGE ttl hll
            TTL ttl
            PFCOUNT ttl
            TTL ttl
            """#)
        }
    }

    /// PFADD of the same elements leaves the same bytes, step by step, through promotion to dense at
    /// several hll-sparse-max-bytes settings (including 0: dense on the first split).
    @Test(arguments: [3000, 700, 40, 0])
    func promotionAtThreshold(maxBytes: Int) throws {
        try #require(RedisOracle.available)
        var config = EngineConfig()
        config.hllSparseMaxBytes = maxBytes
        let d = try DualRunner(config: config)
        _ = try d.redis.run(argv("CONFIG SET hll-sparse-max-bytes \(maxBytes)"))
        var i = 0
        var promotedAt = -1
        while i < 4000 {
            // One element at a time near the threshold, then batches.
            let batch = i < 2500 ? 1 : 50
            try d.same(argv("PFADD h " + (0 ..< batch).map { "e\(i + $0)" }.joined(separator: " ")))
            i += batch
            let r = try d.same(argv("GET h"))
            if promotedAt < 0 && r.count > 12000 { promotedAt = i }
            if i % 97 == 0 { try d.same(argv("PFCOUNT h")) }
        }
        try d.same(argv("PFCOUNT h"))
        try d.same(argv("PFDEBUG ENCODING h"))
        #expect(promotedAt > 0)
    }

    /// A register value past 32 promotes a sparse HLL even when it is small.
    @Test func promotionPastSparseValueRange() throws {
        try #require(RedisOracle.available)
        let d = try DualRunner()
        try d.script("""
        PFADD h a b c
        PFDEBUG ENCODING h
        PFADD h \(Self.element33)
        PFDEBUG ENCODING h
        GET h
        PFCOUNT h
        PFADD s a
        PFMERGE s h
        PFDEBUG ENCODING s
        GET s
        PFADD n \(Self.element33)
        PFDEBUG ENCODING n
        GET n
        PFCOUNT n h s
        """)
    }

    /// PFMERGE of sparse and dense inputs into missing, sparse and dense destinations.
    @Test func mergeSparseAndDense() throws {
        try #require(RedisOracle.available)
        let d = try DualRunner()
        func add(_ key: String, _ range: Range<Int>, _ prefix: String) throws {
            var j = range.lowerBound
            while j < range.upperBound {
                let end = min(j + 200, range.upperBound)
                try d.same(argv("PFADD \(key) " + (j ..< end).map { "\(prefix)\($0)" }.joined(separator: " ")))
                j = end
            }
        }
        try add("s1", 0 ..< 50, "a")
        try add("s2", 30 ..< 300, "a")
        try add("d1", 0 ..< 5000, "b")
        try add("d2", 2000 ..< 9000, "b")
        try d.script("""
        PFDEBUG ENCODING s1
        PFDEBUG ENCODING s2
        PFDEBUG ENCODING d1
        PFMERGE m1 s1 s2
        GET m1
        PFDEBUG ENCODING m1
        PFMERGE m2 s1 d1
        GET m2
        PFDEBUG ENCODING m2
        PFMERGE m3 d1 d2 s2
        GET m3
        PFMERGE s1 s2
        GET s1
        PFMERGE s2 d2
        GET s2
        PFDEBUG ENCODING s2
        PFMERGE d1 s1
        GET d1
        PFCOUNT m1
        PFCOUNT m2
        PFCOUNT m3
        PFCOUNT s1 s2 d1 d2 m1 m2 m3
        PFCOUNT s1 nokey
        PFCOUNT d1 d2
        """)
    }

    /// Hand-made sparse and dense strings (SET), valid and corrupt, through every command.
    @Test func corruptHLLsMatchRedis() throws {
        try #require(RedisOracle.available)
        let header = "HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80"
        let bodies = [
            "", "\\x7f\\xff", "\\x7f\\xff\\x80", "\\x7f\\xff\\x00", "\\x7f\\xff\\x40\\x00", "\\x7f\\xff\\x40",
            "\\x40", "\\x7e\\x7f\\x83", "\\x7f\\xfe\\x80\\x80", "\\x80\\x7f\\xfe\\x00", "\\x7f\\xfe\\x84",
            "\\x67\\x0f\\x84\\x58\\xee", "\\x3f\\x3f\\x7f\\x7f", "\\xff\\xff\\xff\\xff", "\\x00\\x7f\\xfe",
            "\\x40\\x00\\x7f\\xfe", "\\x81\\x7f\\xfd\\x81",
        ]
        let d = try DualRunner()
        for (n, body) in bodies.enumerated() {
            let value = "\"" + header + body + "\""
            try d.script("""
            SET k\(n) \(value)
            PFCOUNT k\(n)
            GET k\(n)
            PFCOUNT k\(n) nokey
            PFMERGE m\(n) k\(n)
            EXISTS m\(n)
            GET m\(n)
            PFDEBUG DECODE k\(n)
            SET k\(n) \(value)
            PFDEBUG TODENSE k\(n)
            GET k\(n)
            SET k\(n) \(value)
            PFDEBUG GETREG k\(n)
            SET k\(n) \(value)
            PFADD k\(n) a b c d e f g h i j
            GET k\(n)
            PFCOUNT k\(n)
            SET k\(n) \(value)
            PFADD k\(n) \(HyperLogLogTests.element33)
            GET k\(n)
            """)
        }
        try d.script("""
        PFADD h a b c
        SETRANGE h 0 0123
        PFCOUNT h
        PFADD h x
        DEL h
        PFADD h a b c
        SETRANGE h 4 x
        PFCOUNT h
        DEL h
        PFADD h a b c
        SETRANGE h 4 "\\x00"
        PFCOUNT h
        PFMERGE x h
        DEL h
        PFADD h a b c
        APPEND h hello
        PFCOUNT h
        PFADD h z
        GET h
        SET h "HYLL\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
        PFCOUNT h
        SET h "HYLL\\x01\\x00\\x00"
        PFCOUNT h
        SET h "HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
        PFCOUNT h
        PFADD h a
        SET h "HYLL\\x01\\x00\\x00\\x00\\x05\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff"
        PFCOUNT h
        GET h
        """)
    }

    /// Random HLLs corrupted at random bytes (Redis's own fuzz test, compared byte for byte).
    @Test func fuzzedCorruptionMatchesRedis() throws {
        try #require(RedisOracle.available)
        let d = try DualRunner()
        var rng = TestRNG(seed: 42)
        for trial in 0 ..< 150 {
            _ = try d.both(argv("DEL h"))
            let count = Int(rng.next() % 3000)
            var args = argv("PFADD h")
            for _ in 0 ..< count { args.append(Array("\(rng.next() % 1_000_000)".utf8)) }
            try d.same(args, "PFADD (\(count) elements)")
            let length = bulk(try d.redis.run(argv("GET h")))?.count ?? 16
            for _ in 0 ..< 5 {
                let pos = Int(rng.next() % UInt64(length))
                try d.same([Array("SETRANGE".utf8), Array("h".utf8), Array("\(pos)".utf8), [UInt8(truncatingIfNeeded: rng.next())]])
                if rng.next() % 2 == 0 { break }
            }
            try d.same(argv("PFCOUNT h"), "trial \(trial): PFCOUNT")
            try d.same(argv("PFCOUNT h nokey"), "trial \(trial): PFCOUNT of two")
            try d.same(argv("PFADD h p q r s t \(trial)"), "trial \(trial): PFADD")
            try d.same(argv("GET h"), "trial \(trial): GET")
            try d.same(argv("PFMERGE m h"), "trial \(trial): PFMERGE")
            try d.same(argv("GET m"), "trial \(trial): GET m")
        }
    }

    /// The estimator over cardinalities from 1 to 200000: PFCOUNT equal to Redis's at every step
    /// (sparse, dense, and of several keys).
    @Test func countsMatchRedisAcrossCardinalities() throws {
        try #require(RedisOracle.available)
        let d = try DualRunner()
        var n = 0
        var step = 1
        while n < 200_000 {
            var args = argv("PFADD big")
            for j in n ..< n + step { args.append(Array("el:\(j)".utf8)) }
            try d.same(args, "PFADD \(n)..<\(n + step)")
            n += step
            try d.same(argv("PFCOUNT big"), "PFCOUNT at \(n)")
            if n % 3 == 0 { try d.same(argv("PFADD other o\(n)")) }
            try d.same(argv("PFCOUNT big other"), "PFCOUNT of two at \(n)")
            step = min(step * 2, 10000)
        }
        try d.same(argv("GET big"))
        try d.same(argv("GET other"))
    }

    /// A DUMP payload of an HLL that real Redis built restores here and counts the same, sparse and
    /// dense; the restored bytes equal Redis's, and PFADD then goes on identically.
    @Test func redisDumpRestoresAndCounts() throws {
        try #require(RedisOracle.available)
        let d = try DualRunner()
        for (key, n) in [("sparse", 300), ("dense", 8000)] {
            var args = argv("PFADD \(key)")
            for j in 0 ..< n { args.append(Array("\(key)-\(j)".utf8)) }
            _ = try d.redis.run(args)
            let count = try d.redis.run(argv("PFCOUNT \(key)"))
            let payload = try #require(bulk(try d.redis.run(argv("DUMP \(key)"))))
            let restored = d.cairn.run([Array("RESTORE".utf8), Array(key.utf8), Array("0".utf8), payload])
            #expect(String(decoding: restored, as: UTF8.self) == "+OK\r\n")
            try d.same(argv("GET \(key)"), "GET \(key) after RESTORE")
            #expect(d.cairn.run(argv("PFCOUNT \(key)")) == count)
            try d.same(argv("PFDEBUG ENCODING \(key)"))
            try d.same(argv("PFADD \(key) one more element"))
            try d.same(argv("GET \(key)"))
            try d.same(argv("PFCOUNT \(key)"))
            // And Cairn's DUMP of it restores into Redis with the same bytes.
            let mine = try #require(bulk(d.cairn.run(argv("DUMP \(key)"))))
            _ = try d.redis.run([Array("RESTORE".utf8), Array("\(key)-back".utf8), Array("0".utf8), mine])
            #expect(try d.redis.run(argv("GET \(key)-back")) == d.cairn.run(argv("GET \(key)")))
        }
    }

    /// PFCOUNT that refreshes the cached cardinality is propagated (it changed the value); one that
    /// reads a valid cache, or counts several keys, is not. PFADD/PFMERGE publish "pfadd".
    @Test func propagationAndNotifications() throws {
        let h = EngineHarness()
        var log: [String] = []
        h.engine.propagationSink = { _, args in log.append(args.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")) }
        h.run("PFADD h a b c")
        h.run("PFCOUNT h")
        h.run("PFCOUNT h")
        h.run("PFCOUNT h h2")
        h.run("PFADD h a")
        h.run("PFMERGE m h")
        h.run("PFDEBUG TODENSE m")
        h.run("PFDEBUG TODENSE m")
        h.run("PFDEBUG ENCODING m")
        #expect(log == ["PFADD h a b c", "PFCOUNT h", "PFMERGE m h", "PFDEBUG TODENSE m"])
    }

    /// PFADD and PFCOUNT change the keyspace's bytes in place: a dense PFADD that raises no register
    /// writes nothing (no propagation, the cached count stays valid), one that does invalidates the
    /// cache, and a value shared with another key (COPY) is not changed through it.
    @Test func inPlaceUpdates() {
        let h = EngineHarness()
        var log: [String] = []
        h.engine.propagationSink = { _, args in log.append(args.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")) }
        h.run("PFADD h a b c")
        h.run("PFDEBUG TODENSE h")
        #expect(h.run("PFCOUNT h") == ":3\r\n")
        let before = h.run("GET h")
        #expect(h.run("PFADD h a b") == ":0\r\n")
        #expect(h.run("PFCOUNT h") == ":3\r\n")
        #expect(h.run("GET h") == before)
        h.run("COPY h h2")
        #expect(h.run("PFADD h d e f g") == ":1\r\n")
        #expect(h.run("PFCOUNT h") == ":7\r\n")
        #expect(h.run("GET h2") == before)
        #expect(h.run("PFCOUNT h2") == ":3\r\n")
        #expect(h.run("PFCOUNT h h2") == ":7\r\n")
        #expect(log == ["PFADD h a b c", "PFDEBUG TODENSE h", "PFCOUNT h", "COPY h h2", "PFADD h d e f g", "PFCOUNT h"])
    }

    @Test func selfTestPasses() {
        let h = EngineHarness()
        #expect(h.run("PFSELFTEST") == "+OK\r\n")
    }

    /// The register index and value each element sets, as Redis's PFDEBUG GETREG shows them.
    @Test func registerChoiceMatchesRedis() throws {
        try #require(RedisOracle.available)
        let redis = try RedisOracle()
        for element in ["hello", "", "a", "1234567", "12345678", "123456789", Self.element33] {
            _ = try redis.run(argv("DEL m"))
            _ = try redis.run([Array("PFADD".utf8), Array("m".utf8), Array(element.utf8)])
            let reply = String(decoding: try redis.run(argv("PFDEBUG GETREG m")), as: UTF8.self)
            let registers = reply.components(separatedBy: "\r\n").dropFirst().compactMap { $0.hasPrefix(":") ? Int($0.dropFirst()) : nil }
            let set = registers.enumerated().filter { $0.element != 0 }.map { [$0.offset, $0.element] }
            let (index, count) = Array(element.utf8).withUnsafeBytes { HyperLogLog.patternLength($0) }
            #expect(set == [[index, Int(count)]], "\(element)")
        }
        let big = Array(Self.element33.utf8).withUnsafeBytes { HyperLogLog.patternLength($0) }
        #expect(big.count > 32)
    }
}

/// The bytes of a bulk reply, nil for anything else.
func bulk(_ reply: [UInt8]) -> [UInt8]? {
    guard reply.first == UInt8(ascii: "$"), let cr = reply.firstIndex(of: 13),
          let n = Int(String(decoding: reply[1 ..< cr], as: UTF8.self)), n >= 0 else { return nil }
    return Array(reply[(cr + 2) ..< (cr + 2 + n)])
}
