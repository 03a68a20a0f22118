// SnapshotWalk: the visitors of an aggregate value's walk straight from its in-memory structure, in
// the encoding it has (each type's visitInPlace, in its <Type>Persistence.swift, reached through
// BorrowedValue.visitAggregate in TypeTable.swift): the RDB writer (RDBAggregateWriter:
// quicklist, listpack, intset or the plain encodings of a hash table or skiplist, as Redis 7.0 writes
// them) or the AOF rewrite (AOFAggregateRewriter: RPUSH/SADD/ZADD/HMSET in batches). For the fork()ed
// snapshot and rewrite children: no value is built per key, fields are reached by address (loading
// them would retain their buffers) and elements are read in place through BorrowedValue, so the child
// touches no reference count on the pages the dataset lives on.
import StorageFormat

/// How an aggregate is laid out, as its walk reports it.
public enum BorrowedEncoding: Sendable {
    case quicklist, hashListpack, hashTable, intset, setTable, zsetListpack, zsetSkiplist
}

/// What an aggregate's in-place walk reports: `begin`, the elements, `end`; an intset comes whole.
public protocol BorrowedAggregateVisitor {
    mutating func begin(_ encoding: BorrowedEncoding, count: Int) throws
    /// A list element or a set member.
    mutating func element(_ bytes: UnsafeRawBufferPointer) throws
    mutating func field(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws
    /// A sorted set member: ascending for a listpack, highest score first for a skiplist.
    mutating func scored(_ member: UnsafeRawBufferPointer, _ score: Double) throws
    mutating func end() throws
    /// A whole intset (ascending, no duplicates), instead of begin/elements/end.
    mutating func intset(_ members: UnsafeBufferPointer<Int64>) throws
    /// A stream, instead of begin/elements/end: `streamBegin`, each node (its master ID and listpack,
    /// as stored), then `streamEnd` with the metadata and groups.
    mutating func streamBegin(nodes: Int) throws
    mutating func streamNode(master: StreamID, listpack: UnsafeRawBufferPointer) throws
    mutating func streamEnd(_ meta: RDBStream) throws
}

extension BorrowedValue {
    /// The key table (hash or set) whose optional struct is at `tableAt`, when it exists: `begin`, each
    /// entry, `end`. False, having reported nothing, when there is no table (the value is compact).
    static func visitTable<Value, V: BorrowedAggregateVisitor>(
        _ tableAt: UnsafeRawPointer, of _: Value.Type, _ encoding: BorrowedEncoding, _ v: inout V,
        _ entry: (inout V, UnsafePointer<ByteString>, UnsafePointer<Value>) throws -> Void
    ) throws -> Bool {
        guard referent(tableAt) != nil else { return false }
        try v.begin(encoding, count: KeyTable<Value>.countInPlace(tableAt))
        try KeyTable<Value>.forEachInPlace(tableAt) { key, value, _ in try entry(&v, key, value) }
        try v.end()
        return true
    }

    /// Writes the aggregate at `p` under `key` into an RDB writer. False, having written nothing, when
    /// the writer's RDB version predates these encodings or the walk is not possible.
    public static func writeAggregate(_ p: UnsafePointer<RedisValue>, _ kind: BorrowedKind, _ layout: Layout,
                                      key: UnsafeRawBufferPointer, to w: RDBWriter,
                                      expiresAt: Int64?, idle: UInt64?, freq: UInt8?) throws -> Bool {
        guard w.options.version >= 10 else { return false }
        var visitor = RDBAggregateWriter(w: w, key: key, expiresAt: expiresAt, idle: idle, freq: freq)
        return try visitAggregate(p, kind, layout, &visitor)
    }
}

/// The RDB writer as an aggregate visitor.
struct RDBAggregateWriter: BorrowedAggregateVisitor {
    let w: RDBWriter
    let key: UnsafeRawBufferPointer
    let expiresAt: Int64?, idle: UInt64?, freq: UInt8?
    var encoding = BorrowedEncoding.quicklist

    mutating func begin(_ encoding: BorrowedEncoding, count: Int) throws {
        self.encoding = encoding
        switch encoding {
        case .quicklist: w.beginQuicklistValue(key: key, expiresAt: expiresAt, idle: idle, freq: freq)
        case .hashListpack: w.beginListpackValue(RDBType.hashListpack, key: key, expiresAt: expiresAt, idle: idle, freq: freq)
        case .zsetListpack: w.beginListpackValue(RDBType.zsetListpack, key: key, expiresAt: expiresAt, idle: idle, freq: freq)
        case .hashTable: try w.beginValue(.hash, key: key, count: count, expiresAt: expiresAt, idle: idle, freq: freq)
        case .setTable: try w.beginValue(.set, key: key, count: count, expiresAt: expiresAt, idle: idle, freq: freq)
        case .zsetSkiplist: try w.beginValue(.sortedSet, key: key, count: count, expiresAt: expiresAt, idle: idle, freq: freq)
        case .intset: break
        }
    }

    func element(_ bytes: UnsafeRawBufferPointer) throws {
        if encoding == .quicklist { w.appendQuicklistElement(bytes) } else { try w.appendSetMember(bytes) }
    }

    func field(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws {
        if encoding == .hashListpack {
            w.appendListpackEntry(field)
            w.appendListpackEntry(value)
        } else {
            try w.appendHashField(field, value: value)
        }
    }

    func scored(_ member: UnsafeRawBufferPointer, _ score: Double) throws {
        if encoding == .zsetListpack {
            w.appendListpackEntry(member)
            w.appendListpackScore(score)
        } else {
            try w.appendSortedSetMember(member, score: score)
        }
    }

    func end() throws {
        switch encoding {
        case .quicklist: try w.endQuicklistValue()
        case .hashListpack, .zsetListpack: try w.endListpackValue()
        default: try w.endValue()
        }
    }

    func intset(_ members: UnsafeBufferPointer<Int64>) throws {
        try w.writeIntsetValue(key: key, sortedMembers: members, expiresAt: expiresAt, idle: idle, freq: freq)
    }

    func streamBegin(nodes: Int) throws {
        w.beginStreamValue(key: key, nodes: nodes, expiresAt: expiresAt, idle: idle, freq: freq)
    }

    func streamNode(master: StreamID, listpack: UnsafeRawBufferPointer) throws {
        try w.appendStreamNode(master: master, listpack: listpack)
    }

    func streamEnd(_ meta: RDBStream) throws {
        try w.endStreamValue(meta)
    }
}

/// The AOF rewrite as an aggregate visitor: the commands that rebuild the value, 64 items each, as
/// Redis writes them (RPUSH, SADD, ZADD score member, HMSET), straight into `out`.
public struct AOFAggregateRewriter: BorrowedAggregateVisitor {
    public var out: [UInt8]
    let key: UnsafeRawBufferPointer
    var command: StaticString = "RPUSH"
    var perItem = 1
    var left = 0
    var inBatch = 0
    var streamEntries = 0

    public init(out: [UInt8], key: UnsafeRawBufferPointer) {
        self.out = out
        self.key = key
    }

    public mutating func begin(_ encoding: BorrowedEncoding, count: Int) throws {
        switch encoding {
        case .quicklist: command = "RPUSH"; perItem = 1
        case .setTable, .intset: command = "SADD"; perItem = 1
        case .zsetListpack, .zsetSkiplist: command = "ZADD"; perItem = 2
        case .hashListpack, .hashTable: command = "HMSET"; perItem = 2
        }
        left = count
        inBatch = 0
    }

    /// Starts the next command when the last one is full.
    mutating func item() {
        if inBatch == 0 {
            let n = min(left, AOFCommands.itemsPerCommand)
            AOFCommands.appendCommandHead(command, key: key, argc: 2 + n * perItem, to: &out)
            inBatch = n
        }
        inBatch -= 1
        left -= 1
    }

    public mutating func element(_ bytes: UnsafeRawBufferPointer) throws {
        item()
        AOFCommands.appendBulk(bytes, to: &out)
    }

    public mutating func field(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws {
        item()
        AOFCommands.appendBulk(field, to: &out)
        AOFCommands.appendBulk(value, to: &out)
    }

    public mutating func scored(_ member: UnsafeRawBufferPointer, _ score: Double) throws {
        item()
        formatScore17g(score).withUnsafeBytes { AOFCommands.appendBulk($0, to: &out) }
        AOFCommands.appendBulk(member, to: &out)
    }

    public mutating func end() throws {}

    public mutating func streamBegin(nodes: Int) throws { streamEntries = 0 }

    /// One XADD per live entry of the node, read in place.
    public mutating func streamNode(master: StreamID, listpack: UnsafeRawBufferPointer) throws {
        var written = 0
        StreamValue.forEachLiveEntry(master: master, listpack) { ref, b in
            AOFCommands.appendCommandHead("XADD", key: key, argc: 3 + 2 * ref.numFields, to: &out)
            var id: [UInt8] = []
            StreamCommands.appendID(ref.id, to: &id)
            id.withUnsafeBytes { AOFCommands.appendBulk($0, to: &out) }
            StreamValue.forEachField(ref, b) { f, v in
                AOFCommands.appendBulk(f, to: &out)
                AOFCommands.appendBulk(v, to: &out)
            }
            written += 1
        }
        streamEntries += written
    }

    public mutating func streamEnd(_ meta: RDBStream) throws {
        let k = Array(key)
        var o: [UInt8] = []
        swap(&o, &out)
        try AOFCommands.rewriteStreamTail(key: k, meta, hadEntries: streamEntries > 0) { AOFCommands.append($0, to: &o) }
        swap(&o, &out)
    }

    public mutating func intset(_ members: UnsafeBufferPointer<Int64>) throws {
        try begin(.intset, count: members.count)
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        for m in members {
            item()
            digits.removeAll(keepingCapacity: true)
            RESPEncoder.appendDecimal(Int(m), to: &digits)
            digits.withUnsafeBytes { AOFCommands.appendBulk($0, to: &out) }
        }
    }
}
