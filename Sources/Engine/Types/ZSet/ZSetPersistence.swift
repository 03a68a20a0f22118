// ZSetPersistence: what persistence and introspection need of a sorted set (StoredType): its RDB
// model, building from the decoder (a zset stored as a listpack or ziplist stays a listpack while its
// entry count allows, whatever its members' length, as in Redis 7.0), the in-place walk of its
// listpack array or skiplist (from the tail: highest score first, as Redis writes a skiplist), its
// digest and size.
import StorageFormat

extension ZSetValue: StoredType {
    static var row: TypeTableRow { TypeTable.zset }

    var redisValue: RedisValue { .zset(self) }

    /// The value as StorageFormat's model (for DUMP and snapshots), in zset order.
    public var rdbValue: RDBValue {
        var out: [RDBScoredMember] = []
        out.reserveCapacity(count)
        forEach(fromRank: 0, count: count, reverse: false) { m, s in out.append(RDBScoredMember(member: m.bytes, score: s)) }
        return .sortedSet(out)
    }

    /// Builds the value from StorageFormat's model (RESTORE, loading), choosing encodings by `config`.
    public convenience init(rdb: RDBValue, config: EngineConfig) {
        guard case .sortedSet(let items) = rdb else { self.init(); return }
        var seen = Set<[UInt8]>()
        var entries: [ZSetEntry] = []
        entries.reserveCapacity(items.count)
        for it in items.reversed() where seen.insert(it.member).inserted {
            entries.append(ZSetEntry(member: ByteString(it.member), score: it.score.isNaN ? 0 : it.score))
        }
        self.init(entries: entries, config: config)
    }

    static func restore(_ rdb: RDBValue, typeCode: UInt8?, config: EngineConfig) throws -> ZSetValue {
        guard case .sortedSet(let items) = rdb, !items.isEmpty else { throw ValueConversionError(.empty, "empty sorted set") }
        guard !items.contains(where: { $0.score.isNaN }) else {
            throw ValueConversionError(.invalidScore, "sorted set with a NaN score")
        }
        var config = config
        if typeCode == RDBType.zsetListpack || typeCode == RDBType.zsetZiplist { config.zsetMaxListpackValue = Int.max }
        let z = ZSetValue(rdb: rdb, config: config)
        guard z.count == items.count else { throw ValueConversionError(.duplicate, "duplicate sorted set members") }
        return z
    }

    /// A zset that became a skiplist is written as one even when it has shrunk.
    func pinEncoding(_ options: inout RDBWriterOptions, config: EngineConfig) {
        options.zsetMaxListpackEntries = isListpack ? Int.max : -1
        options.zsetMaxListpackValue = Int.max
    }

    /// Per member, e = mix(mix(0, member), "%.17g" score); then xor(d, e).
    func digest(into d: inout SHA1Digest) {
        forEach(fromRank: 0, count: count, reverse: false) { m, score in
            var e = SHA1Digest.zero
            e.mixIn(m)
            e.mixIn(formatDouble17g(score))
            d.xorIn(digest: e)
        }
    }

    var memoryEstimate: Int { count * 56 }

    var hashTableStats: (KeyTableBucketStats?, KeyTableBucketStats?)? {
        dict.map { ($0.bucketStats(table: 0), $0.bucketStats(table: 1)) }
    }

    /// The skiplist from its tail, or the listpack array in order, by address.
    static func visitInPlace<V: BorrowedAggregateVisitor>(_ object: UnsafeRawPointer, _ layout: BorrowedValue.Layout,
                                                          _ v: inout V) throws -> Bool {
        try Unmanaged<ZSetValue>.fromOpaque(object)._withUnsafeGuaranteedRef { z in
            // The member → score table exists exactly when the zset is a skiplist.
            if BorrowedValue.referent(withUnsafeMutablePointer(to: &z.dict) { UnsafeRawPointer($0) }) != nil {
                // The skiplist's arrays, by address inside the optional (its payload is at offset 0),
                // walked from the tail: highest score first, as Redis writes a skiplist.
                let sl = withUnsafeMutablePointer(to: &z.skiplist) { UnsafeRawPointer($0) }
                let members = BorrowedValue.arrayInPlace(sl + MemoryLayout<ZSkipList>.offset(of: \ZSkipList.member)!, layout)
                let scores = BorrowedValue.arrayInPlace(sl + MemoryLayout<ZSkipList>.offset(of: \ZSkipList.score)!, layout)
                let backward = BorrowedValue.arrayInPlace(sl + MemoryLayout<ZSkipList>.offset(of: \ZSkipList.backward)!, layout)
                let length = sl.load(fromByteOffset: MemoryLayout<ZSkipList>.offset(of: \ZSkipList.length)!, as: Int.self)
                var x = Int(sl.load(fromByteOffset: MemoryLayout<ZSkipList>.offset(of: \ZSkipList.tail)!, as: Int32.self))
                try v.begin(.zsetSkiplist, count: length)
                let stride = MemoryLayout<ByteString>.stride
                while x > 0 && x < members.count {
                    let score = scores.elements.load(fromByteOffset: x * 8, as: Double.self)
                    try BorrowedValue.withBytes((members.elements + x * stride).assumingMemoryBound(to: ByteString.self), layout) {
                        try v.scored($0, score)
                    }
                    x = Int(backward.elements.load(fromByteOffset: x * 4, as: Int32.self))
                }
                try v.end()
                return
            }
            let entries = BorrowedValue.arrayInPlace(withUnsafeMutablePointer(to: &z.listpack) { UnsafeRawPointer($0) }, layout)
            let stride = MemoryLayout<ZSetEntry>.stride
            let memberOffset = MemoryLayout<ZSetEntry>.offset(of: \ZSetEntry.member)!
            let scoreOffset = MemoryLayout<ZSetEntry>.offset(of: \ZSetEntry.score)!
            try v.begin(.zsetListpack, count: entries.count)
            for i in 0 ..< entries.count {
                let e = entries.elements + i * stride
                let score = e.load(fromByteOffset: scoreOffset, as: Double.self)
                try BorrowedValue.withBytes((e + memberOffset).assumingMemoryBound(to: ByteString.self), layout) { try v.scored($0, score) }
            }
            try v.end()
        }
        return true
    }

    /// Collects the decoder's member-score pairs, then picks the encoding.
    struct Builder: StoredTypeBuilder {
        var entries: [ZSetEntry] = []
        var config = EngineConfig()
        var count = 0
        mutating func begin(_ header: RDBKeyHeader, config: EngineConfig) throws {
            count = header.count ?? 0
            let packed = header.typeCode == RDBType.zsetListpack || header.typeCode == RDBType.zsetZiplist
            self.config = config
            if packed { self.config.zsetMaxListpackValue = Int.max }
            entries = []
            entries.reserveCapacity(count)
        }
        mutating func member(_ member: UnsafeRawBufferPointer, score: Double) {
            entries.append(ZSetEntry(member: ByteString(member), score: score))
        }
        mutating func end() throws -> RedisValue {
            let z = ZSetValue(entries: entries, config: config)
            entries = []
            guard z.count == count || count == 0 else { throw ValueConversionError(.duplicate, "duplicate sorted set members") }
            return .zset(z)
        }
    }
}
