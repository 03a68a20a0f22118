import Testing
@testable import Engine
import StorageFormat
import TestSupport

@Suite struct HashCommandsTests {
    @Test func setGetDeleteAndReads() throws {
        try #require(RedisOracle.available)
        let n = try listHashCompare("""
        HSET h f1 v1
        HSET h f2 v2 f3 v3
        HSET h f1 new f4 v4
        HSET h f1 a f1 b
        HGET h f1
        HGET h nofield
        HGET nohash f
        HMSET h f5 v5 f6 v6
        HMSET h f5
        HMSET h f5 v5 f6
        HSET h f
        HSET h f v g
        HSET h
        HSETNX h f1 x
        HSETNX h f7 v7
        HSETNX nohash2 f v
        HSETNX h f7
        HGETALL nohash2
        HGETALL h
        HKEYS h
        HVALS h
        HLEN h
        HLEN nohash
        HKEYS nohash
        HVALS nohash
        HGETALL nohash
        HMGET h f1 nofield f2
        HMGET nohash a b
        HMGET h
        HSTRLEN h f1
        HSTRLEN h nofield
        HSTRLEN nohash f
        HEXISTS h f1
        HEXISTS h nofield
        HEXISTS nohash f
        HDEL h f1 nofield f1 f2
        HDEL h nofield
        HDEL nohash f
        HGETALL h
        HDEL h f3 f4 f5 f6 f7
        EXISTS h
        HLEN h
        HSET e "" ""
        HGET e ""
        HSTRLEN e ""
        HSET b "a b" "\\x00\\xff" "\\r\\n" 12345
        HGETALL b
        HSTRLEN b "\\r\\n"
        HSET n 007 -0 x 1.50 y 9223372036854775808
        HGETALL n
        HSTRLEN n 007
        OBJECT ENCODING n
        TYPE n
        HGET
        HGET h
        HDEL h
        HLEN
        HSTRLEN h
        HEXISTS h
        HKEYS
        HGETALL a b
        """)
        #expect(n > 60)
    }

    @Test func incrementsMatchRedis() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        HINCRBY h n 5
        HINCRBY h n -10
        HINCRBY h n 0
        HGET h n
        HINCRBY nohash n 1
        HINCRBY h n abc
        HINCRBY h n 1.5
        HINCRBY h n 9223372036854775808
        HSET h s hello big 9223372036854775807 small -9223372036854775808 sp " 1" f 1.5 lz 01
        HINCRBY h s 1
        HINCRBY h sp 1
        HINCRBY h f 1
        HINCRBY h lz 1
        HINCRBY h big 1
        HINCRBY h big 0
        HINCRBY h big -1
        HINCRBY h small -1
        HINCRBY h small 1
        HINCRBY h small 9223372036854775807
        HINCRBYFLOAT h fl 1.5
        HINCRBYFLOAT h fl 0.1
        HINCRBYFLOAT h fl -1.6
        HINCRBYFLOAT h fl 10.5e3
        HINCRBYFLOAT h fl 1e-5
        HINCRBYFLOAT h n 0.5
        HINCRBYFLOAT h n 3
        HINCRBYFLOAT h s 1
        HINCRBYFLOAT h sp 1
        HINCRBYFLOAT h f 1
        HINCRBYFLOAT h lz 1
        HINCRBYFLOAT h big 1
        HINCRBYFLOAT h fl abc
        HINCRBYFLOAT h fl inf
        HINCRBYFLOAT h fl -inf
        HINCRBYFLOAT h fl nan
        HINCRBYFLOAT h fl 1e5000
        HINCRBYFLOAT h fl " 1"
        HINCRBYFLOAT h fl "1 "
        HINCRBYFLOAT h fl ""
        HINCRBYFLOAT h fl 0x10
        HINCRBYFLOAT nohash2 f inf
        EXISTS nohash2
        HINCRBYFLOAT nohash2 f 2.5
        HSET h i inf
        HINCRBYFLOAT h i 1
        HSET h e 1e3
        HINCRBYFLOAT h e 1
        HSET h hx 0x10
        HINCRBYFLOAT h hx 1
        HINCRBYFLOAT h z 1.00000000000000000000000000000000000000000000000000000000000000000000000000001
        HINCRBYFLOAT h z 5.0e1
        HINCRBYFLOAT h z -55
        HINCRBYFLOAT h z 1e100
        ~HGETALL h
        HINCRBY h
        HINCRBY h a
        HINCRBYFLOAT h a
        HINCRBY h a 1 2
        """)
    }

    @Test func wrongTypeEverywhere() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        SET s v
        RPUSH l a
        HSET s f v
        HSET s f
        HMSET s f v
        HSETNX s f v
        HGET s f
        HMGET s f
        HDEL s f
        HLEN s
        HSTRLEN s f
        HEXISTS s f
        HKEYS s
        HVALS s
        HGETALL l
        HINCRBY l f 1
        HINCRBY l f abc
        HINCRBYFLOAT l f 1
        HINCRBYFLOAT l f abc
        HRANDFIELD s
        HRANDFIELD s 2
        HRANDFIELD s abc
        HRANDFIELD s 2 WITHVALUES
        HSCAN s 0
        HSCAN s abc
        HSET h f v
        LPUSH h a
        LLEN h
        """)
    }

    @Test func hrandfieldAndHscanDeterministicCases() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        HRANDFIELD nohash
        HRANDFIELD nohash 5
        HRANDFIELD nohash -5 WITHVALUES
        HRANDFIELD nohash abc
        HRANDFIELD nohash -9223372036854775808
        HRANDFIELD nohash 5 withvalues x
        HRANDFIELD nohash 5 foo
        HRANDFIELD nohash 9223372036854775807 withvalues
        HRANDFIELD nohash -4611686018427387904 withvalues
        HRANDFIELD nohash -4611686018427387903 withvalues
        HRANDFIELD nohash 4611686018427387903 withvalues
        HSET one k v
        HRANDFIELD one
        HRANDFIELD one 0
        HRANDFIELD one -3
        HRANDFIELD one -3 WITHVALUES
        HRANDFIELD one 1 withvalues
        HSET h a 1 b 2 c 3 ab 4
        HRANDFIELD h 4
        HRANDFIELD h 100
        HRANDFIELD h 100 WITHVALUES
        HRANDFIELD h 9223372036854775807
        HRANDFIELD h 0 WITHVALUES
        HRANDFIELD h 2 WITHVALUES foo
        HRANDFIELD h 1.5
        HSCAN h 0
        HSCAN h 0 MATCH a*
        HSCAN h 0 match *b* count 1
        HSCAN h 0 MATCH *
        HSCAN h 0 MATCH zz
        HSCAN h 123
        HSCAN h ""
        HSCAN h -1
        HSCAN h +5
        HSCAN h 18446744073709551615
        HSCAN h 18446744073709551616
        HSCAN h 0x
        HSCAN h " 0"
        HSCAN h 0 COUNT 0
        HSCAN h 0 COUNT -1
        HSCAN h 0 COUNT abc
        HSCAN h 0 TYPE string
        HSCAN h 0 MATCH
        HSCAN h 0 COUNT
        HSCAN h 0 FOO bar
        HSCAN nohash 0
        HSCAN nohash 0 COUNT 0
        HSCAN nohash abc
        HSCAN h
        !HELLO 3
        HRANDFIELD one -2 WITHVALUES
        HRANDFIELD h 100 WITHVALUES
        HRANDFIELD nohash
        HRANDFIELD nohash 3
        HGETALL h
        HGETALL nohash
        HMGET h a zz
        HGET h zz
        HSCAN h 0
        HINCRBYFLOAT h a 1.5
        !HELLO 2
        """)
    }

    @Test func encodingConversionsMatchRedis() throws {
        try #require(RedisOracle.available)
        let v64 = String(repeating: "v", count: 64), v65 = String(repeating: "v", count: 65)
        var s = """
        HSET a f \(v64)
        OBJECT ENCODING a
        HSET a \(v64) x
        OBJECT ENCODING a
        HSET a g \(v65)
        OBJECT ENCODING a
        HDEL a g
        OBJECT ENCODING a
        HSET b \(v65) x
        OBJECT ENCODING b
        HSET c f x g \(v65)
        OBJECT ENCODING c
        HSET d f x
        HSETNX d f \(v65)
        OBJECT ENCODING d
        HSETNX d g \(v65)
        OBJECT ENCODING d
        HMSET e f \(v65)
        OBJECT ENCODING e
        HSET i f 1
        HINCRBY i \(v65) 1
        OBJECT ENCODING i
        HSET j f 1
        HINCRBYFLOAT j f 1.0000000000000000000000000000000000000000000000000000000000000000000001
        OBJECT ENCODING j
        HINCRBYFLOAT j f 1e60
        OBJECT ENCODING j
        HINCRBYFLOAT j g 1e70
        OBJECT ENCODING j
        HSET k f 1
        HINCRBYFLOAT k \(v65) 1
        OBJECT ENCODING k
        HSET m f 1
        HINCRBY m f 9223372036854775000
        OBJECT ENCODING m
        HINCRBYFLOAT m f 1e63
        OBJECT ENCODING m
        HSETNX new f \(v65)
        OBJECT ENCODING new
        HSETNX new2 \(v64) \(v64)
        OBJECT ENCODING new2
        """
        // Entry count: 512 stays a listpack, the 513th field converts.
        var args = "HSET big"
        for i in 0 ..< 512 { args += " f\(i) \(i)" }
        s += "\n" + args + "\nOBJECT ENCODING big\nHLEN big\nHSET big f0 again\nOBJECT ENCODING big\nHSET big f512 x\nOBJECT ENCODING big\nHLEN big\n"
        s += "HDEL big f512 f511 f510\nOBJECT ENCODING big\n~HKEYS big\n~HGETALL big\n~HVALS big\nHGET big f7\nHLEN big\n"
        var args2 = "HMSET big2"
        for i in 0 ..< 513 { args2 += " f\(i) \(i)" }
        s += args2 + "\nOBJECT ENCODING big2\n"
        var args3 = "HSET big3"
        for i in 0 ..< 511 { args3 += " f\(i) \(i)" }
        s += args3 + "\nOBJECT ENCODING big3\nHSETNX big3 x y\nOBJECT ENCODING big3\nHSETNX big3 x2 y\nOBJECT ENCODING big3\n"
        s += "HINCRBY big3 n 1\nOBJECT ENCODING big3\n"
        // Small thresholds by CONFIG SET.
        s += """
        CONFIG SET hash-max-listpack-entries 2
        CONFIG SET hash-max-listpack-value 4
        HSET t a 1 b 2
        OBJECT ENCODING t
        HSET t c 3
        OBJECT ENCODING t
        HSET u a 1234
        OBJECT ENCODING u
        HSET u b 12345
        OBJECT ENCODING u
        HSET w a 1
        HINCRBY w a 99999
        OBJECT ENCODING w
        HSET x a 1
        HINCRBYFLOAT x a 0.25
        OBJECT ENCODING x
        HINCRBYFLOAT x a 0.5
        OBJECT ENCODING x
        HSET y a 1 b 2
        HINCRBY y c 1
        OBJECT ENCODING y
        CONFIG SET hash-max-listpack-entries 0
        HSET z a 1
        OBJECT ENCODING z
        HSETNX z2 a 1
        OBJECT ENCODING z2
        HINCRBY z3 a 1
        OBJECT ENCODING z3
        CONFIG SET hash-max-listpack-entries 512
        CONFIG SET hash-max-listpack-value 64
        """
        try listHashCompare(s)
    }

    @Test func encodingNameAtThresholds() {
        var cfg = EngineConfig()
        let h = HashValue()
        #expect(h.encodingName == "listpack")
        for i in 0 ..< 512 { h.set(ByteString(Array("f\(i)".utf8)), ByteString("v"), config: cfg) }
        #expect(h.count == 512 && h.encodingName == "listpack")
        h.set(ByteString("f0"), ByteString("w"), config: cfg)
        #expect(h.encodingName == "listpack")
        h.set(ByteString("extra"), ByteString("v"), config: cfg)
        #expect(h.count == 513 && h.encodingName == "hashtable")
        #expect(h.get(ByteString("f0")) == ByteString("w"))
        for i in 0 ..< 512 { h.remove(ByteString(Array("f\(i)".utf8))) }
        #expect(h.count == 1 && h.encodingName == "hashtable")

        cfg.hashMaxListpackEntries = 3
        cfg.hashMaxListpackValue = 5
        let s = HashValue()
        s.set(ByteString("a"), ByteString("12345"), config: cfg)
        #expect(s.encodingName == "listpack")
        s.set(ByteString("b"), ByteString("123456"), config: cfg)
        #expect(s.encodingName == "hashtable")
        let t = HashValue()
        for f in ["a", "b", "c"] { t.set(ByteString(Array(f.utf8)), ByteString("1"), config: cfg) }
        #expect(t.encodingName == "listpack")
        t.set(ByteString("d"), ByteString("1"), config: cfg)
        #expect(t.encodingName == "hashtable")

        // The engine uses its own config for commands.
        let harness = EngineHarness(config: cfg)
        harness.run("HSET k a 1 b 2 c 3")
        if case .hash(let hv)? = harness.engine.databases[0].keys[ByteString("k")] {
            #expect(hv.encodingName == "listpack")
        } else { Issue.record("no hash") }
        harness.run("HSET k d 4")
        if case .hash(let hv)? = harness.engine.databases[0].keys[ByteString("k")] {
            #expect(hv.encodingName == "hashtable")
        } else { Issue.record("no hash") }
        harness.run("HSET k2 a 123456")
        if case .hash(let hv)? = harness.engine.databases[0].keys[ByteString("k2")] {
            #expect(hv.encodingName == "hashtable")
        } else { Issue.record("no hash") }
    }

    @Test func rdbRoundTripAndCopy() {
        var cfg = EngineConfig()
        let h = HashValue()
        h.set(ByteString("b"), ByteString("2"), config: cfg)
        h.set(ByteString("a"), ByteString("1"), config: cfg)
        #expect(h.rdbValue == .hash([RDBHashField(field: Array("b".utf8), value: Array("2".utf8)),
                                     RDBHashField(field: Array("a".utf8), value: Array("1".utf8))]))
        let back = HashValue(rdb: h.rdbValue, config: cfg)
        #expect(back.encodingName == "listpack" && back.get(ByteString("a")) == ByteString("1") && back.count == 2)
        cfg.hashMaxListpackEntries = 1
        let big = HashValue(rdb: h.rdbValue, config: cfg)
        #expect(big.encodingName == "hashtable" && big.count == 2 && big.get(ByteString("b")) == ByteString("2"))
        let c = h.copy()
        c.remove(ByteString("a"))
        #expect(h.count == 2 && c.count == 1)
        let bc = big.copy()
        bc.set(ByteString("z"), ByteString("9"), config: cfg)
        #expect(big.count == 2 && bc.count == 3)
    }

    @Test func hscanOverHashtableReturnsEveryField() {
        let h = EngineHarness()
        var fields = Set<String>()
        var args = ["HSET", "h"]
        for i in 0 ..< 1000 {
            fields.insert("field:\(i)")
            args += ["field:\(i)", "\(i)"]
        }
        h.run(args.map { Array($0.utf8) })
        var seen = Set<String>()
        var cursor = "0"
        var rounds = 0
        repeat {
            let reply = h.run(argv("HSCAN h \(cursor) COUNT 50"))
            let (next, items) = parseScanReply(reply)
            cursor = next
            #expect(items.count % 2 == 0)
            var i = 0
            while i < items.count {
                #expect(items[i + 1] == String(items[i].dropFirst(6)))
                seen.insert(items[i])
                i += 2
            }
            rounds += 1
        } while cursor != "0" && rounds < 10_000
        #expect(seen == fields)
        #expect(rounds > 1)
        // MATCH filters by field.
        seen.removeAll()
        cursor = "0"
        repeat {
            let (next, items) = parseScanReply(h.run(argv("HSCAN h \(cursor) MATCH field:1?? COUNT 100")))
            cursor = next
            for (i, f) in items.enumerated() where i % 2 == 0 { seen.insert(f) }
        } while cursor != "0"
        #expect(seen == Set((100 ..< 200).map { "field:\($0)" }))
    }

    @Test func hrandfieldProperties() {
        let h = EngineHarness()
        h.run("HSET small a 1 b 2 c 3 d 4 e 5")
        var args = ["HSET", "big"]
        for i in 0 ..< 600 { args += ["f\(i)", "v\(i)"] }
        h.run(args.map { Array($0.utf8) })
        for key in ["small", "big"] {
            let size = key == "small" ? 5 : 600
            let valid: (String) -> Bool = key == "small" ? { ["a", "b", "c", "d", "e"].contains($0) } : { $0.hasPrefix("f") }
            // Single field.
            for _ in 0 ..< 20 {
                let r = parseArray(h.run(argv("HRANDFIELD \(key) 1")))
                #expect(r.count == 1 && valid(r[0]))
                let single = h.run("HRANDFIELD \(key)")
                #expect(single.hasPrefix("$"))
            }
            // Positive counts: distinct fields, min(count, size) of them.
            for count in [1, 2, 3, 4, 150, 250, 599, 600, 1000] {
                let r = parseArray(h.run(argv("HRANDFIELD \(key) \(count)")))
                #expect(r.count == min(count, size))
                #expect(Set(r).count == r.count)
                #expect(r.allSatisfy(valid))
                let wv = parseArray(h.run(argv("HRANDFIELD \(key) \(count) WITHVALUES")))
                #expect(wv.count == 2 * min(count, size))
                var i = 0
                while i < wv.count {
                    let expectedValue = key == "small" ? String(Int(wv[i].unicodeScalars.first!.value) - 96) : "v" + wv[i].dropFirst()
                    #expect(wv[i + 1] == expectedValue)
                    i += 2
                }
            }
            // Negative counts: exactly |count| picks, repeats allowed.
            let r = parseArray(h.run(argv("HRANDFIELD \(key) -2000")))
            #expect(r.count == 2000 && r.allSatisfy(valid))
            #expect(Set(r).count > 1)
            let wv = parseArray(h.run(argv("HRANDFIELD \(key) -7 WITHVALUES")))
            #expect(wv.count == 14)
        }
        // RESP3 WITHVALUES: pairs as two-element arrays.
        h.session.resp = 3
        let r3 = h.run("HRANDFIELD small -2 WITHVALUES")
        #expect(r3.hasPrefix("*2\r\n*2\r\n$1\r\n"))
        let r4 = h.run("HRANDFIELD big 2 WITHVALUES")
        #expect(r4.hasPrefix("*2\r\n*2\r\n$"))
    }

    @Test func commandTableMatchesRedisCommandInfo() {
        let e = Engine()
        let expected: [(String, Int, [String])] = [
            ("hset", -4, ["write", "denyoom", "fast"]), ("hsetnx", 4, ["write", "denyoom", "fast"]),
            ("hget", 3, ["readonly", "fast"]), ("hmset", -4, ["write", "denyoom", "fast"]),
            ("hmget", -3, ["readonly", "fast"]), ("hdel", -3, ["write", "fast"]), ("hlen", 2, ["readonly", "fast"]),
            ("hstrlen", 3, ["readonly", "fast"]), ("hexists", 3, ["readonly", "fast"]), ("hkeys", 2, ["readonly"]),
            ("hvals", 2, ["readonly"]), ("hgetall", 2, ["readonly"]), ("hincrby", 4, ["write", "denyoom", "fast"]),
            ("hincrbyfloat", 4, ["write", "denyoom", "fast"]), ("hrandfield", -2, ["readonly"]), ("hscan", -3, ["readonly"]),
        ]
        for (name, arity, flags) in expected {
            let s = e.commands[name]
            #expect(s?.arity == arity, "\(name)")
            #expect(s?.flags.names == flags, "\(name)")
            #expect(s?.firstKey == 1 && s?.lastKey == 1 && s?.step == 1, "\(name)")
        }
    }
}

/// The bulk strings of a flat RESP2 array reply.
func parseArray(_ reply: [UInt8]) -> [String] {
    var out: [String] = []
    var i = 0
    func line() -> String {
        var j = i
        while !(reply[j] == 13 && reply[j + 1] == 10) { j += 1 }
        let s = String(decoding: reply[i ..< j], as: UTF8.self)
        i = j + 2
        return s
    }
    while i < reply.count {
        let kind = reply[i]
        i += 1
        let l = line()
        if kind == UInt8(ascii: "$") {
            let n = Int(l)!
            if n >= 0 {
                out.append(String(decoding: reply[i ..< i + n], as: UTF8.self))
                i += n + 2
            }
        }
    }
    return out
}

/// HSCAN's reply: the next cursor and the flat field/value list.
func parseScanReply(_ reply: [UInt8]) -> (String, [String]) {
    let all = parseArray(reply)
    return (all[0], Array(all.dropFirst()))
}
