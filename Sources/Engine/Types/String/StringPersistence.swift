// StringPersistence: what persistence and introspection need of a string (StoredType). A string is
// not an aggregate: the snapshot and AOF-rewrite children write it in place through writeInPlace and
// rewriteInPlace below (its bytes read by BorrowedValue, nothing retained), not through visitInPlace.
import StorageFormat

extension StringValue {
    /// The snapshot child's write of the string at `p` (of `kind` .int, .smallString or .largeString)
    /// under `key`: read in place, no reference counting.
    @inline(__always)
    public static func writeInPlace(_ p: UnsafePointer<RedisValue>, _ kind: BorrowedKind, _ layout: BorrowedValue.Layout,
                                    key: UnsafeRawBufferPointer, to w: RDBWriter,
                                    expiresAt: Int64?, idle: UInt64?, freq: UInt8?) throws {
        if kind == .int {
            return try w.writeIntegerEntry(key: key, value: BorrowedValue.integer(p), expiresAt: expiresAt, idle: idle, freq: freq)
        }
        try BorrowedValue.withStringBytes(p, kind, layout) {
            try w.writeStringEntry(key: key, value: $0, expiresAt: expiresAt, idle: idle, freq: freq)
        }
    }

    /// The AOF-rewrite child's command for the string at `p`: SET key value, appended to `out`.
    @inline(__always)
    public static func rewriteInPlace(_ p: UnsafePointer<RedisValue>, _ kind: BorrowedKind, _ layout: BorrowedValue.Layout,
                                      key: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        AOFCommands.appendCommandHead("SET", key: key, argc: 3, to: &out)
        if kind == .int {
            var digits: [UInt8] = []
            RESPEncoder.appendDecimal(Int(BorrowedValue.integer(p)), to: &digits)
            digits.withUnsafeBytes { AOFCommands.appendBulk($0, to: &out) }
        } else {
            BorrowedValue.withStringBytes(p, kind, layout) { AOFCommands.appendBulk($0, to: &out) }
        }
    }
}

extension StringValue: StoredType {
    static var row: TypeTableRow { TypeTable.string }

    var redisValue: RedisValue { .string(self) }

    /// A string is a value type: the copy is the value.
    func copy() -> StringValue { self }

    var rdbValue: RDBValue { .string(byteString.bytes) }

    static func restore(_ rdb: RDBValue, typeCode: UInt8?, config: EngineConfig) throws -> StringValue {
        guard case .string(let b) = rdb else { throw ValueConversionError(.unsupportedType, "not a string") }
        return StringValue(b)
    }

    func pinEncoding(_ options: inout RDBWriterOptions, config: EngineConfig) {}

    /// Mix the bytes (an integer as its decimal text).
    func digest(into d: inout SHA1Digest) {
        switch self {
        case .int(let v): d.mixIn(StrictInteger.format(v))
        case .bytes(let b), .raw(let b): d.mixIn(b)
        }
    }

    /// Short strings live inside the value; longer ones in a buffer with a header.
    var memoryEstimate: Int { count <= 8 ? 0 : count + 8 }

    static func visitInPlace<V: BorrowedAggregateVisitor>(_ object: UnsafeRawPointer, _ layout: BorrowedValue.Layout,
                                                          _ v: inout V) throws -> Bool { false }

    /// Builds a string from the decoder's one `string` call.
    struct Builder: StoredTypeBuilder {
        var value = StringValue.int(0)
        mutating func begin(_ header: RDBKeyHeader, config: EngineConfig) throws {}
        mutating func string(_ bytes: UnsafeRawBufferPointer) { value = StringValue(ByteString(bytes)) }
        mutating func end() throws -> RedisValue { .string(value) }
    }
}
