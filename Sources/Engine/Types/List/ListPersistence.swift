// ListPersistence: what persistence and introspection need of a list (StoredType): its RDB model,
// building from the decoder, the in-place walk of its deque as a quicklist, its digest and size.
import DequeModule
import StorageFormat

extension ListValue: StoredType {
    static var row: TypeTableRow { TypeTable.list }

    var redisValue: RedisValue { .list(self) }

    /// The value as StorageFormat's model (for DUMP and snapshots).
    public var rdbValue: RDBValue { .list(items.map { $0.bytes }) }

    /// Builds the value from StorageFormat's model (RESTORE, loading). Non-list models give an empty list.
    public convenience init(rdb: RDBValue, config: EngineConfig) {
        self.init()
        if case .list(let elems) = rdb {
            items.reserveCapacity(elems.count)
            for e in elems { items.append(ByteString(e)) }
        }
    }

    static func restore(_ rdb: RDBValue, typeCode: UInt8?, config: EngineConfig) throws -> ListValue {
        guard case .list(let items) = rdb, !items.isEmpty else { throw ValueConversionError(.empty, "empty list") }
        return ListValue(rdb: rdb, config: config)
    }

    /// List nodes follow list-max-listpack-size.
    func pinEncoding(_ options: inout RDBWriterOptions, config: EngineConfig) {
        options.listMaxListpackSize = config.listMaxListpackSize
    }

    /// Mix each element, head first.
    func digest(into d: inout SHA1Digest) {
        for e in items { d.mixIn(e) }
    }

    var memoryEstimate: Int { count * 24 }

    /// The deque's elements, head first, as one quicklist.
    static func visitInPlace<V: BorrowedAggregateVisitor>(_ object: UnsafeRawPointer, _ layout: BorrowedValue.Layout,
                                                          _ v: inout V) throws -> Bool {
        guard let deque = layout.deque else { return false }
        try Unmanaged<ListValue>.fromOpaque(object)._withUnsafeGuaranteedRef { l in
            let items = withUnsafeMutablePointer(to: &l.items) { UnsafeRawPointer($0) }
            try v.begin(.quicklist, count: BorrowedValue.dequeCount(items, deque))
            try BorrowedValue.dequeForEach(items, deque) { e in try BorrowedValue.withBytes(e, layout) { try v.element($0) } }
            try v.end()
        }
        return true
    }

    /// Collects the decoder's list elements into a deque.
    struct Builder: StoredTypeBuilder {
        var items = Deque<ByteString>()
        mutating func begin(_ header: RDBKeyHeader, config: EngineConfig) throws {
            items = Deque()
            items.reserveCapacity(header.count ?? 0)
        }
        mutating func element(_ bytes: UnsafeRawBufferPointer) { items.append(ByteString(bytes)) }
        mutating func end() throws -> RedisValue {
            defer { items = Deque() }
            return .list(ListValue(items: items))
        }
    }
}
