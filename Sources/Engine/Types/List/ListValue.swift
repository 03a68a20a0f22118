// ListValue: the list type. A double-ended queue of byte strings: O(1) push and pop at both ends,
// O(1) access by index. Redis 7.0 reports every list as "quicklist" (7.2 added "listpack" for small
// lists); Cairn follows 7.0.
import DequeModule
import StorageFormat

public final class ListValue {
    /// The elements, head first.
    var items: Deque<ByteString>

    public init() { items = [] }

    /// A list holding `elements` in order (SORT ... STORE, loading).
    public convenience init(elements: [ByteString], config: EngineConfig) {
        self.init()
        items.append(contentsOf: elements)
    }

    init(items: Deque<ByteString>) { self.items = items }

    /// Elements. O(1).
    public var count: Int { items.count }
    /// `OBJECT ENCODING` in Redis 7.0's words: every list is a quicklist.
    public var encodingName: String { "quicklist" }
    /// An independent copy.
    public func copy() -> ListValue { ListValue(items: items) }

    /// All elements, head first. O(n).
    public func elements() -> [ByteString] { Array(items) }

    // MARK: - Operations the commands use

    /// Adds `e` at the head (`left`) or the tail. O(1) amortized.
    func push(_ e: ByteString, left: Bool) {
        if left { items.prepend(e) } else { items.append(e) }
    }

    /// Removes and returns the head (`left`) or tail element, nil when empty. O(1).
    func pop(left: Bool) -> ByteString? {
        left ? items.popFirst() : items.popLast()
    }

    /// The element at `index` (negative counts from the tail), nil when out of range.
    func element(at index: Int64) -> ByteString? {
        let n = Int64(items.count)
        let i = index < 0 ? n + index : index
        guard i >= 0 && i < n else { return nil }
        return items[Int(i)]
    }

    /// Replaces the element at `index` (negative counts from the tail); false when out of range.
    func set(at index: Int64, _ e: ByteString) -> Bool {
        let n = Int64(items.count)
        let i = index < 0 ? n + index : index
        guard i >= 0 && i < n else { return false }
        items[Int(i)] = e
        return true
    }

    /// Redis's LRANGE/LTRIM index rules: the inclusive range `start...end`, clamped, or nil when empty.
    func normalizedRange(_ start: Int64, _ end: Int64) -> ClosedRange<Int>? {
        let n = Int64(items.count)
        var s = start, e = end
        if s < 0 { s = n + s }
        if e < 0 { e = n + e }
        if s < 0 { s = 0 }
        if s > e || s >= n { return nil }
        if e >= n { e = n - 1 }
        return Int(s) ... Int(e)
    }

    /// Keeps only `range` (nil keeps nothing).
    func trim(to range: ClosedRange<Int>?) {
        guard let r = range else { items.removeAll(); return }
        let tail = items.count - 1 - r.upperBound
        if tail > 0 { items.removeLast(tail) }
        if r.lowerBound > 0 { items.removeFirst(r.lowerBound) }
    }

    /// Inserts `e` before or after the first element equal to `pivot`; false when there is none.
    func insert(_ e: ByteString, pivot: ByteString, after: Bool) -> Bool {
        guard let i = items.firstIndex(of: pivot) else { return false }
        items.insert(e, at: after ? i + 1 : i)
        return true
    }

    /// Removes up to `count` elements equal to `e` (from the head when count > 0, the tail when
    /// count < 0, all when 0). Returns how many were removed.
    func remove(_ e: ByteString, count: Int64) -> Int {
        var removed = 0
        if count >= 0 {
            let limit = count == 0 ? Int64.max : count
            var kept = Deque<ByteString>()
            kept.reserveCapacity(items.count)
            for x in items {
                if Int64(removed) < limit && x == e { removed += 1 } else { kept.append(x) }
            }
            if removed > 0 { items = kept }
        } else {
            let limit = count == Int64.min ? Int64.max : -count
            var kept = Deque<ByteString>()
            kept.reserveCapacity(items.count)
            for x in items.reversed() {
                if Int64(removed) < limit && x == e { removed += 1 } else { kept.prepend(x) }
            }
            if removed > 0 { items = kept }
        }
        return removed
    }
}
