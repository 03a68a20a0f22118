// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw] [KEYS key...]:
// sends each key to another server as RESTORE with its DUMP payload and remaining TTL, and (without
// COPY) deletes the keys the target accepted, logging them as one DEL. Like Redis, the I/O is
// synchronous on the event loop, bounded by `timeout` ms per connect/write/read; connections are
// cached per host:port (at most 64, closed after 10 s unused, INFO migrate_cached_sockets), and one
// retry on a fresh connection follows a socket error that happened before any key was acknowledged.
#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import Engine
import StorageFormat

/// A cached connection to a MIGRATE target.
final class MigrateSocket {
    let fd: Int32
    /// The TLS session (an SSL*) when tls-cluster is on, as Redis's MIGRATE then speaks TLS.
    var ssl: OpaquePointer? = nil
    /// The database last SELECTed on it (-1: unknown, SELECT next time).
    var lastDB = -1
    var lastUse: Int64
    init(fd: Int32, now: Int64) {
        self.fd = fd
        lastUse = now
    }
}

/// host:port → connection, as Redis's migrate_cached_sockets.
final class MigrateSocketCache {
    static let maxItems = 64
    static let idleSeconds: Int64 = 10
    var sockets: [String: MigrateSocket] = [:]
    var count: Int { sockets.count }

    /// The cached connection to `name`, or a new one (nil when connecting failed or timed out).
    func socket(host: String, port: String, timeoutMs: Int, now: Int64, tls: OpaquePointer? = nil) -> MigrateSocket? {
        let name = host + ":" + port
        if let s = sockets[name] {
            s.lastUse = now
            return s
        }
        if sockets.count >= Self.maxItems, let victim = sockets.keys.randomElement() { close(name: victim) }
        guard let fd = MigrateIO.connect(host: host, port: port, timeoutMs: timeoutMs) else { return nil }
        let s = MigrateSocket(fd: fd, now: now)
        if let tls {
            guard let ssl = MigrateIO.handshake(fd, tls, timeoutMs: timeoutMs) else {
                Glibc.close(fd)
                return nil
            }
            s.ssl = ssl
        }
        sockets[name] = s
        return s
    }

    func close(host: String, port: String) { close(name: host + ":" + port) }

    private func close(name: String) {
        guard let s = sockets.removeValue(forKey: name) else { return }
        if let ssl = s.ssl { SSL_free(ssl) }
        Glibc.close(s.fd)
    }

    /// Once a second from the cron: closes connections unused for more than 10 s.
    func closeIdle(now: Int64) {
        for (name, s) in sockets where now / 1000 - s.lastUse / 1000 > Self.idleSeconds { close(name: name) }
    }
}

/// Blocking I/O with a deadline, over non-blocking sockets and poll().
enum MigrateIO {
    /// Sets errno-like outcome: true when the last failure was a timeout.
    nonisolated(unsafe) static var timedOut = false

    static func connect(host: String, port: String, timeoutMs: Int) -> Int32? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, port, &hints, &res) == 0, let first = res else { return nil }
        defer { freeaddrinfo(res) }
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd < 0 { continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            let r = Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen)
            // As Redis, a connection counts as made once the socket is writable: a refused one then
            // fails at the first write ("error or timeout writing").
            if r == 0 || (errno == EINPROGRESS && wait(fd, events: Int16(POLLOUT), timeoutMs: timeoutMs)) {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            Glibc.close(fd)
        }
        return nil
    }

    /// Waits until `fd` is ready for `events`; false on timeout or error.
    static func wait(_ fd: Int32, events: Int16, timeoutMs: Int) -> Bool {
        var p = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let r = poll(&p, 1, Int32(clamping: timeoutMs))
            if r < 0 && errno == EINTR { continue }
            if r == 0 { timedOut = true }
            return r > 0
        }
    }

    /// A client TLS handshake on `fd` within the timeout; the SSL object, or nil.
    static func handshake(_ fd: Int32, _ ctx: OpaquePointer, timeoutMs: Int) -> OpaquePointer? {
        guard let ssl = SSL_new(ctx) else { return nil }
        SSL_set_fd(ssl, fd)
        SSL_set_connect_state(ssl)
        while true {
            ERR_clear_error()
            let r = SSL_connect(ssl)
            if r == 1 { return ssl }
            let e = SSL_get_error(ssl, r)
            let events = e == SSL_ERROR_WANT_READ ? Int16(POLLIN) : e == SSL_ERROR_WANT_WRITE ? Int16(POLLOUT) : 0
            if events == 0 || !wait(fd, events: events, timeoutMs: timeoutMs) {
                SSL_free(ssl)
                return nil
            }
        }
    }

    /// One SSL_read or SSL_write: bytes moved, or -1 with errno EAGAIN after waiting for what TLS
    /// needs (false from `ready` when that wait timed out), or 0/-1 on failure.
    static func tlsStep(_ ssl: OpaquePointer, _ fd: Int32, _ n: Int32, timeoutMs: Int) -> Int {
        if n > 0 { return Int(n) }
        let e = SSL_get_error(ssl, n)
        let events = e == SSL_ERROR_WANT_READ ? Int16(POLLIN) : e == SSL_ERROR_WANT_WRITE ? Int16(POLLOUT) : 0
        if events != 0 && wait(fd, events: events, timeoutMs: timeoutMs) {
            errno = EAGAIN
            return -1
        }
        errno = events != 0 ? ETIMEDOUT : ECONNRESET
        return 0
    }

    /// Writes all of `bytes` (in 64 KB pieces, each within the timeout, as Redis).
    static func write(_ s: MigrateSocket, _ bytes: [UInt8], timeoutMs: Int) -> Bool {
        let fd = s.fd
        var sent = 0
        while sent < bytes.count {
            let piece = min(bytes.count - sent, 64 * 1024)
            let n: Int
            if let ssl = s.ssl {
                ERR_clear_error()
                n = tlsStep(ssl, fd, bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress! + sent, Int32(piece)) }, timeoutMs: timeoutMs)
                if n < 0 { continue }
            } else {
                n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, piece, Int32(MSG_NOSIGNAL)) }
            }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) {
                if !wait(fd, events: Int16(POLLOUT), timeoutMs: timeoutMs) { return false }
                continue
            }
            return false
        }
        return true
    }

    /// Reads one reply line (without CRLF) within the timeout; nil on error, timeout or closed socket.
    static func readLine(_ s: MigrateSocket, _ pending: inout [UInt8], timeoutMs: Int) -> [UInt8]? {
        let fd = s.fd
        while true {
            if let i = pending.firstIndex(of: 10) {
                var line = Array(pending[..<i])
                pending.removeSubrange(...i)
                if line.last == 13 { line.removeLast() }
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n: Int
            if let ssl = s.ssl {
                ERR_clear_error()
                n = tlsStep(ssl, fd, chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress!, 4096) }, timeoutMs: timeoutMs)
                if n < 0 { continue }
                if n == 0 { return nil }
            } else {
                n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, 4096, 0) }
            }
            if n > 0 { pending.append(contentsOf: chunk[0 ..< n]); continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) {
                if !wait(fd, events: Int16(POLLIN), timeoutMs: timeoutMs) { return nil }
                continue
            }
            return nil
        }
    }
}

extension CairnServer {
    /// MIGRATE's spec (registered with the server commands).
    var migrateSpec: CommandSpec {
        CommandSpec("migrate", arity: -6, flags: [.write]) { [unowned self] ctx in self.migrate(ctx) }
    }

    func migrate(_ ctx: CommandContext) {
        var copy = false, replace = false
        var user: [UInt8]? = nil, password: [UInt8]? = nil
        var firstKey = 3, keyCount = 1
        var j = 6
        while j < ctx.argc {
            let more = ctx.argc - 1 - j
            switch ctx.option(j) {
            case "COPY": copy = true
            case "REPLACE": replace = true
            case "AUTH":
                guard more >= 1 else { ctx.syntaxError(); return }
                j += 1
                password = ctx.args[j]
            case "AUTH2":
                guard more >= 2 else { ctx.syntaxError(); return }
                user = ctx.args[j + 1]
                password = ctx.args[j + 2]
                j += 2
            case "KEYS":
                guard ctx.args[3].isEmpty else {
                    ctx.error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
                    return
                }
                firstKey = j + 1
                keyCount = ctx.argc - j - 1
                j = ctx.argc
                continue
            default:
                ctx.syntaxError()
                return
            }
            j += 1
        }
        guard var timeout = ctx.integerArgument(5), let dbid = ctx.integerArgument(4) else { return }
        if timeout <= 0 { timeout = 1000 }
        let timeoutMs = Int(clamping: timeout)
        // The keys that exist now.
        var keys: [ByteString] = []
        var values: [RedisValue] = []
        for i in firstKey ..< firstKey + keyCount {
            let k = ctx.key(i)
            if let v = ctx.lookupRead(k) {
                keys.append(k)
                values.append(v)
            }
        }
        if keys.isEmpty { ctx.simple("NOKEY"); return }
        let host = String(decoding: ctx.args[1], as: UTF8.self), port = String(decoding: ctx.args[2], as: UTF8.self)
        var mayRetry = true
        while true {
            MigrateIO.timedOut = false
            let tlsContext = config.bool("tls-cluster") ? tls.outgoing : nil
            guard let cs = migrateSockets.socket(host: host, port: port, timeoutMs: timeoutMs, now: engine.now, tls: tlsContext) else {
                ctx.error("IOERR error or timeout connecting to the client")
                return
            }
            // The request: AUTH, SELECT when the database changed, then one RESTORE per live key.
            var request: [UInt8] = []
            func command(_ args: [[UInt8]]) {
                RESPEncoder.arrayHeader(args.count, to: &request)
                for a in args { RESPEncoder.bulk(a, to: &request) }
            }
            if let password { command([Array("AUTH".utf8)] + (user.map { [$0] } ?? []) + [password]) }
            let select = cs.lastDB != Int(dbid)
            if select { command([Array("SELECT".utf8), StrictInteger.format(dbid)]) }
            var sent: [ByteString] = []
            let db = ctx.db
            for (k, v) in zip(keys, values) {
                var ttl: Int64 = 0
                if let at = db.expireTime(k) {
                    ttl = at - engine.now
                    if ttl < 0 { continue }
                    if ttl < 1 { ttl = 1 }
                }
                let payload: [UInt8]
                do { payload = try DumpCommands.payload(v, config: engine.config) } catch { continue }
                var args = [Array("RESTORE".utf8), k.bytes, StrictInteger.format(ttl), payload]
                if replace { args.append(Array("REPLACE".utf8)) }
                command(args)
                sent.append(k)
            }
            var writeError = false
            var failed = false
            var pending: [UInt8] = []
            var authReply: [UInt8] = [], selectReply: [UInt8] = []
            if !MigrateIO.write(cs, request, timeoutMs: timeoutMs) {
                writeError = true
                failed = true
            } else if password != nil, let line = MigrateIO.readLine(cs, &pending, timeoutMs: timeoutMs) {
                authReply = line
            } else if password != nil {
                failed = true
            }
            if !failed && select {
                if let line = MigrateIO.readLine(cs, &pending, timeoutMs: timeoutMs) { selectReply = line } else { failed = true }
            }
            if !failed {
                var targetError = false, socketError = false
                var deleted: [[UInt8]] = [Array("DEL".utf8)]
                var acknowledged = 0
                for k in sent {
                    guard let line = MigrateIO.readLine(cs, &pending, timeoutMs: timeoutMs) else {
                        socketError = true
                        break
                    }
                    acknowledged += 1
                    let firstError = authReply.first == UInt8(ascii: "-") ? authReply
                        : selectReply.first == UInt8(ascii: "-") ? selectReply
                        : line.first == UInt8(ascii: "-") ? line : nil
                    if let firstError {
                        if !targetError {
                            cs.lastDB = -1
                            targetError = true
                            ctx.error("ERR Target instance replied with error: " + String(decoding: firstError.dropFirst(), as: UTF8.self))
                        }
                    } else if !copy {
                        _ = db.remove(k)
                        ctx.modified(k)
                        ctx.notify(KeyspaceEventClass.generic, "del", k)
                        deleted.append(k.bytes)
                    }
                }
                if !targetError && socketError && acknowledged == 0 && mayRetry && !MigrateIO.timedOut {
                    failed = true
                } else {
                    if socketError { migrateSockets.close(host: host, port: port) }
                    if !copy {
                        if deleted.count > 1 { ctx.propagate(deleted) } else { ctx.propagateNothing() }
                    }
                    if !targetError && socketError {
                        ctx.error("IOERR error or timeout reading to target instance")
                        return
                    }
                    if !targetError {
                        cs.lastDB = Int(dbid)
                        ctx.ok()
                    }
                    return
                }
            }
            // A socket error: close, and retry once on a new connection unless it was a timeout.
            migrateSockets.close(host: host, port: port)
            if !MigrateIO.timedOut && mayRetry {
                mayRetry = false
                continue
            }
            ctx.error("IOERR error or timeout \(writeError ? "writing" : "reading") to target instance")
            return
        }
    }
}
