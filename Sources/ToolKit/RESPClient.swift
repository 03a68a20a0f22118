// RESPClient: a small blocking RESP2 client over a TCP socket, for the tools that talk to a live
// server (cairn-rdb restore, diff --server). Commands are buffered with `send` and written with
// `flush`; replies are read in order with `readReply`, so callers pipeline by sending a window of
// commands before reading their replies. Replies: + simple, - error, : integer, $ bulk ($-1 nil),
// * array (*-1 nil). No RESP3 (the client never sends HELLO 3).
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

/// One reply.
public indirect enum RESPReply: Equatable, Sendable {
    case simple([UInt8])
    case error([UInt8])
    case integer(Int64)
    case bulk([UInt8]?)
    case array([RESPReply]?)

    /// The error text, when the reply is an error.
    public var errorText: String? {
        if case .error(let e) = self { return String(decoding: e, as: UTF8.self) }
        return nil
    }

    /// The bytes of a simple or bulk reply.
    public var bytes: [UInt8]? {
        switch self {
        case .simple(let b): return b
        case .bulk(let b): return b
        default: return nil
        }
    }

    public var integer: Int64? {
        if case .integer(let v) = self { return v }
        return nil
    }
}

/// A connection problem (exit code 2 in the tools).
public struct RESPClientError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `host:port`, `[v6]:port`, `:port` or `port` (host 127.0.0.1), default port 6379.
public struct ServerAddress: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) { self.host = host; self.port = port }

    public init(parsing s: String) throws {
        var host = "127.0.0.1"
        var portText = ""
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw RESPClientError("bad server address \"\(s)\"") }
            host = String(s[s.index(after: s.startIndex) ..< close])
            let rest = s[s.index(after: close)...]
            portText = rest.hasPrefix(":") ? String(rest.dropFirst()) : "6379"
        } else if let colon = s.lastIndex(of: ":") {
            if colon != s.startIndex { host = String(s[..<colon]) }
            portText = String(s[s.index(after: colon)...])
        } else if s.allSatisfy(\.isNumber) {
            portText = s
        } else {
            host = s
            portText = "6379"
        }
        guard let p = Int(portText), p > 0, p < 65536 else { throw RESPClientError("bad port in server address \"\(s)\"") }
        self.host = host
        port = p
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public final class RESPClient {
    public let address: ServerAddress
    let fd: Int32
    var out: [UInt8] = []
    var inBuf: [UInt8] = []
    var inPos = 0
    /// Commands sent whose replies have not been read yet.
    public private(set) var pending = 0
    /// Bytes buffered by `send` and not yet written.
    public var bufferedBytes: Int { out.count }

    /// Connects (blocking), with `timeout` seconds for connect, each read and each write.
    public init(_ address: ServerAddress, timeout: Double = 60) throws {
        self.address = address
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(address.host, String(address.port), &hints, &res)
        guard rc == 0, let first = res else {
            throw RESPClientError("cannot resolve \(address.host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(res) }
        var lastErrno: Int32 = 0
        var ai: UnsafeMutablePointer<addrinfo>? = first
        var connected: Int32 = -1
        while let a = ai {
            let s = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if s >= 0 {
                var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
                setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                var one: Int32 = 1
                setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                if connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { connected = s; break }
                lastErrno = errno
                close(s)
            } else {
                lastErrno = errno
            }
            ai = a.pointee.ai_next
        }
        guard connected >= 0 else {
            throw RESPClientError("cannot connect to \(address): \(String(cString: strerror(lastErrno)))")
        }
        fd = connected
    }

    deinit { close(fd) }

    /// Buffers one command (an array of bulk strings).
    public func send(_ args: [[UInt8]]) {
        AOFCommands.append(args, to: &out)
        pending += 1
    }

    public func send(_ args: String...) { send(args.map { Array($0.utf8) }) }

    /// Writes everything buffered.
    public func flush() throws {
        var done = 0
        try out.withUnsafeBytes { b in
            while done < b.count {
                let n = Glibc.send(fd, b.baseAddress! + done, b.count - done, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw RESPClientError("write to \(address) failed: \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
        out.removeAll(keepingCapacity: out.capacity <= 1 << 22)
    }

    /// Sends one command and returns its reply (after the replies of anything already pending).
    public func call(_ args: [[UInt8]]) throws -> RESPReply {
        let before = pending
        send(args)
        try flush()
        for _ in 0 ..< before { _ = try readReply() }
        return try readReply()
    }

    public func call(_ args: String...) throws -> RESPReply { try call(args.map { Array($0.utf8) }) }

    /// Reads the next reply (flushing first if commands are still buffered).
    public func readReply() throws -> RESPReply {
        if !out.isEmpty { try flush() }
        let r = try parseReply()
        pending -= 1
        return r
    }

    // MARK: - Reading

    func fill() throws {
        if inPos > 0 && inPos == inBuf.count { inBuf.removeAll(keepingCapacity: true); inPos = 0 }
        if inPos > 1 << 20 { inBuf.removeFirst(inPos); inPos = 0 }
        let start = inBuf.count
        let chunk = 1 << 16
        inBuf.append(contentsOf: repeatElement(0, count: chunk))
        let n = inBuf.withUnsafeMutableBytes { b in recv(fd, b.baseAddress! + start, chunk, 0) }
        if n <= 0 {
            inBuf.removeLast(chunk)
            if n == 0 { throw RESPClientError("\(address) closed the connection") }
            if errno == EINTR { return }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw RESPClientError("timed out waiting for \(address)") }
            throw RESPClientError("read from \(address) failed: \(String(cString: strerror(errno)))")
        }
        inBuf.removeLast(chunk - n)
    }

    /// The next line (without CRLF), reading more as needed.
    func line() throws -> ArraySlice<UInt8> {
        var scan = inPos
        while true {
            while scan + 1 < inBuf.count {
                if inBuf[scan] == 13 && inBuf[scan + 1] == 10 {
                    let l = inBuf[inPos ..< scan]
                    inPos = scan + 2
                    return l
                }
                scan += 1
            }
            let consumedBefore = inPos
            try fill()
            scan -= consumedBefore - inPos // fill may have compacted the buffer
        }
    }

    func int(_ s: ArraySlice<UInt8>) throws -> Int64 {
        guard let v = StrictInteger.parse(Array(s)) else {
            throw RESPClientError("protocol error from \(address): bad integer \"\(String(decoding: s, as: UTF8.self))\"")
        }
        return v
    }

    func parseReply() throws -> RESPReply {
        let l = try line()
        guard let kind = l.first else { throw RESPClientError("protocol error from \(address): empty line") }
        let rest = l.dropFirst()
        switch kind {
        case UInt8(ascii: "+"): return .simple(Array(rest))
        case UInt8(ascii: "-"): return .error(Array(rest))
        case UInt8(ascii: ":"): return .integer(try int(rest))
        case UInt8(ascii: "$"):
            let n = try int(rest)
            if n < 0 { return .bulk(nil) }
            let len = Int(n)
            while inBuf.count - inPos < len + 2 { try fill() }
            let b = Array(inBuf[inPos ..< inPos + len])
            inPos += len + 2
            return .bulk(b)
        case UInt8(ascii: "*"):
            let n = try int(rest)
            if n < 0 { return .array(nil) }
            var items: [RESPReply] = []
            items.reserveCapacity(Int(min(n, 1 << 16)))
            for _ in 0 ..< n { items.append(try parseReply()) }
            return .array(items)
        default:
            throw RESPClientError("protocol error from \(address): unexpected reply type \"\(String(decoding: [kind], as: UTF8.self))\"")
        }
    }

    // MARK: - Helpers

    /// AUTH when a password is given (`user` for ACL users).
    public func authenticate(user: String?, password: String?) throws {
        guard let password else { return }
        let reply = try user.map { try call("AUTH", $0, password) } ?? call("AUTH", password)
        if let e = reply.errorText { throw RESPClientError("AUTH failed: \(e)") }
    }

    /// A field of `INFO section` (e.g. redis_version), nil when absent.
    public func info(_ section: String, field: String) throws -> String? {
        let reply = try call("INFO", section)
        if let e = reply.errorText { throw RESPClientError("INFO \(section) failed: \(e)") }
        guard let text = reply.bytes else { return nil }
        for line in String(decoding: text, as: UTF8.self).split(whereSeparator: \.isNewline) {
            if line.hasPrefix(field + ":") { return String(line.dropFirst(field.count + 1)) }
        }
        return nil
    }

    /// The databases holding keys, from `INFO keyspace` (`db0:keys=…`).
    public func databasesWithKeys() throws -> [Int] {
        let reply = try call("INFO", "keyspace")
        if let e = reply.errorText { throw RESPClientError("INFO keyspace failed: \(e)") }
        guard let text = reply.bytes else { return [] }
        var dbs: [Int] = []
        for line in String(decoding: text, as: UTF8.self).split(whereSeparator: \.isNewline) {
            guard line.hasPrefix("db"), let colon = line.firstIndex(of: ":"),
                  let n = Int(line[line.index(line.startIndex, offsetBy: 2) ..< colon]) else { continue }
            dbs.append(n)
        }
        return dbs.sorted()
    }
}
