// Client-side caching against Redis 7.0: the same multi-client script (RESP3 tracking, a RESP2 client
// redirecting to a subscribed connection, BCAST with prefixes and NOLOOP, OPTIN/OPTOUT, transactions,
// lazy expiry, FLUSHDB/FLUSHALL, a redirect target that goes away, tracking-table-max-keys) runs on
// both servers; every client's stream of replies and invalidation messages must be byte-identical.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Client roles: 0 tracks in RESP3, 1 writes, 2 is the redirect target (RESP2, subscribed),
/// 3 tracks in RESP2 redirecting to 2, 4 tracks in BCAST mode (RESP3), 5 is a second redirect target.
private let trackingScript: [(Int, String)] = [
    (0, "HELLO 3"), (4, "HELLO 3"),
    (2, "SUBSCRIBE __redis__:invalidate"),
    (0, "CLIENT TRACKING on"), (3, "CLIENT TRACKING on REDIRECT {2}"),
    (4, "CLIENT TRACKING on BCAST PREFIX user: PREFIX obj: NOLOOP"),
    (1, "MSET a 1 b 2 user:1 x obj:9 y other z"),
    (0, "GET a"), (0, "MGET a b c"), (3, "GET b"), (3, "HGETALL h"),
    (1, "SET a 10"), (1, "INCR b"), (1, "HSET h f v"), (1, "DEL c"),
    (0, "GET a"), (0, "SET a 11"), (0, "GET a"), (0, "MULTI"), (0, "INCR a"), (0, "GET b"), (0, "EXEC"),
    (4, "SET user:2 own"), (1, "SET user:3 other"), (1, "MSET obj:1 a obj:2 b user:1 c"), (4, "MSET user:4 x obj:3 y"),
    (0, "CLIENT TRACKINGINFO"), (4, "CLIENT TRACKINGINFO"), (3, "CLIENT TRACKINGINFO"), (3, "CLIENT GETREDIR"),
    (0, "SET ttl v PX 30"), (0, "GET ttl"), (-1, "sleep"), (0, "GET ttl"),
    // Scripts: a read inside one tracks the keys its EVAL declared (for its caller); a script that
    // reads nothing tracks nothing, and a read-only script's keys count only through its reads.
    (0, "EVAL redis.call('set','s3','bar') 2 s1 s2"), (1, "MSET s1 1 s2 1"),
    (0, "EVAL redis.call('get','s3') 2 s1 s2"), (1, "MSET s1 2 s2 2"),
    (0, "EVAL_RO redis.call('ping') 2 s4 s5"), (1, "MSET s4 1 s5 1"),
    (0, "EVAL_RO redis.call('get','s4') 2 s4 s5"), (1, "MSET s4 2 s5 2"),
    (0, "CLIENT TRACKING off"), (0, "CLIENT TRACKING on OPTIN"), (0, "GET a"), (0, "CLIENT CACHING yes"), (0, "GET b"),
    (1, "MSET a 1 b 1"), (0, "CLIENT CACHING no"), (0, "CLIENT TRACKING on OPTOUT"),
    (0, "CLIENT TRACKING off"), (0, "CLIENT TRACKING on OPTOUT"), (0, "CLIENT CACHING no"), (0, "GET a"), (0, "GET b"),
    (1, "MSET a 2 b 2"),
    (0, "CLIENT TRACKING on BCAST"), (0, "CLIENT TRACKING off"), (0, "CLIENT TRACKING on PREFIX x"),
    (0, "CLIENT TRACKING on BCAST PREFIX ab PREFIX a"), (0, "CLIENT TRACKING on OPTIN OPTOUT"),
    (0, "CLIENT TRACKING on REDIRECT 999999"), (0, "CLIENT TRACKING maybe"), (0, "CLIENT CACHING maybe"),
    (0, "CLIENT TRACKING on"), (0, "GET f1"), (3, "GET f1"), (1, "FLUSHDB"), (0, "GET f2"), (0, "FLUSHALL"),
    // A redirect target that goes away: the RESP3 client learns it on the next invalidation.
    (0, "CLIENT TRACKING on REDIRECT {5}"), (0, "GET gone"), (5, "QUIT"), (1, "SET gone 1"), (0, "CLIENT TRACKINGINFO"),
    (0, "CLIENT TRACKING off"), (0, "CLIENT TRACKING on"),
    // Table limit: shrinking it invalidates keys until it fits.
    (3, "MGET t1 t2 t3"), (1, "CONFIG SET tracking-table-max-keys 1"), (1, "PING"), (1, "CONFIG SET tracking-table-max-keys 0"),
    (1, "MSET t1 x t2 x t3 x"),
    (0, "RESET"), (0, "CLIENT TRACKINGINFO"),
]

/// A frame with the integers that are client 2's or 5's id (GETREDIR, TRACKINGINFO's redirect,
/// tracking-redir-broken) replaced by names.
private func masked(_ frame: String, _ ids: [Int]) -> String {
    var f = "\r\n" + frame
    for i in [2, 5] { f = f.replacingOccurrences(of: "\r\n:\(ids[i])\r\n", with: "\r\n:<id\(i)>\r\n") }
    return String(f.dropFirst())  // "\r\n" is one Character
}

/// Runs the script on `server`; returns, for every client, its replies in order and then whatever
/// else it received (drained with a final PING).
private func trackingTranscript(_ server: ServerProcess) throws -> [[String]] {
    var clients: [RawClient] = []
    for _ in 0 ..< 6 { clients.append(try server.client()) }
    var ids: [Int] = []
    for c in clients {
        let reply = try c.send("CLIENT ID")
        ids.append(Int(reply.dropFirst().trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1)
    }
    var out = Array(repeating: [String](), count: 6)
    var closed = Set<Int>()
    var inMulti = false
    for (who, line) in trackingScript {
        if who < 0 {
            usleep(100_000)
            continue
        }
        // Client ids differ between servers: {n} is client n's id, and ids are not compared.
        var text = line
        for (i, id) in ids.enumerated() { text = text.replacingOccurrences(of: "{\(i)}", with: String(id)) }
        var frames: [String]
        if line == "QUIT" || line == "MULTI" || inMulti {
            // No PING fence where it would be queued or the connection closes.
            frames = [try clients[who].send(text)]
            if line == "MULTI" { inMulti = true }
            if line == "EXEC" { inMulti = false }
        } else {
            frames = try fenced(clients[who], text)
        }
        for f in frames {
            out[who].append(masked(f, ids))
        }
        if line == "QUIT" { closed.insert(who) }
    }
    // Let the BCAST broadcast and the cron's table trimming happen, then drain each client.
    usleep(200_000)
    for (i, c) in clients.enumerated() where !closed.contains(i) {
        try c.write(RawClient.encode(argv("PING")))
        while true {
            let reply = String(decoding: try c.readReply(), as: UTF8.self)
            if reply == "+PONG\r\n" || reply.hasPrefix("*2\r\n$4\r\npong") { break }
            out[i].append(masked(reply, ids))
        }
    }
    return out
}

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct TrackingTests {
    @Test func sameInvalidationsAsRedis() throws {
        let cairn = try ServerProcess()
        let redis = try ServerProcess(cairn: false)
        let a = try trackingTranscript(cairn)
        let b = try trackingTranscript(redis)
        // The script must produce invalidations on each kind of listener.
        #expect(b[0].contains { $0.hasPrefix(">2\r\n$10\r\ninvalidate\r\n*1\r\n") })
        #expect(b[2].contains { $0.contains("__redis__:invalidate") })
        #expect(b[4].contains { $0.hasPrefix(">2\r\n$10\r\ninvalidate\r\n*") })
        #expect(b[0].contains { $0.contains("tracking-redir-broken") })
        for i in 0 ..< 6 {
            var a = a, b = b
            // Which keys the table-size limit invalidates first is random in Redis: the redirect
            // target's messages are compared as a multiset.
            if i == 2 { a[2].sort(); b[2].sort() }
            #expect(a[i].count == b[i].count, "client \(i): \(a[i].count) vs \(b[i].count) frames")
            for (j, (x, y)) in zip(a[i], b[i]).enumerated() where x != y {
                Issue.record("client \(i) frame \(j): Cairn \(x.debugDescription) Redis \(y.debugDescription)")
                break
            }
        }
    }

    @Test func infoAndClientListShowTracking() throws {
        let cairn = try ServerProcess()
        let c = try cairn.client(), d = try cairn.client()
        #expect(try c.send("CLIENT TRACKING on") == "+OK\r\n")
        #expect(try d.send("CLIENT TRACKING on BCAST PREFIX p:") == "+OK\r\n")
        _ = try c.send("MGET k1 k2 k3")
        let info = try c.send("INFO")
        #expect(info.contains("tracking_clients:2\r\n"))
        #expect(info.contains("tracking_total_keys:3\r\n"))
        #expect(info.contains("tracking_total_items:3\r\n"))
        #expect(info.contains("tracking_total_prefixes:1\r\n"))
        let list = try c.send("CLIENT LIST")
        #expect(list.contains("flags=t "))
        #expect(list.contains("flags=tB "))
        _ = try c.send("FLUSHALL")
        #expect(try c.send("INFO stats").contains("tracking_total_keys:0\r\n"))
    }
}
