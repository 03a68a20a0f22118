// BITFIELD and BITFIELD_RO against a real redis-server 7.0.15 (RESP2 and RESP3): every type width,
// signed and unsigned boundaries, #N offsets, OVERFLOW WRAP/SAT/FAIL, the error texts and their order,
// growth of the string, wrong types and int-encoded values; plus propagation and the "setbit" event.
import Foundation
import Testing
@testable import Engine
import StorageFormat
import TestSupport

@Suite struct BitfieldTests {
    @Test func commandsMatchRedis() throws {
        try #require(RedisOracle.available)
        for resp in ["!resp2", "!resp3"] {
            try compareKeyspace(resp + "\n" + #"""
            BITFIELD nokey
            BITFIELD nokey GET u8 0
            EXISTS nokey
            BITFIELD_RO nokey GET i64 0
            BITFIELD k SET u8 0 255
            GET k
            OBJECT ENCODING k
            BITFIELD k GET u8 0 GET i8 0 GET u4 4 GET i4 4 GET u1 0 GET i1 0
            BITFIELD k SET i8 0 -100 GET i8 0 GET u8 0
            BITFIELD k INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1 INCRBY u2 102 1
            GET k
            STRLEN k
            BITFIELD k SET u8 #2 7 GET u8 #2 GET u8 16 SET i16 #3 -1 GET u16 48
            GET k
            BITFIELD k set u8 0 1 get u8 0 incrby u8 0 1 overflow wrap incrby u8 0 300
            BITFIELD k GET u63 0 GET i64 0 GET u63 1 GET i64 3
            BITFIELD k SET i64 0 9223372036854775807 GET i64 0 INCRBY i64 0 1 GET i64 0
            BITFIELD k OVERFLOW SAT SET i64 0 9223372036854775807 INCRBY i64 0 1 INCRBY i64 0 -9223372036854775808 INCRBY i64 0 -9223372036854775808
            BITFIELD k OVERFLOW FAIL SET i64 0 -9223372036854775808 INCRBY i64 0 -1 INCRBY i64 0 1 GET i64 0
            BITFIELD k OVERFLOW WRAP SET i64 0 -9223372036854775808 INCRBY i64 0 -1 GET i64 0
            BITFIELD k SET u63 0 9223372036854775807 INCRBY u63 0 1 GET u63 0
            BITFIELD k OVERFLOW SAT SET u63 0 9223372036854775807 INCRBY u63 0 1 INCRBY u63 0 -9223372036854775808 GET u63 0
            BITFIELD k OVERFLOW FAIL SET u63 0 0 INCRBY u63 0 -1 SET u63 0 -1 GET u63 0
            BITFIELD k SET u8 0 -1 SET u8 8 256 SET i8 16 128 SET i8 24 -129 GET u8 0 GET u8 8 GET i8 16 GET i8 24
            BITFIELD k OVERFLOW SAT SET u8 0 -1 SET u8 8 256 SET i8 16 128 SET i8 24 -129 GET u8 0 GET u8 8 GET i8 16 GET i8 24
            BITFIELD k OVERFLOW FAIL SET u8 0 -1 SET u8 8 256 SET i8 16 128 SET i8 24 -129 SET i8 24 -128 GET i8 24
            BITFIELD k OVERFLOW SAT INCRBY i8 0 200 INCRBY i8 0 -500 INCRBY u8 0 -1 INCRBY u8 0 1000 OVERFLOW WRAP INCRBY u1 0 3 INCRBY i1 0 1
            BITFIELD k SET i1 0 1 GET i1 0 SET i1 0 -1 GET i1 0 SET i1 0 -2 GET i1 0 OVERFLOW SAT SET i1 0 5 GET i1 0
            BITFIELD k SET i33 5 -4294967296 GET i33 5 GET u32 6 INCRBY i33 5 -4294967297
            BITFIELD k SET u9 3 511 INCRBY u9 3 1 OVERFLOW FAIL INCRBY u9 3 512
            BITFIELD k GET u8 1000 GET i64 100000 GET u63 65
            STRLEN k
            BITFIELD k SET u8 1000 1
            STRLEN k
            BITFIELD k OVERFLOW FAIL INCRBY u8 9000 300
            STRLEN k
            BITFIELD created OVERFLOW FAIL INCRBY u8 100 300
            EXISTS created
            GET created
            BITFIELD k SET u8 #0 1 SET u8 #1 2 GET u16 #0 GET i5 #3
            BITFIELD k GET u8 -1
            BITFIELD k GET u8 #-1
            BITFIELD k GET u8 abc
            BITFIELD k GET u8 ""
            BITFIELD k GET u8 #
            BITFIELD k GET u8 01
            BITFIELD k GET u8 +1
            BITFIELD k GET u8 4294967296
            BITFIELD k GET u8 4294967295
            BITFIELD k GET u8 #536870912
            BITFIELD k GET i64 #67108864
            BITFIELD k GET i64 #9223372036854775807
            BITFIELD k GET i64 #1152921504606846976
            BITFIELD k GET u64 0
            BITFIELD k GET i65 0
            BITFIELD k GET i0 0
            BITFIELD k GET u0 0
            BITFIELD k GET x8 0
            BITFIELD k GET I8 0
            BITFIELD k GET U8 0
            BITFIELD k GET i 0
            BITFIELD k GET i-1 0
            BITFIELD k GET i08 0
            BITFIELD k GET "" 0
            BITFIELD k SET u8 0 abc
            BITFIELD k SET u8 0 1.5
            BITFIELD k SET u8 0 9223372036854775808
            BITFIELD k INCRBY u8 0
            BITFIELD k GET u8
            BITFIELD k SET u8 0
            BITFIELD k OVERFLOW
            BITFIELD k OVERFLOW bogus GET u8 0
            BITFIELD k OVERFLOW wrap
            BITFIELD k BOGUS u8 0
            BITFIELD k GET u8 0 BOGUS
            BITFIELD k GET u64 0 SET u8 0 abc
            BITFIELD k SET u8 0 abc GET u64 0
            BITFIELD_RO k GET u8 0 GET i4 3
            BITFIELD_RO k SET u8 0 1
            BITFIELD_RO k INCRBY u8 0 1
            BITFIELD_RO k OVERFLOW SAT GET u8 0
            BITFIELD_RO k GET u8 0 SET u8 0 1
            BITFIELD_RO k SET u8 0 abc
            BITFIELD_RO k GET x 0 SET u8 0 1
            BITFIELD_RO k OVERFLOW bogus
            BITFIELD_RO nokey SET u8 0 1
            BITFIELD_RO
            BITFIELD
            SET int 12345
            OBJECT ENCODING int
            BITFIELD int GET u8 0 GET u16 8 GET i64 0
            BITFIELD_RO int GET u8 0
            OBJECT ENCODING int
            BITFIELD int SET u8 0 50
            GET int
            OBJECT ENCODING int
            SET int 99
            BITFIELD int SET u8 0 57
            OBJECT ENCODING int
            GET int
            SET str "hello world"
            BITFIELD str GET u8 0 GET u8 800
            OBJECT ENCODING str
            BITFIELD str SET u8 0 72
            OBJECT ENCODING str
            GET str
            RPUSH list a
            BITFIELD list GET u8 0
            BITFIELD list SET u8 0 1
            BITFIELD_RO list GET u8 0
            BITFIELD list GET u8 abc
            BITFIELD list SET u8 0 1 BITFIELD
            SET ttl x EX 1000
            BITFIELD ttl SET u8 100 1
            TTL ttl
            """#)
        }
    }

    /// Every width, signed and unsigned, at unaligned offsets: SET, GET and INCRBY under the three
    /// overflow policies, with values at and around each width's limits.
    @Test func everyWidthAtItsBoundaries() throws {
        try #require(RedisOracle.available)
        var lines: [String] = []
        for bits in 1 ... 64 {
            for signed in [true, false] where signed || bits < 64 {
                let t = (signed ? "i" : "u") + "\(bits)"
                let maxV: Int64 = signed ? (bits == 64 ? Int64.max : (Int64(1) << (bits - 1)) - 1) : (bits == 64 ? Int64.max : Int64(bitPattern: (UInt64(1) << UInt64(bits)) - 1))
                let minV: Int64 = signed ? (bits == 64 ? Int64.min : -(Int64(1) << (bits - 1))) : 0
                let offset = (bits * 7) % 13
                let values = Set([maxV, minV, maxV &- 1, minV &+ 1, maxV &+ 1, minV &- 1, 0, 1, -1, Int64.max, Int64.min])
                for v in values.sorted() {
                    for ow in ["WRAP", "SAT", "FAIL"] {
                        lines.append("BITFIELD w\(bits) OVERFLOW \(ow) SET \(t) \(offset) \(v) GET \(t) \(offset) INCRBY \(t) \(offset) 1 INCRBY \(t) \(offset) -1 INCRBY \(t) \(offset) \(v)")
                        lines.append("BITFIELD w\(bits) OVERFLOW \(ow) INCRBY \(t) \(offset) \(maxV) INCRBY \(t) \(offset) \(minV == 0 ? -1 : minV) GET \(t) \(offset)")
                    }
                }
                lines.append("GET w\(bits)")
            }
        }
        try compareKeyspace(lines.joined(separator: "\n"))
    }

    /// Random operation lists (a seeded generator), compared reply by reply and by the bytes left.
    @Test func randomOperationsMatchRedis() throws {
        try #require(RedisOracle.available)
        var rng = TestRNG(seed: 7)
        let types = ["i1", "i3", "i8", "i13", "i16", "i31", "i32", "i33", "i63", "i64", "u1", "u3", "u8", "u13", "u16",
                     "u31", "u32", "u33", "u62", "u63"]
        let values = ["0", "1", "-1", "127", "128", "-129", "255", "256", "65535", "2147483648", "-2147483649",
                      "9223372036854775807", "-9223372036854775808", "4611686018427387904"]
        var lines: [String] = []
        for n in 0 ..< 600 {
            var l = ["BITFIELD", "r\(n % 4)"]
            for _ in 0 ... Int(rng.next() % 4) {
                let t = types[Int(rng.next() % UInt64(types.count))]
                let off = rng.next() % 3 == 0 ? "#\(rng.next() % 20)" : "\(rng.next() % 200)"
                switch rng.next() % 4 {
                case 0: l += ["GET", t, off]
                case 1: l += ["SET", t, off, values[Int(rng.next() % UInt64(values.count))]]
                case 2: l += ["INCRBY", t, off, values[Int(rng.next() % UInt64(values.count))]]
                default: l += ["OVERFLOW", ["WRAP", "SAT", "FAIL"][Int(rng.next() % 3)]]
                }
            }
            lines.append(l.joined(separator: " "))
            if n % 25 == 0 { lines.append("GET r\(n % 4)") }
        }
        lines += ["GET r0", "GET r1", "GET r2", "GET r3"]
        try compareKeyspace(lines.joined(separator: "\n"))
    }

    /// A BITFIELD write is propagated as it is (when it changed something) and publishes "setbit";
    /// BITFIELD_RO and a BITFIELD whose every write failed are not propagated.
    @Test func propagationAndNotification() throws {
        let h = EngineHarness()
        var log: [String] = []
        h.engine.propagationSink = { _, args in log.append(args.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")) }
        h.run("BITFIELD k SET u8 0 1")
        h.run("BITFIELD k SET u8 0 1")
        h.run("BITFIELD k GET u8 0")
        h.run("BITFIELD_RO k GET u8 0")
        h.run("BITFIELD k OVERFLOW FAIL INCRBY u8 0 255")
        h.run("BITFIELD k INCRBY u8 0 255")
        #expect(log == ["BITFIELD k SET u8 0 1", "BITFIELD k INCRBY u8 0 255"])
        #expect(h.engine.dirty >= 2)
    }

    /// The keyspace events: "setbit" for a BITFIELD that changed something (none for one that did
    /// not), "pfadd" for PFADD and PFMERGE, as Redis publishes them.
    @Test func keyspaceEvents() throws {
        let h = EngineHarness()
        let listener = h.engine.newSession()
        listener.resp = 3
        h.engine.execute(listener, argv("SUBSCRIBE __keyevent@0__:setbit __keyevent@0__:pfadd"))
        listener.out.removeAll()
        h.engine.notifyFlags = KeyspaceEventClass.keyevent | KeyspaceEventClass.string
        h.run("BITFIELD k SET u8 0 1")
        h.run("BITFIELD k SET u8 0 1")
        h.run("BITFIELD k GET u8 0")
        h.run("BITFIELD k OVERFLOW FAIL INCRBY u8 0 255")
        h.run("PFADD h a")
        h.run("PFADD h a")
        h.run("PFMERGE h2 h")
        h.run("PFCOUNT h")
        let text = String(decoding: listener.out, as: UTF8.self)
        let events = text.components(separatedBy: "__keyevent@0__:").dropFirst()
            .map { $0.components(separatedBy: "\r\n")[0] }
        #expect(events == ["setbit", "pfadd", "pfadd"])
    }
}
