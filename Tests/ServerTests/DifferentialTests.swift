// The differential test: the same scripted sequence of thousands of commands — every family,
// errors included — sent over real sockets to Debian's redis-server and to cairn-server; the reply
// streams must be byte-identical. Commands whose replies depend on hash-table order or randomness
// (SMEMBERS of big sets, SPOP, RANDOMKEY, SCAN...) are left out or used only through
// order-independent forms (SCARD, SISMEMBER, sorted replies).
import Foundation
import Testing
import TestSupport

/// xorshift, so the script is the same on every run and machine.
struct ScriptRNG {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }
}

func differentialScript(seed: UInt64, count: Int) -> [String] {
    var r = ScriptRNG(state: seed)
    let keys = ["s1", "s2", "n1", "l1", "l2", "h1", "h2", "set1", "set2", "z1", "z2", "missing"]
    let members = ["a", "b", "c", "1", "2", "10", "-3", "x y", "", "long-member-name"]
    func k() -> String { r.pick(keys) }
    func m() -> String { let v = r.pick(members); return v.isEmpty ? "\"\"" : v.contains(" ") ? "\"\(v)\"" : v }
    func n() -> String { r.pick(["0", "1", "-1", "2", "5", "-5", "100", "abc", "1.5", "9223372036854775807"]) }
    func score() -> String { r.pick(["0", "1", "1.5", "-2", "inf", "-inf", "3e5", "nan", "x"]) }
    func range() -> String { r.pick(["-inf", "+inf", "0", "(1", "1.5", "(2", "[a", "(b", "-", "+", "x"]) }
    var out: [String] = []
    for _ in 0 ..< count {
        let cmd: String
        switch r.int(60) {
        case 0: cmd = "SET \(k()) \(m())"
        case 1: cmd = "GET \(k())"
        case 2: cmd = "INCRBY \(k()) \(n())"
        case 3: cmd = "APPEND \(k()) \(m())"
        case 4: cmd = "STRLEN \(k())"
        case 5: cmd = "GETRANGE \(k()) \(n()) \(n())"
        case 6: cmd = "MSET \(k()) \(m()) \(k()) \(m())"
        case 7: cmd = "MGET \(k()) \(k()) \(k())"
        case 8: cmd = "SETNX \(k()) \(m())"
        case 9: cmd = "INCRBYFLOAT \(k()) \(r.pick(["1.5", "-0.25", "10", "x", "1e3"]))"
        case 10: cmd = "LPUSH \(k()) \(m()) \(m())"
        case 11: cmd = "RPUSH \(k()) \(m())"
        case 12: cmd = "LPOP \(k())"
        case 13: cmd = "RPOP \(k()) \(r.pick(["1", "2", "0", "-1"]))"
        case 14: cmd = "LRANGE \(k()) \(n()) \(n())"
        case 15: cmd = "LINDEX \(k()) \(n())"
        case 16: cmd = "LLEN \(k())"
        case 17: cmd = "LREM \(k()) \(n()) \(m())"
        case 18: cmd = "LINSERT \(k()) \(r.pick(["BEFORE", "AFTER", "X"])) \(m()) \(m())"
        case 19: cmd = "LSET \(k()) \(n()) \(m())"
        case 20: cmd = "LTRIM \(k()) \(n()) \(n())"
        case 21: cmd = "LPOS \(k()) \(m())"
        case 22: cmd = "LMOVE \(k()) \(k()) \(r.pick(["LEFT", "RIGHT"])) \(r.pick(["LEFT", "RIGHT"]))"
        case 23: cmd = "HSET \(k()) \(m()) \(m())"
        case 24: cmd = "HGET \(k()) \(m())"
        case 25: cmd = "HDEL \(k()) \(m())"
        case 26: cmd = "HGETALL \(k())"
        case 27: cmd = "HINCRBY \(k()) \(m()) \(n())"
        case 28: cmd = "HMGET \(k()) \(m()) \(m())"
        case 29: cmd = "HLEN \(k())"
        case 30: cmd = "HEXISTS \(k()) \(m())"
        case 31: cmd = "HKEYS \(k())"
        case 32: cmd = "SADD \(k()) \(m()) \(m())"
        case 33: cmd = "SREM \(k()) \(m())"
        case 34: cmd = "SCARD \(k())"
        case 35: cmd = "SISMEMBER \(k()) \(m())"
        case 36: cmd = "SMISMEMBER \(k()) \(m()) \(m())"
        case 37: cmd = "SINTERCARD 2 \(k()) \(k())"
        case 38: cmd = "ZADD \(k()) \(score()) \(m())"
        case 39: cmd = "ZADD \(k()) \(r.pick(["NX", "XX", "GT", "LT", "CH", "INCR"])) \(score()) \(m())"
        case 40: cmd = "ZRANGE \(k()) \(n()) \(n()) WITHSCORES"
        case 41: cmd = "ZRANGEBYSCORE \(k()) \(range()) \(range())"
        case 42: cmd = "ZRANGEBYLEX \(k()) \(range()) \(range())"
        case 43: cmd = "ZSCORE \(k()) \(m())"
        case 44: cmd = "ZRANK \(k()) \(m())"
        case 45: cmd = "ZINCRBY \(k()) \(score()) \(m())"
        case 46: cmd = "ZREM \(k()) \(m())"
        case 47: cmd = "ZCOUNT \(k()) \(range()) \(range())"
        case 48: cmd = "ZPOPMIN \(k())"
        case 49: cmd = "ZUNIONSTORE \(k()) 2 \(k()) \(k()) WITHSCORES"
        case 50: cmd = "TYPE \(k())"
        case 51: cmd = "EXISTS \(k()) \(k())"
        case 52: cmd = "DEL \(k())"
        case 53: cmd = "RENAME \(k()) \(k())"
        case 54: cmd = "OBJECT ENCODING \(k())"
        case 55: cmd = "EXPIRE \(k()) \(r.pick(["100", "-1", "x", "0"]))"
        case 56: cmd = "TTL \(k())"
        case 57: cmd = "PERSIST \(k())"
        case 58: cmd = r.pick(["MULTI", "EXEC", "DISCARD", "PING", "ECHO \(m())", "DBSIZE", "SELECT 1", "SELECT 0", "NOSUCH \(m())", "GET", "SET a"])
        default: cmd = "COPY \(k()) \(k()) REPLACE"
        }
        out.append(cmd)
    }
    return out
}

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct DifferentialTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func scriptedSequenceGivesIdenticalReplies(seed: UInt64) throws {
        let cairn = try ServerProcess(cairn: true)
        let redis = try ServerProcess(cairn: false)
        let c = try cairn.client(), r = try redis.client()
        let script = differentialScript(seed: seed, count: 2000)
        var mismatches: [String] = []
        for line in script {
            let args = argv(line)
            let mine = String(decoding: try c.send(args), as: UTF8.self)
            let theirs = String(decoding: try r.send(args), as: UTF8.self)
            if mine != theirs && mismatches.count < 10 {
                mismatches.append("\(line)\n  redis: \(theirs.debugDescription)\n  cairn: \(mine.debugDescription)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first:\n\(mismatches.joined(separator: "\n"))")
    }

    /// DEBUG POPULATE: the same keys and values (digest), existing keys left alone, the same errors.
    @Test func debugPopulateMatchesRedis() throws {
        let cairn = try ServerProcess(cairn: true)
        let redis = try ServerProcess(cairn: false)
        let c = try cairn.client(), r = try redis.client()
        let script = ["DEBUG POPULATE 0", "DEBUG POPULATE 300", "DBSIZE", "SET key:7 mine", "SET p:2 x EX 100",
                      "DEBUG POPULATE 10 p 3", "DEBUG POPULATE 12 q 20", "DEBUG POPULATE 12 q 20", "DEBUG POPULATE 5 r 0",
                      "GET key:7", "GET key:299", "GET p:1", "GET p:2", "TTL p:2", "STRLEN q:11", "GET q:11", "GET r:4",
                      "OBJECT ENCODING key:3", "DEBUG POPULATE -1", "DEBUG POPULATE x", "DEBUG POPULATE 1 a b",
                      "DEBUG POPULATE 1 a -2", "DEBUG populate", "DEBUG POPULATE 1 a 2 3", "DBSIZE", "DEBUG DIGEST"]
        for line in script {
            let args = argv(line)
            #expect(try c.send(args) == r.send(args), "\(line)")
        }
    }
}
