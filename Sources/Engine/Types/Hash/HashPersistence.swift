// HashPersistence: what persistence and introspection need of a hash (StoredType): its RDB model,
// building from the decoder (a hash stored as a listpack or ziplist stays a listpack while its entry
// count allows, whatever its elements' length, as in Redis 7.0), the in-place walk of its pairs or
// table, its digest and size.
import StorageFormat

extension HashValue: StoredType {
    static var row: TypeTableRow { TypeTable.hash }

    var redisValue: RedisValue { .hash(self) }

    /// The value as StorageFormat's model (for DUMP and snapshots), in iteration order.
    public var rdbValue: RDBValue {
        var out: [RDBHashField] = []
        out.reserveCapacity(count)
        forEach { f, v in out.append(RDBHashField(field: f.bytes, value: v.bytes)) }
        return .hash(out)
    }

    /// Builds the value from StorageFormat's model (RESTORE, loading), choosing the encoding by `config`.
    public convenience init(rdb: RDBValue, config: EngineConfig) {
        self.init()
        guard case .hash(let fields) = rdb else { return }
        let small = fields.count <= config.hashMaxListpackEntries && fields.allSatisfy {
            $0.field.count <= config.hashMaxListpackValue && $0.value.count <= config.hashMaxListpackValue
        }
        if small {
            pairs.reserveCapacity(fields.count)
            for f in fields {
                let k = ByteString(f.field)
                if let i = indexOf(k) { pairs[i].value = ByteString(f.value) } else { pairs.append((k, ByteString(f.value))) }
            }
        } else {
            var t = KeyTable<ByteString>()
            for f in fields { t[ByteString(f.field)] = ByteString(f.value) }
            table = t
        }
    }

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

    static func restore(_ rdb: RDBValue, typeCode: UInt8?, config: EngineConfig) throws -> HashValue {
        guard case .hash(let fields) = rdb, !fields.isEmpty else { throw ValueConversionError(.empty, "empty hash") }
        guard !fields.contains(where: { $0.expiresAt != 0 }) else {
            throw ValueConversionError(.unsupportedFeature, "hash field expiry (Redis 7.4+) is not supported")
        }
        var config = config
        if typeCode == RDBType.hashListpack || typeCode == RDBType.hashZiplist { config.hashMaxListpackValue = Int.max }
        let h = HashValue(rdb: rdb, config: config)
        guard h.count == fields.count else { throw ValueConversionError(.duplicate, "duplicate hash fields") }
        return h
    }

    /// A hash that became a hashtable is written as one even when it has shrunk.
    func pinEncoding(_ options: inout RDBWriterOptions, config: EngineConfig) {
        options.hashMaxListpackEntries = isListpack ? Int.max : -1
        options.hashMaxListpackValue = Int.max
    }

    /// Per field, e = mix(mix(0, field), value); then xor(d, e).
    func digest(into d: inout SHA1Digest) {
        forEach { f, v in
            var e = SHA1Digest.zero
            e.mixIn(f)
            e.mixIn(v)
            d.xorIn(digest: e)
        }
    }

    var memoryEstimate: Int { count * 48 }

    var hashTableStats: (KeyTableBucketStats?, KeyTableBucketStats?)? {
        table.map { ($0.bucketStats(table: 0), $0.bucketStats(table: 1)) }
    }

    /// The table, or the listpack pairs in order, by address.
    static func visitInPlace<V: BorrowedAggregateVisitor>(_ object: UnsafeRawPointer, _ layout: BorrowedValue.Layout,
                                                          _ v: inout V) throws -> Bool {
        try Unmanaged<HashValue>.fromOpaque(object)._withUnsafeGuaranteedRef { h in
            let tableAt = withUnsafeMutablePointer(to: &h.table) { UnsafeRawPointer($0) }
            if try BorrowedValue.visitTable(tableAt, of: ByteString.self, .hashTable, &v, { (v: inout V, f, value) in
                try BorrowedValue.withBytes(f, layout) { field in try BorrowedValue.withBytes(value, layout) { try v.field(field, $0) } }
            }) { return }
            let pairs = BorrowedValue.arrayInPlace(withUnsafeMutablePointer(to: &h.pairs) { UnsafeRawPointer($0) }, layout)
            let stride = MemoryLayout<(field: ByteString, value: ByteString)>.stride
            let valueOffset = MemoryLayout<ByteString>.stride
            try v.begin(.hashListpack, count: pairs.count)
            for i in 0 ..< pairs.count {
                let pair = pairs.elements + i * stride
                try BorrowedValue.withBytes(pair.assumingMemoryBound(to: ByteString.self), layout) { field in
                    try BorrowedValue.withBytes((pair + valueOffset).assumingMemoryBound(to: ByteString.self), layout) { try v.field(field, $0) }
                }
            }
            try v.end()
        }
        return true
    }

    /// Collects the decoder's field-value pairs, then picks the encoding.
    struct Builder: StoredTypeBuilder {
        var pairs: [(field: ByteString, value: ByteString)] = []
        var config = EngineConfig()
        var count = 0
        mutating func begin(_ header: RDBKeyHeader, config: EngineConfig) throws {
            count = header.count ?? 0
            let packed = header.typeCode == RDBType.hashListpack || header.typeCode == RDBType.hashZiplist
            self.config = config
            if packed { self.config.hashMaxListpackValue = Int.max }
            pairs = []
            pairs.reserveCapacity(count)
        }
        mutating func field(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
            guard expiresAt == 0 else {
                throw ValueConversionError(.unsupportedFeature, "hash field expiry (Redis 7.4+) is not supported")
            }
            pairs.append((ByteString(field), ByteString(value)))
        }
        mutating func end() throws -> RedisValue {
            let h = HashValue(pairs: pairs, config: config)
            pairs = []
            guard h.count == count || count == 0 else { throw ValueConversionError(.duplicate, "duplicate hash fields") }
            return .hash(h)
        }
    }
}
