// RDB opcodes, object type codes, and dialects (magic + version). FORMATS.md §1, §3, §6.1.

/// Opcode bytes that can appear where a key's type byte is expected.
public enum RDBOpcode {
    public static let eof: UInt8 = 0xFF
    public static let selectDB: UInt8 = 0xFE
    public static let expireTime: UInt8 = 0xFD
    public static let expireTimeMS: UInt8 = 0xFC
    public static let resizeDB: UInt8 = 0xFB
    public static let aux: UInt8 = 0xFA
    public static let freq: UInt8 = 0xF9
    public static let idle: UInt8 = 0xF8
    public static let moduleAux: UInt8 = 0xF7
    public static let functionPreGA: UInt8 = 0xF6
    public static let function2: UInt8 = 0xF5
    public static let slotInfo: UInt8 = 0xF4
    /// Redis RDB 13 KEY_META, Valkey 80 SLOT_IMPORT: the code means different things per dialect.
    public static let keyMetaOrSlotImport: UInt8 = 0xF3
}

/// Object type codes (the byte before a key).
public enum RDBType {
    public static let string: UInt8 = 0
    public static let list: UInt8 = 1
    public static let set: UInt8 = 2
    public static let zset: UInt8 = 3
    public static let hash: UInt8 = 4
    public static let zset2: UInt8 = 5
    public static let modulePreGA: UInt8 = 6
    public static let module2: UInt8 = 7
    public static let hashZipmap: UInt8 = 9
    public static let listZiplist: UInt8 = 10
    public static let setIntset: UInt8 = 11
    public static let zsetZiplist: UInt8 = 12
    public static let hashZiplist: UInt8 = 13
    public static let listQuicklist: UInt8 = 14
    public static let streamListpacks: UInt8 = 15
    public static let hashListpack: UInt8 = 16
    public static let zsetListpack: UInt8 = 17
    public static let listQuicklist2: UInt8 = 18
    public static let streamListpacks2: UInt8 = 19
    public static let setListpack: UInt8 = 20
    public static let streamListpacks3: UInt8 = 21
    /// Redis 7.4 RC `HASH_METADATA_PRE_GA`; Valkey 80 `HASH_2`.
    public static let hashMetadataPreGA: UInt8 = 22
    /// Redis 7.4 RC `HASH_LISTPACK_EX_PRE_GA`; Valkey 81 `PATH_HASH`.
    public static let hashListpackExPreGA: UInt8 = 23
    public static let hashMetadata: UInt8 = 24
    public static let hashListpackEx: UInt8 = 25

    /// Redis's name for the type (as `TYPE` reports it) of a type code.
    public static func typeName(_ code: UInt8) -> String {
        switch code {
        case 0: return "string"
        case 1, 10, 14, 18: return "list"
        case 2, 11, 20: return "set"
        case 3, 5, 12, 17: return "zset"
        case 4, 9, 13, 16, 22, 23, 24, 25: return "hash"
        case 15, 19, 21: return "stream"
        case 6, 7: return "module"
        default: return "unknown(\(code))"
        }
    }

    /// The encoding a type code stands for, in `OBJECT ENCODING` words where Redis has one.
    public static func encodingName(_ code: UInt8) -> String {
        switch code {
        case 0: return "string"
        case 1: return "linkedlist"
        case 2, 4: return "hashtable"
        case 3, 5: return "skiplist"
        case 6, 7: return "module"
        case 9: return "zipmap"
        case 10, 12, 13: return "ziplist"
        case 11: return "intset"
        case 14, 18: return "quicklist"
        case 15, 19, 21: return "stream"
        case 16, 17, 20: return "listpack"
        case 22, 24: return "hashtable"
        case 23, 25: return "listpack_ex"
        default: return "unknown"
        }
    }
}

/// Which family wrote a file: the magic decides, and with it the meaning of colliding codes.
public enum RDBFamily: String, Sendable {
    case redis = "REDIS"
    case valkey = "VALKEY"
}

/// Magic plus version: the key on which decoding is chosen (FORMATS.md §1.3).
public struct RDBDialect: Sendable, Equatable, CustomStringConvertible {
    public var family: RDBFamily
    public var version: Int

    public init(family: RDBFamily, version: Int) {
        self.family = family
        self.version = version
    }

    /// The newest Redis RDB version this reader understands.
    public static let newestRedisVersion = 12

    /// The 9-byte magic, e.g. `REDIS0010`, `VALKEY080`.
    public var magic: [UInt8] {
        switch family {
        case .redis:
            let digits = String(version)
            return Array(("REDIS" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits).utf8)
        case .valkey:
            let digits = String(version)
            return Array(("VALKEY" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits).utf8)
        }
    }

    public var description: String { String(decoding: magic, as: UTF8.self) }
}

extension RDBType {
    /// The name `redis-check-rdb` prints for a type code ("Reading type 18 (quicklist-v2)").
    public static func checkerName(_ code: UInt8) -> String {
        switch code {
        case 0: return "string"
        case 1: return "list-linked"
        case 2: return "set-hashtable"
        case 3: return "zset-v1"
        case 4: return "hash-hashtable"
        case 5: return "zset-v2"
        case 6: return "module-pre-release"
        case 7: return "module-value"
        case 9: return "hash-zipmap"
        case 10: return "list-ziplist"
        case 11: return "set-intset"
        case 12: return "zset-ziplist"
        case 13: return "hash-ziplist"
        case 14: return "quicklist"
        case 15: return "stream"
        case 16: return "hash-listpack"
        case 17: return "zset-listpack"
        case 18: return "quicklist-v2"
        case 19: return "stream-v2"
        case 20: return "set-listpack"
        case 21: return "stream-v3"
        case 22: return "hash-hashtable-md-pre-ga"
        case 23: return "hash-listpack-md-pre-ga"
        case 24: return "hash-hashtable-md"
        case 25: return "hash-listpack-md"
        default: return "unknown"
        }
    }

    /// The first RDB version whose writers could emit `code` (a Redis file older than that cannot hold
    /// it), or nil when the code is not a type in `dialect`.
    public static func firstVersion(_ code: UInt8, in dialect: RDBDialect) -> Int? {
        switch code {
        case 0 ... 4, 9 ... 13: return 1
        case 5, 7: return 8
        case 6: return 8
        case 14: return 7
        case 15: return 9
        case 16 ... 19: return 10
        case 20, 21: return 11
        case 22: return dialect.family == .valkey ? 80 : 12
        case 23, 24, 25: return dialect.family == .redis ? 12 : nil
        default: return nil
        }
    }
}

extension RDBType {
    /// The absolute expiry (ms) a hash-with-metadata field's non-zero stored TTL stands for: the GA type
    /// stores expiry − minimum + 1, the pre-GA type the expiry itself. Nil unless it is a positive time
    /// below 2^48 ms (a corrupt TTL or minimum may not overflow the arithmetic either).
    static func hashFieldExpiry(_ ttl: UInt64, minExpire: Int64, preGA: Bool) -> Int64? {
        let e: Int64
        if preGA {
            e = Int64(truncatingIfNeeded: ttl)
        } else {
            guard ttl <= UInt64(1) << 48 else { return nil }
            let (sum, overflow) = Int64(ttl).addingReportingOverflow(minExpire)
            if overflow { return nil }
            e = sum - 1  // ttl ≥ 1, so sum > Int64.min
        }
        return e > 0 && e < Int64(1) << 48 ? e : nil
    }
}
