import Foundation
import Testing
@testable import Engine
import StorageFormat
import TestSupport

// MARK: - A differential runner with the few other-family commands these scripts need

/// Installs minimal SET, DEL, EXISTS, TYPE, OBJECT ENCODING, CONFIG SET and HELLO on `engine` when the
/// real ones (other families) are not registered, so list and hash scripts can run on their own.
func installListHashTestShims(_ engine: Engine) {
    var shims: [CommandSpec] = []
    func add(_ s: CommandSpec) { if engine.commands[s.name] == nil { shims.append(s) } }
    add(CommandSpec("set", arity: 3, flags: [.write], firstKey: 1, lastKey: 1, step: 1) { ctx in
        ctx.db.set(ctx.key(1), .string(StringValue(ctx.args[2])))
        ctx.modified(ctx.key(1))
        ctx.ok()
    })
    add(CommandSpec("del", arity: -2, flags: [.write], firstKey: 1, lastKey: -1, step: 1) { ctx in
        var n = 0
        for i in 1 ..< ctx.argc where ctx.db.lookup(ctx.key(i), now: ctx.now) != nil {
            ctx.db.remove(ctx.key(i))
            ctx.modified(ctx.key(i))
            n += 1
        }
        RESPEncoder.integer(n, to: &ctx.session.out)
    })
    add(CommandSpec("exists", arity: -2, flags: [.readonly], firstKey: 1, lastKey: -1, step: 1) { ctx in
        let n = (1 ..< ctx.argc).filter { ctx.db.lookup(ctx.key($0), now: ctx.now) != nil }.count
        RESPEncoder.integer(n, to: &ctx.session.out)
    })
    add(CommandSpec("type", arity: 2, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) { ctx in
        ctx.simple(ctx.db.lookup(ctx.key(1), now: ctx.now)?.typeName ?? "none")
    })
    add(CommandSpec("object", arity: -2, flags: [.readonly], firstKey: 2, lastKey: 2, step: 1) { ctx in
        if let v = ctx.db.lookup(ctx.key(2), now: ctx.now) { ctx.bulk(v.encodingName) } else { ctx.null() }
    })
    add(CommandSpec("config", arity: -2, flags: [.admin]) { ctx in
        let name = String(decoding: ctx.args[2], as: UTF8.self).lowercased()
        let value = Int(String(decoding: ctx.args[3], as: UTF8.self))!
        switch name {
        case "hash-max-listpack-entries", "hash-max-ziplist-entries": ctx.engine.config.hashMaxListpackEntries = value
        case "hash-max-listpack-value", "hash-max-ziplist-value": ctx.engine.config.hashMaxListpackValue = value
        default: break
        }
        ctx.ok()
    })
    add(CommandSpec("hello", arity: -1, flags: [.noAuth]) { ctx in
        ctx.session.resp = ctx.argc > 1 && ctx.args[1] == Array("3".utf8) ? 3 : 2
        ctx.ok()
    })
    engine.register(shims)
}

/// Like compareWithRedis, with the shims above. Line prefixes: `!` runs on both without comparing
/// (HELLO), `~` compares the reply's lines sorted (unordered replies of hashtable-encoded hashes).
@discardableResult
func listHashCompare(_ script: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    let oracle = try RedisOracle()
    let cairn = EngineHarness()
    installListHashTestShims(cairn.engine)
    _ = try oracle.run("FLUSHALL")
    var n = 0
    for line in script.split(separator: "\n") {
        var l = line.trimmingCharacters(in: .whitespaces)
        if l.isEmpty || l.hasPrefix("#") { continue }
        var mode: Character = "="
        if l.hasPrefix("!") || l.hasPrefix("~") {
            mode = l.first!
            l.removeFirst()
        }
        let args = argv(l)
        let theirs = String(decoding: try oracle.run(args), as: UTF8.self)
        let mine = String(decoding: cairn.run(args), as: UTF8.self)
        switch mode {
        case "!": break
        case "~":
            #expect(mine.split(separator: "\r\n").sorted() == theirs.split(separator: "\r\n").sorted(), "\(l)",
                    sourceLocation: sourceLocation)
        default:
            #expect(mine == theirs, "\(l)", sourceLocation: sourceLocation)
        }
        n += 1
    }
    return n
}


// MARK: - Lists

@Suite struct ListCommandsTests {
    @Test func pushPopLengthRange() throws {
        try #require(RedisOracle.available)
        let n = try listHashCompare("""
        LPUSH l a
        LPUSH l b c d
        RPUSH l e f
        LLEN l
        LRANGE l 0 -1
        LRANGE l 0 0
        LRANGE l -2 -1
        LRANGE l -100 100
        LRANGE l 5 2
        LRANGE l 6 10
        LRANGE l 3 -4
        LRANGE l -1 -2
        LRANGE l 9223372036854775807 -9223372036854775808
        LRANGE l -9223372036854775808 9223372036854775807
        LRANGE l a 1
        LRANGE l 0 1.5
        LRANGE nolist 0 -1
        LLEN nolist
        OBJECT ENCODING l
        TYPE l
        LPUSHX nolist a
        RPUSHX nolist a b
        EXISTS nolist
        LPUSHX l x y
        RPUSHX l z
        LRANGE l 0 -1
        LPOP l
        RPOP l
        LPOP l 2
        RPOP l 2
        LPOP l 0
        RPOP l 0
        LPOP nolist
        RPOP nolist
        LPOP nolist 0
        LPOP nolist 3
        LPOP l -1
        RPOP l -5
        LPOP l abc
        LPOP l 1.0
        LPOP l 1 2
        RPOP l 1 2 3
        LPOP l 100
        EXISTS l
        LLEN l
        RPUSH l ""
        LRANGE l 0 -1
        RPOP l 1
        EXISTS l
        RPUSH n 1 2 3 -4 100000000000000000000 3.5
        LRANGE n 0 -1
        RPOP n 9223372036854775807
        RPUSH b "a b" "\\x00\\xff" "\\r\\n"
        LRANGE b 0 -1
        LPOP b 1
        RPOP b
        LPUSH
        LPUSH l
        RPUSH l
        LPUSHX l
        RPUSHX l
        LPOP
        LLEN
        LLEN a b
        LRANGE l 0
        """)
        #expect(n > 60)
    }

    @Test func indexSetInsertRemoveTrim() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        RPUSH l a b c d e a b a
        LINDEX l 0
        LINDEX l -1
        LINDEX l 7
        LINDEX l 8
        LINDEX l -8
        LINDEX l -9
        LINDEX l abc
        LINDEX nolist abc
        LINDEX nolist 0
        LSET l 0 A
        LSET l -1 Z
        LSET l 8 x
        LSET l -9 x
        LSET l abc x
        LSET nolist 0 x
        LSET nolist abc x
        LRANGE l 0 -1
        LINSERT l BEFORE c C0
        LINSERT l after c C1
        LINSERT l AFTER Z end
        LINSERT l before A start
        LINSERT l BEFORE missing x
        LINSERT l MIDDLE c x
        LINSERT nolist BEFORE c x
        LINSERT nolist MIDDLE c x
        EXISTS nolist
        LRANGE l 0 -1
        LREM l 1 a
        LRANGE l 0 -1
        RPUSH r x y x y x y x
        LREM r -2 x
        LRANGE r 0 -1
        LREM r 0 y
        LRANGE r 0 -1
        LREM r 0 nothing
        LREM r abc x
        LREM nolist 1 x
        LREM nolist abc x
        LREM r 0 x
        EXISTS r
        RPUSH t 0 1 2 3 4 5 6 7 8 9
        LTRIM t 1 -2
        LRANGE t 0 -1
        LTRIM t -3 100
        LRANGE t 0 -1
        LTRIM t 0 0
        LRANGE t 0 -1
        LTRIM t abc 0
        LTRIM t 0 abc
        LTRIM nolist 0 1
        LTRIM nolist a 1
        LTRIM t 1 0
        EXISTS t
        RPUSH t 0 1 2 3 4 5
        LTRIM t -100 -4
        LRANGE t 0 -1
        LTRIM t 5 10
        EXISTS t
        RPUSH t a b
        LTRIM t -1 -2
        EXISTS t
        RPUSH t a b c
        LTRIM t -9223372036854775808 9223372036854775807
        LRANGE t 0 -1
        LINDEX
        LINDEX l
        LSET l 0
        LINSERT l BEFORE a
        LREM l 0
        LTRIM l 0
        """)
    }

    @Test func lpos() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        RPUSH l a b c 1 2 3 c c a
        LPOS l a
        LPOS l c
        LPOS l z
        LPOS l c RANK 2
        LPOS l c RANK 3
        LPOS l c RANK 4
        LPOS l c RANK -1
        LPOS l c RANK -3
        LPOS l c RANK -4
        LPOS l c COUNT 0
        LPOS l c COUNT 2
        LPOS l c COUNT 10
        LPOS l c COUNT 0 RANK 2
        LPOS l c COUNT 0 RANK -1
        LPOS l c COUNT 2 RANK -2
        LPOS l z COUNT 0
        LPOS l c MAXLEN 3
        LPOS l c MAXLEN 2
        LPOS l c COUNT 0 MAXLEN 7
        LPOS l c COUNT 0 MAXLEN 7 RANK 2
        LPOS l a RANK -1 MAXLEN 1
        LPOS l a RANK -1 MAXLEN 0
        LPOS l c RANK 9223372036854775807
        LPOS l c RANK -9223372036854775807
        LPOS l c RANK -9223372036854775808
        LPOS l c RANK -9223372036854775808 COUNT 2
        LPOS l c RANK 0
        LPOS l c RANK abc
        LPOS l c COUNT -1
        LPOS l c COUNT abc
        LPOS l c MAXLEN -1
        LPOS l c MAXLEN abc
        LPOS l c RANK
        LPOS l c COUNT
        LPOS l c FOO 1
        LPOS l c rank 2 count 1 maxlen 0
        LPOS l 1
        LPOS l 3 COUNT 1
        LPOS nolist a
        LPOS nolist a COUNT 0
        LPOS nolist a RANK 0
        LPOS nolist a FOO
        LPOS l
        """)
    }

    @Test func moves() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        RPUSH src a b c d
        LMOVE src dst LEFT RIGHT
        LMOVE src dst RIGHT LEFT
        LMOVE src dst left left
        LMOVE src dst Right Right
        LRANGE dst 0 -1
        EXISTS src
        LMOVE src dst LEFT RIGHT
        LMOVE dst dst LEFT RIGHT
        LRANGE dst 0 -1
        LMOVE dst dst RIGHT LEFT
        LRANGE dst 0 -1
        RPUSH one x
        LMOVE one one LEFT RIGHT
        LRANGE one 0 -1
        LMOVE one one RIGHT LEFT
        EXISTS one
        LMOVE src dst UP RIGHT
        LMOVE src dst LEFT DOWN
        LMOVE dst src LEFT DOWN
        SET str v
        LMOVE dst str LEFT RIGHT
        LRANGE dst 0 -1
        LMOVE str dst LEFT RIGHT
        LMOVE nolist str LEFT RIGHT
        RPOPLPUSH dst other
        RPOPLPUSH dst other
        LRANGE other 0 -1
        RPOPLPUSH nolist other
        RPOPLPUSH dst str
        RPOPLPUSH str other
        RPOPLPUSH other other
        LRANGE other 0 -1
        LMOVE a b LEFT
        RPOPLPUSH a
        """)
    }

    /// Blocking commands appear here only with arguments that fail before blocking (bad timeouts,
    /// wrong types, syntax); what they do when they block is in the in-process blocking tests.
    @Test func lmpopAndBlockingWithData() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        RPUSH a 1 2 3 4 5
        RPUSH b x y
        LMPOP 1 a LEFT
        LMPOP 1 a RIGHT
        LMPOP 2 nolist a LEFT COUNT 2
        LMPOP 2 nolist a RIGHT COUNT 10
        EXISTS a
        LMPOP 2 a b LEFT
        LMPOP 3 nolist a b right count 5
        LMPOP 2 a b LEFT
        LMPOP 2 a b LEFT COUNT 1
        LMPOP 0 a LEFT
        LMPOP -1 a LEFT
        LMPOP abc a LEFT
        LMPOP 9223372036854775807 a LEFT
        LMPOP 2 a LEFT
        LMPOP 1 a MIDDLE
        LMPOP 1 a LEFT COUNT 0
        LMPOP 1 a LEFT COUNT -1
        LMPOP 1 a LEFT COUNT abc
        LMPOP 1 a LEFT COUNT 1 COUNT 2
        LMPOP 1 a LEFT COUNT
        LMPOP 1 a LEFT FOO
        SET s v
        RPUSH c z
        LMPOP 2 s c LEFT
        LMPOP 2 c s LEFT
        LMPOP 2 c s LEFT
        LMPOP 1 a
        RPUSH a 1 2 3
        RPUSH b x y
        EXISTS a b
        RPUSH a 1 2 3
        BLPOP a abc
        BLPOP a -1
        BLPOP a inf
        BLPOP a -inf
        BLPOP a 1e300
        BLPOP a 1x
        BLPOP a ""
        BLPOP a 1e5000
        BLPOP a 0x10
        BLMOVE a dst LEFT UP abc
        BLMOVE a dst LEFT LEFT abc
        BLMOVE a dst LEFT LEFT -1
        BRPOPLPUSH dst a abc
        LRANGE a 0 -1
        LRANGE dst 0 -1
        RPUSH m 1 2 3 4
        EXISTS m
        BLMPOP abc 1 m LEFT
        BLMPOP -1 1 m LEFT
        BLMPOP abc 0 m LEFT
        BLPOP a
        BLMOVE a b LEFT LEFT
        BRPOPLPUSH a b
        """)
    }

    @Test func wrongTypeEverywhere() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        SET s v
        LPUSH s a
        RPUSH s a
        LPUSHX s a
        RPUSHX s a
        LPOP s
        RPOP s 2
        LPOP s 0
        LPOP s -1
        LLEN s
        LRANGE s 0 -1
        LRANGE s a 0
        LINDEX s 0
        LINDEX s abc
        LSET s 0 x
        LSET s abc x
        LINSERT s BEFORE a b
        LINSERT s FOO a b
        LREM s 0 a
        LTRIM s 0 1
        LPOS s a
        LPOS s a RANK 0
        LMOVE s d LEFT LEFT
        RPOPLPUSH s d
        LMPOP 1 s LEFT
        BLPOP s 0
        BRPOP s 0
        BLMOVE s d LEFT LEFT 0
        BRPOPLPUSH s d 0
        BLMPOP 0 1 s LEFT
        TYPE s
        """)
    }

    @Test func resp3Replies() throws {
        try #require(RedisOracle.available)
        try listHashCompare("""
        !HELLO 3
        LPOP nolist
        LPOP nolist 2
        RPOP nolist 0
        LINDEX nolist 0
        LPOS nolist a
        LPOS nolist a COUNT 0
        LMPOP 1 nolist LEFT
        LMOVE nolist d LEFT LEFT
        RPUSH l a b c
        LPOP l 0
        LPOP l 2
        LINDEX l 5
        LPOS l z
        LPOS l c COUNT 0
        LRANGE l 0 -1
        LMPOP 1 l LEFT
        RPUSH l x y
        BLPOP l 0
        BLMPOP 0 1 l RIGHT COUNT 3
        !HELLO 2
        LPOP nolist 2
        """)
    }

    // MARK: Blocking, in process

    /// Two sessions on one engine, as the server would drive them.
    final class TwoClients {
        let engine = Engine()
        let a: Session
        let b: Session
        init() {
            engine.updateClock()
            a = engine.newSession()
            b = engine.newSession()
        }
        @discardableResult
        func run(_ s: Session, _ line: String) -> String {
            engine.execute(s, argv(line))
            let r = String(decoding: s.out, as: UTF8.self)
            s.out.removeAll()
            return r
        }
        func take(_ s: Session) -> String {
            let r = String(decoding: s.out, as: UTF8.self)
            s.out.removeAll()
            return r
        }
    }

    @Test func blpopWaitsForPush() {
        let t = TwoClients()
        #expect(t.run(t.a, "BLPOP k1 k2 0") == "")
        #expect(t.a.blocked != nil)
        #expect(t.engine.blockedCount == 1)
        #expect(t.run(t.b, "LPUSH k2 a b c") == ":3\r\n")
        #expect(t.take(t.a) == "*2\r\n$2\r\nk2\r\n$1\r\nc\r\n")
        #expect(t.a.blocked == nil)
        #expect(t.engine.blockedCount == 0)
        #expect(t.run(t.b, "LRANGE k2 0 -1") == "*2\r\n$1\r\nb\r\n$1\r\na\r\n")
    }

    @Test func brpopTakesLastAndDeletesEmptyList() {
        let t = TwoClients()
        #expect(t.run(t.a, "BRPOP k 5") == "")
        #expect(t.run(t.b, "RPUSH k x") == ":1\r\n")
        #expect(t.take(t.a) == "*2\r\n$1\r\nk\r\n$1\r\nx\r\n")
        #expect(t.run(t.b, "LLEN k") == ":0\r\n")
        #expect(t.engine.databases[0].keys[ByteString("k")] == nil)
    }

    @Test func timeoutRepliesNull() {
        let t = TwoClients()
        #expect(t.run(t.a, "BLPOP k 1.5") == "")
        t.engine.now += 1000
        #expect(t.engine.expireBlockedClients() == 0)
        #expect(t.take(t.a) == "")
        t.engine.now += 600
        #expect(t.engine.expireBlockedClients() == 1)
        #expect(t.take(t.a) == "*-1\r\n")
        #expect(t.a.blocked == nil)
        // RESP3 timeouts are nulls; BLMOVE / BRPOPLPUSH time out with a null bulk.
        t.b.resp = 3
        #expect(t.run(t.b, "BLMPOP 1 1 k LEFT") == "")
        #expect(t.run(t.a, "BRPOPLPUSH k d 1") == "")
        t.engine.now += 1000
        #expect(t.engine.expireBlockedClients() == 2)
        #expect(t.take(t.b) == "_\r\n")
        #expect(t.take(t.a) == "$-1\r\n")
        // Timeout 0 never expires.
        #expect(t.run(t.a, "BLMOVE k d LEFT LEFT 0") == "")
        t.engine.now += 1_000_000_000
        #expect(t.engine.expireBlockedClients() == 0)
        t.engine.endSession(t.a)
        #expect(t.engine.blockedCount == 0)
    }

    @Test func blmoveAndBrpoplpushServeIntoDestination() {
        let t = TwoClients()
        #expect(t.run(t.a, "BLMOVE src dst RIGHT LEFT 0") == "")
        #expect(t.run(t.b, "RPUSH src x y") == ":2\r\n")
        #expect(t.take(t.a) == "$1\r\ny\r\n")
        #expect(t.run(t.b, "LRANGE dst 0 -1") == "*1\r\n$1\r\ny\r\n")
        #expect(t.run(t.b, "LRANGE src 0 -1") == "*1\r\n$1\r\nx\r\n")
        // A client blocked on dst is served by the move's push.
        let c = t.engine.newSession()
        #expect(t.run(c, "BLPOP other 0") == "")
        #expect(t.run(t.a, "BRPOPLPUSH empty other 0") == "")
        #expect(t.run(t.b, "LPUSH empty e") == ":1\r\n")
        #expect(t.take(t.a) == "$1\r\ne\r\n")
        #expect(t.take(c) == "*2\r\n$5\r\nother\r\n$1\r\ne\r\n")
    }

    @Test func blmpopWithCount() {
        let t = TwoClients()
        #expect(t.run(t.a, "BLMPOP 0 2 k1 k2 RIGHT COUNT 2") == "")
        #expect(t.run(t.b, "RPUSH k2 a b c") == ":3\r\n")
        #expect(t.take(t.a) == "*2\r\n$2\r\nk2\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n")
    }

    @Test func waitersAreServedInOrder() {
        let t = TwoClients()
        let c = t.engine.newSession()
        #expect(t.run(t.a, "BLPOP k 0") == "")
        #expect(t.run(c, "BLPOP k 0") == "")
        #expect(t.run(t.b, "RPUSH k 1") == ":1\r\n")
        #expect(t.take(t.a) == "*2\r\n$1\r\nk\r\n$1\r\n1\r\n")
        #expect(t.take(c) == "")
        #expect(c.blocked != nil)
        #expect(t.run(t.b, "RPUSH k 2 3") == ":2\r\n")
        #expect(t.take(c) == "*2\r\n$1\r\nk\r\n$1\r\n2\r\n")
        #expect(t.run(t.b, "LRANGE k 0 -1") == "*1\r\n$1\r\n3\r\n")
    }

    @Test func pushToOtherDatabaseDoesNotServe() {
        let t = TwoClients()
        #expect(t.run(t.a, "BLPOP k 0") == "")
        t.b.db = 1
        #expect(t.run(t.b, "RPUSH k 1") == ":1\r\n")
        #expect(t.take(t.a) == "")
        t.b.db = 0
        #expect(t.run(t.b, "RPUSH k 2") == ":1\r\n")
        #expect(t.take(t.a) == "*2\r\n$1\r\nk\r\n$1\r\n2\r\n")
    }

    @Test func insideTransactionBlockingCommandsDoNotBlock() {
        let t = TwoClients()
        t.engine.executingTransaction = true
        #expect(t.run(t.a, "BLPOP k 0") == "*-1\r\n")
        #expect(t.run(t.a, "BRPOP k 1") == "*-1\r\n")
        #expect(t.run(t.a, "BLMOVE k d LEFT LEFT 0") == "$-1\r\n")
        #expect(t.run(t.a, "BRPOPLPUSH k d 0") == "$-1\r\n")
        #expect(t.run(t.a, "BLMPOP 0 1 k LEFT") == "*-1\r\n")
        t.a.resp = 3
        #expect(t.run(t.a, "BLPOP k 0") == "_\r\n")
        #expect(t.a.blocked == nil)
        #expect(t.engine.blockedCount == 0)
        t.engine.executingTransaction = false
    }

    @Test func timeoutParsing() {
        let t = TwoClients()
        #expect(t.run(t.a, "BLPOP k abc") == "-ERR timeout is not a float or out of range\r\n")
        #expect(t.run(t.a, "BLPOP k -0.5") == "-ERR timeout is negative\r\n")
        #expect(t.a.blocked == nil)
        // A tiny timeout rounds up to 1 ms, as in Redis (it does not mean "forever").
        #expect(t.run(t.a, "BLPOP k 0.0001") == "")
        #expect(t.a.blocked?.deadline == t.engine.now + 1)
        t.engine.unblock(t.a)
        #expect(t.run(t.a, "BLPOP k 2") == "")
        #expect(t.a.blocked?.deadline == t.engine.now + 2000)
    }

    // MARK: Properties

    @Test func lposMatchesNaiveSearch() {
        let h = EngineHarness()
        var model: [String] = []
        for _ in 0 ..< 60 {
            let e = ["a", "b", "c"].randomElement()!
            model.append(e)
            h.run("RPUSH l \(e)")
        }
        for e in ["a", "b", "c", "z"] {
            let positions = model.indices.filter { model[$0] == e }
            for rank in [1, 2, 5, -1, -3] {
                let expected: [Int] = rank > 0 ? Array(positions.dropFirst(rank - 1)) : Array(positions.reversed().dropFirst(-rank - 1))
                let reply = h.run("LPOS l \(e) RANK \(rank) COUNT 0")
                let want = "*\(expected.count)\r\n" + expected.map { ":\($0)\r\n" }.joined()
                #expect(reply == want)
                let single = h.run("LPOS l \(e) RANK \(rank)")
                #expect(single == (expected.first.map { ":\($0)\r\n" } ?? "$-1\r\n"))
                let limited = h.run("LPOS l \(e) RANK \(rank) COUNT 2 MAXLEN 20")
                let inWindow = expected.filter { rank > 0 ? $0 < 20 : $0 >= 40 }
                let w = Array(inWindow.prefix(2))
                #expect(limited == "*\(w.count)\r\n" + w.map { ":\($0)\r\n" }.joined())
            }
        }
    }

    @Test func listValueModelAndRDB() {
        let cfg = EngineConfig()
        let l = ListValue(elements: [ByteString("a"), ByteString("b")], config: cfg)
        #expect(l.count == 2)
        #expect(l.encodingName == "quicklist")
        #expect(l.elements() == [ByteString("a"), ByteString("b")])
        #expect(l.rdbValue == .list([Array("a".utf8), Array("b".utf8)]))
        let back = ListValue(rdb: l.rdbValue, config: cfg)
        #expect(back.elements() == l.elements())
        let c = l.copy()
        c.push(ByteString("z"), left: true)
        #expect(l.count == 2 && c.count == 3)
        #expect(ListValue(rdb: .list([]), config: cfg).count == 0)
    }

    @Test func commandTableMatchesRedisCommandInfo() {
        let e = Engine()
        let expected: [(String, Int, Int, Int, Int)] = [
            ("lpush", -3, 1, 1, 1), ("rpush", -3, 1, 1, 1), ("lpushx", -3, 1, 1, 1), ("rpushx", -3, 1, 1, 1),
            ("lpop", -2, 1, 1, 1), ("rpop", -2, 1, 1, 1), ("llen", 2, 1, 1, 1), ("lrange", 4, 1, 1, 1),
            ("lindex", 3, 1, 1, 1), ("lset", 4, 1, 1, 1), ("linsert", 5, 1, 1, 1), ("lrem", 4, 1, 1, 1),
            ("ltrim", 4, 1, 1, 1), ("lpos", -3, 1, 1, 1), ("lmove", 5, 1, 2, 1), ("rpoplpush", 3, 1, 2, 1),
            ("lmpop", -4, 0, 0, 0), ("blpop", -3, 1, -2, 1), ("brpop", -3, 1, -2, 1), ("blmove", 6, 1, 2, 1),
            ("brpoplpush", 4, 1, 2, 1), ("blmpop", -5, 0, 0, 0),
        ]
        for (name, arity, first, last, step) in expected {
            let s = e.commands[name]
            #expect(s?.arity == arity, "\(name)")
            #expect(s?.firstKey == first && s?.lastKey == last && s?.step == step, "\(name)")
        }
        #expect(e.commands["blpop"]!.flags.contains(.blocking))
        #expect(e.commands["llen"]!.flags.names == ["readonly", "fast"])
        #expect(e.commands["blmove"]!.flags.names == ["write", "denyoom", "noscript", "blocking"])
    }
}
