// RDBLoader: fills the engine from an RDB file at start-up (or DEBUG RELOAD), streaming record by
// record. Keys already expired are dropped (as a primary does; an AOF preamble keeps them, as Redis
// does, and they expire after loading); a type the engine cannot hold yet
// (streams, function libraries, module values) is refused naming the type and key, never half-
// loaded; a corrupt file stops the load with the offset and reason.
import Engine
import StorageFormat

public struct LoadResult: Sendable {
    public var keysLoaded = 0
    public var keysExpired = 0
    public var emptyKeysSkipped = 0
    /// The first few empty keys skipped (for the log).
    public var emptyKeyNames: [[UInt8]] = []
    public var bytes = 0
}

public struct LoadError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

public enum RDBLoader {
    /// Loads `path` into `engine` (which should be empty). `progress` is called every few thousand
    /// keys with the bytes read so far, so the server can answer clients with -LOADING meanwhile.
    /// `keepExpired`: keep keys whose expiry has passed (an AOF's RDB preamble, as Redis loads it:
    /// they expire after loading).
    public static func load(path: String, into engine: Engine, replaceExisting: Bool = false, keepExpired: Bool = false,
                            progress: ((Int) -> Void)? = nil) throws -> LoadResult {
        let reader = try RDBReader(path: path)
        var result = LoadResult()
        var db = 0
        let now = engine.now
        var sinceProgress = 0
        while let record = try reader.next() {
            switch record {
            case .selectDB(let n):
                guard n < engine.databases.count else {
                    throw LoadError("FATAL: Data file was created with a Redis server configured to handle more than \(engine.databases.count) databases. Exiting")
                }
                db = n
            case .function(let code):
                let firstLine = String(decoding: code.prefix(while: { $0 != 10 }).prefix(100), as: UTF8.self)
                throw LoadError("Can't load function library (\(firstLine)) at offset \(reader.offset): function libraries are not supported by this version of Cairn yet")
            case .moduleAux(let m, _):
                throw LoadError("Can't load module auxiliary data for module type '\(m.name)' at offset \(reader.offset): modules are not supported")
            case .entry(let e):
                if !keepExpired, let t = e.expiresAt, t <= now {
                    result.keysExpired += 1
                    continue
                }
                let value: RedisValue
                switch e.value {
                case .stream:
                    throw LoadError("Can't load key '\(ByteText.quoted(e.key).dropFirst().dropLast())' at offset \(e.offset): it is a stream, and streams are not supported by this version of Cairn yet")
                case .module(let m):
                    throw LoadError("Can't load key '\(ByteText.quoted(e.key).dropFirst().dropLast())' at offset \(e.offset): it holds a value of module type '\(m.name)', and modules are not supported")
                default:
                    do {
                        value = try RedisValue(rdb: e.value, config: engine.config, typeCode: e.typeCode)
                    } catch {
                        throw LoadError("Can't load key '\(ByteText.quoted(e.key).dropFirst().dropLast())' at offset \(e.offset): \(error)")
                    }
                }
                let database = engine.databases[db]
                let key = ByteString(e.key)
                if replaceExisting && database.keys[key] != nil {
                    _ = database.remove(key)
                } else if database.keys[key] != nil {
                    throw LoadError("Duplicate key '\(ByteText.quoted(e.key).dropFirst().dropLast())' found in RDB file at offset \(e.offset)")
                }
                database.set(key, value)
                if let t = e.expiresAt { database.setExpire(key, at: t) }
                if e.idle != nil || e.freq != nil {
                    database.applyAccessRecord(key, idle: e.idle.map { Int(clamping: $0) }, freq: e.freq.map { Int($0) })
                }
                result.keysLoaded += 1
                sinceProgress += 1
                DebugDelays.pause(DebugDelays.keyLoad)
                if sinceProgress >= 1024 || DebugDelays.keyLoad != 0 {
                    sinceProgress = 0
                    progress?(reader.offset)
                }
            case .end:
                result.bytes = reader.offset
            default:
                break
            }
        }
        result.emptyKeysSkipped = reader.skippedEmptyKeys.count
        result.emptyKeyNames = reader.skippedEmptyKeys.prefix(10).map(\.0)
        return result
    }
}
