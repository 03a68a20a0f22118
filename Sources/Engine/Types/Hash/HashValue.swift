// HashValue: the hash type. Two encodings, as Redis 7.0 has them:
//   listpack  — a small array of (field, value) pairs in insertion order, scanned linearly; used while
//               count <= hash-max-listpack-entries and every field and value is at most
//               hash-max-listpack-value bytes;
//   hashtable — a KeyTable (Redis's SCAN cursor), once either limit is crossed. One-way: a hash never
//               converts back, as in Redis.
import StorageFormat

public final class HashValue {
    /// listpack encoding: pairs in insertion order (nil once converted).
    var pairs: [(field: ByteString, value: ByteString)]
    /// hashtable encoding (nil while listpack).
    var table: KeyTable<ByteString>?

    public init() { pairs = [] }

    /// Fields. O(1).
    public var count: Int { table?.count ?? pairs.count }
    /// `OBJECT ENCODING` in Redis's words.
    public var encodingName: String { table == nil ? "listpack" : "hashtable" }
    public var isListpack: Bool { table == nil }

    /// An independent copy, same encoding.
    public func copy() -> HashValue {
        let h = HashValue()
        h.pairs = pairs
        h.table = table
        return h
    }

    // MARK: - Reading

    @inline(__always) func indexOf(_ field: ByteString) -> Int? {
        pairs.firstIndex { $0.field == field }
    }

    /// The value of `field`, or nil.
    public func get(_ field: ByteString) -> ByteString? {
        if let t = table { return t[field] }
        if let i = indexOf(field) { return pairs[i].value }
        return nil
    }

    public func contains(_ field: ByteString) -> Bool { get(field) != nil }

    /// Every field and value (listpack: insertion order; hashtable: table order).
    public func forEach(_ body: (ByteString, ByteString) -> Void) {
        if let t = table { t.forEach { body($0, $1) } } else { for p in pairs { body(p.field, p.value) } }
    }

    /// A random field and value, or nil when empty.
    func randomPair() -> (field: ByteString, value: ByteString)? {
        if let t = table { return t.randomElement().map { ($0.key, $0.value) } }
        var g = EngineRandom()
        return pairs.randomElement(using: &g)
    }

    // MARK: - Writing

    /// Converts to the hashtable encoding (one-way).
    func convertToTable() {
        guard table == nil else { return }
        var t = KeyTable<ByteString>()
        for p in pairs { t[p.field] = p.value }
        table = t
        pairs = []
    }

    /// Sets `field` to `value`; returns true when the field is new. Converts when the entry count
    /// goes past hash-max-listpack-entries, or (as HINCRBY* need) when the field or value is too long.
    @discardableResult
    func set(_ field: ByteString, _ value: ByteString, config: EngineConfig) -> Bool {
        if table == nil && (field.count > config.hashMaxListpackValue || value.count > config.hashMaxListpackValue) {
            convertToTable()
        }
        if table != nil {
            return table!.updateValue(value, forKey: field)
        }
        if let i = indexOf(field) {
            pairs[i].value = value
            return false
        }
        pairs.append((field, value))
        if pairs.count > config.hashMaxListpackEntries { convertToTable() }
        return true
    }

    /// Removes `field`; returns whether it was there.
    @discardableResult
    func remove(_ field: ByteString) -> Bool {
        if table != nil { return table!.removeValue(forKey: field) != nil }
        guard let i = indexOf(field) else { return false }
        pairs.remove(at: i)
        return true
    }
}

extension KeyTable where Value == ByteString {
    /// Sets `key`; returns true when it was new.
    mutating func updateValue(_ value: ByteString, forKey key: ByteString) -> Bool {
        if modify(key, { $0 = value }) { return false }
        self[key] = value
        return true
    }
}
