// ValueConversion: RedisValue ⇄ StorageFormat's RDBValue (DUMP/RESTORE, snapshots, loading).
// Each type converts in its <Type>Persistence.swift (StoredType.rdbValue and restore), reached
// through the type table; it picks the encoding Redis 7.0 picks after loading the same data (small hashes and zsets listpack, small integer sets intset,
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
    public var rdbValue: RDBValue { stored.rdbValue }

    /// Builds an engine value from StorageFormat's model, with the encoding Redis 7.0 would give it.
    public init(rdb: RDBValue, config: EngineConfig) throws {
        try self.init(rdb: rdb, config: config, typeCode: nil)
    }

    /// As `init(rdb:config:)`, knowing the RDB type code the value was stored with: Redis 7.0 keeps a
    /// hash or zset stored as a listpack (or ziplist) in that encoding while its entry count allows,
    /// whatever the length of its elements; values stored element by element are checked for both.
    public init(rdb: RDBValue, config: EngineConfig, typeCode: UInt8?) throws {
        self = try RedisValue.storedType(of: rdb).restore(rdb, typeCode: typeCode, config: config).redisValue
    }

    /// Sets `options`' encoding thresholds so that an RDBWriter writes this value in the encoding it
    /// has in memory, as Redis writes it (a hash that became a hashtable stays one even when it has
    /// shrunk; list nodes follow `config`'s list-max-listpack-size).
    public func pinEncoding(_ options: inout RDBWriterOptions, config: EngineConfig) {
        stored.pinEncoding(&options, config: config)
    }
}
