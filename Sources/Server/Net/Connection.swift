// Connection: one client socket: its query buffer (bytes not yet parsed), the request read so far,
// the engine Session that holds its reply buffer, and how much of that buffer the socket has taken.
// It also carries what maxmemory-clients needs: the memory last counted for it and its place in
// the eviction buckets (ClientMemory.swift).
import Engine
import StorageFormat

final class Connection {
    let fd: Int32
    let session: Session
    /// Bytes read and not yet consumed by the parser start at `queryStart`.
    var query: [UInt8] = []
    var queryStart = 0
    /// The multibulk request whose arguments are partly in (taken out of `query` as they complete).
    var partial = RESPPartialRequest()
    /// A command runs with the AOF reading its request straight from `query` (which must not change).
    var runningFromQuery = false
    /// On a replica's link to its primary: the span of `query` holding commands applied but not yet
    /// relayed to this node's backlog and replicas (consecutive verbatim requests, fed in one piece).
    var relayStart = 0
    var relayEnd = 0
    /// A command CLIENT PAUSE holds back, run when the pause ends.
    var heldCommand: [[UInt8]]? = nil
    /// The largest the query buffer's content grew to since the cron last looked (Redis's querybuf_peak).
    var queryPeak = 0
    /// Bytes of `session.out` already written to the socket.
    var sent = 0
    /// Waiting for the socket to take more output.
    var wantsWrite = false
    /// In the server's pending-write list.
    var pending = false
    var closed = false
    /// The connection's TLS state (an SSL*) when it came in on tls-port, and whether its last read
    /// waits for the socket to become writable (Net/TLS.swift).
    var ssl: OpaquePointer? = nil
    var tlsReadWantsWrite = false
    /// In the server's list of TLS connections with bytes left inside OpenSSL.
    var tlsPendingQueued = false
    /// When pending output first passed the soft output-buffer limit (ms; 0 = not over).
    var softLimitSince: Int64 = 0
    /// The memory last counted for this client in the server's totals, and under which kind.
    var countedMemory = 0
    var countedKind = ClientKind.normal
    /// Its eviction bucket and index there (-1: in none).
    var bucket = -1
    var bucketSlot = -1
    /// A disk-based full sync's snapshot file on its way to this replica (RDBFileTransfer.swift).
    var rdbTransfer: RDBFileTransfer? = nil

    init(fd: Int32, session: Session) {
        self.fd = fd
        self.session = session
        query.reserveCapacity(CairnServer.queryReadBytes)
    }

    var queryLength: Int { query.count - queryStart }
}

/// The kinds of client Redis totals memory by (INFO mem_clients_normal / mem_clients_slaves).
enum ClientKind: Int {
    case normal = 0, pubsub = 1, replica = 2
}
