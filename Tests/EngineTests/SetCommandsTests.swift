// Set commands against real Redis 7.0 (byte-identical replies), plus properties of the random ones
// (SPOP, SRANDMEMBER) and of SSCAN over a hashtable, whose order Redis does not define.
import Testing
@testable import Engine
import StorageFormat
import TestSupport

/// Like compareWithRedis, with three additions for the set and zset suites:
/// - `resp: 3` switches both sides to RESP3 first (HELLO 3 on Redis, the session's protocol here);
/// - a line starting with `~` compares the reply's top-level elements as a multiset (unordered
///   replies of hashtable-encoded sets);
/// - a line `!SET key value` makes `key` a string on both sides (the string family is not here);
/// - OBJECT ENCODING is answered from the value when the engine has no OBJECT command yet.
@discardableResult
func compareSetsWithRedis(_ script: String, resp: Int = 2, config: EngineConfig = EngineConfig(),
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    let oracle = try RedisOracle()
    let cairn = EngineHarness(config: config)
    _ = try oracle.run("FLUSHALL")
    if config.setMaxIntsetEntries != 512 {
        _ = try oracle.run("CONFIG SET set-max-intset-entries \(config.setMaxIntsetEntries)")
    }
    if config.zsetMaxListpackEntries != 128 {
        _ = try oracle.run("CONFIG SET zset-max-listpack-entries \(config.zsetMaxListpackEntries)")
    }
    if config.zsetMaxListpackValue != 64 {
        _ = try oracle.run("CONFIG SET zset-max-listpack-value \(config.zsetMaxListpackValue)")
    }
    if resp == 3 {
        _ = try oracle.run("HELLO 3")
        cairn.session.resp = 3
    }
    var n = 0
    for line in script.split(separator: "\n") {
        var l = line.trimmingCharacters(in: .whitespaces)
        if l.isEmpty || l.hasPrefix("#") { continue }
        if l.hasPrefix("!SET ") {
            let args = argv(String(l.dropFirst()))
            _ = try oracle.run(args)
            cairn.engine.databases[cairn.session.db].set(ByteString(args[1]), .string(StringValue(args[2])))
            continue
        }
        var unordered = false
        if l.hasPrefix("~") {
            unordered = true
            l = String(l.dropFirst())
        }
        let args = argv(l)
        let theirs = try oracle.run(args)
        var mine = cairn.run(args)
        if cairn.engine.commands["object"] == nil, args.count == 3, l.uppercased().hasPrefix("OBJECT ENCODING") {
            // OBJECT belongs to the keys family; until it is here, answer from the value itself.
            if let v = cairn.engine.databases[cairn.session.db].keys[ByteString(args[2])] {
                let name = Array(v.encodingName.utf8)
                mine = Array("$\(name.count)\r\n".utf8) + name + Array("\r\n".utf8)
            } else {
                mine = Array((resp == 3 ? "_\r\n" : "$-1\r\n").utf8)
            }
        }
        if unordered {
            #expect(unorderedElements(mine) == unorderedElements(theirs), "\(l)", sourceLocation: sourceLocation)
        } else {
            #expect(String(decoding: mine, as: UTF8.self) == String(decoding: theirs, as: UTF8.self), "\(l)",
                    sourceLocation: sourceLocation)
        }
        n += 1
    }
    return n
}

/// The reply's header and its top-level elements, sorted (a non-aggregate reply as itself).
func unorderedElements(_ reply: [UInt8]) -> [String] {
    guard let first = reply.first, [UInt8(ascii: "*"), UInt8(ascii: "~")].contains(first),
          let headerEnd = reply.firstIndex(of: 10) else {
        return [String(decoding: reply, as: UTF8.self)]
    }
    var parts: [String] = []
    var i = headerEnd + 1
    while i < reply.count, let e = replyEnd(reply, i) {
        parts.append(String(decoding: reply[i ..< e], as: UTF8.self))
        i = e
    }
    return [String(decoding: reply[0 ... headerEnd], as: UTF8.self)] + parts.sorted()
}

/// The elements of a flat array/set reply of bulk strings, in reply order.
func bulkElements(_ reply: [UInt8]) -> [String] {
    guard let headerEnd = reply.firstIndex(of: 10) else { return [] }
    var out: [String] = []
    var i = headerEnd + 1
    while i < reply.count, let e = replyEnd(reply, i) {
        let element = reply[i ..< e]
        if let nl = element.firstIndex(of: 10) {
            out.append(String(decoding: reply[(nl + 1) ..< (e - 2)], as: UTF8.self))
        }
        i = e
    }
    return out
}

@Suite struct SetCommandsTests {
    @Test func basicsMatchRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        # SADD / SCARD / SISMEMBER / SMISMEMBER / SMEMBERS on an intset
        SADD s1 3 1 2
        SADD s1 2 3 4
        SADD s1 -5 0 9223372036854775807 -9223372036854775808
        SCARD s1
        SMEMBERS s1
        OBJECT ENCODING s1
        SISMEMBER s1 3
        SISMEMBER s1 5
        SISMEMBER s1 abc
        SISMEMBER s1 03
        SISMEMBER nokey 1
        SMISMEMBER s1 1 2 nope 4 -5 01
        SMISMEMBER nokey a b
        SCARD nokey
        SMEMBERS nokey
        # non-canonical integers are strings: "01", "+1", " 1", "-0", 2^63
        SADD s2 1 2 3
        SADD s2 01
        ~SMEMBERS s2
        SADD s3 -0
        ~SMEMBERS s3
        SADD s4 9223372036854775808
        SMEMBERS s4
        SADD s5 a b c a
        ~SMEMBERS s5
        SCARD s5
        SADD s5 a
        # SREM
        SREM s1 1 2 nope
        SREM s1 1
        SMEMBERS s1
        SREM nokey a
        SREM s5 a b c
        SCARD s5
        SMEMBERS s5
        SISMEMBER s5 a
        # arity and wrong type
        SADD s1
        SREM s1
        SCARD
        SCARD a b
        SISMEMBER s1
        SMISMEMBER s1
        SMEMBERS
        ZADD zz 1 a
        SADD zz 1
        SREM zz 1
        SCARD zz
        SISMEMBER zz a
        SMISMEMBER zz a
        SMEMBERS zz
        SRANDMEMBER zz
        SPOP zz
        !SET str hello
        SADD str a
        SCARD str
        """)
    }

    @Test func algebraMatchesRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        SADD a 1 2 3 4 5
        SADD b 4 5 6 7
        SADD c 5 7 9
        SADD d x y 5
        SINTER a b
        SINTER a b c
        SINTER a nokey
        SINTER nokey a
        SINTER a
        SINTER a a
        ~SINTER d a
        SINTER a d
        SUNION a b
        SUNION a b c
        SUNION nokey
        SUNION a nokey b
        ~SUNION a d
        SDIFF a b
        SDIFF a b c
        SDIFF a a
        SDIFF a nokey
        SDIFF nokey a
        SDIFF b a c
        ~SDIFF d a
        SDIFF a d
        SINTERCARD 2 a b
        SINTERCARD 3 a b c
        SINTERCARD 1 a
        SINTERCARD 1 a LIMIT 2
        SINTERCARD 1 a LIMIT 0
        SINTERCARD 1 a LIMIT 10
        SINTERCARD 2 a nokey
        SINTERCARD 1 a limit 1 LIMIT 3
        SINTERCARD 0 a
        SINTERCARD -1 a
        SINTERCARD x a
        SINTERCARD 3 a b
        SINTERCARD 1 a LIMIT -1
        SINTERCARD 1 a LIMIT x
        SINTERCARD 1 a LIMIT
        SINTERCARD 1 a foo
        SINTERCARD 1
        # stores: results take the encoding of adding their members one by one
        SINTERSTORE dst a b
        SMEMBERS dst
        OBJECT ENCODING dst
        SUNIONSTORE dst2 a d
        SCARD dst2
        ~SMEMBERS dst2
        OBJECT ENCODING dst2
        SDIFFSTORE dst3 a b
        SMEMBERS dst3
        SDIFFSTORE dst3 a a
        SCARD dst3
        SINTERSTORE dst a nokey
        SCARD dst
        SINTERSTORE dst a nokey
        SUNIONSTORE dst4 nokey
        SCARD dst4
        SINTERSTORE a a b
        SMEMBERS a
        # store overwrites any type
        ZADD zz 1 m
        SUNIONSTORE zz b c
        SMEMBERS zz
        # wrong types anywhere, even after a missing key
        ZADD zt 1 m
        SINTER a zt
        SINTER nokey zt
        SUNION zt a
        SDIFF a zt
        SDIFF nokey zt
        SINTERSTORE dst a zt
        SUNIONSTORE dst a zt
        SDIFFSTORE dst a zt
        SINTERCARD 2 a zt
        SINTER
        SINTERSTORE dst
        SUNIONSTORE dst
        SDIFFSTORE dst
        """)
    }

    @Test func moveAndPopMatchRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        SADD src 1 2 3
        SADD other a
        SMOVE src dst 1
        SMEMBERS src
        SMEMBERS dst
        OBJECT ENCODING dst
        SMOVE src dst 1
        SMOVE src dst 9
        SMOVE src other 2
        ~SMEMBERS other
        SMOVE src src 3
        SMOVE src src 7
        SMOVE src dst 3
        SCARD src
        SMEMBERS dst
        SMOVE nokey dst 1
        ZADD zt 1 m
        SMOVE nokey zt 1
        SMOVE zt dst 1
        SMOVE dst zt 1
        SMEMBERS dst
        SMOVE dst other x
        SADD dst2 a
        SMOVE dst2 intdst a
        OBJECT ENCODING intdst
        SMOVE a b
        # SPOP / SRANDMEMBER on single-element sets and their errors
        SADD one x
        SRANDMEMBER one
        SRANDMEMBER one 1
        SRANDMEMBER one 5
        SRANDMEMBER one -3
        SRANDMEMBER one 0
        SRANDMEMBER nokey
        SRANDMEMBER nokey 5
        SRANDMEMBER nokey -5
        SRANDMEMBER one x
        SRANDMEMBER one 1 2
        SRANDMEMBER nokey -9223372036854775808
        SRANDMEMBER one 9223372036854775808
        SADD ints 5 3 1
        SRANDMEMBER ints 3
        SRANDMEMBER ints 100
        SPOP one 0
        SPOP one
        SCARD one
        SPOP one
        SPOP nokey
        SPOP nokey 3
        SPOP ints -1
        SPOP ints x
        SPOP ints 1 2
        SPOP ints 0
        SPOP ints 3
        SCARD ints
        SADD ints2 7 -1 3
        SPOP ints2 100
        SPOP ints2 1
        SPOP zt
        SPOP zt 1
        SRANDMEMBER zt 1
        SPOP
        SRANDMEMBER
        """)
    }

    @Test func scanMatchesRedisOnIntsets() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        SADD s 10 2 33 4 55 -6
        SSCAN s 0
        SSCAN s 0 COUNT 1
        SSCAN s 99 MATCH 3*
        SSCAN s 0 MATCH *5 COUNT 100
        SSCAN s 0 match -* count 2
        SSCAN s 0 MATCH *
        SSCAN s 0 COUNT 0
        SSCAN s 0 COUNT -1
        SSCAN s 0 COUNT x
        SSCAN s 0 COUNT
        SSCAN s 0 MATCH
        SSCAN s 0 foo bar
        SSCAN s 0 TYPE string
        SSCAN s x
        SSCAN s -1
        SSCAN s +5
        SSCAN s " 5"
        SSCAN s 18446744073709551615
        SSCAN s 18446744073709551616
        SSCAN s ""
        SSCAN s -
        SSCAN s 1x
        SSCAN nokey 0
        SSCAN nokey 0 COUNT 0
        SSCAN nokey x
        ZADD zt 1 a
        SSCAN zt 0
        SSCAN s
        """)
    }

    @Test func resp3RepliesMatchRedis() throws {
        try #require(RedisOracle.available)
        try compareSetsWithRedis("""
        SADD s 1 2 3
        SMEMBERS s
        SMEMBERS nokey
        SINTER s nokey
        SUNION s
        SDIFF s nokey
        SMISMEMBER s 1 9
        SRANDMEMBER s 10
        SRANDMEMBER s 0
        SRANDMEMBER nokey 2
        SRANDMEMBER nokey
        SPOP nokey
        SPOP nokey 2
        SPOP s 0
        SPOP s 10
        SSCAN nokey 0
        SADD t 5
        SSCAN t 0
        """, resp: 3)
    }

    @Test func intsetConversionAtThreshold() throws {
        try #require(RedisOracle.available)
        var config = EngineConfig()
        config.setMaxIntsetEntries = 4
        try compareSetsWithRedis("""
        SADD s 1 2 3 4
        OBJECT ENCODING s
        SADD s 5
        OBJECT ENCODING s
        SREM s 5 4 3 2
        OBJECT ENCODING s
        SADD t 1 2 3 4 5
        OBJECT ENCODING t
        SADD u 1 2
        SADD u x
        OBJECT ENCODING u
        SREM u x
        OBJECT ENCODING u
        SADD v 1 2 3
        SADD w 3 4 5
        SUNIONSTORE vw v w
        OBJECT ENCODING vw
        SINTERSTORE vi v w
        OBJECT ENCODING vi
        SDIFFSTORE vd v w
        OBJECT ENCODING vd
        """, config: config)
    }

    @Test func encodingsDirectly() {
        var config = EngineConfig()
        config.setMaxIntsetEntries = 3
        let s = SetValue()
        #expect(s.encodingName == "intset")
        s.add(ByteString("3"), config: config)
        s.add(ByteString("-1"), config: config)
        s.add(ByteString("2"), config: config)
        #expect(s.members() == ["-1", "2", "3"].map { ByteString(Array($0.utf8)) })
        #expect(s.encodingName == "intset")
        s.add(ByteString("4"), config: config)
        #expect(s.encodingName == "hashtable")
        #expect(s.count == 4)
        let t = SetValue()
        t.add(ByteString("01"), config: config)
        #expect(t.encodingName == "hashtable")
        // RDB round trip keeps members and picks the encoding by config.
        let back = SetValue(rdb: s.rdbValue, config: EngineConfig())
        #expect(back.encodingName == "intset")
        #expect(Set(back.members()) == Set(s.members()))
        let copy = s.copy()
        copy.remove(ByteString("4"))
        #expect(s.count == 4 && copy.count == 3)
    }

    @Test func randomCommandsProperties() {
        let h = EngineHarness()
        for (key, members) in [("ints", (0 ..< 200).map(String.init)), ("strs", (0 ..< 200).map { "m\($0)" })] {
            h.run("SADD \(key) " + members.joined(separator: " "))
            let all = Set(members)
            // SRANDMEMBER with a positive count: distinct members of the set, count of them.
            for count in [1, 2, 50, 66, 67, 150, 199, 200, 500] {
                let got = bulkElements(h.run(argv("SRANDMEMBER \(key) \(count)")))
                #expect(got.count == min(count, 200))
                #expect(Set(got).count == got.count)
                #expect(Set(got).isSubset(of: all))
            }
            // Negative count: exactly |count| picks, repetitions allowed, and over many picks most members show up.
            let picks = bulkElements(h.run(argv("SRANDMEMBER \(key) -5000")))
            #expect(picks.count == 5000)
            #expect(Set(picks).isSubset(of: all))
            #expect(Set(picks).count > 150)
            // SRANDMEMBER does not modify.
            #expect(h.run("SCARD \(key)") == ":200\r\n")
            // SPOP with a count removes exactly what it returns.
            var remaining = all
            for count in [1, 10, 60, 100] {
                let got = bulkElements(h.run(argv("SPOP \(key) \(count)")))
                #expect(got.count == count)
                #expect(Set(got).count == count)
                #expect(Set(got).isSubset(of: remaining))
                remaining.subtract(got)
                #expect(h.run("SCARD \(key)") == ":\(remaining.count)\r\n")
            }
            let single = bulkElements(h.run(argv("SPOP \(key) 1")))
            remaining.subtract(single)
            let popped = h.run("SPOP \(key)")
            #expect(popped.hasPrefix("$"))
            let rest = bulkElements(h.run(argv("SPOP \(key) 1000")))
            #expect(rest.count == remaining.count - 1)
            #expect(h.run("SCARD \(key)") == ":0\r\n")
            #expect(h.run("SPOP \(key)") == "$-1\r\n")
        }
    }

    @Test func scanOverHashtableVisitsEverything() {
        let h = EngineHarness()
        let members = (0 ..< 1000).map { "member:\($0)" }
        for chunk in stride(from: 0, to: members.count, by: 100) {
            h.run("SADD big " + members[chunk ..< chunk + 100].joined(separator: " "))
        }
        var seen = Set<String>()
        var cursor = "0"
        var rounds = 0
        repeat {
            let reply = h.run(argv("SSCAN big \(cursor) COUNT 37"))
            let end = replyEnd(reply, 4)!  // after "*2\r\n"
            let cursorBulk = bulkElements(Array("*1\r\n".utf8) + Array(reply[4 ..< end]))
            cursor = cursorBulk[0]
            seen.formUnion(bulkElements(Array(reply[end...])))
            rounds += 1
        } while cursor != "0" && rounds < 10000
        #expect(seen == Set(members))
        // MATCH filters.
        let r = h.run(argv("SSCAN big 0 MATCH member:99* COUNT 100000"))
        let end = replyEnd(r, 4)!
        #expect(Set(bulkElements(Array(r[end...]))) == Set(["member:99"] + (0 ..< 10).map { "member:99\($0)" }))
    }
}
