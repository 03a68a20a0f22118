// SnapshotWalk: walks an aggregate value (list, hash, set, sorted set) straight from its in-memory
// structure, in the encoding it has, and reports it to a visitor: the RDB writer (RDBAggregateWriter:
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
}

extension BorrowedValue {
    /// Walks the aggregate at `p` (whose kind is `kind`). False, having reported nothing, when it is
    /// not an aggregate or its layout was not learned (the caller then takes the ordinary path).
    public static func visitAggregate<V: BorrowedAggregateVisitor>(_ p: UnsafePointer<RedisValue>, _ kind: BorrowedKind,
                                                                    _ layout: Layout, _ v: inout V) throws -> Bool {
        let object = object(p)
        switch kind {
        case .list:
            guard let deque = layout.deque else { return false }
            try Unmanaged<ListValue>.fromOpaque(object)._withUnsafeGuaranteedRef { l in
                let items = withUnsafeMutablePointer(to: &l.items) { UnsafeRawPointer($0) }
                try v.begin(.quicklist, count: dequeCount(items, deque))
                try dequeForEach(items, deque) { e in try withBytes(e, layout) { try v.element($0) } }
                try v.end()
            }
        case .hash:
            try Unmanaged<HashValue>.fromOpaque(object)._withUnsafeGuaranteedRef { h in
                let tableAt = withUnsafeMutablePointer(to: &h.table) { UnsafeRawPointer($0) }
                if try visitTable(tableAt, of: ByteString.self, .hashTable, &v, { (v: inout V, f, value) in
                    try withBytes(f, layout) { field in try withBytes(value, layout) { try v.field(field, $0) } }
                }) { return }
                let pairs = arrayInPlace(withUnsafeMutablePointer(to: &h.pairs) { UnsafeRawPointer($0) }, layout)
                let stride = MemoryLayout<(field: ByteString, value: ByteString)>.stride
                let valueOffset = MemoryLayout<ByteString>.stride
                try v.begin(.hashListpack, count: pairs.count)
                for i in 0 ..< pairs.count {
                    let pair = pairs.elements + i * stride
                    try withBytes(pair.assumingMemoryBound(to: ByteString.self), layout) { field in
                        try withBytes((pair + valueOffset).assumingMemoryBound(to: ByteString.self), layout) { try v.field(field, $0) }
                    }
                }
                try v.end()
            }
        case .set:
            try Unmanaged<SetValue>.fromOpaque(object)._withUnsafeGuaranteedRef { s in
                let tableAt = withUnsafeMutablePointer(to: &s.table) { UnsafeRawPointer($0) }
                if try visitTable(tableAt, of: Void.self, .setTable, &v, { (v: inout V, m, _) in
                    try withBytes(m, layout) { try v.element($0) }
                }) { return }
                let ints = arrayInPlace(withUnsafeMutablePointer(to: &s.intset) { UnsafeRawPointer($0) }, layout)
                try v.intset(UnsafeBufferPointer(start: ints.elements.assumingMemoryBound(to: Int64.self), count: ints.count))
            }
        case .zset:
            try Unmanaged<ZSetValue>.fromOpaque(object)._withUnsafeGuaranteedRef { z in
                // The member → score table exists exactly when the zset is a skiplist.
                if referent(withUnsafeMutablePointer(to: &z.dict) { UnsafeRawPointer($0) }) != nil {
                    // The skiplist's arrays, by address inside the optional (its payload is at offset 0),
                    // walked from the tail: highest score first, as Redis writes a skiplist.
                    let sl = withUnsafeMutablePointer(to: &z.skiplist) { UnsafeRawPointer($0) }
                    let members = arrayInPlace(sl + MemoryLayout<ZSkipList>.offset(of: \ZSkipList.member)!, layout)
                    let scores = arrayInPlace(sl + MemoryLayout<ZSkipList>.offset(of: \ZSkipList.score)!, layout)
                    let backward = arrayInPlace(sl + MemoryLayout<ZSkipList>.offset(of: \ZSkipList.backward)!, layout)
                    let length = sl.load(fromByteOffset: MemoryLayout<ZSkipList>.offset(of: \ZSkipList.length)!, as: Int.self)
                    var x = Int(sl.load(fromByteOffset: MemoryLayout<ZSkipList>.offset(of: \ZSkipList.tail)!, as: Int32.self))
                    try v.begin(.zsetSkiplist, count: length)
                    let stride = MemoryLayout<ByteString>.stride
                    while x > 0 && x < members.count {
                        let score = scores.elements.load(fromByteOffset: x * 8, as: Double.self)
                        try withBytes((members.elements + x * stride).assumingMemoryBound(to: ByteString.self), layout) {
                            try v.scored($0, score)
                        }
                        x = Int(backward.elements.load(fromByteOffset: x * 4, as: Int32.self))
                    }
                    try v.end()
                    return
                }
                let entries = arrayInPlace(withUnsafeMutablePointer(to: &z.listpack) { UnsafeRawPointer($0) }, layout)
                let stride = MemoryLayout<ZSetEntry>.stride
                let memberOffset = MemoryLayout<ZSetEntry>.offset(of: \ZSetEntry.member)!
                let scoreOffset = MemoryLayout<ZSetEntry>.offset(of: \ZSetEntry.score)!
                try v.begin(.zsetListpack, count: entries.count)
                for i in 0 ..< entries.count {
                    let e = entries.elements + i * stride
                    let score = e.load(fromByteOffset: scoreOffset, as: Double.self)
                    try withBytes((e + memberOffset).assumingMemoryBound(to: ByteString.self), layout) { try v.scored($0, score) }
                }
                try v.end()
            }
        case .int, .smallString, .largeString:
            return false
        }
        return true
    }

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
