// Replication over TLS (tls-replication yes), Cairn next to Debian's redis-server 7.0: the primary
// listens on its tls-port only (the plain port is closed once the test's client is connected), the
// replica connects there as a TLS client with its client certificate and verifies the primary with the
// CA. Cairn → Cairn, Redis → Cairn and Cairn → Redis, each disk-based and diskless (and Cairn's
// diskless load from the TLS socket), under a write load, then DEBUG DIGEST equal; a killed link that
// resumes with +CONTINUE over TLS; a replica with the wrong CA that fails the handshake, logs it and
// keeps serving its clients; a primary that never answers the handshake does not stall the replica.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis && access("/usr/bin/openssl", X_OK) == 0,
                "needs cairn-server built, redis-server and openssl installed"), .serialized)
struct TLSReplicationTests {
    let helpers = ReplicationTests()

    /// A server with a TLS port (clients must show a certificate); its plain port closes after the
    /// returned client connected.
    func tlsPrimary(_ certs: TestCertificates, cairn: Bool, diskless: Bool) throws -> (ServerProcess, RawClient, Int) {
        let tlsPort = freeLoopbackPort()
        let p = try ServerProcess(cairn: cairn, args: certs.serverArgs(tlsPort: tlsPort, auth: "yes")
            + ["--repl-diskless-sync", diskless ? "yes" : "no", "--repl-diskless-sync-delay", "0"])
        let c = try p.client()
        #expect(try c.send("CONFIG SET port 0") == "+OK\r\n")
        return (p, c, tlsPort)
    }

    /// Replica arguments: its own TLS port, the client certificate (or only the server one, which Redis
    /// then uses for outgoing connections too), tls-replication and REPLICAOF the primary's TLS port.
    func replicaArgs(_ certs: TestCertificates, primaryTLSPort: Int, clientCert: Bool, ca: String = "ca.crt", extra: [String] = []) -> [String] {
        var args = ["--tls-port", String(freeLoopbackPort()), "--tls-cert-file", certs.path("server.crt"),
                    "--tls-key-file", certs.path("server.key"), "--tls-ca-cert-file", certs.path(ca),
                    "--tls-replication", "yes"]
        if clientCert {
            args += ["--tls-client-cert-file", certs.path("client.crt"), "--tls-client-key-file", certs.path("client.key")]
        }
        return args + extra + ["--replicaof", "127.0.0.1", String(primaryTLSPort)]
    }

    func replicate(primaryCairn: Bool, replicaCairn: Bool, diskless: Bool, disklessLoad: Bool = false, clientCert: Bool = true) throws {
        let certs = try TestCertificates()
        let (p, pc, tlsPort) = try tlsPrimary(certs, cairn: primaryCairn, diskless: diskless)
        try helpers.writeLoad(pc, rounds: 150, tag: "before")
        // A big value too, so the RDB spans many TLS records.
        _ = try pc.send("SET big \(String(repeating: "x", count: 300_000))")
        let r = try ServerProcess(cairn: replicaCairn, args: replicaArgs(certs, primaryTLSPort: tlsPort, clientCert: clientCert,
            extra: disklessLoad ? ["--repl-diskless-load", "swapdb"] : []))
        let rc = try r.client()
        let note0 = "\(primaryCairn ? "cairn" : "redis")->\(replicaCairn ? "cairn" : "redis")"
        do { try syncAndResume(pc, rc, r, primaryCairn: primaryCairn, replicaCairn: replicaCairn, diskless: diskless, disklessLoad: disklessLoad) } catch {
            Issue.record("\(note0): \(error)\n--- primary log:\n\(p.log().suffix(3000))\n--- replica log:\n\(r.log().suffix(3000))")
        }
        // The plain port back: the harness stops redis-server with SHUTDOWN through it.
        _ = try? pc.send("CONFIG SET port \(p.port)")
    }

    func syncAndResume(_ pc: RawClient, _ rc: RawClient, _ r: ServerProcess, primaryCairn: Bool, replicaCairn: Bool, diskless: Bool, disklessLoad: Bool) throws {
        try helpers.writeLoad(pc, rounds: 250, tag: "during")
        let note = "\(primaryCairn ? "cairn" : "redis")->\(replicaCairn ? "cairn" : "redis") over TLS diskless=\(diskless) load=\(disklessLoad)"
        try helpers.expectInSync(primary: pc, replica: rc, note)
        #expect(try pc.infoInteger("stats", "sync_full") == 1, "\(note): one full sync")
        if replicaCairn {
            // The link drops: the replica comes back with a partial resync, over TLS again.
            #expect(try rc.send("CLIENT KILL TYPE master") == ":1\r\n")
            try helpers.writeLoad(pc, rounds: 100, tag: "after")
            try helpers.expectInSync(primary: pc, replica: rc, "\(note) after the link was killed")
            #expect(try pc.infoInteger("stats", "sync_partial_ok") >= 1, "\(note): partial resync")
            let log = r.log()
            #expect(log.contains("Successful partial resynchronization with master."), "\(note)")
        }
    }

    @Test func cairnToCairnDisk() throws { try replicate(primaryCairn: true, replicaCairn: true, diskless: false) }
    @Test func cairnToCairnDiskless() throws { try replicate(primaryCairn: true, replicaCairn: true, diskless: true) }
    @Test func cairnToCairnDisklessLoad() throws {
        try replicate(primaryCairn: true, replicaCairn: true, diskless: true, disklessLoad: true, clientCert: false)
    }
    @Test func redisToCairnDisk() throws { try replicate(primaryCairn: false, replicaCairn: true, diskless: false) }
    @Test func redisToCairnDiskless() throws { try replicate(primaryCairn: false, replicaCairn: true, diskless: true) }
    @Test func redisToCairnDiskLoad() throws {
        try replicate(primaryCairn: false, replicaCairn: true, diskless: false, disklessLoad: true)
    }
    @Test func cairnToRedisDisk() throws { try replicate(primaryCairn: true, replicaCairn: false, diskless: false) }
    @Test func cairnToRedisDiskless() throws { try replicate(primaryCairn: true, replicaCairn: false, diskless: true) }

    /// The primary's certificate does not chain to the replica's CA: the handshake fails, is logged as
    /// Redis logs it, retried every second, and the replica's clients are served all along; Redis does the same.
    @Test func wrongCAFailsAndIsLogged() throws {
        let certs = try TestCertificates()
        let (p, pc, tlsPort) = try tlsPrimary(certs, cairn: true, diskless: false)
        _ = try pc.send("SET k v")
        for cairn in [true, false] {
            let r = try ServerProcess(cairn: cairn, args: replicaArgs(certs, primaryTLSPort: tlsPort, clientCert: true, ca: "other-ca.crt"))
            do {
                let rc = try r.client()
                try waitFor("\(cairn ? "cairn" : "redis"): handshake failure logged", timeout: 10) {
                    r.log().contains("Error condition on socket for SYNC:") && r.log().contains("certificate verify failed")
                }
                #expect(try rc.infoField("replication", "master_link_status") == "down")
                #expect(try rc.send("PING") == "+PONG\r\n")
                #expect(try rc.send("GET k") == "$-1\r\n")
            } catch {
                Issue.record("\(cairn ? "cairn" : "redis") replica: \(error)\n--- replica log:\n\(r.log().suffix(3000))")
            }
        }
        // The primary (the server object is held to here: dropping it stops the server) saw the attempts.
        #expect(p.log().contains("Error accepting a client connection"))
        _ = try? pc.send("CONFIG SET port \(p.port)")
    }

    /// A "primary" that accepts the connection and never answers the TLS handshake: the replica's
    /// other clients are served at once, and repl-timeout ends the attempt.
    @Test func stalledPrimaryHandshake() throws {
        let certs = try TestCertificates()
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        _ = listen(listener, 8)
        defer { close(listener) }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        let port = Int(UInt16(bigEndian: bound.sin_port))
        let r = try ServerProcess(args: replicaArgs(certs, primaryTLSPort: port, clientCert: true, extra: ["--repl-timeout", "2"]))
        let rc = try r.client()
        let start = Date()
        for _ in 0 ..< 20 { #expect(try rc.send("PING") == "+PONG\r\n") }
        #expect(Date().timeIntervalSince(start) < 2, "PINGs beside a stalled TLS handshake")
        try waitFor("repl-timeout ends the stalled handshake", timeout: 10) { r.log().contains("Timeout connecting to the MASTER...") }
        #expect(try rc.infoField("replication", "master_link_status") == "down")
    }
}
