// A loopback TCP port nothing listens on, for a server a test starts.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The next candidate: ports are handed out in turn, so two tests running at once never get the same one.
private let nextCandidate = Atomic<Int>(0)

/// A port nothing listens on, so a test's server never collides with, and a client never reaches,
/// another agent's or test's server by accident. It is taken below the kernel's ephemeral range
/// (ip_local_port_range, 32768 and up by default): a port from that range can be given meanwhile to
/// any outgoing connection as its source port, and the server that meant to listen on it then fails
/// with "Address already in use". Each candidate is checked by binding it.
public func freeLoopbackPort() -> Int {
    let low = 20000, span = 12000
    let start = Int(getpid()) * 7919 % span
    for _ in 0 ..< span {
        let n = nextCandidate.add(1, ordering: .relaxed).newValue
        let port = low + (start + n) % span
        if canBind(port) { return port }
    }
    return ephemeralPort()
}

private func canBind(_ port: Int) -> Bool {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard s >= 0 else { return false }
    defer { close(s) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    let len = socklen_t(MemoryLayout<sockaddr_in>.size)
    return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } } == 0
}

/// A port from the ephemeral range (bound to 0 and released): the fallback.
private func ephemeralPort() -> Int {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(s) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}
