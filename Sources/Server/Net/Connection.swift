// Connection: one client socket: its query buffer (bytes not yet parsed), the engine Session that
// holds its reply buffer, and how much of that buffer the socket has taken so far.
import Engine

final class Connection {
    let fd: Int32
    let session: Session
    /// Bytes read and not yet consumed by the parser start at `queryStart`.
    var query: [UInt8] = []
    var queryStart = 0
    /// Bytes of `session.out` already written to the socket.
    var sent = 0
    /// Waiting for the socket to take more output.
    var wantsWrite = false
    /// In the server's pending-write list.
    var pending = false
    var closed = false
    /// When pending output first passed the soft output-buffer limit (ms; 0 = not over).
    var softLimitSince: Int64 = 0

    init(fd: Int32, session: Session) {
        self.fd = fd
        self.session = session
        query.reserveCapacity(16 * 1024)
    }

    var queryLength: Int { query.count - queryStart }
}
