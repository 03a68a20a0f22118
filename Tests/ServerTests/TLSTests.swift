// TLS against Redis 7.0: certificates made with `openssl` here (a CA, a server and a client
// certificate, an expired client certificate and one from another CA); `redis-cli --tls` with each
// kind of client certificate (or none) under each tls-auth-clients value must be accepted or refused
// by Cairn exactly when Redis accepts or refuses it. Also: the plain port and the TLS port at once,
// `port 0` for TLS only, a TLS client that connects and sends nothing does not slow the others, and
// CONFIG SET tls-cert-file takes effect for new connections.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A folder of certificates made by the openssl command line.
final class TestCertificates {
    let dir: String

    init() throws {
        dir = try makeTempDir("cairn-tls")
        let cnf = """
        [ ca ]
        default_ca = test
        [ test ]
        dir = \(dir)
        database = \(dir)/index.txt
        new_certs_dir = \(dir)
        serial = \(dir)/serial
        default_md = sha256
        policy = anything
        [ anything ]
        commonName = supplied
        """
        try cnf.write(toFile: dir + "/ca.cnf", atomically: true, encoding: .utf8)
        try "".write(toFile: dir + "/index.txt", atomically: true, encoding: .utf8)
        try "01\n".write(toFile: dir + "/serial", atomically: true, encoding: .utf8)
        try ssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj", "/CN=Cairn Test CA", "-keyout", "ca.key", "-out", "ca.crt"])
        try ssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj", "/CN=Other CA", "-keyout", "other-ca.key", "-out", "other-ca.crt"])
        try signed("server", "localhost", ca: "ca")
        try signed("client", "client", ca: "ca")
        try signed("stranger", "stranger", ca: "other-ca")
        try signed("server2", "localhost", ca: "other-ca")
        // Expired: valid for one day in 2020.
        try ssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=expired", "-keyout", "expired.key", "-out", "expired.csr"])
        try ssl(["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-startdate", "20200101000000Z",
                 "-enddate", "20200102000000Z", "-in", "expired.csr", "-out", "expired.crt"])
    }

    private func signed(_ name: String, _ cn: String, ca: String) throws {
        try ssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(cn)", "-keyout", "\(name).key", "-out", "\(name).csr"])
        try ssl(["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).crt", "-CAkey", "\(ca).key", "-CAcreateserial", "-days", "3",
                 "-out", "\(name).crt"])
    }

    private func ssl(_ args: [String]) throws {
        let r = try runProcess("/usr/bin/openssl", args, cwd: dir, timeout: 60)
        if r.status != 0 { throw TestFailure(description: "openssl \(args.joined(separator: " ")): \(r.err)") }
    }

    func path(_ name: String) -> String { dir + "/" + name }

    /// Server arguments for a TLS port with this folder's server certificate and CA.
    func serverArgs(tlsPort: Int, auth: String) -> [String] {
        ["--tls-port", String(tlsPort), "--tls-cert-file", path("server.crt"), "--tls-key-file", path("server.key"),
         "--tls-ca-cert-file", path("ca.crt"), "--tls-auth-clients", auth]
    }

    /// `redis-cli --tls PING` with the client certificate `client` (nil: none); true when PONG came back.
    func ping(port: Int, client: String?, ca: String = "ca.crt") throws -> Bool {
        var args = ["-p", String(port), "--tls", "--cacert", path(ca)]
        if let client { args += ["--cert", path("\(client).crt"), "--key", path("\(client).key")] }
        let r = try runProcess(Paths.redisCLI, args + ["PING"], timeout: 20)
        return String(decoding: r.out, as: UTF8.self) == "PONG\n"
    }
}

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis && access("/usr/bin/openssl", X_OK) == 0,
                "needs cairn-server built, redis-server/redis-cli and openssl installed"))
struct TLSTests {
    @Test func clientCertificatesAcceptedAsByRedis() throws {
        let certs = try TestCertificates()
        for auth in ["yes", "optional", "no"] {
            var outcomes: [[Bool]] = []
            for cairn in [true, false] {
                let tlsPort = freeLoopbackPort()
                let server = try ServerProcess(cairn: cairn, args: certs.serverArgs(tlsPort: tlsPort, auth: auth))
                var row: [Bool] = []
                for client in [nil, "client", "stranger", "expired"] {
                    row.append(try certs.ping(port: tlsPort, client: client))
                }
                // The server certificate must be checked by the client too.
                row.append(try certs.ping(port: tlsPort, client: "client", ca: "other-ca.crt"))
                // The plain port keeps working beside the TLS one.
                row.append(try server.client().send("PING") == "+PONG\r\n")
                outcomes.append(row)
                _ = server
            }
            #expect(outcomes[0] == outcomes[1], "tls-auth-clients \(auth): Cairn \(outcomes[0]) Redis \(outcomes[1])")
            #expect(outcomes[1][1], "a client with a good certificate is always accepted")
        }
    }

    @Test func tlsOnlyAndStalledHandshakes() throws {
        let certs = try TestCertificates()
        let tlsPort = freeLoopbackPort()
        let server = try ServerProcess(args: certs.serverArgs(tlsPort: tlsPort, auth: "no"))
        // port 0 is set after start here (the test harness needs a plain port to see the server up).
        #expect(try server.client().send("CONFIG SET port 0") == "+OK\r\n")
        #expect(try certs.ping(port: tlsPort, client: nil))
        // Ten clients connect to the TLS port and send nothing: the others are served at once.
        var stalled: [RawClient] = []
        for _ in 0 ..< 10 { stalled.append(try RawClient(port: tlsPort)) }
        let start = Date()
        for _ in 0 ..< 5 { #expect(try certs.ping(port: tlsPort, client: nil)) }
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 5, "five TLS PINGs took \(elapsed) s beside stalled handshakes")
        // A plain-text request to the TLS port is not a command.
        try stalled[0].write(RawClient.encode(argv("PING")))
        #expect(try certs.ping(port: tlsPort, client: nil))
        _ = stalled
    }

    /// With tls-cluster yes, MIGRATE speaks TLS to the target's tls-port, both ways with Redis.
    @Test func migrateOverTLS() throws {
        let certs = try TestCertificates()
        let ports = [freeLoopbackPort(), freeLoopbackPort()]
        let cairn = try ServerProcess(args: certs.serverArgs(tlsPort: ports[0], auth: "yes") + ["--tls-cluster", "yes"])
        let redis = try ServerProcess(cairn: false, args: certs.serverArgs(tlsPort: ports[1], auth: "yes") + ["--tls-cluster", "yes"])
        let c = try cairn.client(), r = try redis.client()
        #expect(try c.send("RPUSH list a b c") == ":3\r\n")
        #expect(try c.send("MIGRATE 127.0.0.1 \(ports[1]) list 0 5000") == "+OK\r\n")
        #expect(try r.send("LRANGE list 0 -1") == "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")
        #expect(try r.send("MIGRATE 127.0.0.1 \(ports[0]) list 0 5000") == "+OK\r\n")
        #expect(try c.send("LLEN list") == ":3\r\n")
        // The plain port of the target is not TLS: the handshake fails and MIGRATE reports it as Redis does.
        let plain = try c.send("MIGRATE 127.0.0.1 \(redis.port) list 0 1000")
        #expect(plain.hasPrefix("-IOERR"), "\(plain)")
    }

    @Test func configSetReloadsCertificates() throws {
        let certs = try TestCertificates()
        let tlsPort = freeLoopbackPort()
        let server = try ServerProcess(args: certs.serverArgs(tlsPort: tlsPort, auth: "no"))
        let c = try server.client()
        #expect(try certs.ping(port: tlsPort, client: nil))
        #expect(try !certs.ping(port: tlsPort, client: nil, ca: "other-ca.crt"))
        // The other CA's server certificate: new connections present it.
        #expect(try c.send("CONFIG SET tls-cert-file \(certs.path("server2.crt")) tls-key-file \(certs.path("server2.key"))") == "+OK\r\n")
        #expect(try certs.ping(port: tlsPort, client: nil, ca: "other-ca.crt"))
        #expect(try !certs.ping(port: tlsPort, client: nil))
        // A file that is not there is refused and the server keeps its certificate.
        let refused = try c.send("CONFIG SET tls-cert-file /nonexistent.crt")
        #expect(refused.hasPrefix("-ERR CONFIG SET failed"), "\(refused)")
        #expect(try certs.ping(port: tlsPort, client: nil, ca: "other-ca.crt"))
        #expect(server.log().contains("Failed to load certificate: /nonexistent.crt"))
    }
}
