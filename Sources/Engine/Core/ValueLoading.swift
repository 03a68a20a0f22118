// ValueLoading: builds engine values straight from RDBDecoder's element calls (loading at start-up,
// DEBUG RELOAD, RESTORE), with no RDBValue or element arrays in between. Encodings are chosen as
// Redis 7.0 chooses them after loading the same data: a hash or zset stored as a listpack (or
// ziplist) stays one while its entry count allows, whatever the length of its elements; plain-stored
// values are checked for both limits; small integer sets are intsets; integer strings are ints.
// The decoder has already refused duplicates, NaN scores and malformed blobs, and never begins an
// empty aggregate; what is left to refuse here is what the engine cannot hold.
import DequeModule
import StorageFormat

/// An RDBElementVisitor that builds one RedisValue per key (reuse it for every key of a file).
public final class EngineValueBuilder: RDBElementVisitor {
    let baseConfig: EngineConfig
    var config: EngineConfig
    /// The value built by the last beginValue … endValue.
    public private(set) var value: RedisValue?

    var kind: Kind = .string
    var list = Deque<ByteString>()
    var set: SetValue? = nil
    var zentries: [ZSetEntry] = []
    var pairs: [(field: ByteString, value: ByteString)] = []
    var count = 0

    enum Kind { case string, list, set, zset, hash }

    public init(config: EngineConfig) {
        baseConfig = config
        self.config = config
    }

    /// The value built, handed over (the builder keeps no reference to it).
    public func takeValue() -> RedisValue? {
        defer { value = nil }
        return value
    }

    public func beginValue(_ header: RDBKeyHeader) throws {
        value = nil
        count = header.count ?? 0
        switch RDBType.typeName(header.typeCode) {
        case "string": kind = .string
        case "list":
            kind = .list
            list = Deque()
            list.reserveCapacity(count)
        case "set":
            kind = .set
            let s = SetValue()
            if count > config.setMaxIntsetEntries { s.convertToHashtable() }
            set = s
        case "zset":
            kind = .zset
            let packed = header.typeCode == RDBType.zsetListpack || header.typeCode == RDBType.zsetZiplist
            config.zsetMaxListpackValue = packed ? Int.max : baseConfig.zsetMaxListpackValue
            zentries = []
            zentries.reserveCapacity(count)
        case "hash":
            kind = .hash
            let packed = header.typeCode == RDBType.hashListpack || header.typeCode == RDBType.hashZiplist
            config.hashMaxListpackValue = packed ? Int.max : baseConfig.hashMaxListpackValue
            pairs = []
            pairs.reserveCapacity(count)
        case "stream":
            throw ValueConversionError(.unsupportedType, "stream values are not supported yet")
        default:
            throw ValueConversionError(.unsupportedType, "module values are not supported")
        }
    }

    public func string(_ value: UnsafeRawBufferPointer) throws {
        self.value = .string(StringValue(ByteString(value)))
    }

    public func listElement(_ element: UnsafeRawBufferPointer) throws {
        list.append(ByteString(element))
    }

    public func setMember(_ member: UnsafeRawBufferPointer) throws {
        guard set!.add(ByteString(member), config: config) else {
            throw ValueConversionError(.duplicate, "duplicate set members")
        }
    }

    public func sortedSetMember(_ member: UnsafeRawBufferPointer, score: Double) throws {
        zentries.append(ZSetEntry(member: ByteString(member), score: score))
    }

    public func hashField(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
        guard expiresAt == 0 else {
            throw ValueConversionError(.unsupportedFeature, "hash field expiry (Redis 7.4+) is not supported")
        }
        pairs.append((ByteString(field), ByteString(value)))
    }

    public func endValue() throws {
        switch kind {
        case .string:
            break
        case .list:
            value = .list(ListValue(items: list))
            list = Deque()
        case .set:
            value = .set(set!)
            set = nil
        case .zset:
            let z = ZSetValue(entries: zentries, config: config)
            zentries = []
            guard z.count == count || count == 0 else { throw ValueConversionError(.duplicate, "duplicate sorted set members") }
            value = .zset(z)
        case .hash:
            let h = HashValue(pairs: pairs, config: config)
            pairs = []
            guard h.count == count || count == 0 else { throw ValueConversionError(.duplicate, "duplicate hash fields") }
            value = .hash(h)
        }
    }
}

extension HashValue {
    /// A hash of distinct `pairs`, in the encoding `config` gives it.
    convenience init(pairs fields: [(field: ByteString, value: ByteString)], config: EngineConfig) {
        self.init()
        let small = fields.count <= config.hashMaxListpackEntries && fields.allSatisfy {
            $0.field.count <= config.hashMaxListpackValue && $0.value.count <= config.hashMaxListpackValue
        }
        if small {
            pairs = fields
        } else {
            var t = KeyTable<ByteString>()
            for f in fields { t[f.field] = f.value }
            table = t
        }
    }
}
