// KeyTable: the keyspace's hash table. ByteString keys to values, with Redis's guarantees:
// incremental rehashing (no long pause when a big table grows), and a reverse-binary SCAN cursor
// (every element present for the whole scan is returned at least once, across resizes).
// STUB: a Dictionary-backed placeholder with the final API; the real table replaces it.

public struct KeyTable<Value> {
    var dict: [ByteString: Value] = [:]

    public init() {}

    /// Number of keys. O(1).
    public var count: Int { dict.count }
    public var isEmpty: Bool { dict.isEmpty }

    /// The value of `key`. Average O(1).
    public subscript(key: ByteString) -> Value? {
        get { dict[key] }
        set { dict[key] = newValue }
    }

    /// Applies `body` to the value of `key` in place, if present; returns whether it was.
    @discardableResult
    public mutating func modify(_ key: ByteString, _ body: (inout Value) -> Void) -> Bool {
        guard dict[key] != nil else { return false }
        body(&dict[key]!)
        return true
    }

    @discardableResult
    public mutating func removeValue(forKey key: ByteString) -> Value? { dict.removeValue(forKey: key) }

    public mutating func removeAll() { dict.removeAll() }

    /// One step of SCAN: visits the keys of the bucket(s) at `cursor` and returns the next cursor (0 = done).
    public func scan(cursor: UInt64, count: Int = 10, _ visit: (ByteString, Value) -> Void) -> UInt64 {
        let keys = dict.keys.sorted()
        var i = Int(cursor)
        var n = 0
        while i < keys.count && n < max(1, count) {
            visit(keys[i], dict[keys[i]]!)
            i += 1
            n += 1
        }
        return i >= keys.count ? 0 : UInt64(i)
    }

    /// A random key and its value, or nil when empty.
    public func randomElement() -> (key: ByteString, value: Value)? {
        dict.randomElement().map { ($0.key, $0.value) }
    }

    /// Every key and value (order unspecified).
    public func forEach(_ body: (ByteString, Value) throws -> Void) rethrows {
        for (k, v) in dict { try body(k, v) }
    }

    /// Does a bounded amount of incremental rehashing work; returns true if more remains.
    @discardableResult
    public mutating func rehashStep(buckets: Int = 100) -> Bool { false }
}
