// ServerConfig: the current value of every parameter in ConfigTable, typed accessors for the server,
// CONFIG SET's all-or-nothing update with apply hooks, and the Engine's view (EngineConfig).
#if canImport(Glibc)
import Glibc
#endif
import Engine

public final class ServerConfig {
    /// Values by table index (ConfigTable.parameters).
    public private(set) var values: [ConfigValue]
    /// The absolute path of the file the server started with (CONFIG REWRITE target), if any.
    public internal(set) var configFile: String?
    /// Apply hooks by parameter name (canonical, lower case): called after CONFIG SET changed the value.
    /// Return an error text to refuse (every parameter of that CONFIG SET is then restored, and the hooks
    /// of the restored parameters run again).
    public var onChange: [String: (ServerConfig) -> String?] = [:]
    /// CONFIG RESETSTAT: the server resets its own counters here (the engine's are reset by the command).
    public var onResetStat: (() -> Void)?
    /// Directives that are not parameters, in file order: rename-command pairs, user lines (ACL),
    /// loadmodule lines and module parameters ("name.param value"). The server decides what to do.
    public internal(set) var renamedCommands: [(from: [UInt8], to: [UInt8])] = []
    public internal(set) var userDirectives: [[[UInt8]]] = []
    /// CONFIG REWRITE's "user" lines: the server's current ACL users (ACL LIST's text).
    public var aclUserLines: (() -> [[UInt8]])? = nil
    public internal(set) var loadModules: [[[UInt8]]] = []
    public internal(set) var moduleConfigs: [[[UInt8]]] = []

    public init() {
        values = ConfigTable.parameters.map(\.defaultValue)
    }

    // MARK: - Generic access

    /// The value of `name` (or an alias), nil for an unknown name.
    public func value(_ name: String) -> ConfigValue? {
        ConfigTable.lookup(name).map { values[$0] }
    }

    /// The value as CONFIG GET shows it.
    public func text(_ name: String) -> [UInt8]? {
        guard let i = ConfigTable.lookup(name) else { return nil }
        return ConfigTable.parameters[i].format(values[i])
    }

    func value(at i: Int) -> ConfigValue { values[i] }

    func setValue(_ v: ConfigValue, at i: Int) {
        values[i] = v
        guard case .number(let n) = v else { return }
        switch ConfigTable.parameters[i].name {
        case "hz": values[i] = .number(min(max(n, 1), 500)) // Redis clamps hz to 1...500
        case "repl-backlog-size": values[i] = .number(max(n, 16 * 1024)) // and the backlog to at least 16kb
        default: break
        }
    }

    public func bool(_ name: String) -> Bool {
        if case .bool(let b)? = value(name) { return b }
        return false
    }

    public func int(_ name: String) -> Int {
        if case .number(let n)? = value(name) { return Int(truncatingIfNeeded: n) }
        return 0
    }

    /// A string parameter's bytes ("" for NULL).
    public func bytes(_ name: String) -> [UInt8] {
        if case .string(let s)? = value(name) { return s ?? [] }
        return text(name) ?? []
    }

    public func string(_ name: String) -> String { String(decoding: bytes(name), as: UTF8.self) }

    /// An enum parameter's current name ("noeviction", "everysec").
    public func enumName(_ name: String) -> String {
        guard let i = ConfigTable.lookup(name), case .enumeration(let v) = values[i] else { return "" }
        return ConfigTable.parameters[i].enumName(v)
    }

    // MARK: - Typed accessors

    public var port: Int { int("port") }
    public var bind: [String] {
        if case .words(let w)? = value("bind") { return w.map { String(decoding: $0, as: UTF8.self) } }
        return []
    }
    public var protectedMode: Bool { bool("protected-mode") }
    public var tcpBacklog: Int { int("tcp-backlog") }
    public var tcpKeepalive: Int { int("tcp-keepalive") }
    public var unixSocket: String? { string("unixsocket").isEmpty ? nil : string("unixsocket") }
    public var unixSocketPerm: Int { int("unixsocketperm") }
    /// The working directory (the `dir` parameter changes it).
    public var dir: String { currentDirectory() }
    public var dbfilename: String { string("dbfilename") }
    public var requirepass: [UInt8]? {
        if case .string(let s)? = value("requirepass") { return s }
        return nil
    }
    public var databases: Int { int("databases") }
    public var saveParams: [(seconds: Int, changes: Int)] {
        if case .save(let r)? = value("save") { return r.map { ($0.seconds, $0.changes) } }
        return []
    }
    public var loglevel: String { enumName("loglevel") }
    public var logfile: String { string("logfile") }
    public var daemonize: Bool { bool("daemonize") }
    public var pidfile: String? { string("pidfile").isEmpty ? nil : string("pidfile") }
    public var hz: Int { int("hz") }
    public var dynamicHz: Bool { bool("dynamic-hz") }
    public var maxclients: Int { int("maxclients") }
    /// Idle client timeout in seconds (0 = never).
    public var timeout: Int { int("timeout") }
    public var protoMaxBulkLen: Int { int("proto-max-bulk-len") }
    public var clientQueryBufferLimit: Int { int("client-query-buffer-limit") }
    /// Limits for the normal, replica and pubsub classes.
    public var clientOutputBufferLimit: (normal: ClientBufferLimit, replica: ClientBufferLimit, pubsub: ClientBufferLimit) {
        if case .bufferLimits(let l)? = value("client-output-buffer-limit") { return (l[0], l[1], l[2]) }
        let z = ClientBufferLimit(hard: 0, soft: 0, softSeconds: 0)
        return (z, z, z)
    }
    public var maxmemory: UInt64 {
        if case .number(let n)? = value("maxmemory") { return UInt64(bitPattern: n) }
        return 0
    }
    public var maxmemoryPolicy: String { enumName("maxmemory-policy") }
    public var maxmemorySamples: Int { int("maxmemory-samples") }
    public var appendonly: Bool { bool("appendonly") }
    public var appendfsync: String { enumName("appendfsync") }
    public var appendfilename: String { string("appendfilename") }
    public var appenddirname: String { string("appenddirname") }
    public var noAppendfsyncOnRewrite: Bool { bool("no-appendfsync-on-rewrite") }
    public var autoAofRewritePercentage: Int { int("auto-aof-rewrite-percentage") }
    public var autoAofRewriteMinSize: Int { int("auto-aof-rewrite-min-size") }
    public var aofLoadTruncated: Bool { bool("aof-load-truncated") }
    public var aofUseRdbPreamble: Bool { bool("aof-use-rdb-preamble") }
    public var aofTimestampEnabled: Bool { bool("aof-timestamp-enabled") }
    public var rdbcompression: Bool { bool("rdbcompression") }
    public var rdbchecksum: Bool { bool("rdbchecksum") }
    public var rdbDelSyncFiles: Bool { bool("rdb-del-sync-files") }
    public var stopWritesOnBgsaveError: Bool { bool("stop-writes-on-bgsave-error") }
    public var activeExpireEffort: Int { int("active-expire-effort") }
    public var latencyMonitorThreshold: Int { int("latency-monitor-threshold") }
    public var slowlogLogSlowerThan: Int { int("slowlog-log-slower-than") }
    public var slowlogMaxLen: Int { int("slowlog-max-len") }
    public var busyReplyThreshold: Int { int("busy-reply-threshold") }
    /// notify-keyspace-events as Redis's flag string ("AKE").
    public var notifyKeyspaceEvents: String { string("notify-keyspace-events") }
    public var sanitizeDumpPayload: String { enumName("sanitize-dump-payload") }

    /// The thresholds and limits the Engine reads.
    public var engineConfig: EngineConfig {
        var e = EngineConfig()
        e.hashMaxListpackEntries = int("hash-max-listpack-entries")
        e.hashMaxListpackValue = int("hash-max-listpack-value")
        e.zsetMaxListpackEntries = int("zset-max-listpack-entries")
        e.zsetMaxListpackValue = int("zset-max-listpack-value")
        e.setMaxIntsetEntries = int("set-max-intset-entries")
        e.listMaxListpackSize = int("list-max-listpack-size")
        e.listCompressDepth = int("list-compress-depth")
        e.protoMaxBulkLen = protoMaxBulkLen
        e.hllSparseMaxBytes = int("hll-sparse-max-bytes")
        e.slowlogLogSlowerThan = slowlogLogSlowerThan
        e.slowlogMaxLen = slowlogMaxLen
        e.streamNodeMaxBytes = int("stream-node-max-bytes")
        e.streamNodeMaxEntries = int("stream-node-max-entries")
        e.rdbCompression = rdbcompression
        return e
    }

    /// Copies what the Engine holds (thresholds, requirepass) into `engine`.
    public func apply(to engine: Engine) {
        var e = engineConfig
        // What DEBUG sets is not configuration: a CONFIG SET keeps it.
        e.activeExpireEnabled = engine.config.activeExpireEnabled
        e.skipChecksumValidation = engine.config.skipChecksumValidation
        e.quicklistPackedThreshold = engine.config.quicklistPackedThreshold
        engine.config = e
        engine.requirePass = requirepass
        let policy = maxmemoryPolicy
        engine.keyAccess.mode = policy.hasSuffix("-lfu") ? .lfu : .lru
        engine.keyAccess.lruPolicy = policy.hasSuffix("-lru")
        engine.keyAccess.lfuLogFactor = int("lfu-log-factor")
        engine.keyAccess.lfuDecayTime = int("lfu-decay-time")
        if case .events(let f)? = value("notify-keyspace-events") { engine.notifyFlags = f }
        engine.latency.threshold = latencyMonitorThreshold
        engine.latencyTracking = bool("latency-tracking")
        engine.busyReplyThreshold = busyReplyThreshold
        engine.tracking.maxKeys = int("tracking-table-max-keys")
        let ev = engine.eviction
        ev.policy = MaxmemoryPolicy(rawValue: policy) ?? .noeviction
        ev.samples = maxmemorySamples
        ev.tenacity = int("maxmemory-eviction-tenacity")
        let limit = Int(clamping: maxmemory)
        if limit != ev.maxmemory {
            ev.maxmemory = limit
            if limit > 0 {
                // As Redis: the eviction runs from the event loop after this command, not inside it
                // (a CONFIG SET queued in MULTI does not evict between the transaction's commands).
                ev.remeasure()
                engine.scheduleEvictions()
            }
        }
    }

    // MARK: - CONFIG SET

    /// CONFIG SET name value [name value ...]: all or nothing. Returns nil on success, else the error
    /// reply text (with the "ERR " prefix). `local` tells whether the client is local (for
    /// enable-protected-configs local); `loading` whether the dataset is still loading.
    public func set(_ pairs: [(name: [UInt8], value: [UInt8])], local: Bool, loading: Bool = false) -> String? {
        var indices: [Int] = []
        var unknown: String? = nil
        var deniedWhileLoading = false
        var refusal: (arg: String, message: String)? = nil
        for (rawName, _) in pairs {
            let given = String(decoding: rawName, as: UTF8.self)
            guard let i = ConfigTable.lookup(given) else {
                if unknown == nil && refusal == nil { unknown = given }
                continue
            }
            if unknown != nil || refusal != nil { continue }
            let p = ConfigTable.parameters[i]
            if p.flags.contains(.immutable) {
                refusal = (given, "can't set immutable config")
            } else if p.flags.contains(.protected) && !protectedAllowed(local: local) {
                refusal = (given, "can't set protected config")
            } else if loading && p.flags.contains(.denyLoading) {
                deniedWhileLoading = true
                continue
            } else if indices.contains(i) {
                refusal = (given, "duplicate parameter")
            }
            indices.append(i)
        }
        // As Redis, the loading refusal comes first: clients may treat it apart from a plain error.
        if deniedWhileLoading { return "LOADING Redis is loading the dataset in memory" }
        if let unknown { return "ERR Unknown option or number of arguments for CONFIG SET - '\(unknown)'" }
        if let refusal { return "ERR CONFIG SET failed (possibly related to argument '\(refusal.arg)') - \(refusal.message)" }

        let old = values
        let oldDir = currentDirectory()
        var changed: [Int] = []
        for (k, i) in indices.enumerated() {
            let p = ConfigTable.parameters[i]
            let raw = pairs[k].value
            let args: [[UInt8]]
            if p.flags.contains(.multiArg) {
                args = raw.isEmpty ? [] : raw.split(separator: 32, omittingEmptySubsequences: false).map(Array.init)
            } else {
                args = [raw]
            }
            switch p.parse(args, current: values[i], appendSave: false) {
            case .failure(let f):
                restore(old, dir: oldDir)
                return "ERR CONFIG SET failed (possibly related to argument '\(nameAsKnown(pairs[k].name, i))') - \(f.message)"
            case .success(let v):
                let before = values[i]
                setValue(v, at: i)
                if values[i] != before || v == .directory { changed.append(i) }
            }
        }
        var applied: [Int] = []
        for i in changed {
            let name = ConfigTable.parameters[i].name
            guard let hook = onChange[name] else { continue }
            applied.append(i)
            if let e = hook(self) {
                restore(old, dir: oldDir)
                for j in applied { _ = onChange[ConfigTable.parameters[j].name]?(self) }
                let k = indices.firstIndex(of: i)!
                return "ERR CONFIG SET failed (possibly related to argument '\(nameAsKnown(pairs[k].name, i))') - \(e)"
            }
        }
        return nil
    }

    /// Redis names a failing parameter by the table entry the name matched: the alias when one was used.
    private func nameAsKnown(_ given: [UInt8], _ i: Int) -> String {
        let l = String(decoding: given, as: UTF8.self).lowercased()
        return ConfigTable.parameters[i].alias == l ? l : ConfigTable.parameters[i].name
    }

    private func restore(_ old: [ConfigValue], dir: String) {
        values = old
        if currentDirectory() != dir { _ = chdir(dir) }
    }

    private func protectedAllowed(local: Bool) -> Bool {
        switch enumName("enable-protected-configs") {
        case "yes": return true
        case "local": return local
        default: return false
        }
    }

    /// Sets a parameter from a config file line's arguments (after the name).
    func load(_ index: Int, _ args: [[UInt8]], appendSave: Bool) -> ConfigFailure? {
        switch ConfigTable.parameters[index].parse(args, current: values[index], appendSave: appendSave) {
        case .failure(let f): return f
        case .success(let v):
            setValue(v, at: index)
            return nil
        }
    }
}
