import Foundation
import Testing
@testable import Engine
import StorageFormat
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Stream commands against the real redis-server, reply bytes compared (RESP2, then RESP3 where the
/// shape differs). IDs are explicit: `*` depends on the clock.
@Suite struct StreamCommandsTests {
    @Test func addRangeLengthAndErrors() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        XADD s 1-1 a 1 b 2
        XADD s 1-2 a 3 b 4
        XADD s 1-* a 5 b 6
        XADD s 2 c 7
        XADD s 2-0 c 8
        XADD s 1-9 a 1
        XADD s 0-0 a 1
        XADD s 0-* a 1
        XADD s a-1 a 1
        XADD s 3-x a 1
        XADD s 3 a
        XADD s 3 a 1 b
        XADD s NOMKSTREAM 3-0 a 1
        XADD nos NOMKSTREAM 3-0 a 1
        EXISTS nos
        XADD s MAXLEN
        XADD s MAXLEN -1 3-1 a 1
        XADD s MAXLEN 1 MINID 1 3-1 a 1
        XADD s LIMIT 10 3-1 a 1
        XADD s MAXLEN 10 LIMIT 10 3-1 a 1
        XADD s MAXLEN = 10 LIMIT -1 3-1 a 1
        XADD s MINID ~ x 3-1 a 1
        XADD s MINID ~ + 3-1 a 1
        XADD s +
        XADD s + a 1
        XADD s - a 1
        XADD s 18446744073709551615 a 1
        XLEN s
        XLEN nostream
        XRANGE s - +
        XRANGE s - + COUNT 2
        XRANGE s - + COUNT 0
        XRANGE s - + COUNT -1
        XRANGE s - + COUNT
        XRANGE s - + LIMIT 1
        XRANGE s 1 1
        XRANGE s (1-1 +
        XRANGE s - (2
        XRANGE s (- +
        XRANGE s - (+
        XRANGE s (18446744073709551615-18446744073709551615 +
        XRANGE s - (0-0
        XRANGE s x +
        XREVRANGE s + -
        XREVRANGE s + - COUNT 1
        XREVRANGE s (2-0 -
        XREVRANGE s 1 1
        XRANGE nostream - +
        XREVRANGE nostream + -
        SET str x
        XADD str 1-1 a 1
        XRANGE str - +
        XLEN str
        TYPE s
        OBJECT ENCODING s
        XADD big 18446744073709551615-18446744073709551614 a 1
        XADD big 18446744073709551615-* a 1
        XADD big 18446744073709551615-* a 1
        XADD big * a 1
        XRANGE big - +
        XADD near 18446744073709551614-18446744073709551615 a 1
        XADD near 18446744073709551614-* a 1
        XADD near 18446744073709551615-* a 1
        XRANGE near - +
        !HELLO 3
        XRANGE s - +
        XRANGE s - + COUNT 0
        XRANGE nostream - +
        """)
    }

    @Test func deleteTrimSetID() throws {
        try #require(RedisOracle.available)
        var script = ""
        for i in 1 ... 350 { script += "XADD s \(i)-0 f \(i) g v\(i % 7)\n" }
        script += """
        XLEN s
        XDEL s 1-0 5-0 5-0 999-0
        XDEL s x
        XDEL nostream 1-0
        XRANGE s - + COUNT 3
        XTRIM s MAXLEN 340
        XTRIM s MAXLEN ~ 250
        XLEN s
        XTRIM s MAXLEN ~ 10 LIMIT 150
        XLEN s
        XTRIM s MINID 200
        XRANGE s - + COUNT 2
        XTRIM s MINID ~ 280
        XRANGE s - + COUNT 2
        XTRIM s LIMIT 10
        XTRIM s MAXLEN 10 LIMIT 10
        XTRIM s
        XTRIM s FOO
        XTRIM nostream MAXLEN 0
        DUMP s
        XADD s MAXLEN 5 400-0 f x
        XRANGE s - +
        DUMP s
        XSETID s 1-0
        XSETID s 500-0
        XSETID s 600-0 ENTRIESADDED 1
        XSETID s 600-0 ENTRIESADDED -1
        XSETID s 600-0 ENTRIESADDED 1000 MAXDELETEDID 700-0
        XSETID s 600-0 ENTRIESADDED 1000 MAXDELETEDID 10-0
        XSETID s 600-0 FOO
        XSETID nostream 1-0
        DUMP s
        XADD s 550-0 a b
        XADD s 600-1 a b
        XTRIM s MAXLEN 0
        XLEN s
        DUMP s
        XADD e 1-1 a 1
        XDEL e 1-1
        DUMP e
        XADD e2 1-1 a 1
        XTRIM e2 MAXLEN 0
        DUMP e2
        XADD m 1-1 a 1 b 2
        XADD m 1-2 a 1
        XADD m 1-3 b 2 a 1
        XADD m 1-4 a 1 b 2
        XADD m 1-5 12 -7 100000 x
        XADD m 1-6 12 -700 3000000000 9999999999999
        XRANGE m - +
        XREVRANGE m + -
        DUMP m
        XDEL m 1-2 1-4
        XREVRANGE m + -
        DUMP m
        """
        try listHashCompare(script)
    }

    @Test func nodeLimitsFollowConfig() throws {
        try #require(RedisOracle.available)
        let oracle = try RedisOracle()
        _ = try oracle.run("FLUSHALL")
        _ = try oracle.run("CONFIG SET stream-node-max-entries 3")
        _ = try oracle.run("CONFIG SET stream-node-max-bytes 100")
        defer {
            _ = try? oracle.run("CONFIG SET stream-node-max-entries 100")
            _ = try? oracle.run("CONFIG SET stream-node-max-bytes 4096")
        }
        var config = EngineConfig()
        config.streamNodeMaxEntries = 3
        config.streamNodeMaxBytes = 100
        let cairn = EngineHarness(config: config)
        var lines: [String] = []
        for i in 1 ... 20 { lines.append("XADD s \(i)-1 field\(i % 3) \(String(repeating: "v", count: i * 3))") }
        lines += ["DUMP s", "XDEL s 2-1 3-1 4-1", "XRANGE s - +", "XREVRANGE s + - COUNT 4", "DUMP s", "XTRIM s MAXLEN ~ 5", "DUMP s",
                  "XTRIM s MINID 15", "DUMP s"]
        for l in lines {
            let theirs = String(decoding: try oracle.run(argv(l)), as: UTF8.self)
            let mine = String(decoding: cairn.run(argv(l)), as: UTF8.self)
            #expect(mine == theirs, "\(l)")
        }
    }

    @Test func xread() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        XADD a 1-1 f 1
        XADD a 1-2 f 2
        XADD b 2-1 g 1
        XREAD STREAMS a b 0 0
        XREAD COUNT 1 STREAMS a b 0 0
        XREAD STREAMS a b 1-1 $
        XREAD STREAMS a b $ $
        XREAD STREAMS a nostream 0 0
        XREAD STREAMS a 0 0
        XREAD STREAMS a
        XREAD COUNT x STREAMS a 0
        XREAD STREAMS a x
        XREAD STREAMS a >
        XREAD GROUP g c STREAMS a 0
        XREAD NOACK STREAMS a 0
        XREAD FOO STREAMS a 0
        XREAD BLOCK -1 STREAMS a 0
        XREAD BLOCK x STREAMS a 0
        XREAD BLOCK 10 STREAMS a 0
        MULTI
        XREAD BLOCK 0 STREAMS a $
        EXEC
        SET str x
        XREAD STREAMS str 0
        !HELLO 3
        XREAD STREAMS a b 0 0
        XREAD STREAMS a b $ $
        """)
    }

    @Test func keyCommandsOnStreams() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        XADD s 1-1 a 1
        XADD s 2-1 b 2
        XGROUP CREATE s g 0
        TYPE s
        COPY s s2
        XRANGE s2 - +
        DUMP s2
        RENAME s s3
        XRANGE s3 - +
        DEL s2
        SCAN 0 TYPE stream
        SCAN 0 TYPE string
        DEL s3
        EXISTS s3
        """)
    }

    @Test func restoresRedisPayloads() throws {
        try #require(RedisOracle.available)
        let oracle = try RedisOracle()
        _ = try oracle.run("FLUSHALL")
        let cairn = EngineHarness()
        for l in ["XADD s 1-1 a 1 b 2", "XADD s 1-2 a 3 b 4", "XADD s 5-0 c x", "XDEL s 1-2", "XGROUP CREATE s g 0",
                  "XGROUP CREATE s h $ ENTRIESREAD 3", "XREADGROUP GROUP g alice COUNT 1 STREAMS s >",
                  "XGROUP CREATECONSUMER s g bob"] {
            _ = try oracle.run(argv(l))
        }
        let payload = try oracle.run(argv("DUMP s"))
        // The bulk reply's body is the payload.
        let text = payload
        let headerEnd = text.firstIndex(of: UInt8(ascii: "\n"))!
        let body = Array(text[(headerEnd + 1) ..< (text.count - 2)])
        var restore: [[UInt8]] = [Array("RESTORE".utf8), Array("s".utf8), Array("0".utf8), body]
        #expect(String(decoding: cairn.run(restore), as: UTF8.self) == "+OK\r\n")
        restore[1] = Array("s".utf8)
        _ = try oracle.run(argv("DEL s"))
        _ = try oracle.run(restore)
        for l in ["XRANGE s - +", "XLEN s", "DUMP s", "TYPE s"] {
            let theirs = String(decoding: try oracle.run(argv(l)), as: UTF8.self)
            let mine = String(decoding: cairn.run(argv(l)), as: UTF8.self)
            #expect(mine == theirs, "\(l)")
        }
    }
}

/// Consumer groups against redis-server; replies that carry times (idle, delivery, seen) are run on
/// both but compared only where the time does not show.
@Suite struct StreamGroupCommandsTests {
    @Test func groupsReadAckPendingClaim() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        XGROUP CREATE s g 0
        XGROUP CREATE s g 0 MKSTREAM
        XGROUP CREATE s g 0 MKSTREAM
        XGROUP CREATE s g2 $ ENTRIESREAD 5
        XGROUP CREATE s g3 0 ENTRIESREAD -2
        XGROUP CREATE s g3 x
        XGROUP CREATE nokey g 0
        XGROUP SETID nokey g 0
        XGROUP SETID s nogroup 0
        XGROUP FOO s g
        XGROUP HELP
        XADD s 1-0 a 1
        XADD s 2-0 b 2
        XADD s 3-0 c 3
        XADD s 4-0 d 4
        XINFO GROUPS s
        XREADGROUP GROUP g alice COUNT 2 STREAMS s >
        XINFO GROUPS s
        XREADGROUP GROUP g bob STREAMS s >
        XREADGROUP GROUP g bob STREAMS s >
        XREADGROUP GROUP g alice STREAMS s 0
        XREADGROUP GROUP g alice COUNT 1 STREAMS s 0
        XREADGROUP GROUP g carol STREAMS s 0
        XREADGROUP GROUP nog alice STREAMS s >
        XREADGROUP GROUP g alice STREAMS s $
        XREADGROUP GROUP g alice STREAMS nokey >
        XREADGROUP STREAMS s >
        XPENDING s g
        XPENDING s nog
        XPENDING s g - + 0
        XPENDING s g x + 10
        XPENDING s g IDLE 10 - +
        XACK s g 1-0 9-0
        XACK s g x
        XACK s nog 1-0
        XACK nokey g 1-0
        XPENDING s g
        XDEL s 2-0
        XREADGROUP GROUP g alice STREAMS s 0
        XCLAIM s g dave 0 2-0 3-0 JUSTID
        XCLAIM s g dave 0 3-0 4-0 JUSTID
        XPENDING s g
        XCLAIM s g erin 0 1-0 FORCE JUSTID
        XCLAIM s g erin 0 4-0 RETRYCOUNT 7 JUSTID LASTID 9-0
        XCLAIM s g erin 0 4-0 FOO
        XCLAIM s g erin x 4-0
        XCLAIM s nog erin 0 4-0
        XINFO GROUPS s
        XAUTOCLAIM s g frank 0 0 COUNT 1 JUSTID
        XAUTOCLAIM s g frank 0 0 JUSTID
        XAUTOCLAIM s g frank 0 0 COUNT 0
        XAUTOCLAIM s g frank x 0
        XAUTOCLAIM s nog frank 0 0
        XPENDING s g
        XGROUP CREATECONSUMER s g zed
        XGROUP CREATECONSUMER s g zed
        XGROUP DELCONSUMER s g frank
        XGROUP DELCONSUMER s g nobody
        XPENDING s g
        XGROUP SETID s g 0 ENTRIESREAD 0
        XINFO GROUPS s
        XGROUP SETID s g $
        XINFO GROUPS s
        XINFO STREAM s
        XINFO STREAM nokey
        XINFO STREAM s FOO
        XINFO HELP
        XGROUP DESTROY s g2
        XGROUP DESTROY s g2
        XINFO GROUPS s
        !HELLO 3
        XINFO GROUPS s
        XINFO STREAM s
        XREADGROUP GROUP g3 x STREAMS s 0
        XPENDING s g
        """)
    }

    @Test func radixTreeNodesAndNoack() throws {
        try #require(RedisOracle.available)
        var script = "CONFIG SET stream-node-max-entries 100\n"
        for i in stride(from: 1, to: 2000, by: 7) { script += "XADD s \(i * 91)-\(i % 3) f \(i)\n" }
        script += """
        XINFO STREAM s
        XDEL s 91-1 728-1
        XTRIM s MAXLEN 1000
        XINFO STREAM s
        XGROUP CREATE s g 0
        XREADGROUP GROUP g c NOACK COUNT 3 STREAMS s >
        XPENDING s g
        XINFO GROUPS s
        """
        try listHashCompare(script)
    }
}

extension StreamGroupCommandsTests {
    @Test func subcommandErrors() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        XGROUP FOO s g
        XGROUP CREATE
        XGROUP CREATE a b c d e f g h i
        XGROUP HELP x
        XINFO FOO k
        XINFO STREAM k a b
        XINFO STREAM
        XINFO HELP
        XGROUP HELP
        """)
    }
}

/// Blocking XREAD / XREADGROUP against redis-server with several clients: "N> cmd" sends without
/// waiting (a client that blocks), "N: cmd" sends and compares the reply, "N<" compares the reply a
/// blocked client got since.
@Suite struct StreamBlockingTests {
    func scenario(_ script: String) throws {
        let oracle = try RedisOracle()
        _ = try oracle.run("FLUSHALL")
        let engine = Engine(config: EngineConfig())
        engine.updateClock()
        var redisClients: [Int: RawClient] = [:]
        var sessions: [Int: Session] = [:]
        for line in script.split(separator: "\n") {
            let l = line.trimmingCharacters(in: .whitespaces)
            if l.isEmpty { continue }
            let n = Int(String(l.first!))!
            let op = l.dropFirst().first!
            let cmd = String(l.dropFirst(2)).trimmingCharacters(in: .whitespaces)
            if redisClients[n] == nil { redisClients[n] = try RawClient(port: oracle.port); sessions[n] = engine.newSession() }
            let rc = redisClients[n]!, s = sessions[n]!
            switch op {
            case ">":
                // Wait until Redis has the client blocked, so that later commands find it waiting.
                func blocked() throws -> Int {
                    let info = try oracle.run("INFO clients")
                    let line = info.split(separator: "\r\n").first { $0.hasPrefix("blocked_clients:") }
                    return Int(line?.dropFirst("blocked_clients:".count).trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
                }
                let before = try blocked()
                try rc.write(RawClient.encode(argv(cmd)))
                var tries = 0
                while try blocked() <= before && tries < 200 {
                    usleep(5000)
                    tries += 1
                }
                engine.updateClock()
                engine.execute(s, argv(cmd))
                #expect(s.out.isEmpty, "\(l): replied at once: \(String(decoding: s.out, as: UTF8.self))")
            case ":":
                let theirs = try rc.send(argv(cmd))
                engine.updateClock()
                s.out.removeAll()
                engine.execute(s, argv(cmd))
                #expect(String(decoding: s.out, as: UTF8.self) == String(decoding: theirs, as: UTF8.self), "\(l)")
                s.out.removeAll()
            default: // "<"
                let theirs = try rc.readReply()
                #expect(String(decoding: s.out, as: UTF8.self) == String(decoding: theirs, as: UTF8.self), "\(l)")
                s.out.removeAll()
            }
        }
    }

    @Test func xreadBlockWakesInOrder() throws {
        try #require(RedisOracle.available)
        try scenario("""
        1: XADD s 1-1 a 1
        2> XREAD BLOCK 0 STREAMS s $
        3> XREAD BLOCK 0 COUNT 1 STREAMS other s $ 1-1
        4: XADD s 2-1 b 2
        2<
        3<
        2> XREAD BLOCK 0 STREAMS nokey s 0 $
        4: XADD nokey 5-0 c 3
        2<
        """)
    }

    @Test func xreadgroupBlockAndGroupDestroyed() throws {
        try #require(RedisOracle.available)
        try scenario("""
        1: XGROUP CREATE s g $ MKSTREAM
        2> XREADGROUP GROUP g alice BLOCK 0 STREAMS s >
        3> XREADGROUP GROUP g bob BLOCK 0 STREAMS s >
        1: XADD s 1-1 a 1
        2<
        1: XPENDING s g
        1: XADD s 2-1 a 2
        3<
        1: XPENDING s g
        2> XREADGROUP GROUP g alice BLOCK 0 STREAMS s >
        1: XGROUP DESTROY s g
        2<
        1: MULTI
        1: XREAD BLOCK 0 STREAMS s $
        1: EXEC
        """)
    }

    /// Which stream writes touch a WATCHed key: entries do, group metadata and XSETID do not.
    @Test func watchSeesEntryChangesOnly() throws {
        try #require(RedisOracle.available)
        var script = "2: XADD s 1-1 a 1\n"
        for cmd in ["XGROUP CREATE s g 0", "XGROUP SETID s g 0", "XSETID s 5-5", "XGROUP CREATECONSUMER s g c", "XREADGROUP GROUP g c STREAMS s >",
                    "XACK s g 1-1", "XGROUP DELCONSUMER s g c", "XGROUP DESTROY s g", "XADD s 6-0 b 2", "XDEL s 6-0", "XTRIM s MAXLEN 0"] {
            script += "1: WATCH s\n2: \(cmd)\n1: MULTI\n1: PING\n1: EXEC\n"
        }
        try scenario(script)
    }

    @Test func xreadgroupEndsWhenTheKeyGoes() throws {
        try #require(RedisOracle.available)
        try scenario("""
        1: XGROUP CREATE s g $ MKSTREAM
        2> XREADGROUP GROUP g a BLOCK 0 STREAMS s >
        3> XREAD BLOCK 0 STREAMS s $
        1: DEL s
        2<
        1: XGROUP CREATE s g $ MKSTREAM
        2> XREADGROUP GROUP g a BLOCK 0 STREAMS s >
        1: SET s x
        2<
        1: DEL s
        1: XGROUP CREATE s g $ MKSTREAM
        2> XREADGROUP GROUP g a BLOCK 0 STREAMS s >
        1: MULTI
        1: DEL s
        1: SADD s m
        1: EXEC
        2<
        1: DEL s
        1: XGROUP CREATE s g $ MKSTREAM
        2> XREADGROUP GROUP g a BLOCK 0 STREAMS s >
        1: FLUSHALL
        2<
        1: XADD s 5-0 f v
        3<
        1: XGROUP CREATE s g $
        2> XREADGROUP GROUP g a BLOCK 0 STREAMS s >
        1: SWAPDB 0 1
        2<
        """)
    }
}

/// A dump.rdb that redis-server itself writes (SAVE, at run time) with streams of every shape loads
/// through the engine's loader into values that DUMP to Redis's own payloads.
@Suite struct StreamRedisDumpTests {
    @Test func redisSnapshotLoads() throws {
        try #require(RedisOracle.available)
        let oracle = try RedisOracle()
        _ = try oracle.run("FLUSHALL")
        _ = try oracle.run("CONFIG SET stream-node-max-entries 5")
        var lines = ["XADD empty 1-1 a 1", "XDEL empty 1-1", "XGROUP CREATE g0 grp $ MKSTREAM", "XSETID g0 7-7 ENTRIESADDED 3 MAXDELETEDID 5-5"]
        for i in 1 ... 40 { lines.append("XADD big \(i)-\(i % 4) f\(i % 3) \(String(repeating: "x", count: i)) n \(i * 1000)") }
        lines += ["XDEL big 3-3 10-2 11-3", "XTRIM big MINID 6", "XGROUP CREATE big a 0", "XGROUP CREATE big b $ ENTRIESREAD 12",
                  "XREADGROUP GROUP a c1 COUNT 4 STREAMS big >", "XREADGROUP GROUP a c2 COUNT 3 STREAMS big >",
                  "XGROUP CREATECONSUMER big a idle", "XREADGROUP GROUP b c1 NOACK COUNT 2 STREAMS big 0", "XDEL big 12-0"]
        for l in lines { _ = try oracle.run(argv(l)) }
        #expect(try oracle.run("SAVE") == "+OK\r\n")
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: oracle.dir + "/dump.rdb")))
        let decoder = try RDBDecoder(bytes: file)
        let builder = EngineValueBuilder(config: EngineConfig())
        let h = EngineHarness()
        var keys = 0
        while let record = try decoder.next(into: builder) {
            guard case .key(let summary) = record, let value = builder.takeValue() else { continue }
            h.engine.databases[0].set(ByteString(summary.key), value)
            keys += 1
        }
        #expect(keys == 3)
        for key in ["empty", "g0", "big"] {
            for cmd in ["DUMP", "XLEN", "XINFO STREAM", "XINFO GROUPS", "XRANGE"] {
                var args = argv(cmd) + [Array(key.utf8)]
                if cmd == "XRANGE" { args += [Array("-".utf8), Array("+".utf8)] }
                let theirs = String(decoding: try oracle.run(args), as: UTF8.self)
                let mine = String(decoding: h.run(args), as: UTF8.self)
                #expect(mine == theirs, "\(cmd) \(key)")
            }
        }
    }
}
