// Listener: the TCP sockets the server accepts on, one per `bind` address. An address prefixed
// with `-` is optional (Redis skips it when it cannot be bound, e.g. no IPv6).
#if canImport(Glibc)
import Glibc
#endif

public struct ListenError: Error, CustomStringConvertible {
    public var description: String
}

enum Listener {
    /// Opens a non-blocking listening socket on `address:port`.
    static func open(address: String, port: Int, backlog: Int32 = 511) throws -> Int32 {
        let v6 = address.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError(description: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var rc: Int32
        if v6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = UInt16(port).bigEndian
            if inet_pton(AF_INET6, address, &addr.sin6_addr) != 1 {
                close(fd)
                throw ListenError(description: "Invalid bind address '\(address)'")
            }
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = UInt16(port).bigEndian
            let a = address == "*" ? "0.0.0.0" : address
            if inet_pton(AF_INET, a, &addr.sin_addr) != 1 {
                close(fd)
                throw ListenError(description: "Invalid bind address '\(address)'")
            }
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if rc != 0 {
            let e = String(cString: strerror(errno))
            close(fd)
            throw ListenError(description: "Warning: Could not create server TCP listening socket \(address):\(port): bind: \(e)")
        }
        if listen(fd, backlog) != 0 {
            let e = String(cString: strerror(errno))
            close(fd)
            throw ListenError(description: "listen: \(e)")
        }
        return fd
    }

    /// The path a Unix socket is bound at: as redis-server does, a path longer than sun_path holds is
    /// cut to fit (not refused).
    static func unixSocketPath(_ path: String) -> String {
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        return String(decoding: Array(path.utf8).prefix(capacity - 1), as: UTF8.self)
    }

    /// Opens a non-blocking listening Unix-domain socket at `path` (an existing socket file there is
    /// removed first, as redis-server does) and gives it `permissions` when non-zero.
    static func openUnix(path: String, permissions: Int, backlog: Int32 = 511) throws -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let boundPath = unixSocketPath(path)
        let bytes = Array(boundPath.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        unlink(boundPath)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError(description: "Failed opening Unix socket: \(String(cString: strerror(errno)))") }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 || listen(fd, backlog) != 0 {
            let e = String(cString: strerror(errno))
            close(fd)
            throw ListenError(description: "Failed opening Unix socket: \(e)")
        }
        if permissions != 0 { chmod(boundPath, mode_t(permissions)) }
        return fd
    }

    /// "ip:port" of a socket address.
    static func describe(_ storage: sockaddr_storage) -> (ip: String, port: Int) {
        var s = storage
        if Int32(s.ss_family) == AF_UNIX { return ("", 0) }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if Int32(s.ss_family) == AF_INET6 {
            return withUnsafePointer(to: &s) { p in
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    var addr = a.pointee.sin6_addr
                    inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count))
                    return (buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, Int(UInt16(bigEndian: a.pointee.sin6_port)))
                }
            }
        }
        return withUnsafePointer(to: &s) { p in
            p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                var addr = a.pointee.sin_addr
                inet_ntop(AF_INET, &addr, &buf, socklen_t(buf.count))
                return (buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, Int(UInt16(bigEndian: a.pointee.sin_port)))
            }
        }
    }
}
