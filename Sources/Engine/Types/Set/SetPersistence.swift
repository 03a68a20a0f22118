// SetPersistence: what persistence and introspection need of a set (StoredType): its RDB model,
// building from the decoder, the in-place walk of its table or of its intset (written whole, as the
// intset blob Redis writes), its digest and size.
import StorageFormat

extension SetValue: StoredType {
    static var row: TypeTableRow { TypeTable.set }

    var redisValue: RedisValue { .set(self) }

    /// The value as StorageFormat's model (for DUMP and snapshots).
    public var rdbValue: RDBValue { .set(members().map { $0.bytes }) }

    /// Builds the value from StorageFormat's model (RESTORE, loading), choosing encodings by `config`.
    public convenience init(rdb: RDBValue, config: EngineConfig) {
        self.init()
        guard case .set(let items) = rdb else { return }
        if items.count > config.setMaxIntsetEntries { convertToHashtable() }
        for m in items { add(ByteString(m), config: config) }
    }

    static func restore(_ rdb: RDBValue, typeCode: UInt8?, config: EngineConfig) throws -> SetValue {
        guard case .set(let items) = rdb, !items.isEmpty else { throw ValueConversionError(.empty, "empty set") }
        let s = SetValue(rdb: rdb, config: config)
        guard s.count == items.count else { throw ValueConversionError(.duplicate, "duplicate set members") }
        return s
    }

    /// An intset is written as one, a hashtable member by member (never as a listpack: Redis 7.0 has none).
    func pinEncoding(_ options: inout RDBWriterOptions, config: EngineConfig) {
        options.setMaxIntsetEntries = isIntset ? Int.max : -1
        options.setMaxListpackEntries = -1
    }

    /// Xor each member.
    func digest(into d: inout SHA1Digest) {
        forEach { d.xorIn($0) }
    }

    var memoryEstimate: Int { count * 24 }

    var hashTableStats: (KeyTableBucketStats?, KeyTableBucketStats?)? {
        table.map { ($0.bucketStats(table: 0), $0.bucketStats(table: 1)) }
    }

    /// The table's members, or the intset whole.
    static func visitInPlace<V: BorrowedAggregateVisitor>(_ object: UnsafeRawPointer, _ layout: BorrowedValue.Layout,
                                                          _ v: inout V) throws -> Bool {
        try Unmanaged<SetValue>.fromOpaque(object)._withUnsafeGuaranteedRef { s in
            let tableAt = withUnsafeMutablePointer(to: &s.table) { UnsafeRawPointer($0) }
            if try BorrowedValue.visitTable(tableAt, of: Void.self, .setTable, &v, { (v: inout V, m, _) in
                try BorrowedValue.withBytes(m, layout) { try v.element($0) }
            }) { return }
            let ints = BorrowedValue.arrayInPlace(withUnsafeMutablePointer(to: &s.intset) { UnsafeRawPointer($0) }, layout)
            try v.intset(UnsafeBufferPointer(start: ints.elements.assumingMemoryBound(to: Int64.self), count: ints.count))
        }
        return true
    }

    /// Adds the decoder's members one by one (a set announced larger than set-max-intset-entries starts
    /// as a hashtable).
    struct Builder: StoredTypeBuilder {
        var set: SetValue? = nil
        var config = EngineConfig()
        mutating func begin(_ header: RDBKeyHeader, config: EngineConfig) throws {
            self.config = config
            let s = SetValue()
            if header.count ?? 0 > config.setMaxIntsetEntries { s.convertToHashtable() }
            set = s
        }
        mutating func member(_ bytes: UnsafeRawBufferPointer) throws {
            guard set!.add(ByteString(bytes), config: config) else {
                throw ValueConversionError(.duplicate, "duplicate set members")
            }
        }
        mutating func end() throws -> RedisValue {
            defer { set = nil }
            return .set(set!)
        }
    }
}
