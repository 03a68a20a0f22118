// Commands: one table of specs (name, arity, flags, key positions, handler) drives dispatch,
// COMMAND, and transactions. A handler gets a CommandContext: the engine, the session, the
// arguments, and reply helpers that write Redis's bytes for the session's protocol version.
import StorageFormat

public struct CommandFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let write = CommandFlags(rawValue: 1 << 0)
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    public static let denyOOM = CommandFlags(rawValue: 1 << 2)
    public static let admin = CommandFlags(rawValue: 1 << 3)
    public static let pubsub = CommandFlags(rawValue: 1 << 4)
    public static let noScript = CommandFlags(rawValue: 1 << 5)
    public static let blocking = CommandFlags(rawValue: 1 << 6)
    public static let loading = CommandFlags(rawValue: 1 << 7)
    public static let stale = CommandFlags(rawValue: 1 << 8)
    public static let fast = CommandFlags(rawValue: 1 << 9)
    public static let noAuth = CommandFlags(rawValue: 1 << 10)
    /// Not queued by MULTI: runs immediately (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
    public static let noMulti = CommandFlags(rawValue: 1 << 11)
    /// Allowed while a RESP2 client is in subscribe mode.
    public static let subscribeContext = CommandFlags(rawValue: 1 << 12)
    public static let random = CommandFlags(rawValue: 1 << 13)
    public static let skipMonitor = CommandFlags(rawValue: 1 << 14)
    /// Not a write, but may add to the replication stream (PUBLISH): held back by CLIENT PAUSE WRITE.
    public static let mayReplicate = CommandFlags(rawValue: 1 << 15)
    /// Redis's no-multi: refused inside MULTI, failing the transaction (SAVE, SHUTDOWN, SYNC, PSYNC).
    /// Set from the metadata table at registration; not Cairn's `noMulti`, which means "not queued".
    public static let refusedInMulti = CommandFlags(rawValue: 1 << 16)
    /// Redis's no-async-loading: refused with -LOADING while a replica loads asynchronously.
    public static let noAsyncLoading = CommandFlags(rawValue: 1 << 17)

    /// Redis's flag names, for COMMAND INFO.
    public var names: [String] {
        var out: [String] = []
        if contains(.write) { out.append("write") }
        if contains(.readonly) { out.append("readonly") }
        if contains(.denyOOM) { out.append("denyoom") }
        if contains(.admin) { out.append("admin") }
        if contains(.pubsub) { out.append("pubsub") }
        if contains(.noScript) { out.append("noscript") }
        if contains(.blocking) { out.append("blocking") }
        if contains(.loading) { out.append("loading") }
        if contains(.stale) { out.append("stale") }
        if contains(.skipMonitor) { out.append("skip_monitor") }
        if contains(.fast) { out.append("fast") }
        if contains(.noAuth) { out.append("no_auth") }
        if contains(.mayReplicate) { out.append("may_replicate") }
        return out
    }
}

public typealias CommandHandler = (CommandContext) -> Void

/// Per-command counters, kept with the spec so dispatch updates them without a table lookup.
public final class CommandStatBox {
    public var calls = 0
    public var usec = 0
    public var rejectedCalls = 0
    public var failedCalls = 0
    /// Call durations (latency-tracking), created on the first call.
    public var histogram: LatencyHistogram?
    public init() {}
}

public final class CommandSpec {
    /// Lower-case name ("get"; "config|get" for subcommands).
    public let name: String
    /// Redis's arity: N exactly, -N at least N (the name counts).
    public let arity: Int
    public let flags: CommandFlags
    /// Flags taken from the metadata table when the command is registered (refusedInMulti,
    /// noAsyncLoading), checked only off the hot path.
    public internal(set) var tableFlags: CommandFlags = []
    /// Key positions (1-based; 0 = no keys; lastKey -1 = to the end).
    public let firstKey: Int
    public let lastKey: Int
    public let step: Int
    public let handler: CommandHandler
    /// Calls, time and failures (INFO commandstats), shared by every copy of the spec.
    public let stat = CommandStatBox()
    /// The first argument is a subcommand (CONFIG GET...): stats count "name|sub".
    public let isContainer: Bool
    /// DEBUG, which enable-debug-command gates.
    public let isDebug: Bool
    /// Flags that depend on the arguments (EVAL and FCALL take them from the script's shebang or the
    /// function's flags); nil = `flags`.
    public var dynamicFlags: ((Engine, [[UInt8]]) -> CommandFlags)? = nil

    public init(_ name: String, arity: Int, flags: CommandFlags, firstKey: Int = 0, lastKey: Int = 0, step: Int = 0,
                handler: @escaping CommandHandler) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.firstKey = firstKey
        self.lastKey = lastKey
        self.step = step
        self.handler = handler
        self.isContainer = EngineCommands.containers.contains(name)
        self.isDebug = name == "debug"
    }

    /// The key arguments of `args` by this spec's positions.
    public func keyIndices(argc: Int) -> [Int] {
        guard firstKey > 0 else { return [] }
        let last = lastKey < 0 ? argc + lastKey : lastKey
        return Array(stride(from: firstKey, through: min(last, argc - 1), by: max(step, 1)))
    }
}

/// Redis's error texts that many commands share.
public enum RedisError {
    public static let wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
    public static let syntax = "ERR syntax error"
    public static let notInteger = "ERR value is not an integer or out of range"
    public static let notFloat = "ERR value is not a valid float"
    public static let noSuchKey = "ERR no such key"
    public static let outOfRange = "ERR index out of range"
    public static let overflow = "ERR increment or decrement would overflow"
    public static let invalidExpire = "ERR invalid expire time in '%s' command"
    public static func wrongArity(_ name: String) -> String { "ERR wrong number of arguments for '\(name)' command" }
}

/// What a handler sees: the engine, the calling session, the arguments, and reply writers.
public struct CommandContext {
    // A context lives only during its command, while the caller holds the engine, the session, the
    // selected database and the spec. They are held unretained, and the hot helpers below reach them
    // through `_withUnsafeGuaranteedRef`, so building a context and replying cost no reference
    // counting (an `unowned(unsafe)` reference is still retained around every method call on it).
    @usableFromInline let engineRef: Unmanaged<Engine>
    @usableFromInline let sessionRef: Unmanaged<Session>
    @usableFromInline let dbRef: Unmanaged<Database>
    public unowned(unsafe) let spec: CommandSpec
    public let args: [[UInt8]]

    public init(engine: Engine, session: Session, spec: CommandSpec, args: [[UInt8]]) {
        self.engineRef = Unmanaged.passUnretained(engine)
        self.sessionRef = Unmanaged.passUnretained(session)
        // The database is fixed when the command starts: a handler that changes the session's
        // database (SELECT, RESET) does not use `db` afterwards, and Database objects are never
        // replaced (SWAPDB and FLUSHALL change their contents).
        self.dbRef = Unmanaged.passUnretained(engine.databases[session.db])
        self.spec = spec
        self.args = args
    }

    public var engine: Engine { engineRef.takeUnretainedValue() }
    public var session: Session { sessionRef.takeUnretainedValue() }
    /// The session's selected database.
    public var db: Database { dbRef.takeUnretainedValue() }

    /// Runs `body` with the engine, the session or the database, without retaining it.
    @inline(__always) public func withEngine<R>(_ body: (Engine) throws -> R) rethrows -> R { try engineRef._withUnsafeGuaranteedRef(body) }
    @inline(__always) public func withSession<R>(_ body: (Session) throws -> R) rethrows -> R { try sessionRef._withUnsafeGuaranteedRef(body) }
    @inline(__always) public func withDB<R>(_ body: (Database) throws -> R) rethrows -> R { try dbRef._withUnsafeGuaranteedRef(body) }
    /// Appends to the session's reply buffer.
    @inline(__always) public func out(_ body: (inout [UInt8]) -> Void) { sessionRef._withUnsafeGuaranteedRef { body(&$0.out) } }

    /// The engine's clock for this command (ms), fixed during a command as Redis fixes it.
    @inline(__always) public var now: Int64 { withEngine { $0.now } }
    @inline(__always) public var argc: Int { args.count }
    /// The engine's settings (encoding limits and the like), read without retaining the engine.
    @inline(__always) public var config: EngineConfig { withEngine { $0.config } }
    @inline(__always) public var resp: Int { withSession { $0.resp } }

    /// Argument `i` as a key or member.
    /// A short key is built from the borrowed bytes (no retain of the argument); a longer one shares
    /// the argument's array (a retain, cheaper than copying it).
    @inline(__always) public func key(_ i: Int) -> ByteString {
        // Everything inlined (no opaque call), so the argument is not retained around the read.
        let short: ByteString? = args[i].withUnsafeBytes { b in
            b.count <= ByteString.inlineCapacity
                ? ByteString(smallFrom: b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: b.count) : nil
        }
        return short ?? ByteString(args[i])
    }
    /// Argument `i`, upper-cased as ASCII, for option matching ("NX", "WITHSCORES").
    public func option(_ i: Int) -> String {
        let a = args[i]
        // Option words are short ASCII: upper-case them byte by byte into a small (inline) String.
        if a.count <= 15 {
            var buf: (UInt64, UInt64) = (0, 0)
            let ascii = withUnsafeMutableBytes(of: &buf) { out -> Bool in
                for (j, b) in a.enumerated() {
                    if b >= 0x80 { return false }
                    out[j] = b &- ((b >= 0x61 && b <= 0x7A) ? 0x20 : 0)
                }
                return true
            }
            if ascii {
                return withUnsafeBytes(of: &buf) { String(decoding: UnsafeRawBufferPointer(rebasing: $0[0 ..< a.count]), as: UTF8.self) }
            }
        }
        return String(decoding: a, as: UTF8.self).uppercased()
    }

    /// Argument `i` as a strict integer, or replies `ERR value is not an integer or out of range` and returns nil.
    public func integerArgument(_ i: Int) -> Int64? {
        if let v = StrictInteger.parse(args[i]) { return v }
        error(RedisError.notInteger)
        return nil
    }

    /// Argument `i` as a float as Redis parses them (inf/-inf allowed, NaN refused), or replies and returns nil.
    public func doubleArgument(_ i: Int, error message: String = RedisError.notFloat) -> Double? {
        if let v = parseRedisDouble(args[i]) { return v }
        error(message)
        return nil
    }

    /// The timeout of a blocking command (seconds, a float) at argument `i`, as an absolute deadline in
    /// ms, 0 meaning forever; replies Redis's error and returns nil when it is not valid. Like Redis,
    /// the milliseconds are rounded up, so 0.0001 waits 1 ms rather than forever.
    public func blockingDeadline(_ i: Int) -> Int64? {
        guard let t = parseLongDouble(args[i]) else {
            error("ERR timeout is not a float or out of range")
            return nil
        }
        let ms = (t * 1000).rounded(.up)
        // Redis converts to long long; what does not fit comes out negative.
        guard ms < 9223372036854775808.0, ms >= 0 else {
            error("ERR timeout is negative")
            return nil
        }
        let v = Int64(ms)
        if v <= 0 { return 0 }
        let (deadline, overflow) = now.addingReportingOverflow(v)
        return overflow ? Int64.max : deadline
    }

    /// The optional `COUNT n` that ends LMPOP/BLMPOP/ZMPOP/BZMPOP, starting at argument `i`: 1 when
    /// absent; nil after replying Redis's error (a count below 1, a repeat, anything else after it).
    public func mpopCount(from i: Int) -> Int? {
        var count: Int64 = -1
        var j = i
        while j < argc {
            if count == -1 && option(j) == "COUNT" && j + 1 < argc {
                j += 1
                guard let c = StrictInteger.parse(args[j]), c >= 1 else {
                    error("ERR count should be greater than 0")
                    return nil
                }
                count = c
            } else {
                syntaxError()
                return nil
            }
            j += 1
        }
        return count == -1 ? 1 : Int(min(count, Int64(Int.max)))
    }

    /// Reads `key` for a command: lazily expires, counts keyspace hits/misses.
    public func lookupRead(_ key: ByteString) -> RedisValue? {
        let t = now
        return counted(withDB { $0.lookup(key, now: t) }, key)
    }

    /// Reads `key` like `lookupRead` (counting hits and misses) without stamping an access: Redis's
    /// no-touch lookups (TYPE, EXISTS, TTL, OBJECT).
    public func lookupReadNoTouch(_ key: ByteString) -> RedisValue? {
        let t = now
        return counted(withDB { $0.lookupNoTouch(key, now: t) }, key)
    }

    /// A read lookup's result, counted as a keyspace hit or miss (a miss also publishes "keymiss").
    @inline(__always)
    func counted(_ v: RedisValue?, _ key: ByteString) -> RedisValue? {
        if v == nil {
            withEngine { $0.stats.keyspaceMisses += 1 }
            notify(KeyspaceEventClass.keyMiss, "keymiss", key)
        } else {
            withEngine { $0.stats.keyspaceHits += 1 }
        }
        return v
    }

    /// `lookupRead` without the copy: runs `body` on the table's own value of `key` (see
    /// Database.withValue), counting the keyspace hit, or counts the miss and returns nil.
    @inline(__always)
    public func withReadValue<R>(_ key: ByteString, _ body: (inout RedisValue) -> R) -> R? {
        let t = now
        if let r = withDB({ $0.withValue(key, now: t, body) }) {
            withEngine { $0.stats.keyspaceHits += 1 }
            return r
        }
        withEngine { $0.stats.keyspaceMisses += 1 }
        notify(KeyspaceEventClass.keyMiss, "keymiss", key)
        return nil
    }

    /// `lookupWrite` without the copy: runs `body` on the table's own value of `key` (see
    /// Database.withValue), or returns nil when it is absent.
    @inline(__always)
    public func withWriteValue<R>(_ key: ByteString, _ body: (inout RedisValue) -> R) -> R? {
        let t = now
        return withDB { $0.withValue(key, now: t, body) }
    }

    /// Reads `key` for a write (no hit/miss counting).
    public func lookupWrite(_ key: ByteString) -> RedisValue? {
        let t = now
        return withDB { $0.lookup(key, now: t) }
    }

    /// What `key` holds, for a write that edits a string in place (SETBIT, BITFIELD): looked up as
    /// lookupWrite does, but no copy of the value outlives the call, so the edit that follows finds the
    /// table's bytes uniquely held and changes them without copying.
    public enum StringWriteTarget { case missing, string, other }
    public func stringWriteTarget(_ key: ByteString) -> StringWriteTarget {
        switch lookupWrite(key) {
        case nil: return .missing
        case .string?: return .string
        default: return .other
        }
    }

    /// Whether `key` exists, for a write that replaces it (SET's NX/XX): expires it first if due, as
    /// lookupWrite does, without copying the value out.
    public func existsForWrite(_ key: ByteString) -> Bool {
        let t = now
        return withDB { $0.existsForWrite(key, now: t) }
    }

    /// Records a write: bumps `dirty` by `changes` and touches `key` for WATCH and blocked clients.
    public func modified(_ key: ByteString, changes: Int = 1) {
        let id = withSession { $0.db }
        withEngine { e in
            e.dirty += changes
            e.signalModifiedKey(db: id, key: key)
        }
    }

    /// True when this client's pending output is past the normal class's hard output-buffer limit: a
    /// command producing a huge reply (HRANDFIELD key -999999999) stops, and the server closes the
    /// client, as Redis does, instead of building the whole reply.
    public var outputOverLimit: Bool {
        let limit = engine.outputHardLimit
        return limit > 0 && session.out.count - session.outputSent > limit
    }

    /// True when writes are being propagated (AOF on): handlers build a replacement form only then.
    @inline(__always) public var propagating: Bool { withEngine { $0.isPropagating } }

    /// Propagates `args` (in the session's database) instead of the command's own arguments; call
    /// several times for several commands. Used for the deterministic forms: EXPIRE → PEXPIREAT,
    /// SPOP → SREM, INCRBYFLOAT → SET … KEEPTTL, BLPOP → LPOP.
    public func propagate(_ args: [[UInt8]]) {
        guard engine.isPropagating else { return }
        if engine.propagateOverride == nil { engine.propagateOverride = [args] } else { engine.propagateOverride!.append(args) }
    }

    /// Propagates nothing for this command even though it changed `dirty`.
    public func propagateNothing() {
        guard engine.isPropagating else { return }
        if engine.propagateOverride == nil { engine.propagateOverride = [] }
    }

    /// Marks `key` as having new elements for clients blocked on it (after an LPUSH, ZADD, ...).
    public func signalReady(_ key: ByteString) {
        let id = withSession { $0.db }
        withEngine { $0.signalKeyAsReady(db: id, key: key) }
    }

    /// Blocks the session on `keys` until one is ready or `timeout` (absolute ms, 0 = forever) passes.
    /// When a ready key wakes the session, the engine runs the handler again with the same args.
    public func block(keys: [ByteString], deadline: Int64, onTimeout: BlockTimeoutReply) {
        engine.block(session: session, state: BlockState(db: session.db, keys: keys, deadline: deadline, spec: spec,
                                                         args: args, timeoutReply: onTimeout))
    }

    /// True when the handler runs inside MULTI/EXEC (blocking commands must not block there).
    public var inTransaction: Bool { engine.executingTransaction || engine.runningScript }

    // MARK: - Replies

    @inline(__always) public func ok() { out { RESPEncoder.ok(to: &$0) } }
    public func simple(_ s: StaticString) { out { RESPEncoder.simple(s, to: &$0) } }
    public func simple(_ s: String) { out { RESPEncoder.simple(s, to: &$0) } }
    public func error(_ message: String) {
        withEngine { $0.recordError(message) }
        out { RESPEncoder.error(message, to: &$0) }
    }
    public func wrongType() { error(RedisError.wrongType) }
    public func syntaxError() { error(RedisError.syntax) }
    @inline(__always) public func integer(_ v: Int) { out { RESPEncoder.integer(v, to: &$0) } }
    @inline(__always) public func bulk(_ b: [UInt8]) { out { RESPEncoder.bulk(b, to: &$0) } }
    @inline(__always) public func bulk(_ b: ByteString) { b.withUnsafeBytes { bytes in out { RESPEncoder.bulk(bytes, to: &$0) } } }
    public func bulk(_ s: StringValue) {
        switch s {
        case .int(let v): bulk(StrictInteger.format(v))
        case .bytes(let b), .raw(let b): bulk(b)
        }
    }
    public func bulk(_ s: String) { bulk(Array(s.utf8)) }
    /// Null bulk (`$-1` in RESP2, `_` in RESP3).
    @inline(__always) public func null() { let r = resp; out { RESPEncoder.null(resp: r, to: &$0) } }
    /// Null array (`*-1` in RESP2, `_` in RESP3).
    public func nullArray() { RESPEncoder.nullArray(resp: session.resp, to: &session.out) }
    @inline(__always) public func arrayHeader(_ n: Int) { out { RESPEncoder.arrayHeader(n, to: &$0) } }
    public func mapHeader(_ n: Int) { RESPEncoder.mapHeader(n, resp: session.resp, to: &session.out) }
    public func setHeader(_ n: Int) { RESPEncoder.setHeader(n, resp: session.resp, to: &session.out) }
    public func boolean(_ v: Bool) { RESPEncoder.boolean(v, resp: session.resp, to: &session.out) }
    /// A double as Redis 7.0 replies it: `%.17g` text, a bulk string in RESP2, a `,` double in RESP3.
    public func double(_ d: Double) {
        RESPEncoder.double(text: formatReplyDouble(d, resp: session.resp), resp: session.resp, to: &session.out)
    }
    public func verbatim(_ text: [UInt8]) { RESPEncoder.verbatim(text, resp: session.resp, to: &session.out) }
    /// An array of bulk strings.
    public func bulkArray(_ items: [ByteString]) {
        arrayHeader(items.count)
        for i in items { bulk(i) }
    }
    /// Raw RESP bytes, already encoded.
    public func raw(_ bytes: [UInt8]) { session.out.append(contentsOf: bytes) }
}
