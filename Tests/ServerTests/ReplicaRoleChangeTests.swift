// A node turned into a replica releases its clients blocked on keys with -UNBLOCKED, as Redis 7.0
// does: left blocked, a BLPOP would be served by the primary's stream on the replica and pop an element
// the primary still has (integration/replication "BLPOP followed by role change, issue #2473").
import Foundation
import Testing
import TestSupport

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn), .serialized) struct ReplicaRoleChangeTests {
    @Test(arguments: [false, true])
    func blockedClientsAreReleasedWhenBecomingAReplica(primaryCairn: Bool) throws {
        let p = try ServerProcess(cairn: primaryCairn, args: ["--repl-diskless-sync-delay", "0"])
        let r = try ServerProcess(cairn: true)
        let pc = try p.client(), rc = try r.client()
        let blocked = try r.client()
        try blocked.write(RawClient.encode(argv("BLPOP foo 0")))
        try waitFor("client blocked", timeout: 10) { try rc.infoInteger("clients", "blocked_clients") == 1 }
        #expect(try rc.send("REPLICAOF 127.0.0.1 \(p.port)") == "+OK\r\n")
        let reply = String(decoding: try blocked.readReply(), as: UTF8.self)
        #expect(reply == "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n")
        try waitFor("link up", timeout: 20) { try rc.infoField("replication", "master_link_status") == "up" }
        _ = try pc.send("RPUSH foo a b c")
        try waitFor("replicated", timeout: 10) { try rc.send("LLEN foo") == ":3\r\n" }
        #expect(try pc.send("DEBUG DIGEST") == rc.send("DEBUG DIGEST"))
    }
}
