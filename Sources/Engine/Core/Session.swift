// Session: the engine's view of one client connection: selected database, protocol version,
// reply buffer, transaction, subscriptions, blocking state. The server owns the socket.

/// A queued command in a MULTI block.
public struct QueuedCommand {
    public var spec: CommandSpec
    public var args: [[UInt8]]
}

/// What a client blocked in BLPOP and friends waits for.
public struct BlockState {
    public var db: Int
    public var keys: [ByteString]
    /// Absolute deadline in ms; 0 = forever.
    public var deadline: Int64
    public var spec: CommandSpec
    public var args: [[UInt8]]
    /// Reply sent on timeout.
    public var timeoutReply: BlockTimeoutReply
}

public enum BlockTimeoutReply {
    case nullArray
    case nullBulk
}

public final class Session {
    public let id: Int
    public var db = 0
    /// Protocol version: 2 or 3 (HELLO).
    public var resp = 2
    /// Reply bytes not yet written to the socket.
    public var out: [UInt8] = []
    public var name: [UInt8]? = nil
    public var authenticated = false
    /// The ACL user the connection runs as; nil = the default user.
    public var user: ACLUser? = nil
    /// Commands queued after MULTI; nil outside a transaction.
    public var multi: [QueuedCommand]? = nil {
        didSet { if multi == nil { multiBytes = 0 } }
    }
    /// Bytes of the queued commands' arguments, 8 per argument included (CLIENT LIST multi-mem).
    public var multiBytes = 0
    /// A queued command failed to queue (EXECABORT at EXEC).
    public var multiFailed = false
    /// Keys watched (db, key); `watchDirty` is set when one is touched.
    /// Watched keys; `expired` when the key was already logically expired at WATCH time.
    public var watched: [(db: Int, key: ByteString, expired: Bool)] = []
    public var watchDirty = false
    public var channels: Set<ByteString> = []
    public var patterns: Set<ByteString> = []
    /// SSUBSCRIBE channels (ShardedPubSubCommands.swift).
    public var shardChannels: Set<ByteString> = []
    public var blocked: BlockState? = nil
    /// Blocked by CLIENT PAUSE: its command waits on the connection until the pause ends.
    public internal(set) var postponed = false
    /// CLIENT REPLY OFF/SKIP state.
    public var replyMode: ReplyMode = .on
    /// Set by a command whose output was push frames only (RESP3 subscribe confirmations).
    var repliedWithPush = false
    /// Set when the connection should close after its replies are written (QUIT, protocol error, KILL).
    public var closeAfterReply = false
    /// Creation time (ms) and last command time, for CLIENT LIST / INFO.
    public var createdAt: Int64 = 0
    public var lastInteraction: Int64 = 0
    public var lastCommand: String = "NULL"
    /// The last command name as this client sent it and its spec: a client repeating a command
    /// skips the table lookup.
    var cachedName = CommandNameCache()
    var cachedSpec: CommandSpec? = nil
    /// `cachedSpec` unretained, for dispatch (cachedSpec keeps it alive).
    var cachedSpecRef: Unmanaged<CommandSpec>? = nil
    public var address = ""
    public var localAddress = ""
    /// Bytes of `out` the socket has already taken (kept up to date by the server).
    public var outputSent = 0
    /// Bytes in the client's query buffer (CLIENT LIST qbuf), kept up to date by the server.
    public var queryBufferBytes = 0
    /// Room left in the query buffer's allocation (CLIENT LIST qbuf-free), kept by the server.
    public var queryBufferFree = 0
    /// The arguments of the request being read or run: their bytes (CLIENT LIST argv-mem) and count.
    public var argvBytes = 0
    public var argvCount = 0
    /// The reply buffer: the allocation `out` keeps between replies (CLIENT LIST rbs), resized by the
    /// server's cron from its peak use (rbp) as Redis 7.0 does; output beyond it is counted as omem.
    public var replyBufferSize = Session.replyChunkBytes
    public var replyBufferPeak = Session.replyChunkBytes
    /// The capacity `out` got for the reply buffer (its size rounded up by the allocator).
    public var replyBufferAllocated = 0
    /// When the peak was last reset (ms).
    public var replyPeakResetAt: Int64 = 0
    /// CLIENT NO-EVICT ON: never disconnected by maxmemory-clients.
    public var noEvict = false
    /// Attached to the replication stream with SYNC (CLIENT LIST flag S).
    public var isReplica = false
    /// The link to this node's primary: its commands are the replication stream (CLIENT LIST flag M).
    public var isMaster = false
    /// The replication offset just after this client's last propagated write (what WAIT waits for).
    public var replicationWriteOffset = 0
    /// Connected through the `unixsocket` (CLIENT LIST flag U).
    public var isUnixSocket = false
    /// Called when output was added outside this session's own command (PUBLISH, unblocking):
    /// the server arranges to flush it.
    public var wakeup: (() -> Void)? = nil
    /// CLIENT TRACKING mode and state (ClientTracking.swift).
    public var tracking = ClientTrackingState()
    /// MONITOR: receives a line for every command executed.
    public var isMonitor = false
    /// The client scripts' redis.call commands run as (Redis's CLIENT_SCRIPT).
    public internal(set) var isScript = false

    public enum ReplyMode { case on, off, skip }

    public init(id: Int) {
        self.id = id
        allocateReplyBuffer()
    }

    /// Every subscription, shard channels included (Redis's CLIENT_PUBSUB: subscribe mode, flag P).
    public var subscriptionCount: Int { channels.count + patterns.count + shardChannels.count }
    /// Channels and patterns: the count SUBSCRIBE and PSUBSCRIBE confirmations carry.
    public var globalSubscriptionCount: Int { channels.count + patterns.count }
    /// In RESP2, a subscribed client may only run (P)(UN)SUBSCRIBE, PING, QUIT, RESET.
    public var inSubscribeMode: Bool { resp == 2 && subscriptionCount > 0 }
}

/// A command name as a client last sent it (up to 24 bytes, exactly as sent), held inline so that
/// comparing the next command's name costs no allocation or reference counting.
struct CommandNameCache {
    private var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0
    private var count = -1

    init() {}

    init(_ name: [UInt8]) {
        guard name.count <= 24 else { return }
        (w0, w1, w2) = Self.pack(name)
        count = name.count
    }

    @inline(__always)
    static func pack(_ name: [UInt8]) -> (UInt64, UInt64, UInt64) {
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        name.withUnsafeBytes { src in
            withUnsafeMutableBytes(of: &words) { dst in dst.copyMemory(from: src) }
        }
        return words
    }

    /// True when `name` is the cached name, byte for byte.
    @inline(__always)
    func matches(_ name: [UInt8]) -> Bool {
        guard name.count == count else { return false }
        let (a, b, c) = Self.pack(name)
        return a == w0 && b == w1 && c == w2
    }
}
