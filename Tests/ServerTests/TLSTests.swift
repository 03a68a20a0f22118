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

    /// What OpenSSL reads ahead of a request must not wait for another socket event: a big argument
    /// and thousands of commands sent in one burst, and commands pipelined behind a BLPOP that another
    /// connection then serves, get every reply, byte for byte as from Redis.
    @Test(.enabled(if: which("python3") != nil, "needs python3"))
    func burstsOverTLSAsRedis() throws {
        let certs = try TestCertificates()
        let script = #"""
        import hashlib, socket, ssl, sys, threading, time
        port = int(sys.argv[1])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        def connect():
            return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
        def cmd(*a):
            out = b"*%d\r\n" % len(a)
            for x in a:
                x = x if isinstance(x, bytes) else str(x).encode()
                out += b"$%d\r\n%s\r\n" % (len(x), x)
            return out
        def until(s, end):
            buf = b""
            while not buf.endswith(end):
                chunk = s.recv(1 << 16)
                if not chunk: sys.exit("closed after %d bytes" % len(buf))
                buf += chunk
            return buf
        marker = cmd("ECHO", "end-of-burst")
        end = b"$12\r\nend-of-burst\r\n"
        s = connect()
        burst = cmd("SET", "big", b"v" * 700000) + b"".join(cmd("INCR", "n") for _ in range(3000)) + cmd("GET", "big")
        burst += b"".join(cmd("RPUSH", "l", i) for i in range(500)) + cmd("LRANGE", "l", 0, -1) + marker
        s.sendall(burst)
        replies = until(s, end)
        # Commands behind a BLPOP wait in the query buffer (or in OpenSSL) until another client serves it.
        s.sendall(cmd("BLPOP", "q", 0) + b"".join(cmd("INCR", "m") for _ in range(200)) + marker)
        time.sleep(0.3)
        o = connect()
        o.sendall(cmd("RPUSH", "q", "x"))
        until(o, b":1\r\n")
        replies += until(s, end)
        print(len(replies), hashlib.sha256(replies).hexdigest())
        """#
        var outputs: [String] = []
        for cairn in [false, true] {
            let tlsPort = freeLoopbackPort()
            let server = try ServerProcess(cairn: cairn, args: certs.serverArgs(tlsPort: tlsPort, auth: "no"))
            let r = try runProcess("/usr/bin/env", ["python3", "-c", script, String(tlsPort)], timeout: 120)
            let out = String(decoding: r.out, as: UTF8.self)
            #expect(r.status == 0, "\(cairn ? "Cairn" : "Redis"): \(out)\(r.err)")
            outputs.append(out)
            _ = server
        }
        #expect(outputs[0].count > 10 && outputs[0] == outputs[1], "Redis: \(outputs[0]) Cairn: \(outputs[1])")
    }

    /// A tls-port (or port) that is taken stops the start with Redis's two lines, the second of which
    /// Redis's own test harness reads to retry on another port.
    @Test func busyPortsFailAsRedis() throws {
        let certs = try TestCertificates()
        let busy = try RawListener()
        for (flag, kind) in [("--tls-port", "TLS"), ("--port", "TCP")] {
            var lines: [[String]] = []
            for exe in [Paths.redisServer, Paths.cairnServer] {
                var args = certs.serverArgs(tlsPort: flag == "--tls-port" ? busy.port : 0, auth: "no")
                args += ["--bind", "127.0.0.1", "--save", "", "--port", String(flag == "--port" ? busy.port : freeLoopbackPort())]
                let r = try runProcess(exe, args, stderrToStdout: true, timeout: 30)
                #expect(r.status == 1)
                // "pid:M date time # text" -> text
                lines.append(String(decoding: r.out, as: UTF8.self).split(separator: "\n").compactMap { line in
                    line.range(of: " # ").map { String(line[$0.upperBound...]) }
                })
            }
            #expect(lines[0].contains("Failed listening on port \(busy.port) (\(kind)), aborting."), "\(lines[0])")
            #expect(lines[1].suffix(2) == lines[0].suffix(2), "\(lines[1])")
        }
    }
}

/// A loopback port held by a listening socket for the life of the value.
final class RawListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { close(fd); throw TestFailure(description: "cannot hold a loopback port") }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}
