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
            guard let deque = layout.deque else { return false }
            try Unmanaged<ListValue>.fromOpaque(object)._withUnsafeGuaranteedRef { l in
                w.beginQuicklistValue(key: key, expiresAt: expiresAt, idle: idle, freq: freq)
                let items = withUnsafeMutablePointer(to: &l.items) { UnsafeRawPointer($0) }
                dequeForEach(items, deque) { e in withBytes(e, layout) { w.appendQuicklistElement($0) } }
                try w.endQuicklistValue()
            }
        case .hash:
            try Unmanaged<HashValue>.fromOpaque(object)._withUnsafeGuaranteedRef { h in
                // Fields reached by address: loading them would retain their buffers (and write
                // the pages they sit on).
                let tableAt = withUnsafeMutablePointer(to: &h.table) { UnsafeRawPointer($0) }
                if tableAt.load(as: UInt.self) != 0 {
                    try w.beginValue(.hash, key: key, count: KeyTable<ByteString>.countInPlace(tableAt),
                                     expiresAt: expiresAt, idle: idle, freq: freq)
                    try KeyTable<ByteString>.forEachInPlace(tableAt) { f, v, _ in
                        try withBytes(f, layout) { field in try withBytes(v, layout) { try w.appendHashField(field, value: $0) } }
                    }
                    try w.endValue()
                    return
                }
                w.beginListpackValue(RDBType.hashListpack, key: key, expiresAt: expiresAt, idle: idle, freq: freq)
                let pairs = arrayInPlace(withUnsafeMutablePointer(to: &h.pairs) { UnsafeRawPointer($0) }, layout)
                let stride = MemoryLayout<(field: ByteString, value: ByteString)>.stride
                let valueOffset = MemoryLayout<ByteString>.stride
                for i in 0 ..< pairs.count {
                    let pair = pairs.elements + i * stride
                    withBytes(pair.assumingMemoryBound(to: ByteString.self), layout) { w.appendListpackEntry($0) }
                    withBytes((pair + valueOffset).assumingMemoryBound(to: ByteString.self), layout) { w.appendListpackEntry($0) }
                }
                try w.endListpackValue()
            }
        case .set:
            try Unmanaged<SetValue>.fromOpaque(object)._withUnsafeGuaranteedRef { s in
                let tableAt = withUnsafeMutablePointer(to: &s.table) { UnsafeRawPointer($0) }
                if tableAt.load(as: UInt.self) != 0 {
                    try w.beginValue(.set, key: key, count: KeyTable<Void>.countInPlace(tableAt), expiresAt: expiresAt, idle: idle, freq: freq)
                    try KeyTable<Void>.forEachInPlace(tableAt) { m, _, _ in try withBytes(m, layout) { try w.appendSetMember($0) } }
                    try w.endValue()
                    return
                }
                let ints = arrayInPlace(withUnsafeMutablePointer(to: &s.intset) { UnsafeRawPointer($0) }, layout)
                try w.writeIntsetValue(key: key, sortedMembers: UnsafeBufferPointer(start: ints.elements.assumingMemoryBound(to: Int64.self), count: ints.count),
                                       expiresAt: expiresAt, idle: idle, freq: freq)
            }
        case .zset:
            try Unmanaged<ZSetValue>.fromOpaque(object)._withUnsafeGuaranteedRef { z in
                // The member → score table exists exactly when the zset is a skiplist.
                let dictAt = withUnsafeMutablePointer(to: &z.dict) { UnsafeRawPointer($0) }
                if dictAt.load(as: UInt.self) != 0 {
                    // Highest score first, as Redis writes a skiplist (a loader then always inserts at the head).
                    // The skiplist's arrays, by address inside the optional (its payload is at offset 0).
                    let sl = withUnsafeMutablePointer(to: &z.skiplist) { UnsafeRawPointer($0) }
                    let members = arrayInPlace(sl + MemoryLayout<ZSkipList>.offset(of: \ZSkipList.member)!, layout)
                    let scores = arrayInPlace(sl + MemoryLayout<ZSkipList>.offset(of: \ZSkipList.score)!, layout)
                    let backward = arrayInPlace(sl + MemoryLayout<ZSkipList>.offset(of: \ZSkipList.backward)!, layout)
                    let length = sl.load(fromByteOffset: MemoryLayout<ZSkipList>.offset(of: \ZSkipList.length)!, as: Int.self)
                    var x = Int(sl.load(fromByteOffset: MemoryLayout<ZSkipList>.offset(of: \ZSkipList.tail)!, as: Int32.self))
                    try w.beginValue(.sortedSet, key: key, count: length, expiresAt: expiresAt, idle: idle, freq: freq)
                    let stride = MemoryLayout<ByteString>.stride
                    while x > 0 && x < members.count {
                        let score = scores.elements.load(fromByteOffset: x * 8, as: Double.self)
                        try withBytes((members.elements + x * stride).assumingMemoryBound(to: ByteString.self), layout) {
                            try w.appendSortedSetMember($0, score: score)
                        }
                        x = Int(backward.elements.load(fromByteOffset: x * 4, as: Int32.self))
                    }
                    try w.endValue()
                    return
                }
                w.beginListpackValue(RDBType.zsetListpack, key: key, expiresAt: expiresAt, idle: idle, freq: freq)
                let entries = arrayInPlace(withUnsafeMutablePointer(to: &z.listpack) { UnsafeRawPointer($0) }, layout)
                let stride = MemoryLayout<ZSetEntry>.stride
                let memberOffset = MemoryLayout<ZSetEntry>.offset(of: \ZSetEntry.member)!
                let scoreOffset = MemoryLayout<ZSetEntry>.offset(of: \ZSetEntry.score)!
                for i in 0 ..< entries.count {
                    let e = entries.elements + i * stride
                    withBytes((e + memberOffset).assumingMemoryBound(to: ByteString.self), layout) { w.appendListpackEntry($0) }
                    w.appendListpackScore(e.load(fromByteOffset: scoreOffset, as: Double.self))
                }
                try w.endListpackValue()
            }
        case .int, .smallString, .largeString:
            return false
        }
        return true
    }
}
