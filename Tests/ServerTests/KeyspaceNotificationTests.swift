// Keyspace notifications against Redis 7.0: the same commands on both servers, with a subscriber on
// every keyspace and keyevent channel, must publish the same messages in the same order (event
// names, classes, "del" after an aggregate empties, "new", "expired", "keymiss", evictions' absence
// when nothing is evicted), and nothing at all when notify-keyspace-events is empty.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

private let script: [String] = [
    // strings and generic
    "SET s1 v", "SET s1 v2 EX 100", "SETNX s2 x", "SETEX s3 100 x", "PSETEX s4 100000 x", "MSET m1 a m2 b", "MSETNX m3 a m4 b",
    "GETSET s1 v3", "APPEND s1 tail", "APPEND s5 new", "INCR n1", "INCRBY n1 5", "DECR n1", "DECRBY n1 2", "INCRBYFLOAT f1 1.5",
    "SETRANGE s6 3 abc", "SETRANGE s1 0 X", "SETBIT b1 7 1", "SETBIT b1 7 1", "BITOP OR b2 b1 s1", "BITOP AND b3 nosuch1 nosuch2",
    "GETDEL s2", "GETEX s3 PERSIST", "GETEX s4 EX 50", "GETEX s4 PXAT 1", "EXPIRE s1 1000", "PEXPIRE s1 100000", "EXPIREAT s1 1",
    "PERSIST s3", "PERSIST s3", "DEL m1 m2 nosuch", "UNLINK m3", "RENAME m4 r1", "RENAMENX r1 r2", "COPY r2 c1",
    "COPY r2 c1 REPLACE", "MOVE c1 5", "SELECT 5", "DEL c1", "SELECT 0", "SWAPDB 0 1", "SWAPDB 0 1",
    // lists
    "RPUSH l1 a b c d e", "LPUSH l1 z", "LPUSHX l1 y", "RPUSHX nosuch y", "LPOP l1", "RPOP l1 2", "LSET l1 0 q", "LINSERT l1 BEFORE q p",
    "LREM l1 1 p", "LTRIM l1 0 -1", "LTRIM l1 0 0", "RPUSH l2 1 2 3", "LMOVE l2 l3 LEFT RIGHT", "RPOPLPUSH l2 l2", "LMPOP 2 nosuch l2 LEFT COUNT 5",
    "BLPOP l3 0", "RPUSH l4 a", "BRPOP l4 0", "LPOP l1",
    // hashes
    "HSET h1 f1 1 f2 2", "HSET h1 f1 1", "HMSET h1 f3 3", "HSETNX h1 f1 x", "HSETNX h1 f9 x", "HINCRBY h1 f1 5", "HINCRBYFLOAT h1 f2 0.5",
    "HDEL h1 f1 nosuch", "HDEL h1 f2 f3 f9",
    // sets
    "SADD st1 a b c 1", "SADD st1 a", "SREM st1 a nosuch", "SMOVE st1 st2 b", "SMOVE st1 st2 nosuch", "SADD st3 x y",
    "SINTERSTORE st4 st1 st2", "SUNIONSTORE st5 st1 st2 st3", "SDIFFSTORE st6 st3 st3", "SINTERSTORE st5 st1 nosuch",
    "SPOP st3 5", "SADD st7 a", "SPOP st7",
    // sorted sets
    "ZADD z1 1 a 2 b 3 c 4 d", "ZADD z1 1 a", "ZADD z1 XX 9 a", "ZINCRBY z1 1 b", "ZADD z1 INCR 1 c", "ZREM z1 a nosuch",
    "ZREMRANGEBYRANK z1 0 0", "ZREMRANGEBYSCORE z1 -inf 3", "ZADD z2 1 a 2 b 3 c", "ZREMRANGEBYLEX z2 [a [a", "ZPOPMIN z2", "ZPOPMAX z2 5",
    "ZADD z3 1 a 2 b", "ZUNIONSTORE z4 2 z1 z3", "ZINTERSTORE z5 2 z1 z3", "ZDIFFSTORE z6 2 z3 z1", "ZRANGESTORE z7 z3 0 -1",
    "ZRANGESTORE z7 z3 5 10", "ZMPOP 1 z3 MIN", "BZPOPMIN z3 0", "ZADD z8 1 x", "BZPOPMAX z8 0",
    // sort, restore, flush
    "RPUSH sl 3 1 2", "SORT sl STORE sl2", "SORT nosuch STORE sl2",
    "FLUSHDB", "SET a 1", "FLUSHALL",
]

/// Runs `lines` on `c` (replies discarded), then returns everything the subscriber `sub` received.
private func publishedMessages(_ c: RawClient, _ sub: RawClient, _ lines: [String]) throws -> [String] {
    for line in lines { _ = try c.send(line) }
    try sub.write(RawClient.encode(argv("PING")))
    var out: [String] = []
    while true {
        let reply = String(decoding: try sub.readReply(), as: UTF8.self)
        if reply.hasPrefix("*2\r\n$4\r\npong") { break }
        out.append(reply)
    }
    return out
}

private func subscriber(_ server: ServerProcess) throws -> RawClient {
    let sub = try server.client()
    #expect(try sub.send("PSUBSCRIBE __key*__:*").hasPrefix("*3\r\n$10\r\npsubscribe"))
    return sub
}

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct KeyspaceNotificationTests {
    @Test(arguments: ["KEA", "Kgl", "E$hsz", "KEAn", "Egx"])
    func sameEventsAsRedis(flags: String) throws {
        let cairn = try ServerProcess()
        let redis = try ServerProcess(cairn: false)
        var streams: [[String]] = []
        for server in [cairn, redis] {
            let c = try server.client()
            #expect(try c.send("CONFIG SET notify-keyspace-events \(flags)") == "+OK\r\n")
            let sub = try subscriber(server)
            streams.append(try publishedMessages(c, sub, script))
        }
        #expect(!streams[0].isEmpty || flags == "Egx")
        #expect(streams[0].count == streams[1].count, "\(flags): \(streams[0].count) vs \(streams[1].count) messages")
        for (i, (a, b)) in zip(streams[0], streams[1]).enumerated() where a != b {
            Issue.record("\(flags): message \(i) differs: Cairn \(a.debugDescription) Redis \(b.debugDescription)")
            break
        }
    }

    /// Stream events (class t), with explicit IDs: xadd, xtrim, xdel, xsetid, the xgroup-* events,
    /// consumers created by XREADGROUP and XCLAIM, and the generic ones (del, rename, new).
    @Test(arguments: ["KEA", "Et", "KEn"])
    func streamEventsLikeRedis(flags: String) throws {
        let lines = ["XADD x 1-1 a 1", "XADD x MAXLEN 1 2-1 b 2", "XADD x NOMKSTREAM 3-1 c 3", "XADD nox NOMKSTREAM 3-1 c 3",
                     "XDEL x 1-1", "XDEL x 3-1", "XTRIM x MAXLEN 0", "XTRIM x MAXLEN 0", "XSETID x 9-9",
                     "XGROUP CREATE x g 0", "XGROUP CREATE y g 0 MKSTREAM", "XGROUP CREATECONSUMER x g c1",
                     "XADD x 10-1 d 4", "XREADGROUP GROUP g c2 STREAMS x >", "XCLAIM x g c3 0 10-1", "XGROUP DELCONSUMER x g c1",
                     "XGROUP SETID x g 0", "XGROUP DESTROY x g", "XACK x g 10-1", "RENAME x x2", "DEL x2 y"]
        let cairn = try ServerProcess()
        let redis = try ServerProcess(cairn: false)
        var streams: [[String]] = []
        for server in [cairn, redis] {
            let c = try server.client()
            #expect(try c.send("CONFIG SET notify-keyspace-events \(flags)") == "+OK\r\n")
            let sub = try subscriber(server)
            streams.append(try publishedMessages(c, sub, lines))
        }
        #expect(!streams[1].isEmpty)
        #expect(streams[0] == streams[1], "\(flags)")
    }

    @Test func expiredAndKeymissEventsLikeRedis() throws {
        let cairn = try ServerProcess()
        let redis = try ServerProcess(cairn: false)
        var streams: [[String]] = []
        for server in [cairn, redis] {
            let c = try server.client()
            #expect(try c.send("CONFIG SET notify-keyspace-events KExm") == "+OK\r\n")
            let sub = try subscriber(server)
            _ = try c.send("SET gone v PX 1")
            usleep(20_000)
            streams.append(try publishedMessages(c, sub, ["GET gone", "GET nosuch", "SET x 1", "TYPE nosuch2"]))
        }
        #expect(streams[0] == streams[1])
        #expect(streams[0].contains { $0.contains("expired") })
        #expect(streams[0].contains { $0.contains("keymiss") })
    }

    @Test func nothingIsPublishedWhenOff() throws {
        let cairn = try ServerProcess()
        let c = try cairn.client()
        #expect(try c.send("CONFIG GET notify-keyspace-events") == "*2\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n")
        let sub = try subscriber(cairn)
        #expect(try publishedMessages(c, sub, script).isEmpty)
        #expect(try c.send("CONFIG SET notify-keyspace-events KEA") == "+OK\r\n")
        #expect(try publishedMessages(c, sub, ["SET k v"]).count == 2)
        #expect(try c.send("CONFIG SET notify-keyspace-events \"\"") == "+OK\r\n")
        #expect(try publishedMessages(c, sub, ["SET k v"]).isEmpty)
    }
}
