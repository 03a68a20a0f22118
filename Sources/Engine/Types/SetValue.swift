// SetValue: the set type. STUB: the set family replaces this with the real structure.
import StorageFormat

public final class SetValue {
    public init() {}
    /// Elements (pairs count once).
    public var count: Int { 0 }
    /// All members (iteration order). STUB (h-strings, for SORT).
    public func members() -> [ByteString] { [] }
    /// `OBJECT ENCODING` in Redis's words.
    public var encodingName: String { "listpack" }
    /// An independent copy.
    public func copy() -> SetValue { SetValue() }
    /// The value as StorageFormat's model (for DUMP and snapshots).
    public var rdbValue: RDBValue { fatalError("stub") }
    /// Builds the value from StorageFormat's model (RESTORE, loading), choosing encodings by `config`.
    public convenience init(rdb: RDBValue, config: EngineConfig) { self.init() }
}
