// A writable replica (replica-read-only no) expires the keys its own clients gave a TTL, since its
// primary will never send a DEL for them, while keys that came from the primary still wait for the
// primary's DEL. Checked on a Cairn replica and a Redis 7.0 replica of the same primary, side by side.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn)) struct WritableReplicaExpiryTests {
    /// What the replica holds at each step: [dbsize after the primary's key expired logically,
    /// dbsize after its own keys' TTLs passed, EXISTS of the primary's key, INCR of it, its TTL after].
    func scenario(replicaCairn: Bool) throws -> [String] {
        let p = try ServerProcess(cairn: true)
        let pc = try p.client()
        let r = try ServerProcess(cairn: replicaCairn, args: ["--replicaof", "127.0.0.1", String(p.port)])
        let rc = try r.client()
        try waitFor("link up", timeout: 10) { try rc.infoField("replication", "master_link_status") == "up" }
        _ = try pc.send("DEBUG SET-ACTIVE-EXPIRE 0")
        _ = try pc.send("SET frommaster 5 PX 100")
        try waitFor("replicated", timeout: 10) { try rc.send("DBSIZE") == ":1\r\n" }
        #expect(try rc.send("CONFIG SET replica-read-only no") == "+OK\r\n")
        for k in ["own1", "own2", "own3"] { #expect(try rc.send("SET \(k) 1 PX 200") == "+OK\r\n") }
        #expect(try rc.send("SET ownforever 1") == "+OK\r\n")
        var out: [String] = []
        out.append(try rc.send("DBSIZE"))
        // The replica's own keys go in its cron (about ten times a second); the primary's key stays.
        _ = try? waitFor(timeout: 3) { try rc.send("DBSIZE") == ":2\r\n" }
        out.append(try rc.send("DBSIZE"))
        out.append(try rc.send("EXISTS frommaster"))
        // A write from a client treats the logically expired key as missing: INCR starts from 0, no TTL.
        out.append(try rc.send("INCR frommaster"))
        out.append(try rc.send("TTL frommaster"))
        return out
    }

    @Test func ownKeysExpireOnAWritableReplicaAsOnRedis() throws {
        let redis = try scenario(replicaCairn: false)
        let cairn = try scenario(replicaCairn: true)
        #expect(redis == [":5\r\n", ":2\r\n", ":0\r\n", ":1\r\n", ":-1\r\n"])
        #expect(cairn == redis)
    }
}
