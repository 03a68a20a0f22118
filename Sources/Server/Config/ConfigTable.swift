// ConfigTable: every configuration parameter Cairn knows, as one table (name, alias, type, default,
// flags), Redis 7.0's set. CONFIG GET/SET, the redis.conf parser and CONFIG REWRITE all read it.
// Each type knows how to parse its arguments (with Redis's error texts), how to print its value for
// CONFIG GET, and how to write its line(s) for CONFIG REWRITE.
#if canImport(Glibc)
import Glibc
#endif

/// Per-parameter flags, Redis's words.
public struct ConfigFlags: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Only settable at start-up ("can't set immutable config").
    public static let immutable = ConfigFlags(rawValue: 1 << 0)
    /// Settable at runtime only when enable-protected-configs allows it.
    public static let protected = ConfigFlags(rawValue: 1 << 1)
    /// The value is a secret (passwords).
    public static let sensitive = ConfigFlags(rawValue: 1 << 2)
    /// Takes several arguments in a file; one space-separated argument in CONFIG SET.
    public static let multiArg = ConfigFlags(rawValue: 1 << 3)
    /// A testing/debugging parameter: left out of `CONFIG GET` glob patterns (it answers by exact name).
    public static let hidden = ConfigFlags(rawValue: 1 << 4)
    /// Not settable while the dataset is loading (CONFIG SET answers LOADING).
    public static let denyLoading = ConfigFlags(rawValue: 1 << 5)
}

/// How a number is written and read.
public enum NumberFormat: Sendable {
    case plain
    /// Memory units: 1k 1kb 1m 1mb 1g 1gb (1k = 1000, 1kb = 1024), case-insensitive.
    case memory
    /// A memory value, or "N%" stored as -N.
    case memoryOrPercent
    case octal
}

/// One `save` rule: snapshot after `seconds` if at least `changes` writes happened.
public struct SaveParam: Equatable, Sendable {
    public var seconds: Int
    public var changes: Int
    public init(seconds: Int, changes: Int) { self.seconds = seconds; self.changes = changes }
}

/// replicaof's master address.
public struct ReplicaOf: Equatable, Sendable {
    public var host: [UInt8]
    public var port: Int
    public init(host: [UInt8], port: Int) { self.host = host; self.port = port }
}

/// Output buffer limits of one client class.
public struct ClientBufferLimit: Equatable, Sendable {
    public var hard: Int64
    public var soft: Int64
    public var softSeconds: Int64
    public init(hard: Int64, soft: Int64, softSeconds: Int64) {
        self.hard = hard; self.soft = soft; self.softSeconds = softSeconds
    }
}

/// The client classes of client-output-buffer-limit, in Redis's order.
public enum ClientClass: Int, CaseIterable, Sendable {
    case normal = 0, replica = 1, pubsub = 2
    /// Name in CONFIG GET ("slave") and in CONFIG REWRITE ("replica").
    var getName: String { ["normal", "slave", "pubsub"][rawValue] }
    var rewriteName: String { ["normal", "replica", "pubsub"][rawValue] }
}

/// A parameter's current value.
public enum ConfigValue: Equatable, Sendable {
    case bool(Bool)
    /// Integers; unsigned 64-bit parameters keep the bit pattern.
    case number(Int64)
    /// An enum's value (bit flags for multi-flag enums).
    case enumeration(Int)
    /// nil is Redis's NULL string (shown as "").
    case string([UInt8]?)
    case save([SaveParam])
    case words([[UInt8]])
    case bufferLimits([ClientBufferLimit])
    case ints([Int])
    case doubles([Double])
    /// replicaof: host and port, or nil for "no one".
    case replica(ReplicaOf?)
    /// notify-keyspace-events flags.
    case events(Int)
    /// dir: the value is the process's working directory.
    case directory
}

/// Parameter types with special parsing.
public enum SpecialConfig: Sendable {
    case save, bind, clientOutputBufferLimit, oomScoreAdjValues, latencyPercentiles, notifyKeyspaceEvents, replicaOf, dir
}

public enum ConfigType: Sendable {
    case bool
    case number(min: Int64, max: Int64, unsigned: Bool, format: NumberFormat)
    case enumeration([(name: String, value: Int)], bitflags: Bool)
    /// A string; `emptyIsNull` stores "" as NULL; `validate` returns an error text.
    case string(emptyIsNull: Bool, validate: (@Sendable ([UInt8]) -> String?)?)
    case special(SpecialConfig)
}

public struct ConfigParameter: Sendable {
    public let name: String
    public let alias: String?
    public let type: ConfigType
    public let flags: ConfigFlags
    public let defaultValue: ConfigValue
}

/// The table, and lookups by name or alias (case-insensitive).
public enum ConfigTable {
    public static let parameters: [ConfigParameter] = buildTable()

    /// Lower-case name or alias → index in `parameters`.
    public static let index: [String: Int] = {
        var d: [String: Int] = [:]
        for (i, p) in parameters.enumerated() {
            d[p.name] = i
            if let a = p.alias { d[a] = i }
        }
        return d
    }()

    /// Every name including aliases, in table order (each alias right after its parameter).
    public static let allNames: [(name: String, index: Int)] = {
        var out: [(String, Int)] = []
        for (i, p) in parameters.enumerated() {
            out.append((p.name, i))
            if let a = p.alias { out.append((a, i)) }
        }
        return out
    }()

    public static func lookup(_ name: String) -> Int? { index[name.lowercased()] }

    /// Directives that are not parameters but CONFIG REWRITE keeps as they are.
    static let keptDirectives: Set<String> = ["include", "rename-command", "user", "loadmodule", "sentinel"]
    /// Deprecated directives still accepted (and ignored) in a file: name → allowed argc range.
    static let deprecated: [String: ClosedRange<Int>] = [
        "list-max-ziplist-entries": 2 ... 2, "list-max-ziplist-value": 2 ... 2, "lua-replicate-commands": 2 ... 2,
    ]
}

// MARK: - The table

private let intMax = Int64(Int32.max), intMin = Int64(Int32.min)
private let uintMax = Int64(UInt32.max)
private let longMax = Int64.max

private func buildTable() -> [ConfigParameter] {
    var t: [ConfigParameter] = []
    func bool(_ n: String, _ a: String? = nil, _ d: Bool, _ f: ConfigFlags = []) {
        t.append(ConfigParameter(name: n, alias: a, type: .bool, flags: f, defaultValue: .bool(d)))
    }
    func num(_ n: String, _ a: String? = nil, _ lo: Int64, _ hi: Int64, _ d: Int64, _ f: ConfigFlags = [],
             _ fmt: NumberFormat = .plain, unsigned: Bool = false) {
        t.append(ConfigParameter(name: n, alias: a, type: .number(min: lo, max: hi, unsigned: unsigned, format: fmt),
                                 flags: f, defaultValue: .number(d)))
    }
    func mem(_ n: String, _ a: String? = nil, _ lo: Int64, _ hi: Int64, _ d: Int64, _ f: ConfigFlags = []) {
        num(n, a, lo, hi, d, f, .memory)
    }
    func enm(_ n: String, _ cases: [String], _ d: String, _ f: ConfigFlags = [], values: [Int]? = nil) {
        let vals = values ?? Array(0 ..< cases.count)
        let list = zip(cases, vals).map { (name: $0, value: $1) }
        t.append(ConfigParameter(name: n, alias: nil, type: .enumeration(list, bitflags: false), flags: f,
                                 defaultValue: .enumeration(list.first { $0.name == d }!.value)))
    }
    func str(_ n: String, _ a: String? = nil, _ d: String?, _ f: ConfigFlags = [], null: Bool = true,
             _ v: (@Sendable ([UInt8]) -> String?)? = nil) {
        t.append(ConfigParameter(name: n, alias: a, type: .string(emptyIsNull: null, validate: v), flags: f,
                                 defaultValue: .string(d.map { Array($0.utf8) })))
    }
    func special(_ n: String, _ a: String? = nil, _ s: SpecialConfig, _ d: ConfigValue, _ f: ConfigFlags = []) {
        t.append(ConfigParameter(name: n, alias: a, type: .special(s), flags: f, defaultValue: d))
    }

    // Networking and process.
    num("port", nil, 0, 65535, 6379)
    special("bind", nil, .bind, .words([Array("*".utf8), Array("-::*".utf8)]), [.multiArg])
    str("bind-source-addr", nil, nil)
    bool("protected-mode", nil, true)
    num("tcp-backlog", nil, 0, intMax, 511, .immutable)
    num("tcp-keepalive", nil, 0, intMax, 300)
    num("timeout", nil, 0, intMax, 0)
    num("socket-mark-id", nil, 0, uintMax, 0, .immutable)
    str("unixsocket", nil, nil, .immutable)
    num("unixsocketperm", nil, 0, 0o777, 0, .immutable, .octal)
    num("maxclients", nil, 1, uintMax, 10000)
    bool("daemonize", nil, false, .immutable)
    enm("supervised", ["upstart", "systemd", "auto", "no"], "no", .immutable)
    str("pidfile", nil, nil, .immutable)
    bool("set-proc-title", nil, true, .immutable)
    str("proc-title-template", nil, "{title} {listen-addr} {server-mode}", null: false, validProcTitleTemplate)
    num("databases", nil, 1, intMax, 16, .immutable)
    num("io-threads", nil, 1, 128, 1, .immutable)
    bool("io-threads-do-reads", nil, false, .immutable)
    num("hz", nil, 0, intMax, 10)
    bool("dynamic-hz", nil, true)
    bool("always-show-logo", nil, false, .immutable)
    str("ignore-warnings", nil, "", null: false)
    let shutdownFlags = [(name: "default", value: 0), (name: "save", value: 1), (name: "nosave", value: 2),
                         (name: "now", value: 4), (name: "force", value: 8)]
    for n in ["shutdown-on-sigint", "shutdown-on-sigterm"] {
        t.append(ConfigParameter(name: n, alias: nil, type: .enumeration(shutdownFlags, bitflags: true),
                                 flags: [.multiArg], defaultValue: .enumeration(0)))
    }
    num("shutdown-timeout", nil, 0, intMax, 10)
    enm("enable-protected-configs", ["no", "yes", "local"], "no", .immutable)
    enm("enable-debug-command", ["no", "yes", "local"], "no", .immutable)
    enm("enable-module-command", ["no", "yes", "local"], "no", .immutable)
    bool("crash-log-enabled", nil, true)
    // Testing and debugging parameters Redis's own test suite sets (hidden from CONFIG GET patterns).
    bool("use-exit-on-panic", nil, false, .hidden)
    num("rdb-key-save-delay", nil, intMin, intMax, 0, .hidden)
    num("key-load-delay", nil, intMin, intMax, 0, .hidden)
    num("loading-process-events-interval-bytes", nil, 1024, intMax, 2 << 20, .hidden)
    num("watchdog-period", nil, 0, intMax, 0, .hidden)
    bool("crash-memcheck-enabled", nil, true)
    bool("disable-thp", nil, true, .immutable)
    bool("jemalloc-bg-thread", nil, true)
    enm("oom-score-adj", ["no", "yes", "relative", "absolute"], "no", values: [0, 1, 1, 2])
    special("oom-score-adj-values", nil, .oomScoreAdjValues, .ints([0, 200, 800]), [.multiArg])
    for n in ["server_cpulist", "bio_cpulist", "aof_rewrite_cpulist", "bgsave_cpulist"] { str(n, nil, nil, .immutable) }

    // Security.
    str("requirepass", nil, nil, .sensitive)
    str("aclfile", nil, "", .immutable, null: false)
    num("acllog-max-len", nil, 0, longMax, 128)
    enm("acl-pubsub-default", ["allchannels", "resetchannels"], "resetchannels")

    // Logging.
    enm("loglevel", ["debug", "verbose", "notice", "warning"], "notice")
    str("logfile", nil, "", .immutable, null: false)
    bool("syslog-enabled", nil, false, .immutable)
    str("syslog-ident", nil, "redis", .immutable, null: false)
    enm("syslog-facility", ["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"],
        "local0", .immutable)

    // Snapshotting.
    special("save", nil, .save, .save([SaveParam(seconds: 3600, changes: 1), SaveParam(seconds: 300, changes: 100),
                                      SaveParam(seconds: 60, changes: 10000)]), [.multiArg])
    bool("stop-writes-on-bgsave-error", nil, true)
    bool("rdbcompression", nil, true)
    bool("rdbchecksum", nil, true, .immutable)
    str("dbfilename", nil, "dump.rdb", .protected, null: false) { pathlessName($0, "dbfilename", "filename") }
    bool("rdb-del-sync-files", nil, false)
    bool("rdb-save-incremental-fsync", nil, true)
    special("dir", nil, .dir, .directory, [.protected, .denyLoading])
    enm("sanitize-dump-payload", ["no", "yes", "clients"], "no")

    // Append only file.
    bool("appendonly", nil, false, .denyLoading)
    str("appendfilename", nil, "appendonly.aof", .immutable, null: false) { pathlessName($0, "appendfilename", "filename") }
    str("appenddirname", nil, "appendonlydir", .immutable, null: false) { pathlessName($0, "appenddirname", "dirname") }
    enm("appendfsync", ["everysec", "always", "no"], "everysec")
    bool("no-appendfsync-on-rewrite", nil, false)
    num("auto-aof-rewrite-percentage", nil, 0, intMax, 100)
    mem("auto-aof-rewrite-min-size", nil, 0, longMax, 64 << 20)
    bool("aof-load-truncated", nil, true)
    bool("aof-use-rdb-preamble", nil, true)
    bool("aof-timestamp-enabled", nil, false)
    bool("aof-rewrite-incremental-fsync", nil, true)
    bool("aof-disable-auto-gc", nil, false)

    // Memory and eviction.
    num("maxmemory", nil, 0, -1, 0, [], .memory, unsigned: true)
    enm("maxmemory-policy", ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
                             "allkeys-lfu", "allkeys-random", "noeviction"], "noeviction")
    num("maxmemory-samples", nil, 1, intMax, 5)
    num("maxmemory-eviction-tenacity", nil, 0, 100, 10)
    num("maxmemory-clients", nil, -100, longMax, 0, [], .memoryOrPercent)
    num("lfu-log-factor", nil, 0, intMax, 10)
    num("lfu-decay-time", nil, 0, intMax, 1)
    bool("lazyfree-lazy-eviction", nil, false)
    bool("lazyfree-lazy-expire", nil, false)
    bool("lazyfree-lazy-server-del", nil, false)
    bool("lazyfree-lazy-user-del", nil, false)
    bool("lazyfree-lazy-user-flush", nil, false)
    bool("activerehashing", nil, true)
    num("active-expire-effort", nil, 1, 10, 1)
    bool("activedefrag", nil, false)
    mem("active-defrag-ignore-bytes", nil, 1, longMax, 100 << 20)
    num("active-defrag-threshold-lower", nil, 0, 1000, 10)
    num("active-defrag-threshold-upper", nil, 0, 1000, 100)
    num("active-defrag-cycle-min", nil, 1, 99, 1)
    num("active-defrag-cycle-max", nil, 1, 99, 25)
    num("active-defrag-max-scan-fields", nil, 1, longMax, 1000)

    // Encodings and limits.
    num("hash-max-listpack-entries", "hash-max-ziplist-entries", 0, longMax, 512)
    mem("hash-max-listpack-value", "hash-max-ziplist-value", 0, longMax, 64)
    num("zset-max-listpack-entries", "zset-max-ziplist-entries", 0, longMax, 128)
    mem("zset-max-listpack-value", "zset-max-ziplist-value", 0, longMax, 64)
    num("set-max-intset-entries", nil, 0, longMax, 512)
    num("list-max-listpack-size", "list-max-ziplist-size", intMin, intMax, -2)
    num("list-compress-depth", nil, 0, intMax, 0)
    mem("hll-sparse-max-bytes", nil, 0, longMax, 3000)
    mem("stream-node-max-bytes", nil, 0, longMax, 4096)
    num("stream-node-max-entries", nil, 0, longMax, 100)
    mem("proto-max-bulk-len", nil, 1 << 20, longMax, 512 << 20)
    mem("client-query-buffer-limit", nil, 1 << 20, longMax, 1 << 30)
    special("client-output-buffer-limit", nil, .clientOutputBufferLimit, .bufferLimits([
        ClientBufferLimit(hard: 0, soft: 0, softSeconds: 0),
        ClientBufferLimit(hard: 256 << 20, soft: 64 << 20, softSeconds: 60),
        ClientBufferLimit(hard: 32 << 20, soft: 8 << 20, softSeconds: 60),
    ]), [.multiArg])
    num("tracking-table-max-keys", nil, 0, longMax, 1_000_000)

    // Latency, slow log, scripting, notifications.
    num("latency-monitor-threshold", nil, 0, longMax, 0)
    bool("latency-tracking", nil, true)
    special("latency-tracking-info-percentiles", nil, .latencyPercentiles, .doubles([50, 99, 99.9]), [.multiArg])
    num("slowlog-log-slower-than", nil, -1, longMax, 10000)
    num("slowlog-max-len", nil, 0, longMax, 128)
    num("busy-reply-threshold", "lua-time-limit", 0, longMax, 5000)
    special("notify-keyspace-events", nil, .notifyKeyspaceEvents, .events(0))
    enm("propagation-error-behavior", ["ignore", "panic", "panic-on-replicas"], "ignore")

    // Replication.
    special("replicaof", "slaveof", .replicaOf, .replica(nil), [.immutable, .multiArg])
    str("masterauth", nil, nil, .sensitive)
    str("masteruser", nil, nil)
    bool("replica-serve-stale-data", "slave-serve-stale-data", true)
    bool("replica-read-only", "slave-read-only", true)
    bool("replica-ignore-maxmemory", "slave-ignore-maxmemory", true)
    bool("replica-lazy-flush", "slave-lazy-flush", false)
    bool("replica-announced", nil, true)
    bool("replica-ignore-disk-write-errors", nil, false)
    num("replica-priority", "slave-priority", 0, intMax, 100)
    str("replica-announce-ip", "slave-announce-ip", nil)
    num("replica-announce-port", "slave-announce-port", 0, 65535, 0)
    bool("repl-diskless-sync", nil, true)
    num("repl-diskless-sync-delay", nil, 0, intMax, 5)
    num("repl-diskless-sync-max-replicas", nil, 0, intMax, 0)
    enm("repl-diskless-load", ["disabled", "on-empty-db", "swapdb"], "disabled", .denyLoading)
    bool("repl-disable-tcp-nodelay", nil, false)
    mem("repl-backlog-size", nil, 1, longMax, 1 << 20)
    num("repl-backlog-ttl", nil, 0, longMax, 3600)
    num("repl-timeout", nil, 1, intMax, 60)
    num("repl-ping-replica-period", "repl-ping-slave-period", 1, intMax, 10)
    num("min-replicas-to-write", "min-slaves-to-write", 0, intMax, 0)
    num("min-replicas-max-lag", "min-slaves-max-lag", 0, intMax, 10)

    // Cluster (accepted, reported; Cairn has no cluster mode).
    bool("cluster-enabled", nil, false, .immutable)
    str("cluster-config-file", nil, "nodes.conf", .immutable, null: false)
    num("cluster-node-timeout", nil, 0, longMax, 15000)
    num("cluster-port", nil, 0, 65535, 0, .immutable)
    str("cluster-announce-ip", nil, nil)
    str("cluster-announce-hostname", nil, nil) { validHostname($0) }
    num("cluster-announce-port", nil, 0, 65535, 0)
    num("cluster-announce-bus-port", nil, 0, 65535, 0)
    num("cluster-announce-tls-port", nil, 0, 65535, 0)
    num("cluster-replica-validity-factor", "cluster-slave-validity-factor", 0, intMax, 10)
    num("cluster-migration-barrier", nil, 0, intMax, 1)
    bool("cluster-require-full-coverage", nil, true)
    bool("cluster-replica-no-failover", "cluster-slave-no-failover", false)
    bool("cluster-allow-reads-when-down", nil, false)
    bool("cluster-allow-pubsubshard-when-down", nil, true)
    bool("cluster-allow-replica-migration", nil, true)
    enm("cluster-preferred-endpoint-type", ["ip", "hostname", "unknown-endpoint"], "ip")
    num("cluster-link-sendbuf-limit", nil, 0, -1, 0, [], .memory, unsigned: true)

    // TLS (Net/TLS.swift builds the context from these; CONFIG SET reloads it).
    num("tls-port", nil, 0, 65535, 0)
    for n in ["tls-cert-file", "tls-key-file", "tls-client-cert-file", "tls-client-key-file", "tls-dh-params-file",
              "tls-ca-cert-file", "tls-ca-cert-dir", "tls-protocols", "tls-ciphers", "tls-ciphersuites"] {
        str(n, nil, nil)
    }
    str("tls-key-file-pass", nil, nil, .sensitive)
    str("tls-client-key-file-pass", nil, nil, .sensitive)
    enm("tls-auth-clients", ["no", "yes", "optional"], "yes")
    bool("tls-cluster", nil, false)
    bool("tls-replication", nil, false)
    bool("tls-prefer-server-ciphers", nil, false)
    bool("tls-session-caching", nil, true)
    num("tls-session-cache-size", nil, 0, intMax, 20 * 1024)
    num("tls-session-cache-timeout", nil, 0, intMax, 300)
    return t
}

// MARK: - Validators

@Sendable private func pathlessName(_ v: [UInt8], _ name: String, _ what: String) -> String? {
    v.contains(UInt8(ascii: "/")) ? "\(name) can't be a path, just a \(what)" : nil
}

@Sendable private func validHostname(_ v: [UInt8]) -> String? {
    for c in v {
        let ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 46
        if !ok { return "Hostnames may only contain alphanumeric characters, hyphens or dots" }
    }
    return nil
}

/// proc-title-template: variables {title} {listen-addr} {server-mode} {port} {tls-port} {unixsocket}
/// {config-file}, "{{" and "}}" for braces; the expansion (with an empty title) must not be blank.
@Sendable private func validProcTitleTemplate(_ v: [UInt8]) -> String? {
    let known: [String: String] = ["title": "", "listen-addr": "*:0", "server-mode": "", "port": "0",
                                   "tls-port": "0", "unixsocket": "", "config-file": ""]
    guard let out = expandProcTitleTemplate(v, known), out.contains(where: { $0 != 32 }) else {
        return "template format is invalid or contains unknown variables"
    }
    return nil
}

/// The process title `template` gives with these variable values, trimmed of spaces at both ends;
/// nil when the template is malformed or names an unknown variable.
public func expandProcTitleTemplate(_ v: [UInt8], _ values: [String: String]) -> [UInt8]? {
    var out: [UInt8] = []
    var i = 0
    while i < v.count {
        let c = v[i]
        if c == UInt8(ascii: "{") {
            if i + 1 < v.count && v[i + 1] == c { out.append(c); i += 2; continue }
            guard let close = v[(i + 1)...].firstIndex(of: UInt8(ascii: "}")) else { return nil }
            guard let value = values[String(decoding: v[(i + 1) ..< close], as: UTF8.self)] else { return nil }
            out.append(contentsOf: value.utf8)
            i = close + 1
        } else if c == UInt8(ascii: "}") {
            if i + 1 < v.count && v[i + 1] == c { out.append(c); i += 2; continue }
            return nil
        } else {
            out.append(c)
            i += 1
        }
    }
    while out.last == 32 { out.removeLast() }
    return Array(out.drop(while: { $0 == 32 }))
}
