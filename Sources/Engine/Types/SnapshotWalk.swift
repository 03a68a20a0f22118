// SnapshotWalk: writes an aggregate value (list, hash, set, sorted set) into an RDBWriter straight from
// its in-memory structure, in the encoding it has (listpack, intset, quicklist, or the plain encodings
// of a hash table or skiplist), as Redis 7.0 writes it. For the fork()ed snapshot child: no value is
// built per key, and the elements are read in place through BorrowedValue, so the child touches no
// reference count on the pages the dataset lives on.
import StorageFormat

extension BorrowedValue {
    /// Writes the aggregate at `p` (whose kind is `kind`) under `key`. Returns false, having written
    /// nothing, when the writer's RDB version predates these encodings (the caller then writes it
    /// the ordinary way).
    public static func writeAggregate(_ p: UnsafePointer<RedisValue>, _ kind: BorrowedKind, _ layout: Layout,
                                      key: UnsafeRawBufferPointer, to w: RDBWriter,
                                      expiresAt: Int64?, idle: UInt64?, freq: UInt8?) throws -> Bool {
        guard w.options.version >= 10 else { return false }
        let object = object(p)
        switch kind {
        case .list:
            try Unmanaged<ListValue>.fromOpaque(object)._withUnsafeGuaranteedRef { l in
                w.beginQuicklistValue(key: key, expiresAt: expiresAt, idle: idle, freq: freq)
                let inPlace: Void? = l.items.withContiguousStorageIfAvailable { buf in
                    for i in 0 ..< buf.count { withBytes(buf.baseAddress! + i, layout) { w.appendQuicklistElement($0) } }
                }
                if inPlace == nil {
                    // The deque's ring wraps around: element by element.
                    for e in l.items { e.withUnsafeBytes { w.appendQuicklistElement($0) } }
                }
                try w.endQuicklistValue()
            }
        case .hash:
            try Unmanaged<HashValue>.fromOpaque(object)._withUnsafeGuaranteedRef { h in
                if let table = h.table {
                    try w.beginValue(.hash, key: key, count: table.count, expiresAt: expiresAt, idle: idle, freq: freq)
                    try table.forEachBorrowed { f, v, _ in
                        try withBytes(f, layout) { field in try withBytes(v, layout) { try w.appendHashField(field, value: $0) } }
                    }
                    try w.endValue()
                    return
                }
                w.beginListpackValue(RDBType.hashListpack, key: key, expiresAt: expiresAt, idle: idle, freq: freq)
                h.pairs.withUnsafeBufferPointer { buf in
                    guard let base = UnsafeRawPointer(buf.baseAddress) else { return }
                    let stride = MemoryLayout<(field: ByteString, value: ByteString)>.stride
                    let valueOffset = MemoryLayout<ByteString>.stride
                    for i in 0 ..< buf.count {
                        let pair = base + i * stride
                        withBytes(pair.assumingMemoryBound(to: ByteString.self), layout) { w.appendListpackEntry($0) }
                        withBytes((pair + valueOffset).assumingMemoryBound(to: ByteString.self), layout) { w.appendListpackEntry($0) }
                    }
                }
                try w.endListpackValue()
            }
        case .set:
            try Unmanaged<SetValue>.fromOpaque(object)._withUnsafeGuaranteedRef { s in
                if let table = s.table {
                    try w.beginValue(.set, key: key, count: table.count, expiresAt: expiresAt, idle: idle, freq: freq)
                    try table.forEachBorrowed { m, _, _ in try withBytes(m, layout) { try w.appendSetMember($0) } }
                    try w.endValue()
                    return
                }
                try s.intset.withUnsafeBufferPointer {
                    try w.writeIntsetValue(key: key, sortedMembers: $0, expiresAt: expiresAt, idle: idle, freq: freq)
                }
            }
        case .zset:
            try Unmanaged<ZSetValue>.fromOpaque(object)._withUnsafeGuaranteedRef { z in
                if let sl = z.skiplist {
                    // Highest score first, as Redis writes a skiplist (a loader then always inserts at the head).
                    try w.beginValue(.sortedSet, key: key, count: sl.length, expiresAt: expiresAt, idle: idle, freq: freq)
                    try sl.member.withUnsafeBufferPointer { members in
                        var x = sl.tail
                        while x != ZSkipList.nil32 && x != 0 {
                            try withBytes(members.baseAddress! + Int(x), layout) { try w.appendSortedSetMember($0, score: sl.score[Int(x)]) }
                            x = sl.backward[Int(x)]
                        }
                    }
                    try w.endValue()
                    return
                }
                w.beginListpackValue(RDBType.zsetListpack, key: key, expiresAt: expiresAt, idle: idle, freq: freq)
                z.listpack.withUnsafeBufferPointer { buf in
                    guard let base = UnsafeRawPointer(buf.baseAddress) else { return }
                    let stride = MemoryLayout<ZSetEntry>.stride
                    let memberOffset = MemoryLayout<ZSetEntry>.offset(of: \ZSetEntry.member)!
                    let scoreOffset = MemoryLayout<ZSetEntry>.offset(of: \ZSetEntry.score)!
                    for i in 0 ..< buf.count {
                        let e = base + i * stride
                        withBytes((e + memberOffset).assumingMemoryBound(to: ByteString.self), layout) { w.appendListpackEntry($0) }
                        w.appendListpackScore(e.load(fromByteOffset: scoreOffset, as: Double.self))
                    }
                }
                try w.endListpackValue()
            }
        case .int, .smallString, .largeString:
            return false
        }
        return true
    }
}
