// TEMPORARY: replaced by Engine's ValueConversion.swift at integration.
import Engine
import StorageFormat

struct UnsupportedValue: Error, CustomStringConvertible { var description: String }

extension RedisValue {
    public var rdbValue: RDBValue {
        switch self {
        case .string(let s): return .string(s.byteString.bytes)
        case .list(let l): return l.rdbValue
        case .hash(let h): return h.rdbValue
        case .set(let s): return s.rdbValue
        case .zset(let z): return z.rdbValue
        }
    }

    public init(rdb: RDBValue, config: EngineConfig) throws {
        switch rdb {
        case .string(let b): self = .string(StringValue(b))
        case .list: self = .list(ListValue(rdb: rdb, config: config))
        case .hash: self = .hash(HashValue(rdb: rdb, config: config))
        case .set: self = .set(SetValue(rdb: rdb, config: config))
        case .sortedSet: self = .zset(ZSetValue(rdb: rdb, config: config))
        case .stream: throw UnsupportedValue(description: "streams are not supported yet")
        case .module(let m): throw UnsupportedValue(description: "module values (\(m.name)) are not supported")
        }
    }
}
