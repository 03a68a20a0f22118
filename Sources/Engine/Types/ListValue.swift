// ListValue: the list type. STUB: the list family replaces this with the real structure.
import StorageFormat

public final class ListValue {
    // STUB storage (h-strings, for SORT): the real type replaces this file.
    var items: [ByteString] = []
    public init() {}
    /// A list holding `elements` in order (SORT ... STORE).
    public convenience init(elements: [ByteString], config: EngineConfig) {
        self.init()
        items = elements
    }
    /// All elements, head to tail.
    public func elements() -> [ByteString] { items }
    /// Elements (pairs count once).
    public var count: Int { items.count }
    /// `OBJECT ENCODING` in Redis's words.
    public var encodingName: String { "listpack" }
    /// An independent copy.
    public func copy() -> ListValue { ListValue(elements: items, config: EngineConfig()) }
    /// The value as StorageFormat's model (for DUMP and snapshots).
    public var rdbValue: RDBValue { fatalError("stub") }
    /// Builds the value from StorageFormat's model (RESTORE, loading), choosing encodings by `config`.
    public convenience init(rdb: RDBValue, config: EngineConfig) { self.init() }
}
