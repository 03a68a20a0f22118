// ValueConversion: RedisValue ⇄ StorageFormat's RDBValue (DUMP/RESTORE, snapshots, loading).
// Loading builds each type through its own init(rdb:config:), which picks the encoding Redis 7.0
// picks after loading the same data (small hashes and zsets listpack, small integer sets intset,
// strings that are integers int-encoded). Values Redis would refuse are refused: empty aggregates,
// duplicate set members, hash fields or zset members, NaN scores. Streams and module values are not
// supported by the engine yet.
import StorageFormat

/// Why an RDB value cannot become an engine value.
public struct ValueConversionError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A type the engine does not hold yet (stream, module).
        case unsupportedType
        /// An aggregate with no elements (Redis skips such keys when loading, refuses them in RESTORE).
        case empty
        /// The same member or field twice.
        case duplicate
        /// A zset score that is NaN.
        case invalidScore
        /// Data the engine cannot represent (hash field TTLs, Redis 7.4+).
        case unsupportedFeature
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    public var description: String { message }
}

extension RedisValue {
    /// The value as StorageFormat's model.
    public var rdbValue: RDBValue {
        switch self {
        case .string(let s): return .string(s.byteString.bytes)
        case .list(let l): return l.rdbValue
        case .hash(let h): return h.rdbValue
        case .set(let s): return s.rdbValue
        case .zset(let z): return z.rdbValue
        }
    }

    /// Builds an engine value from StorageFormat's model, with the encoding Redis 7.0 would give it.
    public init(rdb: RDBValue, config: EngineConfig) throws {
        try self.init(rdb: rdb, config: config, typeCode: nil)
    }

    /// As `init(rdb:config:)`, knowing the RDB type code the value was stored with: Redis 7.0 keeps a
    /// hash or zset stored as a listpack (or ziplist) in that encoding while its entry count allows,
    /// whatever the length of its elements; values stored element by element are checked for both.
    public init(rdb: RDBValue, config: EngineConfig, typeCode: UInt8?) throws {
        var config = config
        switch typeCode {
        case RDBType.hashListpack, RDBType.hashZiplist: config.hashMaxListpackValue = Int.max
        case RDBType.zsetListpack, RDBType.zsetZiplist: config.zsetMaxListpackValue = Int.max
        default: break
        }
        switch rdb {
        case .string(let b):
            self = .string(StringValue(b))
        case .list(let items):
            guard !items.isEmpty else { throw ValueConversionError(.empty, "empty list") }
            self = .list(ListValue(rdb: rdb, config: config))
        case .set(let items):
            guard !items.isEmpty else { throw ValueConversionError(.empty, "empty set") }
            let s = SetValue(rdb: rdb, config: config)
            guard s.count == items.count else { throw ValueConversionError(.duplicate, "duplicate set members") }
            self = .set(s)
        case .sortedSet(let items):
            guard !items.isEmpty else { throw ValueConversionError(.empty, "empty sorted set") }
            guard !items.contains(where: { $0.score.isNaN }) else {
                throw ValueConversionError(.invalidScore, "sorted set with a NaN score")
            }
            let z = ZSetValue(rdb: rdb, config: config)
            guard z.count == items.count else { throw ValueConversionError(.duplicate, "duplicate sorted set members") }
            self = .zset(z)
        case .hash(let fields):
            guard !fields.isEmpty else { throw ValueConversionError(.empty, "empty hash") }
            guard !fields.contains(where: { $0.expiresAt != 0 }) else {
                throw ValueConversionError(.unsupportedFeature, "hash field expiry (Redis 7.4+) is not supported")
            }
            let h = HashValue(rdb: rdb, config: config)
            guard h.count == fields.count else { throw ValueConversionError(.duplicate, "duplicate hash fields") }
            self = .hash(h)
        case .stream:
            throw ValueConversionError(.unsupportedType, "stream values are not supported yet")
        case .module(let m):
            throw ValueConversionError(.unsupportedType, "module values are not supported (module type '\(m.name)')")
        }
    }

    /// Sets `options`' encoding thresholds so that an RDBWriter writes this value in the encoding it
    /// has in memory, as Redis writes it (a hash that became a hashtable stays one even when it has
    /// shrunk; list nodes follow `config`'s list-max-listpack-size).
    public func pinEncoding(_ options: inout RDBWriterOptions, config: EngineConfig) {
        switch self {
        case .string:
            break
        case .list:
            options.listMaxListpackSize = config.listMaxListpackSize
        case .hash(let h):
            options.hashMaxListpackEntries = h.isListpack ? Int.max : -1
            options.hashMaxListpackValue = Int.max
        case .set(let s):
            options.setMaxIntsetEntries = s.isIntset ? Int.max : -1
            options.setMaxListpackEntries = -1
        case .zset(let z):
            options.zsetMaxListpackEntries = z.isListpack ? Int.max : -1
            options.zsetMaxListpackValue = Int.max
        }
    }
}
