// RDBLoader: fills the engine from an RDB file at start-up (or DEBUG RELOAD), streaming record by
// record: RDBDecoder hands each value to an EngineValueBuilder, which builds the engine's value
// directly (no intermediate value per key). Keys already expired are dropped (as a primary does; an
// AOF preamble keeps them, as Redis does, and they expire after loading); a type the engine cannot
// hold yet (streams, function libraries, module values) is refused naming the type and key, never
// half-loaded; a corrupt file stops the load with the offset and reason.
import Engine
import StorageFormat

public struct LoadResult: Sendable {
    public var keysLoaded = 0
    public var keysExpired = 0
    public var emptyKeysSkipped = 0
    /// The first few empty keys skipped (for the log).
    public var emptyKeyNames: [[UInt8]] = []
    public var bytes = 0
    /// The replication aux fields of the file (repl-id, repl-offset, repl-stream-db), when present.
    public var replicationAux: ReplicationAux? = nil
}

public struct LoadError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

public enum RDBLoader {
    /// The decoder's checks for loading: Redis's (duplicate members refused), with duplicate keys found
    /// in the keyspace itself.
    static var decoderOptions: RDBDecoder.Options {
        var o = RDBDecoder.Options()
        o.checkDuplicateKeys = false
        o.strictTypeVersions = false
        o.fingerprintBudget = 4 << 20
        return o
    }

    /// Loads `path` into `engine` (which should be empty). `progress` is called every few thousand
    /// keys with the bytes read so far, so the server can answer clients with -LOADING meanwhile.
    /// `keepExpired`: keep keys whose expiry has passed (an AOF's RDB preamble, as Redis loads it:
    /// they expire after loading).
    /// `onExpiredKey`: called with (database, key) for each key skipped because its expiry has passed
    /// (a primary restarting from its own file puts a DEL for it in its replication backlog, as Redis).
    public static func load(path: String, into engine: Engine, replaceExisting: Bool = false, keepExpired: Bool = false,
                            progress: ((Int) -> Void)? = nil, onExpiredKey: ((Int, [UInt8]) -> Void)? = nil) throws -> LoadResult {
        try load(decoder: RDBDecoder(path: path, options: decoderOptions), into: engine, replaceExisting: replaceExisting,
                 keepExpired: keepExpired, progress: progress, onExpiredKey: onExpiredKey)
    }

    /// Loads what `source` delivers (a replica's diskless load reads the primary's socket). The decoder
    /// stops at the RDB's end; `decoder` hands the caller what it read past it.
    public static func load(source: ByteSource, into engine: Engine, keepExpired: Bool = false,
                            progress: ((Int) -> Void)? = nil, decoder: ((RDBDecoder) -> Void)? = nil) throws -> LoadResult {
        let d = try RDBDecoder(source: source, options: decoderOptions)
        let result = try load(decoder: d, into: engine, keepExpired: keepExpired, progress: progress)
        decoder?(d)
        return result
    }

    static func load(decoder: RDBDecoder, into engine: Engine, replaceExisting: Bool = false, keepExpired: Bool = false,
                     progress: ((Int) -> Void)?, onExpiredKey: ((Int, [UInt8]) -> Void)? = nil) throws -> LoadResult {
        let builder = EngineValueBuilder(config: engine.config)
        var result = LoadResult()
        var database = engine.databases[0]
        let now = engine.now
        var sinceProgress = 0
        // Keys are inserted in batches: the batch's buckets are touched first (independent cache misses
        // the CPU overlaps), then the keys inserted in file order.
        var batch = LoadBatch()
        func flush() throws {
            guard !batch.keys.isEmpty else { return }
            batch.keys.withUnsafeBufferPointer { database.warm($0) }
            for i in 0 ..< batch.keys.count {
                let key = batch.keys[i]
                let r = batch.records[i]
                if !database.insertLoaded(key, batch.values[i], expiresAt: r.expiresAt) && !replaceExisting {
                    throw LoadError("Duplicate key '\(ByteText.quoted(key.bytes).dropFirst().dropLast())' found in RDB file at offset \(r.offset)")
                }
                if r.idle != nil || r.freq != nil {
                    database.applyAccessRecord(key, idle: r.idle.map { Int(clamping: $0) }, freq: r.freq.map { Int($0) })
                }
            }
            result.keysLoaded += batch.keys.count
            batch.removeAll()
        }
        while true {
            let record: RDBScanRecord?
            do {
                record = try decoder.next(into: builder)
            } catch let e as ValueConversionError {
                let s = decoder.keySummary
                let name = ByteText.quoted(s.key).dropFirst().dropLast()
                if e.kind == .unsupportedType {
                    let module = RDBModuleValue(moduleID: s.moduleID ?? 0, raw: []).name
                    throw LoadError("Can't load key '\(name)' at offset \(s.offset): it holds a value of module type '\(module)', and modules are not supported")
                }
                throw LoadError("Can't load key '\(name)' at offset \(s.offset): \(e)")
            }
            guard let record else { break }
            switch record {
            case .selectDB(let n):
                guard n < engine.databases.count else {
                    throw LoadError("FATAL: Data file was created with a Redis server configured to handle more than \(engine.databases.count) databases. Exiting")
                }
                try flush()
                database = engine.databases[n]
            case .resizeDB(let size, let expires):
                // Sized up front as Redis does (bounded: a lying header must not allocate much).
                database.reserve(keys: Int(min(size, 1 << 26)), expires: Int(min(expires, 1 << 26)))
            case .function(let code):
                // A library (FUNCTION2): loaded as FUNCTION LOAD would (REPLACE when merging), without a time limit.
                do {
                    try engine.functions.load(code: code, replace: replaceExisting)
                } catch {
                    throw LoadError("Failed loading library, \(error.message.hasPrefix("ERR ") ? String(error.message.dropFirst(4)) : error.message) at offset \(decoder.offset)")
                }
            case .moduleAux(let id, _, _):
                let name = RDBModuleValue(moduleID: id, raw: []).name
                throw LoadError("Can't load module auxiliary data for module type '\(name)' at offset \(decoder.offset): modules are not supported")
            case .key(let s):
                if !keepExpired, let t = s.expiresAt, t <= now {
                    result.keysExpired += 1
                    if let f = onExpiredKey { f(database.id, Array(s.key)) }
                    continue
                }
                guard let value = builder.takeValue() else { continue }
                batch.keys.append(ByteString(s.key))
                batch.values.append(value)
                batch.records.append(LoadBatch.Record(offset: s.offset, expiresAt: s.expiresAt, idle: s.idle, freq: s.freq))
                if batch.keys.count == LoadBatch.size { try flush() }
                sinceProgress += 1
                DebugDelays.pause(DebugDelays.keyLoad)
                if sinceProgress >= 1024 || DebugDelays.keyLoad != 0 {
                    try flush()
                    sinceProgress = 0
                    progress?(decoder.offset)
                }
            case .emptyKey(let s):
                result.emptyKeysSkipped += 1
                if result.emptyKeyNames.count < 10 { result.emptyKeyNames.append(s.keyBytes) }
            case .aux(let k, let v):
                let key = String(decoding: k, as: UTF8.self), text = String(decoding: v, as: UTF8.self)
                switch key {
                case "repl-id" where v.count == 40:
                    result.replicationAux = ReplicationAux(streamDB: result.replicationAux?.streamDB ?? 0, id: text,
                                                           offset: result.replicationAux?.offset ?? 0)
                case "repl-offset":
                    if let n = Int(text) { result.replicationAux = ReplicationAux(streamDB: result.replicationAux?.streamDB ?? 0, id: result.replicationAux?.id ?? "", offset: n) }
                case "repl-stream-db":
                    if let n = Int(text) { result.replicationAux = ReplicationAux(streamDB: n, id: result.replicationAux?.id ?? "", offset: result.replicationAux?.offset ?? 0) }
                default:
                    break
                }
            case .end:
                try flush()
                result.bytes = decoder.offset
            default:
                break
            }
        }
        try flush()
        return result
    }
}

/// Keys decoded but not yet inserted (see RDBLoader.load).
struct LoadBatch {
    static let size = 16
    struct Record {
        var offset: Int
        var expiresAt: Int64?
        var idle: UInt64?
        var freq: UInt8?
    }
    var keys: [ByteString] = []
    var values: [RedisValue] = []
    var records: [Record] = []

    init() {
        keys.reserveCapacity(LoadBatch.size)
        values.reserveCapacity(LoadBatch.size)
        records.reserveCapacity(LoadBatch.size)
    }

    mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
    }
}
