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
    try r.skipRDBPayload()
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

    /// A primary with a replica that has not acknowledged its last write, and a SHUTDOWN waiting for it.
    func startWaitingShutdown(_ cairn: Bool, on server: ServerProcess? = nil) throws -> (ServerProcess, RawClient, RawClient, RawClient) {
        let s = try server ?? start(cairn)
        let c = try s.client()
        let replica = try attachReplica(s.port)
        #expect(try c.send("SET k 1") == "+OK\r\n")
        let shut = try s.client()
        try shut.write(RawClient.encode(argv("SHUTDOWN")))
        try waitFor("\(cairn ? "cairn" : "redis"): the shutdown waits", timeout: 10) {
            Int(try c.infoField("server", "shutdown_in_milliseconds") ?? "0") ?? 0 > 0
        }
        return (s, c, replica, shut)
    }

    /// The primary holds SHUTDOWN until the replica acknowledges the last write, then exits cleanly.
    @Test func shutdownWaitsForTheReplicasAck() throws {
        for cairn in [true, false] {
            let who = cairn ? "cairn" : "redis"
            let (s, c, replica, shut) = try startWaitingShutdown(cairn)
            let blocked = try c.infoField("clients", "blocked_clients")
            #expect(blocked == "1", "\(who): blocked_clients \(blocked ?? "-")")
            // Writes are held meanwhile: a SET gets no reply until the shutdown ends.
            let w = try s.client()
            try w.write(RawClient.encode(argv("SET held 1")))
            usleep(300_000)
            #expect(s.process.isRunning, "\(who)")
            let offset = try #require(try c.infoField("replication", "master_repl_offset"))
            try replica.write(RawClient.encode(argv("REPLCONF ACK \(offset)")))
            #expect(exited(s, within: 10), "\(who) exits once the replica acknowledged")
            #expect(s.process.terminationStatus == 0, "\(who)")
            _ = shut // the SHUTDOWN client stays connected until the server exits
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
            #expect(try s.client().send("SHUTDOWN ABORT") == "-ERR No shutdown in progress.\r\n", "\(who)")
            let (_, c, replica, shut) = try startWaitingShutdown(cairn, on: s)
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
