// Abusive clients: a bulk over proto-max-bulk-len, a query buffer over client-query-buffer-limit,
// a million tiny arguments, and a client that never reads its replies past client-output-buffer-limit.
// Each gets Redis's reply (compared with redis-server 7.0) and a closed connection where Redis closes
// it, the server lives on, and used_memory returns to where it was.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

private func usedMemory(_ c: RawClient) throws -> Int {
    for line in try c.send("INFO memory").split(separator: "\r\n") where line.hasPrefix("used_memory:") {
        return Int(line.dropFirst("used_memory:".count)) ?? -1
    }
    return -1
}

/// Sends `bytes` (in pieces, so a server that closes early is seen), then returns what came back and
/// whether the server closed the connection.
private func abuse(_ port: Int, _ pieces: [[UInt8]]) throws -> (reply: String, closed: Bool) {
    let c = try RawClient(port: port)
    var tv = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    for p in pieces {
        do { try c.write(p) } catch { break }  // the server may close before everything was sent
    }
    let closed = c.isClosedByServer()
    return (String(decoding: c.buffer, as: UTF8.self), closed)
}

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct ProtocolAbuseTests {
    @Test func oversizedAndEndlessRequestsAreRefusedAndMemoryReturns() throws {
        let cairn = try ServerProcess(args: ["--client-query-buffer-limit", "1mb", "--proto-max-bulk-len", "1mb"])
        let redis = try ServerProcess(cairn: false, args: ["--client-query-buffer-limit", "1mb", "--proto-max-bulk-len", "1mb"])
        let control = try cairn.client()
        let baseline = try usedMemory(control)
        let chunk = [UInt8](repeating: 0x61, count: 64 << 10)
        let cases: [(String, [[UInt8]])] = [
            // A bulk longer than proto-max-bulk-len: refused at the header.
            ("bulk over proto-max-bulk-len", [Array("*2\r\n$4\r\nECHO\r\n$2000000\r\n".utf8)] + Array(repeating: chunk, count: 4)),
            // An inline line that never ends: the query buffer passes its limit.
            ("endless inline line", Array(repeating: chunk, count: 40)),
            // A multibulk whose argument count is absurd.
            ("multibulk count over the limit", [Array("*2147483648\r\n".utf8)]),
            ("negative bulk length", [Array("*1\r\n$-3\r\n".utf8)]),
            ("bad multibulk length", [Array("*1x\r\n".utf8)]),
            ("unbalanced quotes", [Array("SET \"a b\r\n".utf8)]),
        ]
        for (name, pieces) in cases {
            let mine = try abuse(cairn.port, pieces)
            let theirs = try abuse(redis.port, pieces)
            #expect(mine.reply == theirs.reply, "\(name)")
            #expect(mine.closed == theirs.closed, "\(name): closed \(mine.closed) vs \(theirs.closed)")
            // Either way the abusive connection is gone and the server serves others.
            #expect(try control.send("PING") == "+PONG\r\n")
        }
        // Let the cron shrink buffers, then compare with the start.
        usleep(1_200_000)
        let after = try usedMemory(control)
        print("protocol abuse (oversized requests): used_memory \(baseline) -> \(after)")
        #expect(after < baseline + 2_000_000, "used_memory \(baseline) -> \(after)")
        #expect(try control.send("PING") == "+PONG\r\n")
    }

    @Test func clientThatNeverReadsIsClosedAtTheOutputLimit() throws {
        let cairn = try ServerProcess(args: ["--client-output-buffer-limit", "normal 1mb 512kb 1"])
        let control = try cairn.client()
        let baseline = try usedMemory(control)
        #expect(try control.send("SET big \(String(repeating: "x", count: 100_000))") == "+OK\r\n")
        // 200 GETs of 100 KB each, never read: 20 MB of replies against a 1 MB hard limit.
        let reader = try cairn.client()
        var rcv: Int32 = 4096
        setsockopt(reader.fd, SOL_SOCKET, SO_RCVBUF, &rcv, socklen_t(MemoryLayout<Int32>.size))
        var req: [UInt8] = []
        for _ in 0 ..< 200 { req += RawClient.encode(argv("GET big")) }
        try reader.write(req)
        usleep(500_000)
        let clients = try control.send("CLIENT LIST")
        #expect(clients.components(separatedBy: "id=").count == 2, "the reader should be gone: \(clients)")
        #expect(cairn.log().contains("scheduled to be closed ASAP for overcoming of output buffer limits"))
        #expect(try control.send("DEL big") == ":1\r\n")
        // A million one-byte arguments in one command (7 MB): served, then the memory goes back.
        var many = Array("*1000001\r\n$3\r\nDEL\r\n".utf8)
        many.reserveCapacity(many.count + 7_000_000)
        for _ in 0 ..< 1_000_000 { many += [36, 49, 13, 10, 120, 13, 10] }
        let big = try cairn.client()
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(big.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        try big.write(many)
        #expect(try big.readReply() == Array(":0\r\n".utf8))
        #expect(try big.send("PING") == "+PONG\r\n")
        usleep(1_200_000)
        let after = try usedMemory(control)
        print("protocol abuse (unread replies, a million arguments): used_memory \(baseline) -> \(after)")
        #expect(after < baseline + 1_000_000, "used_memory \(baseline) -> \(after)")
    }

    /// Clients that hang up with replies still unsent: the close arrives as "readable and writable" at
    /// once. Reading closes the connection, and the write half of the same event must not touch it
    /// (the server used to abort here, in the suite's unit/maxmemory).
    @Test func hangingUpWithUnsentRepliesLeavesTheServerUp() throws {
        let cairn = try ServerProcess()
        let control = try cairn.client()
        #expect(try control.send("SET k \(String(repeating: "x", count: 100_000))") == "+OK\r\n")
        var req: [UInt8] = []
        for _ in 0 ..< 50 { req += RawClient.encode(argv("GET k")) }
        for _ in 0 ..< 5 {
            let clients = try (0 ..< 20).map { _ in try cairn.client() }
            for c in clients { try c.write(req) }
            usleep(200_000)
            // Closing with unread replies queued sends a reset, while the server still has output pending.
        }
        usleep(300_000)
        #expect(try control.send("PING") == "+PONG\r\n")
    }
}
