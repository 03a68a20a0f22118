// ReplicationState: what a node knows about its place in replication: its replication ID pair
// (master_replid, and master_replid2 valid up to second_repl_offset after a promotion), the stream's
// offset, the backlog, the replicas attached to it and their acknowledgements, and the database the
// stream last selected.
import Engine

/// One replica (or SYNC client) attached to this node's replication stream.
final class ReplicaLink {
    enum State: String {
        /// Asked for a full sync; waits for a snapshot child to start.
        case waitBgsaveStart = "wait_bgsave"
        /// The snapshot is being made; the stream meanwhile waits in `pending`.
        case waitBgsaveEnd = "wait_bgsave_end"
        /// The RDB is being sent.
        case sendBulk = "send_bulk"
        case online = "online"
    }

    /// Unretained: the link leaves `replicas`/`handshaking` (detachReplica) when the connection closes,
    /// before the session can go; the stream's loop reads it for every command.
    unowned(unsafe) let session: Session
    var state = State.waitBgsaveStart
    /// REPLCONF listening-port / ip-address (what INFO and ROLE report).
    var listeningPort = 0
    var announcedIP: String? = nil
    var capaEOF = false
    var capaPSYNC2 = false
    /// Attached with the old SYNC (no +FULLRESYNC line, no ACKs).
    var oldProtocol = false
    /// The last REPLCONF ACK: offset processed, offset fsynced to its AOF (FACK; -1 never), when (ms).
    var ackOffset = 0
    var ackAOFOffset = -1
    var ackTime: Int64 = 0
    /// The offset of the next stream byte it is to be sent from the shared buffer (the backlog), once
    /// it has a place in the stream (not while waiting for a snapshot to start). What it has not been
    /// sent yet, the stream produced while its snapshot is made included, is held there for it.
    var streamFrom = 0
    /// The end of the RDB payload in the session's output buffer (not counted against output limits).
    var rdbEnd = 0
    /// The offset the full sync started at.
    var syncOffset = 0
    /// Its RDB comes through the diskless pipe (`$EOF:` framing).
    var diskless = false
    /// After a diskless transfer the stream waits for the replica's first ACK (it cannot tell the
    /// end marker from what follows otherwise), as Redis 7.0 does.
    var awaitingFirstAck = false
    /// When a diskless transfer's write to it last stayed partial (ms; 0: the socket took everything).
    var lastPartialWrite: Int64 = 0
    /// A disk-based sync's file is being sent (RDBFileTransfer): the stream waits in `pending`.
    var sendingFile = false
    /// When it started waiting for a full sync (ms), for repl-diskless-sync-delay.
    var waitingSince: Int64 = 0
    /// REPLCONF rdb-filter-only: the parts of the RDB it does not want (Redis's replica requirements;
    /// redis-cli --functions-rdb asks for the function libraries alone). A filtered RDB always goes
    /// through the socket, never the dump file, and replicas share a save only with the same filter.
    var filter = RDBFilter()
    /// REPLCONF rdb-only 1: it wants the RDB and no stream after it; it is disconnected once the RDB is
    /// sent (redis-cli --rdb).
    var rdbOnly = false
    init(session: Session) { self.session = session }

    /// It refers to the shared buffer from `streamFrom` on.
    var holdsStream: Bool { state != .waitBgsaveStart && !rdbOnly }

    /// It is sent the stream as it comes (not while its RDB is made or sent).
    var streaming: Bool {
        !rdbOnly && (state == .online || (state == .sendBulk && !awaitingFirstAck && !sendingFile))
    }

    var ip: String {
        if let a = announcedIP { return a }
        let addr = session.address
        if addr.hasPrefix("["), let close = addr.lastIndex(of: "]") { return String(addr[addr.index(after: addr.startIndex) ..< close]) }
        return String(addr[..<(addr.lastIndex(of: ":") ?? addr.endIndex)])
    }
}

/// The parts of an RDB a replica asked to leave out (REPLCONF rdb-filter-only).
struct RDBFilter: Equatable {
    var excludeData = false
    var excludeFunctions = false
    var isEmpty: Bool { !excludeData && !excludeFunctions }
}

final class ReplicationState {
    var replid = ReplicationState.newID()
    var replid2 = String(repeating: "0", count: 40)
    /// master_repl_offset: bytes of stream produced (as a primary) or applied (as a replica).
    var offset = 0
    /// second_repl_offset: replid2 is valid for offsets up to this (-1: none).
    var secondOffset = -1
    var backlog: ReplicationBacklog? = nil
    /// When the last replica went away (ms), for repl-backlog-ttl.
    var noReplicasSince: Int64 = 0
    /// Replicas past PSYNC/SYNC, in the order they came.
    var replicas: [ReplicaLink] = []
    /// Clients that sent REPLCONF but not yet PSYNC/SYNC, by session id.
    var handshaking: [Int: ReplicaLink] = [:]
    /// The stream's database saved in the RDB loaded at start (repl-stream-db), for the first link.
    var restoredStreamDB = 0
    /// Scratch space propagate encodes each write into.
    var encodeBuffer: [UInt8] = []
    /// The database the stream last selected (-1: the next command selects).
    var selectedDB = -1
    /// A BGSAVE is running to feed replicas.
    var bgsaveForReplication = false
    /// The diskless transfer under way: the pipe from the child, and the 40-byte end marker.
    var disklessPipe: Int32 = -1
    var disklessMarker: [UInt8] = []
    /// The report pipe of a save for replicas, watched to reap the child promptly (-1: none).
    var childWatchFD: Int32 = -1
    /// The pipe is out of the event loop: at EOF, or while a replica's socket catches up.
    var disklessPaused = false
    /// The child closed the pipe: nothing more to relay.
    var disklessAtEOF = false
    /// Seconds counter for repl-ping-replica-period (cron runs once a second for replication).
    var cronLoops = 0
    var lastReplicationCron: Int64 = 0
    /// INFO stats: sync_full, sync_partial_ok, sync_partial_err.
    var syncFull = 0
    var syncPartialOK = 0
    var syncPartialErr = 0
    /// Set when a WAIT blocked in this event-loop round: replicas are asked for an ACK before sleeping.
    var getAckDue = false

    static func newID() -> String {
        let digits = Array("0123456789abcdef")
        return String((0 ..< 40).map { _ in digits[Int.random(in: 0 ..< 16)] })
    }

    /// A new history: a fresh replid, no second one (Redis's changeReplicationId + clearReplicationId2).
    func startNewHistory() {
        replid = ReplicationState.newID()
        replid2 = String(repeating: "0", count: 40)
        secondOffset = -1
    }

    /// After a promotion: the old ID stays valid up to the current offset, so former peers can continue.
    func shiftIDs() {
        replid2 = replid
        secondOffset = offset + 1
        replid = ReplicationState.newID()
    }
}
