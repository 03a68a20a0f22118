// Engine: the keyspace (16 databases), the command table and dispatch, and the cross-client state a
// command can touch: blocked clients, WATCHed keys, pub/sub, statistics. Single-threaded: only the
// event loop's thread calls into it. No sockets, no files.
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

/// Counters INFO reports.
public struct EngineStats {
    public var keyspaceHits = 0
    public var keyspaceMisses = 0
    public var expiredKeys = 0
    public var evictedKeys = 0
    public var totalCommands = 0
    public var totalErrorReplies = 0
    /// Error code (first word of the message) → count, for INFO errorstats.
    public var errors: [String: Int] = [:]
    /// Command name → stats, for INFO commandstats.
    public var commands: [String: CommandStat] = [:]
    public var pubsubMessages = 0
    public init() {}
}

public struct SlowlogEntry {
    public var id: Int
    public var time: Int
    public var usec: Int
    public var args: [[UInt8]]
    public var address: String
    public var name: [UInt8]
}

public struct CommandStat {
    public var calls = 0
    public var usec = 0
    public var rejectedCalls = 0
    public var failedCalls = 0
}

public final class Engine {
    public private(set) var databases: [Database]
    public var config: EngineConfig
    /// The command clock (Unix ms), refreshed before each command.
    public var now: Int64 = 0
    /// The per-key access clock (LRU) or counter (LFU) settings, shared by the databases.
    public let keyAccess: KeyAccess
    /// notify-keyspace-events as KeyspaceEventClass bits (0: off).
    public var notifyFlags = 0 {
        didSet { for db in databases { db.notifyNewKeys = notifyFlags & KeyspaceEventClass.new != 0 } }
    }
    /// maxmemory and its policy.
    public let eviction = Eviction()
    /// The latency monitor (LATENCY LATEST/HISTORY...).
    public let latency = LatencyMonitor()
    /// latency-tracking: per-command duration histograms (LATENCY HISTOGRAM, INFO latencystats).
    public var latencyTracking = true
    /// Histograms of container subcommands ("config|get"), by stat name.
    public internal(set) var subcommandHistograms: [String: LatencyHistogram] = [:]
    /// Monotonic ns at which the next command's time starts counting (see `call`).
    var callStartNS = 0
    /// Writes since the last successful save.
    public var dirty = 0
    public var stats = EngineStats()
    public private(set) var commands: [String: CommandSpec] = [:]
    /// Command name bytes exactly as received → spec.
    var commandCache: [ByteString: CommandSpec] = [:]
    /// Counts the changes of the command table (register, rename-command), for caches of its lookups.
    private(set) var commandTableVersion = 0
    /// `requirepass`: the default user's password (setting it replaces the default user's passwords).
    public var requirePass: [UInt8]? = nil {
        didSet { if requirePass != oldValue { acl.setDefaultPassword(requirePass) } }
    }
    /// Users, permissions and the ACL LOG (AccessControl.swift).
    public let acl = AccessControl()
    /// True while EXEC runs its queue.
    public internal(set) var executingTransaction = false
    /// Sessions by id (for CLIENT LIST/KILL, pub/sub delivery).
    public internal(set) var sessions: [Int: Session] = [:]
    var nextSessionID = 1
    /// DEBUG REPLYBUFFER PEAK-RESET-TIME: ms between resets of a client's reply-buffer peak (-1: never).
    public var replyBufferPeakResetTime: Int64 = Engine.defaultReplyBufferPeakResetTime
    public static let defaultReplyBufferPeakResetTime: Int64 = 5000
    /// DEBUG REPLYBUFFER RESIZING: whether the cron resizes reply buffers.
    public var replyBufferResizing = true
    /// Server-level hooks the engine calls (INFO text, CONFIG, SHUTDOWN live in the server).
    public var hooks = EngineHooks()
    /// Set by persistence while its last background save or AOF write failed: only then can
    /// `hooks.writeRefusal` refuse a write, so dispatch asks it only then.
    public var persistenceFailing: (snapshot: Bool, aof: Bool) = (false, false)

    // Blocking: db → key → sessions waiting, FIFO.
    var blockedOn: [Int: [ByteString: [Session]]] = [:]
    var readyKeys: [(db: Int, key: ByteString)] = []
    /// While a blocked command is re-run because a key became ready: that key (XREAD serves only it).
    public internal(set) var servingReadyKey: ByteString?
    public internal(set) var blockedCount = 0
    // WATCH: db → key → sessions.
    var watchers: [Int: [ByteString: [Session]]] = [:]
    // Pub/sub.
    public internal(set) var channels: [ByteString: [Session]] = [:]
    public internal(set) var patterns: [(pattern: ByteString, session: Session)] = []
    /// SSUBSCRIBE: shard channel → subscribers (ShardedPubSubCommands.swift).
    public internal(set) var shardChannels: [ByteString: [Session]] = [:]
    // The error reply of the command being run, if it replied with one.
    var currentFailed = false
    /// PING is refused with the write commands under MISCONF, as in Redis.
    lazy var pingSpec: CommandSpec? = commands["ping"]
    /// SLOWLOG entries, newest first.
    public var slowlog: [SlowlogEntry] = []
    var nextSlowlogID = 0
    /// Client-side caching: keys → clients that read them, BCAST prefixes (ClientTracking.swift).
    public let tracking = TrackingTable()
    /// The client whose command is running (0: none); its own invalidations wait for its reply.
    var currentSessionID = 0
    /// Sessions in MONITOR mode.
    public internal(set) var monitors: [Session] = []
    /// Set by the server while replication can refuse a command (a replica's READONLY and MASTERDOWN, a
    /// primary's NOREPLICAS): returns the refusal for a command with those (effective) flags, or nil.
    public var roleGate: ((Session, CommandFlags) -> RoleRefusal?)? = nil
    /// True while this node replicates a primary: expired keys read as absent but stay until the
    /// primary's DEL, and no key expires actively (ReplicaExpiry.swift).
    public internal(set) var replicaExpiry = false
    /// True while the dataset is being loaded at start-up: commands without the loading flag get -LOADING.
    public var isLoading = false
    /// Redis 7.0's async loading: a replica loads its primary's dataset (repl-diskless-load swapdb, same
    /// history) while its clients are served from the old one. The commands Redis marks no-async-loading
    /// are refused meanwhile.
    public var isAsyncLoading = false
    /// The normal client class's hard output-buffer limit in bytes (0: none), set by the server.
    public var outputHardLimit = 0
    /// True while an AOF's commands are replayed. As in Redis, no key expires then (an expiry that
    /// has passed stays on its key, which expires after loading), and EXPIRE-family commands with a
    /// time in the past set it instead of deleting the key.
    public var loadingAOF = false {
        didSet { for db in databases { db.expiryPaused = loadingAOF } }
    }
    /// CLIENT PAUSE (ClientPause.swift): what is held back, until when (ms), and the clients it holds.
    public internal(set) var pauseType: ClientPauseType = .off
    public internal(set) var pauseEnd: Int64 = 0
    var postponedSessions: [Session] = []
    var resumedSessions: [Session] = []
    /// True while `replay` runs a command from the AOF (never paused).
    var replaying = false
    /// The session `replay` runs commands as, while it does.
    var replaySession: Session?

    // Propagation (the AOF): each write in its replayable form.
    /// Receives (database, arguments) for every write, in order; nil when nothing listens (AOF off).
    public var propagationSink: ((Int, [[UInt8]]) -> Void)? = nil
    /// What the running command asked to propagate instead of its own arguments (see
    /// `CommandContext.propagate`); nil = its arguments, if it changed the dataset.
    var propagateOverride: [[[UInt8]]]? = nil
    /// Receives the same writes for the replication stream (clients attached with SYNC); nil when none.
    public var replicationSink: ((Int, [[UInt8]]) -> Void)? = nil
    /// True while anything listens to propagated writes (the AOF or a replica).
    @inline(__always) public var isPropagating: Bool { propagationSink != nil || replicationSink != nil }
    /// Receives a write whose client request bytes are already its record (see `rawRequest`).
    public var propagationRawSink: ((Int, UnsafeRawBufferPointer) -> Void)? = nil
    /// The same for the replication stream; used only while `replicationSink` is set (which says whether
    /// writes are streamed at all).
    public var replicationRawSink: ((Int, UnsafeRawBufferPointer) -> Void)? = nil
    /// Whether a request's own bytes may serve as its record somewhere (the server then sets `rawRequest`).
    @inline(__always) public var takesRawRequests: Bool {
        propagationRawSink != nil || (replicationSink != nil && replicationRawSink != nil)
    }
    /// The request being executed exactly as the client sent it (set by the server around `execute`):
    /// a write propagated verbatim is then logged from these bytes instead of being encoded again.
    public var rawRequest: UnsafeRawBufferPointer? = nil
    /// While EXEC runs with a sink: the transaction's writes, emitted wrapped in MULTI/EXEC.
    var transactionOps: [(db: Int, args: [[UInt8]], targets: PropagationTargets)]? = nil
    /// Where writes go now: everywhere, except while a script's redis.set_repl says otherwise.
    var propagationTargets = PropagationTargets.all

    // Scripting (Sources/Engine/Scripting).
    /// The Lua interpreter and script cache, created on first use.
    public lazy var scripting: ScriptingVM = {
        scriptingCreated = true
        return ScriptingVM(engine: self)
    }()
    /// Whether `scripting` exists yet (INFO does not create it).
    public internal(set) var scriptingCreated = false
    /// The function libraries (FUNCTION LOAD), created on first use.
    public lazy var functions = FunctionLibraries(engine: self)

    /// Puts `other` in place of the function libraries and returns the ones it replaces (async loading
    /// keeps the old libraries callable while the primary's load into a fresh set).
    public func swapFunctionLibraries(_ other: FunctionLibraries) -> FunctionLibraries {
        let old = functions
        functions = other
        return old
    }

    /// An empty set of function libraries on this engine's interpreter.
    public func newFunctionLibraries() -> FunctionLibraries { FunctionLibraries(engine: self) }
    /// The script (EVAL or FCALL) being run, if any (not retained: the command running it holds it).
    public internal(set) unowned(unsafe) var currentScript: ScriptRun?
    /// The interpreter function libraries live in, created on first use.
    lazy var functionsVM: ScriptingVM = {
        functionsVMCreated = true
        return ScriptingVM(engine: self, kind: .functions)
    }()
    var functionsVMCreated = false
    /// True while a script runs (its commands never block, as in a transaction).
    public internal(set) var runningScript = false
    /// True while a script runs past busy-reply-threshold: other clients get -BUSY.
    public internal(set) var scriptTimedOut = false
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call no-script commands.
    public var scriptDenyDisabled = false
    /// busy-reply-threshold (lua-time-limit) in ms; 0 = never.
    public var busyReplyThreshold = 5000
    /// Whether the server was over maxmemory when the current command was admitted.
    var preCommandOOM = false

    public init(databases count: Int = 16, config: EngineConfig = EngineConfig()) {
        // Learned here, in the parent, so a forked snapshot child never runs the one-time initialiser.
        _ = BorrowedValue.layout
        self.config = config
        let access = KeyAccess()
        keyAccess = access
        databases = (0 ..< count).map { Database(id: $0, access: access) }
        for db in databases {
            db.onNewKey = { [unowned self] db, key in self.notify(KeyspaceEventClass.new, "new", key, db: db.id) }
            db.onExpired = { [unowned self] db, key in
                self.stats.expiredKeys += 1
                self.notify(KeyspaceEventClass.expired, "expired", key, db: db.id)
                self.signalModifiedKey(db: db.id, key: key)
                // An expired key is deleted in the AOF too, so replay never depends on the clock.
                if self.isPropagating { self.emit(db.id, [Engine.delName, key.bytes]) }
            }
        }
        register(EngineCommands.all)
    }

    /// Adds commands to the table (the server registers CONFIG, INFO, SHUTDOWN... this way).
    public func register(_ specs: [CommandSpec]) {
        for s in specs {
            commands[s.name] = s
            if let m = CommandMetadata.lookup(s.name) {
                if m.hasFlag("no_multi") { s.tableFlags.insert(.refusedInMulti) }
                if m.hasFlag("no_async_loading") { s.tableFlags.insert(.noAsyncLoading) }
            }
        }
        commandCache.removeAll()
        commandTableVersion += 1
    }

    /// rename-command: the command answers to `to` instead of `from` (an empty `to` removes it). It
    /// keeps its own name in replies about it (COMMAND INFO, INFO commandstats), as in Redis.
    public func renameCommand(from: [UInt8], to: [UInt8]) {
        guard let spec = commands.removeValue(forKey: lowercasedName(from)) else { return }
        if !to.isEmpty { commands[lowercasedName(to)] = spec }
        commandCache.removeAll()
        commandTableVersion += 1
    }

    /// Prefetches the keyspace lines that looking up `keys` in database `db` will read, so a batch of
    /// pipelined requests waits for its cache misses together rather than one lookup at a time.
    @inline(__always)
    public func prefetchKeys(_ keys: UnsafeBufferPointer<UnsafeRawBufferPointer>, db: Int) {
        guard db >= 0, db < databases.count else { return }
        databases[db].keys.prefetch(keys)
    }

    /// Whether database `db` is big enough for `prefetchKeys` to pay: its entries no longer fit in a
    /// core's cache (under that, the look ahead would only cost time).
    @inline(__always)
    public func prefetchPays(db: Int) -> Bool {
        db >= 0 && db < databases.count && databases[db].keys.count >= 32768
    }

    /// Refreshes the command clock from the system clock.
    public func updateClock() {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        now = Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
        keyAccess.update(nowMs: now)
        var m = timespec()
        clock_gettime(CLOCK_MONOTONIC, &m)
        callStartNS = Int(m.tv_sec) * 1_000_000_000 + Int(m.tv_nsec)
    }

    // MARK: - Sessions

    public func newSession() -> Session {
        let s = Session(id: nextSessionID)
        nextSessionID += 1
        s.createdAt = now
        s.lastInteraction = now
        s.authenticated = acl.defaultAutoAuth
        sessions[s.id] = s
        return s
    }

    /// Forgets a session whose connection closed: unblocks, unwatches, unsubscribes.
    public func endSession(_ s: Session) {
        monitors.removeAll { $0 === s }
        unblock(s)
        dropPostponed(s)
        unwatchAll(s)
        unsubscribeAll(s)
        disableTracking(s)
        sessions[s.id] = nil
    }

    // MARK: - Dispatch

    /// Runs one command from `session`, appending its reply to `session.out`.
    public func execute(_ session: Session, _ args: [[UInt8]]) {
        guard !args.isEmpty else { return }
        stats.totalCommands += 1
        session.lastInteraction = now
        let specRef: Unmanaged<CommandSpec>
        if let cached = session.cachedSpecRef, session.cachedName.matches(args[0]) {
            specRef = cached
        } else {
            guard let found = lookupCommand(args[0]) else {
                rejectUnknown(session, args)
                return
            }
            specRef = .passUnretained(found)
            session.cachedSpec = found
            session.cachedSpecRef = specRef
            session.cachedName = CommandNameCache(args[0])
        }
        // The session's strong cachedSpec (and the command table) keep the spec alive while it runs.
        specRef._withUnsafeGuaranteedRef { dispatch(session, $0, args) }
    }

    private func dispatch(_ session: Session, _ spec: CommandSpec, _ args: [[UInt8]]) {
        // CLIENT LIST's cmd= names a container command with its subcommand ("client|list"), as Redis 7.0.
        session.lastCommand = spec.isContainer && args.count > 1 ? statName(spec, args) : spec.name
        if (spec.arity > 0 && args.count != spec.arity) || (spec.arity < 0 && args.count < -spec.arity) {
            reject(session, spec, RedisError.wrongArity(spec.name))
            return
        }
        // DEBUG gating, NOAUTH and ACL permissions (AccessControlDispatch.swift).
        if !admit(session, spec, args) { return }
        // An attached replica only acknowledges; a command touching the keyspace from it is refused (Redis 7.0).
        if session.isReplica && !spec.flags.isDisjoint(with: [.write, .readonly, .mayReplicate]) {
            reject(session, spec, "ERR Replica can't interact with the keyspace")
            return
        }
        preCommandOOM = eviction.maxmemory > 0 && performEvictions() == .failed
        // EVAL and FCALL take some flags from their script; asked only when a check needs them.
        if preCommandOOM && refusedOnOOM(session, spec, spec.dynamicFlags?(self, args) ?? spec.flags) {
            reject(session, spec, "OOM command not allowed when used memory > 'maxmemory'.")
            return
        }
        if tracking.clients > 0 { trackingLimitKeys() }
        // While the AOF is replayed, a client served by a busy script's event pass gets -LOADING too.
        if (isLoading || (replaySession != nil && session !== replaySession && !session.isScript)) && !spec.flags.contains(.loading) {
            reject(session, spec, "LOADING Redis is loading the dataset in memory")
            return
        }
        if isAsyncLoading && spec.tableFlags.contains(.noAsyncLoading) {
            reject(session, spec, "LOADING Redis is loading the dataset in memory")
            return
        }
        if scriptTimedOut, let refusal = busyRefusal(spec, args) {
            reject(session, spec, refusal)
            return
        }
        if let gate = roleGate, let refusal = gate(session, roleFlags(session, spec, args)) {
            if spec.name == "exec" && session.multi != nil {
                // A refused EXEC discards the transaction, as Redis does.
                session.multi = nil
                session.multiFailed = false
                unwatchAll(session)
                reject(session, spec, "EXECABORT Transaction discarded because of: " + refusal.message)
            } else {
                reject(session, spec, refusal.message)
            }
            return
        }
        if persistenceFailing.snapshot || persistenceFailing.aof,
           (spec.dynamicFlags?(self, args) ?? spec.flags).contains(.write) || spec === pingSpec,
           let refuse = hooks.writeRefusal, let text = refuse() {
            reject(session, spec, text)
            return
        }
        if session.inSubscribeMode && !spec.flags.contains(.subscribeContext) {
            reject(session, spec, "ERR Can't execute '\(spec.name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
            return
        }
        // CLIENT PAUSE: the client blocks; the server keeps its command and runs it again once the pause ends.
        if pauseType != .off && pauseHolds(session, spec, args) {
            stats.totalCommands -= 1
            postpone(session)
            return
        }
        if session.multi != nil && spec.tableFlags.contains(.refusedInMulti) {
            reject(session, spec, "ERR Command not allowed inside a transaction")
            return
        }
        if session.multi != nil && !spec.flags.contains(.noMulti) {
            session.multi!.append(QueuedCommand(spec: spec, args: args))
            var bytes = 8 &* args.count
            for a in args { bytes &+= a.count }
            session.multiBytes &+= bytes
            RESPEncoder.simple("QUEUED", to: &session.out)
            return
        }
        let mark = session.out.count
        let mode = session.replyMode
        currentSessionID = session.id
        call(session, spec, args)
        currentSessionID = 0
        if eviction.maxmemory > 0 && spec.flags.contains(.write) {
            var bytes = 0
            for a in args { bytes &+= a.count }
            eviction.noteWrite(bytes)
        }
        // CLIENT REPLY OFF|SKIP silence the command's reply, but not push frames, and not the OK of a
        // CLIENT REPLY ON that ends them.
        let pushed = session.repliedWithPush
        session.repliedWithPush = false
        switch mode {
        case .on: break
        case .off: if session.replyMode != .on && !pushed { session.out.removeSubrange(mark...) }
        case .skip:
            if session.replyMode != .on && !pushed { session.out.removeSubrange(mark...) }
            if session.replyMode == .skip { session.replyMode = .on }
        }
        // CLIENT CACHING applies to the next command or transaction only.
        if session.tracking.caching && session.multi == nil && spec.name != "client" { session.tracking.caching = false }
        if !tracking.pending.isEmpty { trackingSendPending(session) }
        // Not while a script runs (a command served during a busy script): its keys wait for its end.
        if !readyKeys.isEmpty && !runningScript { serveReadyKeys() }
    }

    /// The flags replication judges a command by: its effective flags (EVAL's from its script), and for
    /// EXEC those of its queue too (a queued write makes it a write, a queued command that may not run
    /// stale makes it one too), as Redis's processCommand does.
    func roleFlags(_ session: Session, _ spec: CommandSpec, _ args: [[UInt8]]) -> CommandFlags {
        var flags = spec.dynamicFlags?(self, args) ?? spec.flags
        if spec.name == "exec", let queue = session.multi {
            for q in queue {
                let f = q.spec.dynamicFlags?(self, q.args) ?? q.spec.flags
                if f.contains(.write) { flags.insert(.write) }
                if !f.contains(.stale) { flags.remove(.stale) }
            }
        }
        return flags
    }

    /// Whether `spec` is refused while memory is over the limit: commands that may grow memory, EXEC
    /// of a queue holding one, and anything queued inside MULTI except EXEC, DISCARD, QUIT and RESET.
    func refusedOnOOM(_ session: Session, _ spec: CommandSpec, _ flags: CommandFlags) -> Bool {
        if flags.contains(.denyOOM) { return true }
        guard let queue = session.multi else { return false }
        switch spec.name {
        case "exec": return queue.contains { $0.spec.flags.contains(.denyOOM) }
        case "discard", "quit", "reset": return false
        default: return true
        }
    }

    /// Runs a command read back from the AOF at start-up, without the LOADING, AUTH and MISCONF
    /// checks, discarding its reply. Returns false when the command is unknown.
    public func replay(_ session: Session, _ args: [[UInt8]]) -> Bool {
        guard !args.isEmpty, lookupCommand(args[0]) != nil else { return false }
        let wasLoading = isLoading
        let refusal = hooks.writeRefusal
        let limit = eviction.maxmemory
        isLoading = false
        hooks.writeRefusal = nil
        eviction.maxmemory = 0  // loading never evicts
        replaying = true
        replaySession = session
        execute(session, args)
        replaySession = nil
        replaying = false
        isLoading = wasLoading
        hooks.writeRefusal = refusal
        eviction.maxmemory = limit
        session.out.removeAll(keepingCapacity: true)
        return true
    }

    func feedMonitors(_ session: Session, _ args: [[UInt8]]) {
        guard let args = redactedForLogs(args, monitor: true) else { return }  // AccessControlDispatch.swift
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let usec = Int(ts.tv_nsec / 1000)
        let frac = String(usec).count < 6 ? String(repeating: "0", count: 6 - String(usec).count) + String(usec) : String(usec)
        var line = Array("+\(ts.tv_sec).\(frac) [\(session.db) \(session.address.isEmpty ? "lua" : session.address)]".utf8)
        for a in args {
            line.append(contentsOf: Array(" \"".utf8))
            for b in a {
                switch b {
                case UInt8(ascii: "\\"): line.append(contentsOf: Array("\\\\".utf8))
                case UInt8(ascii: "\""): line.append(contentsOf: Array("\\\"".utf8))
                case 10: line.append(contentsOf: Array("\\n".utf8))
                case 13: line.append(contentsOf: Array("\\r".utf8))
                case 9: line.append(contentsOf: Array("\\t".utf8))
                case 7: line.append(contentsOf: Array("\\a".utf8))
                case 8: line.append(contentsOf: Array("\\b".utf8))
                case 0x20 ... 0x7e: line.append(b)
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    line.append(contentsOf: Array("\\x".utf8))
                    line.append(hex[Int(b >> 4)])
                    line.append(hex[Int(b & 15)])
                }
            }
            line.append(UInt8(ascii: "\""))
        }
        line.append(13); line.append(10)
        for m in monitors where m !== session {
            m.out.append(contentsOf: line)
            m.wakeup?()
        }
    }

    /// Runs a command's handler with stats.
    /// MONITOR sees each command once it has run (so EXEC's queued commands come between MULTI and
    /// EXEC); a blocked command retried when its key is ready is not shown again (`monitor: false`).
    func call(_ session: Session, _ spec: CommandSpec, _ args: [[UInt8]], monitor: Bool = true) {
        defer {
            if monitor && !monitors.isEmpty && !spec.flags.contains(.skipMonitor) && !spec.flags.contains(.admin) {
                feedMonitors(session, args)
            }
        }
        // A command run inside another (EXEC's queue) fails or not on its own: the outer command's
        // state comes back afterwards, so EXEC is not counted failed for a queued command's error.
        let outerFailed = currentFailed
        defer { currentFailed = outerFailed }
        currentFailed = false
        if !isPropagating {
            spec.handler(CommandContext(engine: self, session: session, spec: spec, args: args))
            if spec.flags.contains(.readonly) { trackingAfterRead(session, spec, args) }
        } else {
            // Only the outermost call runs the request the raw bytes hold (not EXEC's queue).
            let raw = rawRequest
            rawRequest = nil
            let dirtyBefore = dirty
            propagateOverride = nil
            spec.handler(CommandContext(engine: self, session: session, spec: spec, args: args))
            if let ops = propagateOverride {
                propagateOverride = nil
                for op in ops { emit(session.db, op) }
            } else if dirty != dirtyBefore && spec.flags.contains(.write) {
                if let raw, transactionOps == nil, propagationTargets == .all, AOFCommands.isCanonicalRecord(raw, args) {
                    if let rawSink = propagationRawSink { rawSink(session.db, raw) } else { propagationSink?(session.db, args) }
                    if let sink = replicationSink {
                        if let rawSink = replicationRawSink { rawSink(session.db, raw) } else { sink(session.db, args) }
                    }
                } else {
                    emit(session.db, args)
                }
            }
            if spec.flags.contains(.readonly) { trackingAfterRead(session, spec, args) }
        }
        // One clock read per command: the command's time runs from the previous command's end (or
        // the clock update before this batch of input) to now. Parsing between commands is counted
        // with the command it produced.
        var t1 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t1)
        let end = Int(t1.tv_sec) * 1_000_000_000 + Int(t1.tv_nsec)
        let usec = max(0, end - callStartNS) / 1000
        callStartNS = end
        // A command that blocked is counted (and slow-logged) once, by the run that ends its wait.
        if session.blocked != nil { return }
        if config.slowlogLogSlowerThan >= 0 && usec >= config.slowlogLogSlowerThan && spec.name != "exec" {
            addSlowlogEntry(session, args, usec)
        }
        if spec.isContainer, args.count > 1 {
            // Container commands (CONFIG GET, CLIENT LIST...) are counted as "config|get".
            let name = statName(spec, args)
            stats.commands[name, default: CommandStat()].calls += 1
            stats.commands[name]!.usec += usec
            if currentFailed { stats.commands[name]!.failedCalls += 1 }
            if latencyTracking {
                let h = subcommandHistograms[name] ?? LatencyHistogram()
                subcommandHistograms[name] = h
                h.record(Int64(usec) * 1000)
            }
        } else {
            let box = spec.stat
            box.calls += 1
            box.usec += usec
            if currentFailed { box.failedCalls += 1 }
            if latencyTracking {
                if box.histogram == nil { box.histogram = LatencyHistogram() }
                box.histogram.unsafelyUnwrapped.record(Int64(usec) * 1000)
            }
        }
        if latency.threshold > 0 {
            latency.add(spec.flags.contains(.fast) ? "fast-command" : "command", ms: usec / 1000, now: Int(now / 1000))
        }
    }

    /// Records a slow command (SLOWLOG): at most 32 arguments, each cut at 128 bytes, as Redis does.
    func addSlowlogEntry(_ session: Session, _ args: [[UInt8]], _ usec: Int) {
        let args = redactedForLogs(args, monitor: false) ?? args  // AccessControlDispatch.swift
        var shown: [[UInt8]] = []
        for (i, a) in args.enumerated() {
            if i == 31 && args.count > 32 {
                shown.append(Array("... (\(args.count - 31) more arguments)".utf8))
                break
            }
            if a.count > 128 {
                shown.append(Array(a.prefix(128)) + Array("... (\(a.count - 128) more bytes)".utf8))
            } else {
                shown.append(a)
            }
        }
        slowlog.insert(SlowlogEntry(id: nextSlowlogID, time: Int(now / 1000), usec: usec, args: shown,
                                    address: session.address, name: session.name ?? []), at: 0)
        nextSlowlogID += 1
        if slowlog.count > max(0, config.slowlogMaxLen) { slowlog.removeLast(slowlog.count - max(0, config.slowlogMaxLen)) }
    }

    /// Every command's counters by name (INFO commandstats), including "name|sub" ones.
    public func commandStats() -> [String: CommandStat] {
        var out = stats.commands
        for (name, spec) in commands where spec.stat.calls > 0 || spec.stat.rejectedCalls > 0 {
            out[name] = CommandStat(calls: spec.stat.calls, usec: spec.stat.usec, rejectedCalls: spec.stat.rejectedCalls,
                                    failedCalls: spec.stat.failedCalls)
        }
        return out
    }

    /// Per-command duration histograms by stat name ("get", "config|set"), for commands called since
    /// the last reset.
    public func commandHistograms() -> [(String, LatencyHistogram)] {
        var out: [(String, LatencyHistogram)] = []
        for (name, spec) in commands { if let h = spec.stat.histogram, h.total > 0 { out.append((name, h)) } }
        for (name, h) in subcommandHistograms where h.total > 0 { out.append((name, h)) }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Resets every counter (CONFIG RESETSTAT).
    public func resetStats() {
        stats = EngineStats()
        for spec in commands.values {
            spec.stat.calls = 0; spec.stat.usec = 0; spec.stat.rejectedCalls = 0; spec.stat.failedCalls = 0
            spec.stat.histogram = nil
        }
        subcommandHistograms.removeAll()
    }

    /// The spec for a command name as the client sent it. Names are cached by their exact bytes,
    /// so the usual case costs one hash of a few bytes and no lower-casing.
    @inline(__always)
    func lookupCommand(_ name: [UInt8]) -> CommandSpec? {
        let key = ByteString(name)
        if let s = commandCache[key] { return s }
        guard name.count <= 64, let s = commands[lowercasedName(name)] else { return nil }
        if commandCache.count < 4096 { commandCache[key] = s }
        return s
    }

    /// A request's command as Redis names it in logs ("get", "xinfo|help"); the name as sent if unknown.
    public func commandLogName(_ args: [[UInt8]]) -> String {
        guard let first = args.first else { return "" }
        guard let spec = lookupCommand(first) else { return String(decoding: first, as: UTF8.self).lowercased() }
        return fullName(spec, args)
    }

    func statName(_ spec: CommandSpec, _ args: [[UInt8]]) -> String {
        // Container commands (CONFIG GET, CLIENT LIST...) are counted as "config|get".
        if spec.isContainer, args.count > 1 {
            return spec.name + "|" + lowercasedName(args[1])
        }
        return spec.name
    }

    func lowercasedName(_ b: [UInt8]) -> String {
        String(decoding: b.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }

    func reject(_ session: Session, _ spec: CommandSpec, _ message: String) {
        if spec.name == "exec" && session.multi != nil && !message.hasPrefix("EXECABORT") {
            // A refused EXEC (-BUSY, -LOADING...) discards its transaction and says why, as Redis's
            // execCommandAbort.
            session.multi = nil
            session.multiFailed = false
            unwatchAll(session)
            spec.stat.rejectedCalls += 1
            let text = "EXECABORT Transaction discarded because of: " + message
            recordError(text)
            RESPEncoder.error(text, to: &session.out)
            return
        }
        if session.multi != nil { session.multiFailed = true }
        spec.stat.rejectedCalls += 1
        recordError(message)
        RESPEncoder.error(message, to: &session.out)
    }

    func rejectUnknown(_ session: Session, _ args: [[UInt8]]) {
        if session.multi != nil { session.multiFailed = true }
        var msg = "ERR unknown command '\(displayArg(args[0]))', with args beginning with: "
        for a in args.dropFirst() { msg += "'\(displayArg(a))' " }
        recordError(msg)
        RESPEncoder.error(msg, to: &session.out)
    }

    /// An argument as Redis shows it in errors (at most 128 bytes).
    func displayArg(_ a: [UInt8]) -> String {
        String(decoding: a.prefix(128), as: UTF8.self)
    }

    /// Counts an error reply for INFO errorstats.
    public func recordError(_ message: String) {
        currentFailed = true
        stats.totalErrorReplies += 1
        let code = message.split(separator: " ", maxSplits: 1).first.map(String.init) ?? "ERR"
        stats.errors[code, default: 0] += 1
    }

    // MARK: - Propagation

    static let delName = Array("DEL".utf8)

    /// Sends one write to the sinks `propagationTargets` names (narrowed to `only`), or into the
    /// running transaction's list.
    func emit(_ db: Int, _ args: [[UInt8]], only: PropagationTargets = .all) {
        let targets = propagationTargets.intersection(only)
        if targets.isEmpty { return }
        if transactionOps != nil {
            transactionOps!.append((db, args, targets))
        } else {
            send(db, args, to: targets)
        }
    }

    /// One write to the AOF and/or the replicas.
    private func send(_ db: Int, _ args: [[UInt8]], to targets: PropagationTargets) {
        if targets.contains(.aof) { propagationSink?(db, args) }
        if targets.contains(.replicas) { replicationSink?(db, args) }
    }

    /// A command replicas run too but the AOF does not keep (PUBLISH, SPUBLISH: Redis 7.0 sends them
    /// down the replication stream so a replica's subscribers get the message).
    public func propagateToReplicas(_ db: Int, _ args: [[UInt8]]) {
        guard replicationSink != nil || transactionOps != nil else { return }
        emit(db, args, only: .replicas)
    }

    /// Starts collecting a transaction's writes (EXEC).
    func beginPropagatedTransaction() {
        if isPropagating { transactionOps = [] }
    }

    /// Emits a transaction's writes: one write alone, several wrapped in MULTI/EXEC so a reader that
    /// finds the file cut inside them drops them all. Each write goes where it was meant to (a script's
    /// redis.set_repl, PUBLISH's replicas only).
    func endPropagatedTransaction() {
        guard let ops = transactionOps else { return }
        transactionOps = nil
        guard isPropagating else { return }
        // Each sink gets the ops meant for it, wrapped in MULTI/EXEC when there are several (a
        // transaction whose one write is for the AOF and whose PUBLISH is for replicas leaves the write
        // unwrapped in the AOF, as Redis 7.0).
        func flush(_ sink: ((Int, [[UInt8]]) -> Void)?, _ target: PropagationTargets) {
            guard let sink else { return }
            let mine = ops.filter { $0.targets.contains(target) }
            guard let first = mine.first, let last = mine.last else { return }
            if mine.count == 1 {
                sink(first.db, first.args)
                return
            }
            sink(first.db, [Array("MULTI".utf8)])
            for op in mine { sink(op.db, op.args) }
            sink(last.db, [Array("EXEC".utf8)])
        }
        flush(propagationSink, .aof)
        flush(replicationSink, .replicas)
    }

    // MARK: - Keys changing: WATCH and blocked clients

    /// A key's value changed (or was deleted/expired): invalidates WATCHes on it. A key that was
    /// already logically expired when it was watched and is now gone did not change (Redis 7.0).
    public func signalModifiedKey(db: Int, key: ByteString) {
        // Two integer loads when nobody tracks: no remembered key (items) and no tracking client (prefixes).
        if tracking.totalItems != 0 || tracking.clients != 0 { trackingInvalidateKey(key, bcast: true) }
        if blockedCount > 0 { unblockStreamGroupReaders(db: db, key: key, holdsStream: databases[db].keys[key].map(isStream) ?? false) }
        guard !watchers.isEmpty, let list = watchers[db]?[key] else { return }
        let gone = databases[db].keys[key] == nil
        for s in list {
            if let i = s.watched.firstIndex(where: { $0.db == db && $0.key == key }), s.watched[i].expired {
                if gone {
                    s.watched[i].expired = false
                    continue
                }
            }
            s.watchDirty = true
        }
    }

    /// Every key of a database is about to go (FLUSHDB, FLUSHALL) or to be replaced by the keys of
    /// `replacedWith` (SWAPDB): invalidates the WATCHes of the keys that exist in either, except a key
    /// that was stale when watched and stays gone or stale. Call it before the contents change.
    public func signalFlushedDB(_ db: Int, replacedWith other: Int? = nil) {
        if blockedCount > 0, let blocked = blockedOn[db] {
            for key in blocked.keys {
                let after = other.flatMap { databases[$0].keys[key] }
                unblockStreamGroupReaders(db: db, key: key, holdsStream: after.map(isStream) ?? false)
            }
        }
        guard let map = watchers[db] else { return }
        let emptied = databases[db], replacement = other.map { databases[$0] }
        func isStale(_ d: Database, _ key: ByteString) -> Bool {
            guard d.keys[key] != nil, let t = d.expireTime(key) else { return false }
            return t <= now
        }
        for (key, list) in map {
            let inEmptied = emptied.keys[key] != nil
            let inReplacement = replacement.map { $0.keys[key] != nil } ?? false
            guard inEmptied || inReplacement else { continue }
            for s in list {
                guard let i = s.watched.firstIndex(where: { $0.db == db && $0.key == key }) else { continue }
                if s.watched[i].expired {
                    if !inReplacement {
                        s.watched[i].expired = false
                        continue
                    }
                    if let r = replacement, isStale(r, key) { continue }
                } else if !inEmptied, let r = replacement, isStale(r, key) {
                    s.watched[i].expired = true
                    continue
                }
                s.watchDirty = true
            }
        }
    }

    /// True when a key `s` watches, live when watched, has expired since (EXEC then fails).
    public func watchedKeyExpired(_ s: Session) -> Bool {
        for w in s.watched where !w.expired {
            let d = databases[w.db]
            if d.keys[w.key] != nil, let t = d.expireTime(w.key), t <= now { return true }
        }
        return false
    }

    /// A key got elements that a blocked client may take.
    public func signalKeyAsReady(db: Int, key: ByteString) {
        guard blockedCount > 0, blockedOn[db]?[key] != nil else { return }
        readyKeys.append((db, key))
    }

    public func watch(_ s: Session, db: Int, key: ByteString) {
        if s.watched.contains(where: { $0.db == db && $0.key == key }) { return }
        let d = databases[db]
        let stale = d.keys[key] != nil && (d.expireTime(key).map { $0 <= now } ?? false)
        s.watched.append((db, key, stale))
        watchers[db, default: [:]][key, default: []].append(s)
    }

    public func unwatchAll(_ s: Session) {
        for (db, key, _) in s.watched {
            watchers[db]?[key]?.removeAll { $0 === s }
            if watchers[db]?[key]?.isEmpty == true { watchers[db]![key] = nil }
        }
        s.watched.removeAll()
        s.watchDirty = false
    }

    // MARK: - Blocking

    func block(session: Session, state: BlockState) {
        if executingTransaction { return }
        if session.blocked != nil { return } // still blocked (a retry that found nothing)
        session.blocked = state
        blockedCount += 1
        for k in state.keys {
            blockedOn[state.db, default: [:]][k, default: []].append(session)
        }
    }

    /// Releases a blocked session without replying.
    public func unblock(_ s: Session) {
        guard let b = s.blocked else { return }
        for k in b.keys {
            blockedOn[b.db]?[k]?.removeAll { $0 === s }
            if blockedOn[b.db]?[k]?.isEmpty == true { blockedOn[b.db]![k] = nil }
        }
        s.blocked = nil
        blockedCount -= 1
    }

    /// Serves clients blocked on keys that became ready, in the order they blocked.
    func serveReadyKeys() {
        // The clock moves on first: a key that expired while the command ran (a DEBUG SLEEP inside a
        // transaction) is expired now and wakes nobody.
        updateClock()
        while !readyKeys.isEmpty {
            let batch = readyKeys
            readyKeys.removeAll()
            for (db, key) in batch {
                guard let waiting = blockedOn[db]?[key] else { continue }
                for s in waiting {
                    guard let b = s.blocked else { continue }
                    // As Redis, a client waits on as long as the key does not hold the type its command
                    // pops from (a list for BLPOP, a sorted set for BZPOPMIN): a key deleted and set
                    // to a string in one transaction wakes nobody, and nobody gets WRONGTYPE.
                    if !readyKeyServes(b, db: db, key: key) { continue }
                    // Retry the command as if the client sent it again; if it blocks again, it stays.
                    unblock(s)
                    let before = s.out.count
                    let savedDB = s.db
                    s.db = b.db
                    servingReadyKey = key
                    let outer = currentSessionID
                    currentSessionID = s.id
                    call(s, b.spec, b.args, monitor: false)
                    currentSessionID = outer
                    if !tracking.pending.isEmpty { trackingSendPending(s) }
                    servingReadyKey = nil
                    s.db = savedDB
                    // Blocked again (nothing left to take): keep the original deadline.
                    if s.blocked != nil { s.blocked!.deadline = b.deadline }
                    if s.blocked == nil || s.out.count != before {
                        s.wakeup?()
                    }
                }
            }
        }
    }

    private func isStream(_ v: RedisValue) -> Bool {
        if case .stream = v { return true }
        return false
    }

    /// Clients blocked in XREADGROUP on `key` fail with Redis's UNBLOCKED error once the key no longer
    /// holds a stream (deleted, overwritten, flushed, swapped away): their group went with it.
    func unblockStreamGroupReaders(db: Int, key: ByteString, holdsStream: Bool) {
        guard !holdsStream, let waiting = blockedOn[db]?[key] else { return }
        for s in waiting where s.blocked?.spec.name == "xreadgroup" {
            let spec = s.blocked!.spec
            unblock(s)
            spec.stat.calls += 1
            spec.stat.failedCalls += 1
            stats.totalErrorReplies += 1
            stats.errors["UNBLOCKED", default: 0] += 1
            RESPEncoder.error("UNBLOCKED the stream key no longer exists", to: &s.out)
            s.wakeup?()
        }
    }

    /// True when `key` holds a value of the kind the blocked command `b` takes from.
    func readyKeyServes(_ b: BlockState, db: Int, key: ByteString) -> Bool {
        guard let v = databases[db].lookupNoTouch(key, now: now) else { return false }
        let name = b.spec.name
        return v.typeRow.blockingCommandPrefixes.contains { name.hasPrefix($0) }
    }

    /// Replies to blocked clients whose deadline passed. Returns how many timed out.
    @discardableResult
    public func expireBlockedClients() -> Int {
        guard blockedCount > 0 else { return 0 }
        var n = 0
        for s in sessions.values {
            guard let b = s.blocked, b.deadline != 0, b.deadline <= now else { continue }
            unblock(s)
            b.spec.stat.calls += 1
            switch b.timeoutReply {
            case .nullArray: RESPEncoder.nullArray(resp: s.resp, to: &s.out)
            case .nullBulk: RESPEncoder.null(resp: s.resp, to: &s.out)
            }
            s.wakeup?()
            n += 1
        }
        return n
    }

    // MARK: - Pub/sub

    public func unsubscribeAll(_ s: Session) {
        for c in s.channels {
            channels[c]?.removeAll { $0 === s }
            if channels[c]?.isEmpty == true { channels[c] = nil }
        }
        s.channels.removeAll()
        patterns.removeAll { $0.session === s }
        s.patterns.removeAll()
        for c in s.shardChannels {
            shardChannels[c]?.removeAll { $0 === s }
            if shardChannels[c]?.isEmpty == true { shardChannels[c] = nil }
        }
        s.shardChannels.removeAll()
    }

    static let messageKind = Array("message".utf8)
    static let shardMessageKind = Array("smessage".utf8)

    /// Sends each of `list` a `[kind, channel, message]` push (PUBLISH's "message", SPUBLISH's
    /// "smessage"); returns how many it went to.
    func deliver(_ kind: [UInt8], channel: ByteString, message: ByteString, to list: [Session]) -> Int {
        for s in list {
            RESPEncoder.pushHeader(3, resp: s.resp, to: &s.out)
            RESPEncoder.bulk(kind, to: &s.out)
            channel.withUnsafeBytes { RESPEncoder.bulk($0, to: &s.out) }
            message.withUnsafeBytes { RESPEncoder.bulk($0, to: &s.out) }
            s.wakeup?()
        }
        return list.count
    }

    /// Delivers `message` to subscribers of `channel` and matching patterns; returns the receiver count.
    public func publish(channel: ByteString, message: ByteString) -> Int {
        var n = 0
        stats.pubsubMessages += 1
        if let list = channels[channel] { n += deliver(Engine.messageKind, channel: channel, message: message, to: list) }
        for (p, s) in patterns where globMatch(pattern: p.bytes, string: channel.bytes, noCase: false) {
            RESPEncoder.pushHeader(4, resp: s.resp, to: &s.out)
            RESPEncoder.bulk(Array("pmessage".utf8), to: &s.out)
            p.withUnsafeBytes { RESPEncoder.bulk($0, to: &s.out) }
            channel.withUnsafeBytes { RESPEncoder.bulk($0, to: &s.out) }
            message.withUnsafeBytes { RESPEncoder.bulk($0, to: &s.out) }
            s.wakeup?()
            n += 1
        }
        return n
    }

    // MARK: - Expiry

    /// Redis's active expiry: samples keys with a TTL in each database, within `limit` checks per db.
    @discardableResult
    public func activeExpireCycle(limitPerDB: Int = 200) -> Int {
        guard config.activeExpireEnabled else { return 0 }
        if replicaExpiry { return expireReplicaOwnKeys() }
        // A client pause keeps the dataset still: no key expires until it ends.
        if pauseType != .off && checkPauseTimeout() { return 0 }
        let t0 = latency.threshold > 0 ? Eviction.monotonicMicros() : 0
        var removed = 0
        for db in databases where db.expiresCount > 0 {
            removed += db.activeExpire(now: now, limit: limitPerDB)
        }
        if latency.threshold > 0 {
            latency.add("expire-cycle", ms: Int((Eviction.monotonicMicros() - t0) / 1000), now: Int(now / 1000))
        }
        return removed
    }

    /// Removes every key whose expiry has passed, in all databases: what the server's lazy and active
    /// expiry do to them after loading, for the offline tools that replay an AOF without a cron (a key
    /// an AOF expired while loading must not reach their output).
    @discardableResult
    public func removeExpiredKeys() -> Int {
        var removed = 0
        for db in databases where db.expiresCount > 0 {
            var due: [ByteString] = []
            db.expires.forEach { k, t in if t <= now { due.append(k) } }
            for k in due where db.expireIfNeeded(k, now: now) { removed += 1 }
        }
        return removed
    }

    /// Incremental rehashing work for every database's tables: 100-bucket steps for up to about
    /// 1 ms in all, as Redis's cron does, so a big table finishes growing in the background.
    public func rehashStep() {
        var t0 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t0)
        for db in databases where db.count > 0 {
            while true {
                let a = db.keys.rehashStep(buckets: 100)
                let more = db.expires.rehashStep(buckets: 100) || a
                if !more { break }
                var t1 = timespec()
                clock_gettime(CLOCK_MONOTONIC, &t1)
                if Int(t1.tv_sec - t0.tv_sec) * 1_000_000_000 + Int(t1.tv_nsec - t0.tv_nsec) > 1_000_000 { return }
            }
        }
    }

    // MARK: - Whole databases

    public func flushAll() {
        for db in databases {
            signalFlushedDB(db.id)
            db.removeAll()
        }
        trackingInvalidateOnFlush()
    }

    /// Moves every database's keys into holders it returns, leaving the keyspace empty (a replica's
    /// swapdb diskless load keeps the old data aside while the new arrives). O(databases).
    public func stashDatabases() -> [Database] {
        databases.map { db in
            let holder = Database(id: db.id, access: keyAccess)
            db.swapContents(with: holder)
            return holder
        }
    }

    /// Puts the keys `stashDatabases` set aside back, dropping what the keyspace holds now.
    public func restoreDatabases(_ stash: [Database]) {
        for (db, holder) in zip(databases, stash) {
            db.removeAll()
            db.swapContents(with: holder)
        }
    }

    public func swapDatabases(_ a: Int, _ b: Int) {
        signalFlushedDB(a, replacedWith: b)
        signalFlushedDB(b, replacedWith: a)
        databases[a].swapContents(with: databases[b])
        // Blocked clients on either database may now be served.
        for db in [a, b] {
            if let map = blockedOn[db] {
                for key in map.keys where databases[db].keys[key] != nil { readyKeys.append((db, key)) }
            }
        }
        // Served once SWAPDB itself is done (and propagated), as after any command.
    }
}

/// Server-provided hooks: what the engine's commands need from outside it.
public struct EngineHooks {
    /// INFO [section...]: the text for the given sections.
    public var info: (([String]) -> String)? = nil
    /// LASTSAVE: the last successful save time (Unix seconds).
    public var lastSave: (() -> Int)? = nil
    /// FLUSHALL ran (persistence saves the empty dataset when save points are set).
    public var afterFlushAll: (() -> Void)? = nil
    /// Refusal text for write commands (MISCONF after a failed background save), or nil.
    public var writeRefusal: (() -> String?)? = nil
    /// DEBUG subcommands the server handles (RELOAD, DIGEST...): returns true if it replied.
    public var debug: ((CommandContext) -> Bool)? = nil
    /// DEBUG LOG: a line for the server's log.
    public var log: ((String) -> Void)? = nil
    /// A warning for the server's log (a corrupt RESTORE payload...).
    public var warning: ((String) -> Void)? = nil
    /// redis.log from a script: level 0 debug, 1 verbose, 2 notice, 3 warning.
    public var scriptLog: ((Int, String) -> Void)? = nil
    /// Called between slices of a script running past busy-reply-threshold: the server serves
    /// other clients once (they get -BUSY, SCRIPT KILL and SHUTDOWN NOSAVE run).
    public var whileScriptBusy: (() -> Void)? = nil
    /// CLIENT NO-EVICT changed a session's standing for maxmemory-clients.
    public var clientEvictionChanged: ((Session) -> Void)? = nil
    public init() {}
}
