// TypeTable: the engine's data types, one row each, and the one place where a stored value is
// dispatched to its type. A type lives in its folder, Types/<Type>/: its value structure, its
// commands, and <Type>Persistence.swift, where its value conforms to StoredType (DUMP/RESTORE,
// building from the RDB decoder, the snapshot child's in-place walk, DEBUG DIGEST, MEMORY USAGE,
// OBJECT ENCODING). RedisValue, DUMP/RESTORE, the loader, the snapshot and AOF-rewrite children,
// DEBUG DIGEST and MEMORY USAGE call through the switches below and carry none of their own.
//
//   TYPE    digest  RDB codes written          RDB codes read                 OBJECT ENCODING           folder
//   string  0       0                          0                              int, embstr, raw          String/
//   list    1       18 (1 before RDB 10)       1, 10, 14, 18                  quicklist                 List/
//   set     2       11, 2                      2, 11, 20                      intset, hashtable         Set/
//   zset    3       17, 5                      3, 5, 12, 17                   listpack, skiplist        ZSet/
//   hash    4       16, 4                      4, 9, 13, 16, 22, 23, 24, 25   listpack, hashtable       Hash/
//   stream  6       19                         15, 19, 21                     stream                    Stream/
// (digest: Redis's OBJ_* number that DEBUG DIGEST mixes in; codes from StorageFormat's RDBType.)
//
// Adding a type (as the next one, the stream, will):
//  1. StorageFormat: its RDBType codes and RDBType.typeName/encodingName entries; its element calls
//     in RDBElementVisitor and the RDBDecoder.readValue case that makes them; the RDBWriter methods
//     that write it (streaming begin/append/end, and writeValue for the RDBValue model).
//  2. Core/RedisValue.swift: a case holding the type's value class. Core/BorrowedValue.swift: a
//     BorrowedKind case and a sample in learn() (the kind count it checks grows by one).
//  3. Types/<Type>/: <Type>Value.swift (the structure); <Type>Commands.swift (handlers and an `all`
//     list, added to Commands/EngineCommands.swift); <Type>Persistence.swift (the StoredType
//     conformance, its Builder, and visitInPlace over raw pointers: no retain, no existential).
//     COMMAND metadata and ACL rows come from tools/make-command-metadata and tools/make-acl-commands.
//  4. Here: a StoredTypeID case, a row in TypeTable.rows, and a line in each switch below
//     (RedisValue.stored, storedType(of:), visitAggregate, EngineValueBuilder's beginValue/endValue).
//     The compiler then points at the rest: the BorrowedEncoding visitors in Core/SnapshotWalk.swift
//     and the BorrowedKind switches of Persistence's SnapshotWriter and AOFRewriter.
//  5. Tests/EngineTests/TypeTableTests.swift: a sample for the row; it checks TYPE, OBJECT ENCODING,
//     DUMP → RESTORE, the snapshot walk → loader and MEMORY USAGE through the table.
import StorageFormat

/// A data type the keyspace holds: the key of its row in the type table.
public enum StoredTypeID: Int, CaseIterable, Sendable {
    case string, list, set, zset, hash, stream
}

/// One row of the type table: what the type is called and how it is stored. Immutable (the
/// metatype it holds is not Sendable to the compiler, hence unchecked).
public final class TypeTableRow: @unchecked Sendable {
    public let id: StoredTypeID
    /// `TYPE`'s answer (and `SCAN … TYPE`'s filter).
    public let name: String
    /// Redis's OBJ_* number, which DEBUG DIGEST mixes in before the value.
    public let digestNumber: UInt32
    /// The RDB type codes the engine's values are written with (snapshots, DUMP).
    public let rdbTypesWritten: [UInt8]
    /// The RDB type codes the loader and RESTORE build this type from.
    public let rdbTypesRead: [UInt8]
    /// Every `OBJECT ENCODING` answer a value of the type can give.
    public let encodings: [String]
    /// Where its code lives, under Sources/Engine/Types/.
    public let folder: String
    /// Prefixes of the blocking commands that take from it (BLPOP, BZPOPMIN, …): a key that gets a
    /// value of this type may release clients blocked on it.
    public let blockingCommandPrefixes: [String]
    /// The value type, conforming to StoredType.
    let type: any StoredType.Type

    init(_ id: StoredTypeID, name: String, digestNumber: UInt32, written: [UInt8], read: [UInt8], encodings: [String],
         folder: String, blockingCommandPrefixes: [String] = [], type: any StoredType.Type) {
        self.id = id
        self.name = name
        self.digestNumber = digestNumber
        self.rdbTypesWritten = written
        self.rdbTypesRead = read
        self.encodings = encodings
        self.folder = folder
        self.blockingCommandPrefixes = blockingCommandPrefixes
        self.type = type
    }
}

/// The type table (see the file comment).
public enum TypeTable {
    static let string = TypeTableRow(.string, name: "string", digestNumber: 0, written: [RDBType.string], read: [RDBType.string],
                                     encodings: ["int", "embstr", "raw"], folder: "String", type: StringValue.self)
    static let list = TypeTableRow(.list, name: "list", digestNumber: 1, written: [RDBType.listQuicklist2, RDBType.list],
                                   read: [RDBType.list, RDBType.listZiplist, RDBType.listQuicklist, RDBType.listQuicklist2],
                                   encodings: ["quicklist"], folder: "List", blockingCommandPrefixes: ["bl", "br"], type: ListValue.self)
    static let set = TypeTableRow(.set, name: "set", digestNumber: 2, written: [RDBType.setIntset, RDBType.set],
                                  read: [RDBType.set, RDBType.setIntset, RDBType.setListpack],
                                  encodings: ["intset", "hashtable"], folder: "Set", type: SetValue.self)
    static let zset = TypeTableRow(.zset, name: "zset", digestNumber: 3, written: [RDBType.zsetListpack, RDBType.zset2],
                                   read: [RDBType.zset, RDBType.zset2, RDBType.zsetZiplist, RDBType.zsetListpack],
                                   encodings: ["listpack", "skiplist"], folder: "ZSet", blockingCommandPrefixes: ["bz"], type: ZSetValue.self)
    static let hash = TypeTableRow(.hash, name: "hash", digestNumber: 4, written: [RDBType.hashListpack, RDBType.hash],
                                   read: [RDBType.hash, RDBType.hashZipmap, RDBType.hashZiplist, RDBType.hashListpack,
                                          RDBType.hashMetadataPreGA, RDBType.hashListpackExPreGA, RDBType.hashMetadata, RDBType.hashListpackEx],
                                   encodings: ["listpack", "hashtable"], folder: "Hash", type: HashValue.self)

    static let stream = TypeTableRow(.stream, name: "stream", digestNumber: 6, written: [RDBType.streamListpacks2],
                                     read: [RDBType.streamListpacks, RDBType.streamListpacks2, RDBType.streamListpacks3],
                                     encodings: ["stream"], folder: "Stream", blockingCommandPrefixes: ["xread"], type: StreamValue.self)

    /// Every row, in StoredTypeID order.
    public static let rows: [TypeTableRow] = [string, list, set, zset, hash, stream]

    /// The row of `id`.
    @inline(__always)
    public static func row(_ id: StoredTypeID) -> TypeTableRow { rows[id.rawValue] }

    /// The row named `name` (TYPE's word), if any.
    public static func row(named name: String) -> TypeTableRow? { rows.first { $0.name == name } }

    /// RDB type code → the type built from it (nil: not an engine type, such as a stream or module).
    static let byRDBType: [StoredTypeID?] = {
        var t = [StoredTypeID?](repeating: nil, count: 256)
        for r in rows { for c in r.rdbTypesRead { t[Int(c)] = r.id } }
        return t
    }()
}

/// What persistence and introspection need of a stored type. Each type's value conforms in its
/// folder's <Type>Persistence.swift; callers reach it through RedisValue.stored.
protocol StoredType {
    /// The state that builds one value from RDBDecoder's element calls (one per loader, reused).
    associatedtype Builder: StoredTypeBuilder
    /// The type's row in the type table.
    static var row: TypeTableRow { get }
    /// This value as a RedisValue (the same object, not a copy).
    var redisValue: RedisValue { get }
    /// `OBJECT ENCODING`'s answer.
    var encodingName: String { get }
    /// An independent copy, same encoding (COPY, values moved between databases).
    func copy() -> Self
    /// StorageFormat's model of the value (DUMP, and snapshots without the in-place walk).
    var rdbValue: RDBValue { get }
    /// Builds the value from StorageFormat's model (RESTORE), with the encoding Redis 7.0 would give
    /// it; `typeCode` is the RDB type code it was stored with, when known. Throws
    /// ValueConversionError for what Redis refuses (empty, duplicates, NaN scores, field TTLs).
    static func restore(_ rdb: RDBValue, typeCode: UInt8?, config: EngineConfig) throws -> Self
    /// Sets `options` so that an RDBWriter writes the value in the encoding it has in memory.
    func pinEncoding(_ options: inout RDBWriterOptions, config: EngineConfig)
    /// The value's DEBUG DIGEST steps after the type number (see DatasetDigest.swift).
    func digest(into d: inout SHA1Digest)
    /// MEMORY USAGE's estimate of the value's bytes (the key's own overhead is added by the caller).
    var memoryEstimate: Int { get }
    /// DEBUG HTSTATS-KEY: the bucket statistics of the hash table inside the value (main table, rehash
    /// target), nil when it has none.
    var hashTableStats: (KeyTableBucketStats?, KeyTableBucketStats?)? { get }
    /// The snapshot and AOF-rewrite children's walk of the value whose object is `object` (unretained),
    /// in place, into `v`. No retain or release, no allocation: raw reads of the stored layout only.
    /// False, having reported nothing, when the walk is not possible (the caller takes the ordinary path).
    static func visitInPlace<V: BorrowedAggregateVisitor>(_ object: UnsafeRawPointer, _ layout: BorrowedValue.Layout,
                                                          _ v: inout V) throws -> Bool
}

extension StoredType {
    var row: TypeTableRow { Self.row }
    var hashTableStats: (KeyTableBucketStats?, KeyTableBucketStats?)? { nil }
}

/// Builds one value of a type from RDBDecoder's calls: `begin`, the type's own element calls (named
/// after RDBElementVisitor's), `end`.
protocol StoredTypeBuilder {
    init()
    /// Starts a value stored with `header`'s type code (`header.count` elements, when known).
    mutating func begin(_ header: RDBKeyHeader, config: EngineConfig) throws
    /// The value built since `begin`; the builder keeps no reference to it.
    mutating func end() throws -> RedisValue
}

// MARK: - The dispatch: every per-type switch of the engine's persistence and introspection

extension RedisValue {
    /// The value as its type's StoredType.
    var stored: any StoredType {
        switch self {
        case .string(let s): return s
        case .list(let l): return l
        case .set(let s): return s
        case .zset(let z): return z
        case .hash(let h): return h
        case .stream(let s): return s
        }
    }

    /// The type whose model `rdb` is; throws for what the engine does not hold (streams, modules).
    static func storedType(of rdb: RDBValue) throws -> any StoredType.Type {
        switch rdb {
        case .string: return StringValue.self
        case .list: return ListValue.self
        case .set: return SetValue.self
        case .sortedSet: return ZSetValue.self
        case .hash: return HashValue.self
        case .stream: return StreamValue.self
        case .module(let m):
            throw ValueConversionError(.unsupportedType, "module values are not supported (module type '\(m.name)')")
        }
    }
}

extension BorrowedValue {
    /// Walks the aggregate at `p` (whose kind is `kind`) in place through its type's `visitInPlace`.
    /// False, having reported nothing, when it is not an aggregate or its layout was not learned (the
    /// caller then takes the ordinary path). Static calls only: no existential, no retain.
    public static func visitAggregate<V: BorrowedAggregateVisitor>(_ p: UnsafePointer<RedisValue>, _ kind: BorrowedKind,
                                                                    _ layout: Layout, _ v: inout V) throws -> Bool {
        switch kind {
        case .list: return try ListValue.visitInPlace(object(p), layout, &v)
        case .hash: return try HashValue.visitInPlace(object(p), layout, &v)
        case .set: return try SetValue.visitInPlace(object(p), layout, &v)
        case .zset: return try ZSetValue.visitInPlace(object(p), layout, &v)
        case .stream: return try StreamValue.visitInPlace(object(p), layout, &v)
        case .int, .smallString, .largeString: return false
        }
    }
}

extension EngineValueBuilder {
    public func beginValue(_ header: RDBKeyHeader) throws {
        value = nil
        guard let id = TypeTable.byRDBType[Int(header.typeCode)] else {
            throw ValueConversionError(.unsupportedType, "module values are not supported")
        }
        building = id
        switch id {
        case .string: try stringBuilder.begin(header, config: config)
        case .list: try listBuilder.begin(header, config: config)
        case .set: try setBuilder.begin(header, config: config)
        case .zset: try zsetBuilder.begin(header, config: config)
        case .hash: try hashBuilder.begin(header, config: config)
        case .stream: try streamBuilder.begin(header, config: config)
        }
    }

    public func endValue() throws {
        switch building {
        case .string: value = try stringBuilder.end()
        case .list: value = try listBuilder.end()
        case .set: value = try setBuilder.end()
        case .zset: value = try zsetBuilder.end()
        case .hash: value = try hashBuilder.end()
        case .stream: value = try streamBuilder.end()
        }
    }
}
