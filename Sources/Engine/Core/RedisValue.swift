// RedisValue: what a key holds, one case per type of the type table (Types/TypeTable.swift), whose
// values live in Types/<Type>/. Strings are stored as integers when Redis would ("int" encoding);
// aggregates are reference types mutated in place, each reporting its encoding in Redis's words and
// converting at Redis's thresholds (hash-max-listpack-entries and friends, see EngineConfig).
// BorrowedValue reads this enum's layout in the snapshot child: its cases and payloads stay as they are.
import StorageFormat

/// The value stored under a key.
public enum RedisValue {
    case string(StringValue)
    case list(ListValue)
    case hash(HashValue)
    case set(SetValue)
    case zset(ZSetValue)
    case stream(StreamValue)

    /// `TYPE`'s answer (the type table's row name).
    public var typeName: String { stored.row.name }

    /// `OBJECT ENCODING`'s answer.
    public var encodingName: String { stored.encodingName }

    /// An independent copy (COPY, and values moved between databases must not share state).
    public func deepCopy() -> RedisValue { stored.copy().redisValue }

    /// The value's row in the type table.
    public var typeRow: TypeTableRow { stored.row }
}

/// Encoding thresholds and limits the value types consult (Redis's config names in comments).
public struct EngineConfig: Sendable {
    public var hashMaxListpackEntries = 512      // hash-max-listpack-entries
    public var hashMaxListpackValue = 64         // hash-max-listpack-value
    public var zsetMaxListpackEntries = 128      // zset-max-listpack-entries
    public var zsetMaxListpackValue = 64         // zset-max-listpack-value
    public var setMaxIntsetEntries = 512         // set-max-intset-entries
    public var listMaxListpackSize = -2          // list-max-listpack-size
    public var listCompressDepth = 0             // list-compress-depth
    public var protoMaxBulkLen = 512 * 1024 * 1024  // proto-max-bulk-len (also caps SETRANGE/APPEND: 512 MiB)
    public var hllSparseMaxBytes = 3000          // hll-sparse-max-bytes
    public var activeExpireEnabled = true
    public var slowlogLogSlowerThan = 10000       // slowlog-log-slower-than (µs; negative disables)
    public var slowlogMaxLen = 128               // slowlog-max-len
    public var streamNodeMaxBytes = 4096         // stream-node-max-bytes
    public var streamNodeMaxEntries = 100        // stream-node-max-entries
    public var rdbCompression = true             // rdbcompression (DUMP payloads follow it, as Redis's do)
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE accepts a payload whose CRC64 does not match.
    public var skipChecksumValidation = false
    /// DEBUG QUICKLIST-PACKED-THRESHOLD: list elements at least this long are kept as plain nodes.
    public var quicklistPackedThreshold = 1 << 30
    public init() {}
}
