// SetValue: the set type, in Redis 7.0's two encodings. "intset" while every member is a canonical
// integer and there are at most set-max-intset-entries of them: a sorted [Int64], 8 bytes a member.
// Otherwise "hashtable": the engine's KeyTable with no values, which gives SSCAN Redis's
// reverse-binary cursor and SPOP/SRANDMEMBER a cheap random member. A set that became a hashtable
// stays one (Redis 7.0 never converts back; it has no listpack sets, those came in 7.2).
import StorageFormat

public final class SetValue {
    /// Sorted members while the set is an intset.
    var intset: [Int64] = []
    /// Members once the set is a hashtable (nil while an intset: no table allocated for small sets).
    var table: KeyTable<Void>? = nil
    /// Which of the two holds the members.
    public var isIntset: Bool { table == nil }

    public init() {}

    /// Members (distinct).
    public var count: Int { table?.count ?? intset.count }

    /// `OBJECT ENCODING` in Redis's words.
    public var encodingName: String { isIntset ? "intset" : "hashtable" }

    /// An independent copy.
    public func copy() -> SetValue {
        let c = SetValue()
        c.intset = intset
        c.table = table
        return c
    }

    // MARK: - Members

    /// Whether `member` is in the set. O(log n) as an intset, O(1) as a hashtable.
    public func contains(_ member: ByteString) -> Bool {
        if isIntset {
            guard member.count <= 20, let v = member.integerValue else { return false }
            return intsetIndex(v).found
        }
        return table![member] != nil
    }

    /// Adds `member`; returns false when it was already there. Converts to a hashtable when the
    /// member is not an integer or the intset grows past `set-max-intset-entries`.
    @discardableResult
    public func add(_ member: ByteString, config: EngineConfig) -> Bool {
        if isIntset {
            if member.count <= 20, let v = member.integerValue {
                let (i, found) = intsetIndex(v)
                if found { return false }
                intset.insert(v, at: i)
                if intset.count > config.setMaxIntsetEntries { convertToHashtable() }
                return true
            }
            convertToHashtable()
        }
        if table![member] != nil { return false }
        table![member] = ()
        return true
    }

    /// Removes `member`; returns whether it was there.
    @discardableResult
    public func remove(_ member: ByteString) -> Bool {
        if isIntset {
            guard member.count <= 20, let v = member.integerValue else { return false }
            let (i, found) = intsetIndex(v)
            if found { intset.remove(at: i) }
            return found
        }
        return table!.removeValue(forKey: member) != nil
    }

    /// Every member: ascending for an intset (as Redis replies), table order for a hashtable.
    public func members() -> [ByteString] {
        var out: [ByteString] = []
        out.reserveCapacity(count)
        forEach { out.append($0) }
        return out
    }

    /// Visits every member in `members()` order.
    public func forEach(_ body: (ByteString) -> Void) {
        if isIntset {
            for v in intset { body(ByteString(integer: v)) }
        } else {
            table!.forEach { k, _ in body(k) }
        }
    }

    /// A random member, or nil when empty.
    public func randomMember() -> ByteString? {
        if isIntset {
            var g = EngineRandom()
            guard let v = intset.randomElement(using: &g) else { return nil }
            return ByteString(integer: v)
        }
        return table!.randomElement(rehashSteps: Self.randomRehashSteps)?.key
    }

    /// Rehash steps per random pick, as Redis's dictGetFairRandomKey (dictGetSomeKeys of 20).
    static let randomRehashSteps = 20

    /// Removes and returns a random member.
    public func popRandom() -> ByteString? {
        if isIntset {
            guard !intset.isEmpty else { return nil }
            return ByteString(integer: intset.remove(at: EngineRandom.int(in: 0 ..< intset.count)))
        }
        guard let k = table!.randomElement(rehashSteps: Self.randomRehashSteps)?.key else { return nil }
        table!.removeValue(forKey: k)
        return k
    }

    /// One SSCAN step: an intset is returned whole (cursor 0, as Redis does for small encodings);
    /// a hashtable is walked with the table's reverse-binary cursor.
    public func scan(cursor: UInt64, count: Int, _ visit: (ByteString) -> Void) -> UInt64 {
        if isIntset {
            for v in intset { visit(ByteString(integer: v)) }
            return 0
        }
        return table!.scan(cursor: cursor, count: count) { k, _ in visit(k) }
    }

    // MARK: - Encoding

    /// Where `v` is or would go in the intset.
    @inline(__always)
    func intsetIndex(_ v: Int64) -> (index: Int, found: Bool) {
        var lo = 0, hi = intset.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let m = intset[mid]
            if m == v { return (mid, true) }
            if m < v { lo = mid + 1 } else { hi = mid }
        }
        return (lo, false)
    }

    func convertToHashtable() {
        guard isIntset else { return }
        var t = KeyTable<Void>()
        for v in intset { t[ByteString(integer: v)] = () }
        intset = []
        table = t
    }
}
