// SHUTDOWN on a primary whose replica has not acknowledged the whole stream (Redis 7.0): the primary
// waits up to shutdown-timeout for the replica's ACK, with the SHUTDOWN client blocked and INFO showing
// shutdown_in_milliseconds; SHUTDOWN ABORT ends the wait with an error to the blocked client; a replica
// that never acknowledges is logged as lagging when the time is up. Run on both servers, with a raw
// PSYNC client standing in for the replica so the test decides when it acknowledges.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Attaches to `port` with PSYNC (so it is a replica that acknowledges) and skips the RDB.
private func attachReplica(_ port: Int) throws -> RawClient {
    let r = try RawClient(port: port)
    #expect(try r.send("REPLCONF capa psync2") == "+OK\r\n")
    try r.write(RawClient.encode(argv("PSYNC ? -1")))
    let line = String(decoding: try r.readReply(), as: UTF8.self)
    guard line.hasPrefix("+FULLRESYNC") else { throw TestFailure(description: "PSYNC reply: \(line)") }
    // Keep-alive newlines may come first, then `$<length>\r\n<rdb>` with no CRLF after it.
    func fill(_ n: Int) throws {
        while r.buffer.count < n {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let got = chunk.withUnsafeMutableBytes { recv(r.fd, $0.baseAddress, 65536, 0) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw TestFailure(description: "replication link closed") }
            r.buffer += chunk[0 ..< got]
        }
    }
    while true {
        try fill(1)
        if r.buffer[0] == 10 { r.buffer.removeFirst(); continue }
        break
    }
    var eol: Int? = nil
    while eol == nil {
        eol = r.buffer.firstIndex(of: 10)
        if eol == nil { try fill(r.buffer.count + 1) }
    }
    let length = Int(String(decoding: r.buffer[1 ..< eol! - 1], as: UTF8.self))!
    try fill(eol! + 1 + length)
    r.buffer.removeFirst(eol! + 1 + length)
    return r
}

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn)) struct ShutdownWaitTests {
    func start(_ cairn: Bool) throws -> ServerProcess {
        try ServerProcess(cairn: cairn, args: ["--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "3600",
                                               "--shutdown-timeout", "60", "--save", ""])
    }

    func exited(_ s: ServerProcess, within seconds: Double) -> Bool {
        waitFor(timeout: seconds, every: 0.02) { !s.process.isRunning }
    }

    /// The primary holds SHUTDOWN until the replica acknowledges the last write, then exits cleanly.
    @Test func shutdownWaitsForTheReplicasAck() throws {
        for cairn in [true, false] {
            let who = cairn ? "cairn" : "redis"
            let s = try start(cairn)
            let c = try s.client()
            let replica = try attachReplica(s.port)
            #expect(try c.send("SET k 1") == "+OK\r\n")
            let shut = try s.client()
            try shut.write(RawClient.encode(argv("SHUTDOWN")))
            try waitFor("\(who): the shutdown waits", timeout: 10) {
                Int(try c.infoField("server", "shutdown_in_milliseconds") ?? "0") ?? 0 > 0
            }
            #expect(try c.infoField("clients", "blocked_clients") == "1", "\(who)")
            // Writes are held meanwhile: a SET gets no reply until the shutdown ends.
            let w = try s.client()
            try w.write(RawClient.encode(argv("SET held 1")))
            usleep(300_000)
            #expect(s.process.isRunning, "\(who)")
            let offset = try #require(try c.infoField("replication", "master_repl_offset"))
            try replica.write(RawClient.encode(argv("REPLCONF ACK \(offset)")))
            #expect(exited(s, within: 10), "\(who) exits once the replica acknowledged")
            #expect(s.process.terminationStatus == 0, "\(who)")
            let log = s.log()
            #expect(log.contains("Waiting for replicas before shutting down."), "\(who)")
            #expect(log.contains("1 of 1 replicas are in sync when shutting down."), "\(who): \(log)")
            #expect(!log.contains("Lagging replica"), "\(who)")
        }
    }

    /// SHUTDOWN ABORT ends the wait: the blocked SHUTDOWN gets Redis's error and writes flow again. A
    /// replica that never acknowledges is then logged as lagging when shutdown-timeout runs out.
    @Test func abortThenTimeout() throws {
        for cairn in [true, false] {
            let who = cairn ? "cairn" : "redis"
            let s = try start(cairn)
            let c = try s.client()
            let replica = try attachReplica(s.port)
            #expect(try c.send("SET k 1") == "+OK\r\n")
            #expect(try c.send("SHUTDOWN ABORT") == "-ERR No shutdown in progress.\r\n", "\(who)")
            let shut = try s.client()
            try shut.write(RawClient.encode(argv("SHUTDOWN")))
            try waitFor("\(who): the shutdown waits", timeout: 10) {
                Int(try c.infoField("server", "shutdown_in_milliseconds") ?? "0") ?? 0 > 0
            }
            #expect(try c.send("SHUTDOWN ABORT") == "+OK\r\n", "\(who)")
            #expect(String(decoding: try shut.readReply(), as: UTF8.self) == "-ERR Errors trying to SHUTDOWN. Check logs.\r\n", "\(who)")
            #expect(try c.send("SET after 1") == "+OK\r\n", "\(who): writes flow again")
            #expect(try c.infoField("server", "shutdown_in_milliseconds") == nil, "\(who)")
            #expect(s.log().contains("Shutdown manually aborted."), "\(who)")

            #expect(try c.send("CONFIG SET shutdown-timeout 1") == "+OK\r\n")
            // A new client: Redis 7.0.15 asserts (networking.c, argc == 0) when the client whose
            // SHUTDOWN was aborted sends another command.
            let shut2 = try s.client()
            try shut2.write(RawClient.encode(argv("SHUTDOWN")))
            #expect(exited(s, within: 10), "\(who) exits when the timeout runs out")
            let log = s.log()
            #expect(log.contains("Lagging replica"), "\(who): \(log)")
            #expect(log.contains("0 of 1 replicas are in sync when shutting down."), "\(who)")
            _ = replica
        }
    }
}
