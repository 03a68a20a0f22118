// ValueLoading: builds engine values straight from RDBDecoder's element calls (loading at start-up,
// DEBUG RELOAD, RESTORE), with no RDBValue or element arrays in between. Each type's Builder (in its
// <Type>Persistence.swift) chooses the encoding Redis 7.0 chooses after loading the same data; the
// type table (TypeTable.swift) picks the builder from the RDB type code in beginValue/endValue.
// The decoder has already refused duplicates, NaN scores and malformed blobs, and never begins an
// empty aggregate; what is left to refuse here is what the engine cannot hold.
import StorageFormat

/// An RDBElementVisitor that builds one RedisValue per key (reuse it for every key of a file).
public final class EngineValueBuilder: RDBElementVisitor {
    let config: EngineConfig
    /// The value built by the last beginValue … endValue.
    public internal(set) var value: RedisValue?

    /// The type of the value being built, and each type's builder.
    var building = StoredTypeID.string
    var stringBuilder = StringValue.Builder()
    var listBuilder = ListValue.Builder()
    var setBuilder = SetValue.Builder()
    var zsetBuilder = ZSetValue.Builder()
    var hashBuilder = HashValue.Builder()
    var streamBuilder = StreamValue.Builder()

    public init(config: EngineConfig) {
        self.config = config
    }

    /// The value built, handed over (the builder keeps no reference to it).
    public func takeValue() -> RedisValue? {
        defer { value = nil }
        return value
    }

    public func string(_ value: UnsafeRawBufferPointer) throws {
        stringBuilder.string(value)
    }

    public func listElement(_ element: UnsafeRawBufferPointer) throws {
        listBuilder.element(element)
    }

    public func setMember(_ member: UnsafeRawBufferPointer) throws {
        try setBuilder.member(member)
    }

    public func sortedSetMember(_ member: UnsafeRawBufferPointer, score: Double) throws {
        zsetBuilder.member(member, score: score)
    }

    public func streamNode(_ node: RDBStreamNode) throws {
        try streamBuilder.node(node)
    }

    public func streamEnd(_ stream: RDBStream) throws {
        try streamBuilder.streamEnd(stream)
    }

    public func hashField(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
        try hashBuilder.field(field, value: value, expiresAt: expiresAt)
    }
}
