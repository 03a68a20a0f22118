// ZSetValue: the zset type. STUB: the zset family replaces this with the real structure.
import StorageFormat

public final class ZSetValue {
    public init() {}
    /// Elements (pairs count once).
    public var count: Int { 0 }
    /// All members by ascending score (then member). STUB (h-strings, for SORT).
    public func membersInOrder() -> [ByteString] { [] }
    /// `OBJECT ENCODING` in Redis's words.
    public var encodingName: String { "listpack" }
    /// An independent copy.
    public func copy() -> ZSetValue { ZSetValue() }
    /// The value as StorageFormat's model (for DUMP and snapshots).
    public var rdbValue: RDBValue { fatalError("stub") }
    /// Builds the value from StorageFormat's model (RESTORE, loading), choosing encodings by `config`.
    public convenience init(rdb: RDBValue, config: EngineConfig) { self.init() }
}
