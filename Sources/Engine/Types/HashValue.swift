// HashValue: the hash type. STUB: the hash family replaces this with the real structure.
import StorageFormat

public final class HashValue {
    public init() {}
    /// Elements (pairs count once).
    public var count: Int { 0 }
    /// The value of `field`, if present. STUB (h-strings, for SORT ... BY/GET key->field).
    public func get(_ field: ByteString) -> ByteString? { nil }
    /// `OBJECT ENCODING` in Redis's words.
    public var encodingName: String { "listpack" }
    /// An independent copy.
    public func copy() -> HashValue { HashValue() }
    /// The value as StorageFormat's model (for DUMP and snapshots).
    public var rdbValue: RDBValue { fatalError("stub") }
    /// Builds the value from StorageFormat's model (RESTORE, loading), choosing encodings by `config`.
    public convenience init(rdb: RDBValue, config: EngineConfig) { self.init() }
}
