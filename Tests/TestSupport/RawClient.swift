// A blocking RESP client over a real TCP socket that returns each reply's exact bytes, the one RESP
// reply reader the tests share (`replyEnd`), and `argv`, a command line split as redis-cli would.
import Foundation
import StorageFormat
#if canImport(Glibc)
import Glibc
#endif

/// Splits a command line into arguments with Redis's inline rules ("quotes", \x escapes).
public func argv(_ line: String) -> [[UInt8]] {
    Array(line.utf8).withUnsafeBytes { RESPRequestParser.splitArguments($0) ?? [] }
}

/// The index just past one complete RESP2 or RESP3 reply starting at `i`, or nil if incomplete.
public func replyEnd(_ b: [UInt8], _ i: Int) -> Int? {
    guard i < b.count else { return nil }
    var j = i + 1
    while j + 1 < b.count && !(b[j] == 13 && b[j + 1] == 10) { j += 1 }
    guard j + 1 < b.count else { return nil }
    let line = String(decoding: b[(i + 1) ..< j], as: UTF8.self)
    let next = j + 2
    switch b[i] {
    case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
        let n = Int(line) ?? -1
        if n < 0 { return next }
        return b.count >= next + n + 2 ? next + n + 2 : nil
    case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
        var n = Int(line) ?? -1
        if n < 0 { return next }
        if b[i] == UInt8(ascii: "%") || b[i] == UInt8(ascii: "|") { n *= 2 }
        var k = next
        for _ in 0 ..< n {
            guard let e = replyEnd(b, k) else { return nil }
            k = e
        }
        return k
    default:
        return next
    }
}

/// A blocking RESP client over a real TCP socket to 127.0.0.1.
public final class RawClient {
    public private(set) var fd: Int32
    /// Bytes received and not yet returned as a reply.
    public var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; a read waits at most `timeout` seconds (then fails the call), so a
    /// reply that never comes fails the test instead of hanging it.
    public init(port: Int, timeout: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if r != 0 {
            // deinit runs for an initializer that throws once every property is set: close here and
            // mark the descriptor gone, or deinit would close the same number again (by then another
            // thread's pipe or socket: the "Bad file descriptor" flakes of concurrent tests).
            close(fd)
            fd = -1
            throw TestFailure(description: "connect failed")
        }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends all of `bytes` (no reply read).
    public func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw TestFailure(description: "send failed: \(n < 0 ? String(cString: strerror(errno)) : "nothing sent")") }
            sent += n
        }
    }

    /// A command as a RESP array of bulk strings.
    public static func encode(_ args: [[UInt8]]) -> [UInt8] {
        var req: [UInt8] = []
        RESPEncoder.arrayHeader(args.count, to: &req)
        for a in args { RESPEncoder.bulk(a, to: &req) }
        return req
    }

    /// Reads one complete reply's bytes.
    public func readReply() throws -> [UInt8] {
        while true {
            if let end = replyEnd(buffer, 0) {
                let r = Array(buffer[0 ..< end])
                buffer.removeFirst(end)
                return r
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let why = n == 0 ? "closed by the server" : String(cString: strerror(errno))
                throw TestFailure(description: "connection \(why) (have \(String(decoding: buffer, as: UTF8.self)))")
            }
            buffer.append(contentsOf: chunk[0 ..< n])
        }
    }

    /// True once the server has closed the connection (reads until EOF, within the timeout).
    public func isClosedByServer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 4096, 0) }
            if n == 0 { return true }
            // A server that closes with our unread bytes still queued resets the connection instead.
            if n < 0 { return errno == ECONNRESET }
            buffer.append(contentsOf: chunk[0 ..< n])
        }
    }

    /// Sends one command and returns its reply's raw bytes.
    public func send(_ args: [[UInt8]]) throws -> [UInt8] {
        try write(RawClient.encode(args))
        return try readReply()
    }

    /// Sends one command line (split by `argv`) and returns its reply's raw bytes as text.
    @discardableResult
    public func send(_ line: String) throws -> String { String(decoding: try send(argv(line)), as: UTF8.self) }
}

extension RawClient {
    /// Reads until the buffer holds at least `n` bytes.
    public func fill(_ n: Int) throws {
        while buffer.count < n {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let got = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw TestFailure(description: "replication link closed") }
            buffer += chunk[0 ..< got]
        }
    }

    /// On a replication link after SYNC or +FULLRESYNC: skips the keep-alive newlines that may come
    /// first, then the snapshot sent as `$<length>\r\n<rdb>` (with no CRLF after it).
    public func skipRDBPayload() throws {
        while true {
            try fill(1)
            if buffer[0] == 10 { buffer.removeFirst(); continue }
            break
        }
        guard buffer[0] == UInt8(ascii: "$") else { throw TestFailure(description: "not an RDB payload: \(buffer.prefix(40))") }
        var eol: Int? = nil
        while eol == nil {
            eol = buffer.firstIndex(of: 10)
            if eol == nil { try fill(buffer.count + 1) }
        }
        let length = Int(String(decoding: buffer[1 ..< eol! - 1], as: UTF8.self))!
        try fill(eol! + 1 + length)
        buffer.removeFirst(eol! + 1 + length)
    }
}
