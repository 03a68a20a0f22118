// ZSetValue: the sorted set type, in Redis's two encodings. "listpack" while there are at most
// zset-max-listpack-entries members, none longer than zset-max-listpack-value bytes: a sorted array
// of (member, score). Otherwise "skiplist": a ZSkipList for order and rank plus a KeyTable from
// member to score (which ZSCAN walks with the reverse-binary cursor, as Redis walks its dict).
// Order is by score, then member bytes. A skiplist never converts back, as in Redis 7.0, except
// when a whole value is built at once (stores, loading), which picks the encoding by size.
import StorageFormat

/// A member and its score.
public struct ZSetEntry: Equatable {
    public var member: ByteString
    public var score: Double
    public init(member: ByteString, score: Double) { self.member = member; self.score = score }

    /// Zset order: score, then member bytes.
    @inline(__always)
    static func precedes(_ a: ZSetEntry, _ b: ZSetEntry) -> Bool {
        a.score < b.score || (a.score == b.score && a.member < b.member)
    }
}

public final class ZSetValue {
    /// Elements in order while the zset is a listpack.
    var listpack: [ZSetEntry] = []
    /// Order and member → score once the zset is a skiplist.
    var skiplist: ZSkipList? = nil
    var dict: KeyTable<Double>? = nil
    public var isListpack: Bool { skiplist == nil }

    public init() {}

    /// Builds a zset from distinct `entries`, choosing the encoding by size as Redis does for stores.
    convenience init(entries: [ZSetEntry], config: EngineConfig) {
        self.init()
        if entries.count > config.zsetMaxListpackEntries
            || entries.contains(where: { $0.member.count > config.zsetMaxListpackValue }) {
            var sl = ZSkipList()
            var d = KeyTable<Double>()
            for e in entries {
                sl.insert(e.score, e.member)
                d[e.member] = e.score
            }
            skiplist = sl
            dict = d
        } else {
            listpack = entries.map { ZSetEntry(member: $0.member, score: ZSetValue.listpackScore($0.score)) }
                .sorted(by: ZSetEntry.precedes)
        }
    }

    /// Elements.
    public var count: Int { skiplist?.length ?? listpack.count }

    /// `OBJECT ENCODING` in Redis's words.
    public var encodingName: String { isListpack ? "listpack" : "skiplist" }

    /// An independent copy.
    public func copy() -> ZSetValue {
        let c = ZSetValue()
        c.listpack = listpack
        c.skiplist = skiplist
        c.dict = dict
        return c
    }

    /// Members in zset order (SORT uses this).
    public func membersInOrder() -> [ByteString] {
        var out: [ByteString] = []
        out.reserveCapacity(count)
        forEach(fromRank: 0, count: count, reverse: false) { m, _ in out.append(m) }
        return out
    }

    // MARK: - Lookup

    func listpackIndex(_ member: ByteString) -> Int? {
        listpack.firstIndex { $0.member == member }
    }

    /// The score of `member`, or nil.
    public func score(_ member: ByteString) -> Double? {
        if skiplist != nil { return dict![member] }
        guard let i = listpackIndex(member) else { return nil }
        return listpack[i].score
    }

    /// 0-based ascending rank of `member`, or nil.
    public func rank(_ member: ByteString) -> Int? {
        if skiplist != nil {
            guard let s = dict![member] else { return nil }
            return skiplist!.rank(s, member)
        }
        return listpackIndex(member)
    }

    /// The element at 0-based ascending rank `r` (< count).
    public func entry(atRank r: Int) -> ZSetEntry {
        if let sl = skiplist {
            let n = Int(sl.node(atRank: r))
            return ZSetEntry(member: sl.member[n], score: sl.score[n])
        }
        return listpack[r]
    }

    /// Visits `count` elements starting at rank `start`, ascending, or descending when `reverse`.
    public func forEach(fromRank start: Int, count n: Int, reverse: Bool, _ body: (ByteString, Double) -> Void) {
        guard n > 0, start >= 0, start < count else { return }
        if let sl = skiplist {
            var x = sl.node(atRank: start)
            var left = n
            while left > 0 && x != ZSkipList.nil32 {
                body(sl.member[Int(x)], sl.score[Int(x)])
                x = reverse ? sl.backward[Int(x)] : sl.next(x, 0)
                left -= 1
            }
            return
        }
        if reverse {
            var i = start
            while i >= 0 && start - i < n { body(listpack[i].member, listpack[i].score); i -= 1 }
        } else {
            var i = start
            while i < listpack.count && i - start < n { body(listpack[i].member, listpack[i].score); i += 1 }
        }
    }

    /// How many leading elements have a score satisfying `pred` (true for a prefix of the order).
    func countScorePrefix(_ pred: (Double) -> Bool) -> Int {
        if let sl = skiplist { return sl.countScorePrefix(pred) }
        var lo = 0, hi = listpack.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if pred(listpack[mid].score) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// How many leading elements have a member satisfying `pred` (true for a prefix of the order).
    func countMemberPrefix(_ pred: (ByteString) -> Bool) -> Int {
        if let sl = skiplist { return sl.countPrefix { _, m in pred(m) } }
        var lo = 0, hi = listpack.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if pred(listpack[mid].member) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    // MARK: - Changes

    /// Sets `member`'s score, adding it if absent (converting to a skiplist when the listpack would
    /// outgrow `config`'s limits). Returns true when the member was added.
    @discardableResult
    public func set(_ member: ByteString, score s: Double, config: EngineConfig) -> Bool {
        if skiplist != nil {
            if let old = dict![member] {
                if old != s {
                    skiplist!.delete(old, member)
                    skiplist!.insert(s, member)
                    dict![member] = s
                }
                return false
            }
            skiplist!.insert(s, member)
            dict![member] = s
            return true
        }
        if let i = listpackIndex(member) {
            if listpack[i].score == s { return false }
            listpack.remove(at: i)
            listpackInsert(ZSetEntry(member: member, score: s))
            return false
        }
        if listpack.count + 1 > config.zsetMaxListpackEntries || member.count > config.zsetMaxListpackValue {
            convertToSkiplist()
            return set(member, score: s, config: config)
        }
        listpackInsert(ZSetEntry(member: member, score: s))
        return true
    }

    /// A score as a listpack keeps it: Redis writes scores as text and stores "-0" as the integer 0.
    @inline(__always)
    static func listpackScore(_ s: Double) -> Double { s == 0 ? 0 : s }

    private func listpackInsert(_ entry: ZSetEntry) {
        let e = ZSetEntry(member: entry.member, score: ZSetValue.listpackScore(entry.score))
        var lo = 0, hi = listpack.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if ZSetEntry.precedes(listpack[mid], e) { lo = mid + 1 } else { hi = mid }
        }
        listpack.insert(e, at: lo)
    }

    /// Removes `member`; returns whether it was there.
    @discardableResult
    public func remove(_ member: ByteString) -> Bool {
        if skiplist != nil {
            guard let s = dict!.removeValue(forKey: member) else { return false }
            skiplist!.delete(s, member)
            return true
        }
        guard let i = listpackIndex(member) else { return false }
        listpack.remove(at: i)
        return true
    }

    /// Removes the elements at ascending ranks `lo ..< hi`; returns how many.
    @discardableResult
    public func removeRanks(_ lo: Int, _ hi: Int) -> Int {
        guard lo < hi else { return 0 }
        if skiplist != nil {
            var doomed: [ZSetEntry] = []
            doomed.reserveCapacity(hi - lo)
            forEach(fromRank: lo, count: hi - lo, reverse: false) { m, s in doomed.append(ZSetEntry(member: m, score: s)) }
            for e in doomed {
                skiplist!.delete(e.score, e.member)
                dict!.removeValue(forKey: e.member)
            }
            return doomed.count
        }
        listpack.removeSubrange(lo ..< hi)
        return hi - lo
    }

    /// Removes and returns the lowest (or highest, when `max`) element.
    public func popFirst(max: Bool) -> ZSetEntry? {
        guard count > 0 else { return nil }
        let e = entry(atRank: max ? count - 1 : 0)
        if skiplist != nil {
            skiplist!.delete(e.score, e.member)
            dict!.removeValue(forKey: e.member)
        } else if max {
            listpack.removeLast()
        } else {
            listpack.removeFirst()
        }
        return e
    }

    /// One ZSCAN step: a listpack is returned whole (cursor 0); a skiplist's dict is walked with the
    /// table's reverse-binary cursor.
    public func scan(cursor: UInt64, count n: Int, _ visit: (ByteString, Double) -> Void) -> UInt64 {
        if skiplist == nil {
            for e in listpack { visit(e.member, e.score) }
            return 0
        }
        return dict!.scan(cursor: cursor, count: n) { k, v in visit(k, v) }
    }

    func convertToSkiplist() {
        guard skiplist == nil else { return }
        var sl = ZSkipList()
        var d = KeyTable<Double>()
        for e in listpack {
            sl.insert(e.score, e.member)
            d[e.member] = e.score
        }
        listpack = []
        dict = d
        skiplist = sl
    }
}
