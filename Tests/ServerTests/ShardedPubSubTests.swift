// Sharded pub/sub and LOLWUT against Redis 7.0: the same script of SSUBSCRIBE / SUNSUBSCRIBE /
// SPUBLISH / PUBSUB SHARD* in RESP2 and RESP3 gives byte-identical replies and messages on both
// servers, and shard channels stay apart from SUBSCRIBE's channels.
import Foundation
import Testing
import TestSupport

/// Client 0 subscribes (RESP2 or RESP3), client 1 publishes and asks PUBSUB.
private func shardScript(resp: Int) -> [(Int, String)] {
    [
        (0, "HELLO \(resp)"),
        (0, "SSUBSCRIBE ch1 ch2 ch1"), (0, "SUBSCRIBE plain"),
        (1, "SPUBLISH ch1 hello"), (1, "SPUBLISH ch3 nobody"), (1, "PUBLISH ch1 notshard"), (1, "SPUBLISH plain x"),
        (1, "PUBLISH plain y"),
        (1, "PUBSUB SHARDCHANNELS ch2*"), (1, "PUBSUB SHARDCHANNELS nomatch*"),
        (1, "PUBSUB SHARDNUMSUB ch1 ch2 ch3"), (1, "PUBSUB SHARDNUMSUB"), (1, "PUBSUB CHANNELS"), (1, "PUBSUB NUMSUB ch1"),
        (0, "SUNSUBSCRIBE ch1"), (1, "SPUBLISH ch1 gone"), (1, "SPUBLISH ch2 stays"),
        (0, "SUNSUBSCRIBE nosuch"), (0, "UNSUBSCRIBE plain"), (0, "SUNSUBSCRIBE"), (0, "SUNSUBSCRIBE"),
        (1, "PUBSUB SHARDCHANNELS"), (1, "PUBSUB SHARDNUMSUB ch2"), (1, "SPUBLISH"), (1, "SSUBSCRIBE"),
        (1, "MULTI"), (1, "SSUBSCRIBE inmulti"), (1, "EXEC"),
        (1, "LOLWUT"), (1, "LOLWUT VERSION x"), (1, "LOLWUT VERSION 7"), (1, "LOLWUT VERSION 9 1 2"),
    ]
}

private func transcript(_ server: ServerProcess, resp: Int) throws -> [String] {
    let clients = [try server.client(), try server.client()]
    var out: [String] = []
    for (who, line) in shardScript(resp: resp) {
        if who == 1 {
            out.append("1: " + (try clients[1].send(line)))
            continue
        }
        // The subscriber's command is fenced with a PING: everything up to its answer (the command's
        // replies and any messages before them) is recorded, so no read races the server.
        out.append(contentsOf: try fenced(clients[0], line))
    }
    return out
}

/// Sends `line` and a PING; returns every frame before the PING's answer (HELLO's map, which carries
/// the connection id, only by its header).
func fenced(_ c: RawClient, _ line: String) throws -> [String] {
    try c.write(RawClient.encode(argv(line)) + RawClient.encode(argv("PING")))
    var out: [String] = []
    while true {
        let reply = String(decoding: try c.readReply(), as: UTF8.self)
        if reply == "+PONG\r\n" || reply.hasPrefix("*2\r\n$4\r\npong") { return out }
        out.append(line.hasPrefix("HELLO") ? String(reply.prefix(4)) : reply)
    }
}

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct ShardedPubSubTests {
    @Test(arguments: [2, 3])
    func sameRepliesAsRedis(resp: Int) throws {
        let cairn = try ServerProcess()
        let redis = try ServerProcess(cairn: false)
        let a = try transcript(cairn, resp: resp)
        let b = try transcript(redis, resp: resp)
        #expect(b.contains { $0.contains("smessage") })
        #expect(a.count == b.count)
        for (i, (x, y)) in zip(a, b).enumerated() where x != y {
            Issue.record("RESP\(resp) reply \(i): Cairn \(x.debugDescription) Redis \(y.debugDescription)")
        }
    }

    @Test func lolwutDrawsAndEndsWithRedisVersionLine() throws {
        let cairn = try ServerProcess()
        let c = try cairn.client()
        let five = try c.send("LOLWUT VERSION 5 30 4")
        #expect(five.hasSuffix("\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15\n\r\n"))
        #expect(five.contains("("))
        let six = try c.send("LOLWUT VERSION 6")
        #expect(six.hasSuffix("Original 8 bit image from Plaguemon by hikikomori. Redis ver. 7.0.15\n\r\n"))
        #expect(try c.send("LOLWUT VERSION 5 x") == "-ERR value is not an integer or out of range\r\n")
    }
}
