// StringPersistence: what persistence and introspection need of a string (StoredType). Strings are
// written and rewritten in place by the snapshot and AOF-rewrite children themselves (BorrowedValue's
// withStringBytes, RDBWriter.writeStringEntry/writeIntegerEntry), so there is no aggregate walk here.
import StorageFormat

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
