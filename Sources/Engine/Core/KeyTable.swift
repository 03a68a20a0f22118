// KeyTable: the keyspace's hash table. ByteString keys to values, with Redis's guarantees:
// incremental rehashing (no long pause when a big table grows), and a reverse-binary SCAN cursor
// (every element present for the whole scan is returned at least once, across resizes).
//
// Layout:
//   entries  one dense array of (key, value, next, hash) records, 0..<count, kept in pages that never
//            move (16, 16, 32, 64, then 128 each), so growing never copies entries and never takes more
//            than a few kilobytes at once.
//            Removing swaps the last entry into the hole, so the array stays dense (random picks are
//            uniform, walks are sequential).
//   buckets  power-of-two arrays of UInt32 chain heads (entry index + 1; 0 = empty). Chains run
//            through each entry's `next` (also index + 1). `hash` keeps 32 bits of the key's hash, so
//            rehashing and unlinking never hash a key again.
//   rehash   like Redis's dict: while resizing there are two bucket arrays, t0 (old) and t1 (new);
//            buckets of t0 below `rehashIndex` have been moved. Lookups, inserts and deletes each move
//            one bucket; inserts go to t1; lookups search both. rehashStep(buckets:) moves a bounded
//            number more (from a timer). Grows at load factor 1, shrinks when under 10% full.
//   resizing follows Redis 7.0's dict_can_resize (KeyTableResize.policy): while a fork()ed child
//            runs, tables neither grow, shrink nor rehash (so the child's pages are not copied), unless
//            the ratio of elements to buckets, or of the two tables' sizes, passes 5.
// Memory: 40 bytes per entry for RedisValue (16 key + 16 value + 8), plus 4-8 bytes of buckets.
import CSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Redis 7.0's dict_can_resize: whether hash tables may resize and rehash.
public enum KeyTableResizePolicy: Sendable {
    /// No child process: grow at load factor 1, shrink under 10% full, rehash freely.
    case enable
    /// A fork()ed child runs: only a table past `KeyTableResize.forceRatio` grows or rehashes.
    case avoid
    /// In the child itself: nothing moves.
    case forbid
}

/// The process-wide resize policy (set by persistence when a child starts and is reaped). Only the
/// command thread touches it.
public enum KeyTableResize {
    nonisolated(unsafe) public static var policy: KeyTableResizePolicy = .enable
    /// Redis 7.0's dict_force_resize_ratio.
    public static let forceRatio = 5
}

/// What DEBUG HTSTATS reports about one bucket array (Redis's _dictGetStatsHt).
public struct KeyTableBucketStats: Equatable, Sendable {
    /// Buckets in the array.
    public var size: Int
    /// Entries chained from it.
    public var elements: Int
    /// Non-empty buckets.
    public var slots: Int
    public var maxChain: Int
    /// Sum of the chain lengths (equal to `elements`; Redis prints both "counted" and "computed").
    public var totalChain: Int
    /// distribution[n]: buckets whose chain has n entries; the last slot counts every longer chain too.
    public var distribution: [Int]
}

public struct KeyTable<Value> {
    var storage: KeyTableStorage<Value>

    public init() { storage = KeyTableStorage() }

    /// Number of keys. O(1).
    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.count == 0 }

    @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// The value of `key`. Average O(1).
    public subscript(key: ByteString) -> Value? {
        get {
            let s = storage
            if s.rehashIndex >= 0 { s.rehash(1) }  // a read moves a bucket too; contents are unchanged
            guard let i = s.find(key) else { return nil }
            return s.entry(i).pointee.value
        }
        set {
            if let v = newValue {
                makeUnique()
                storage.insert(key, v)
            } else {
                removeValue(forKey: key)
            }
        }
    }

    /// The value of `key`, replacing the entry's 24 user bits with `stamp(old bits)` on the way (the
    /// keyspace's access clock). Average O(1).
    @inline(__always)
    public mutating func access(_ key: ByteString, _ stamp: (UInt32) -> UInt32) -> Value? {
        stamped(key, stamp)?.pointee.value
    }

    /// The entry of `key` with its user bits replaced by `stamp(old bits)`, or nil when absent.
    @inline(__always)
    mutating func stamped(_ key: ByteString, _ stamp: (UInt32) -> UInt32) -> UnsafeMutablePointer<KeyTableStorage<Value>.Entry>? {
        guard storage.count > 0 else { return nil }
        makeUnique()
        let s = storage
        if s.rehashIndex >= 0 { s.rehash(1) }
        guard let i = s.find(key) else { return nil }
        let e = s.entry(i)
        e.pointee.meta = e.pointee.tag | ((stamp(e.pointee.userBits) & 0xFF_FFFF) &<< 8)
        return e
    }

    /// The 24 user bits of `key`'s entry, or nil when absent.
    public func userBits(_ key: ByteString) -> UInt32? {
        let s = storage
        guard let i = s.find(key) else { return nil }
        return s.entry(i).pointee.userBits
    }

    /// Sets the 24 user bits of `key`'s entry, if present.
    public mutating func setUserBits(_ key: ByteString, _ bits: UInt32) {
        guard storage.count > 0 else { return }
        makeUnique()
        guard let i = storage.find(key) else { return }
        let e = storage.entry(i)
        e.pointee.meta = e.pointee.tag | ((bits & 0xFF_FFFF) &<< 8)
    }

    /// Stores `value` under `key`. A new entry's user bits are `bits`; an existing entry's are replaced
    /// by them when `replaceBits`, else kept.
    /// Returns true when the key is new.
    @discardableResult
    public mutating func set(_ key: ByteString, _ value: Value, bits: UInt32, replaceBits: Bool) -> Bool {
        makeUnique()
        return storage.insert(key, value, bits: bits & 0xFF_FFFF, replaceBits: replaceBits) == nil
    }

    /// Stores `value` under `key`, returning the value it replaces (nil for a new key): one lookup for
    /// loading, where keys are almost always new.
    @inline(__always)
    public mutating func insert(_ key: ByteString, _ value: Value, bits: UInt32) -> Value? {
        makeUnique()
        return storage.insert(key, value, bits: bits & 0xFF_FFFF, replaceBits: true)
    }

    /// Like `access`, but only says whether `key` is present (its value is not copied out).
    @inline(__always)
    public mutating func touch(_ key: ByteString, _ stamp: (UInt32) -> UInt32) -> Bool {
        stamped(key, stamp) != nil
    }

    /// Prefetches what looking up `keys` will read (see KeyTableStorage.prefetch).
    public func prefetch(_ keys: UnsafeBufferPointer<UnsafeRawBufferPointer>) { storage.prefetch(keys) }

    /// Touches the buckets and chains `keys` will be inserted into (see KeyTableStorage.warm).
    public func warm(_ keys: UnsafeBufferPointer<ByteString>) { storage.warm(keys) }

    /// Makes room for `n` entries at once, as Redis's dictExpand does when a file states a database's
    /// size (RESIZEDB): an empty table gets its buckets now, a non-empty one rehashes incrementally.
    public mutating func expand(toHold n: Int) {
        makeUnique()
        let s = storage
        guard s.rehashIndex < 0, n > s.size0, KeyTableResize.policy == .enable else { return }
        s.startRehash(KeyTableStorage<Value>.bucketsFor(n))
    }

    /// A random entry with its user bits, or nil when empty (uniform over the keys).
    public func randomEntry() -> (key: ByteString, value: Value, bits: UInt32)? {
        let s = storage
        guard s.count > 0 else { return nil }
        let e = s.entry(s.randomIndex()).pointee
        return (e.key, e.value, e.userBits)
    }

    /// Applies `body` to the value of `key` in place, if present; returns whether it was.
    @discardableResult
    public mutating func modify(_ key: ByteString, _ body: (inout Value) -> Void) -> Bool {
        guard storage.count > 0 else { return false }
        makeUnique()
        if storage.rehashIndex >= 0 { storage.rehash(1) }
        guard let i = storage.find(key) else { return false }
        body(&storage.entry(i).pointee.value)
        return true
    }

    /// Removes `key`; returns its value if it was present. Average O(1).
    @discardableResult
    public mutating func removeValue(forKey key: ByteString) -> Value? {
        guard storage.count > 0 else { return nil }
        makeUnique()
        return storage.remove(key)
    }

    /// Removes every key (O(n) to release them) and returns to the initial, unallocated state.
    public mutating func removeAll() {
        storage = KeyTableStorage()
    }

    /// One step of SCAN (Redis's dictScan, repeated as the SCAN command does): visits whole buckets
    /// from `cursor` until at least `count` keys were visited, 10×count buckets were looked at, or the
    /// scan ended, and returns the next cursor (0 = done). Every key present from the first call with
    /// cursor 0 to the last one (which returns 0) is visited at least once, whatever resizes happen
    /// between calls; some may be visited more than once. `visit` must not change the table.
    public func scan(cursor: UInt64, count: Int = 10, _ visit: (ByteString, Value) -> Void) -> UInt64 {
        let s = storage
        guard s.count > 0 else { return 0 }
        s.pauseRehash += 1
        defer { s.pauseRehash -= 1 }
        var v = cursor
        var visited = 0
        var budget = max(1, count) * 10
        repeat {
            v = s.scanStep(v) { k, value in
                visited += 1
                visit(k, value)
            }
            budget -= 1
        } while v != 0 && visited < count && budget > 0
        return v
    }

    /// A random key and its value, or nil when empty. Uniform over the keys (the entries are dense).
    /// While rehashing, moves `rehashSteps` buckets first (as Redis's dictGetSomeKeys does for
    /// SRANDMEMBER and SPOP): reads are what drive a table's resize to its end.
    public func randomElement(rehashSteps: Int = 0) -> (key: ByteString, value: Value)? {
        let s = storage
        guard s.count > 0 else { return nil }
        if rehashSteps > 0 && s.rehashIndex >= 0 {
            for _ in 0 ..< rehashSteps where s.rehashIndex >= 0 { s.rehash(1) }
        }
        let e = s.entry(s.randomIndex()).pointee
        return (e.key, e.value)
    }

    /// Every key and value (order unspecified). `body` must not change the table.
    public func forEach(_ body: (ByteString, Value) throws -> Void) rethrows {
        let s = storage
        s.pauseRehash += 1
        defer { s.pauseRehash -= 1 }
        var i = 0
        var p = 0
        while i < s.count {
            let page = s.pages![p]
            let n = min(KeyTableStorage<Value>.pageSize(p), s.count - i)
            for j in 0 ..< n {
                try body(page[j].key, page[j].value)
            }
            i += n
            p += 1
        }
    }

    /// Visits every entry in place, handing the body pointers to the stored key and value: no copy,
    /// no reference-count traffic. A fork()ed snapshot child walks this way so that reading the
    /// dataset does not write to (and so copy) the pages it lives on. The pointers are valid only
    /// during the call; the table must not change meanwhile.
    /// The third argument is the entry's 24 user bits.
    public func forEachBorrowed(_ body: (UnsafePointer<ByteString>, UnsafePointer<Value>, UInt32) throws -> Void) rethrows {
        let s = storage
        s.pauseRehash += 1
        defer { s.pauseRehash -= 1 }
        try s.walkEntries(body)
    }

    /// Stops incremental rehashing (lookups then only read the table) until `resumeRehashing`.
    public func pauseRehashing() { storage.pauseRehash += 1 }
    public func resumeRehashing() { storage.pauseRehash -= 1 }

    /// Does a bounded amount of incremental rehashing work (at most `buckets` non-empty buckets moved
    /// and 10×`buckets` empty ones passed, and 256 KB per 100 buckets of retired bucket arrays
    /// unmapped); starts a shrink when the table is under 10% full. Returns true if more remains.
    @discardableResult
    public mutating func rehashStep(buckets: Int = 100) -> Bool {
        // A shared table is left alone: copying it would be O(n), the opposite of the point.
        guard isKnownUniquelyReferenced(&storage) else { return storage.rehashIndex >= 0 }
        for _ in 0 ..< max(1, buckets / 100) where !storage.retired.isEmpty { storage.reclaimStep() }
        if storage.rehashIndex < 0 { storage.shrinkIfNeeded() }
        if storage.rehashIndex >= 0 && !storage.rehash(max(1, buckets)) {
            storage.shrinkIfNeeded()  // a table emptied during the rehash may need a second, smaller one
        }
        return storage.rehashIndex >= 0 || !storage.retired.isEmpty
    }

    // MARK: - Introspection (tests, INFO)

    /// Buckets in the main table (the old one during a rehash) and in the new one (0 when not rehashing).
    var bucketCounts: (main: Int, rehashTarget: Int) { (storage.size0, storage.size1) }
    public var isRehashing: Bool { storage.rehashIndex >= 0 }

    /// Chain statistics of the main bucket array (0) or, while rehashing, of the target (1), as
    /// Redis's DEBUG HTSTATS counts them; nil for a table 1 that does not exist. O(buckets).
    /// `maxLength` caps the distribution (Redis's DICT_STATS_VECTLEN, 50).
    public func bucketStats(table: Int, maxLength: Int = 50) -> KeyTableBucketStats? {
        let s = storage
        let t: UnsafeMutablePointer<UInt32>?
        let size: Int
        let elements: Int
        if table == 0 {
            (t, size) = (s.t0, s.size0)
            elements = s.rehashIndex >= 0 ? s.used0 : s.count
        } else {
            guard s.rehashIndex >= 0 else { return nil }
            (t, size) = (s.t1, s.size1)
            elements = s.count - s.used0
        }
        var st = KeyTableBucketStats(size: size, elements: elements, slots: 0, maxChain: 0, totalChain: 0,
                                     distribution: [Int](repeating: 0, count: max(1, maxLength)))
        guard let t else { return st }
        for b in 0 ..< size {
            var c = t[b]
            var n = 0
            while c != 0 {
                n += 1
                c = s.entry(Int(c &- 1)).pointee.next
            }
            st.distribution[min(n, st.distribution.count - 1)] += 1
            if n == 0 { continue }
            st.slots += 1
            st.totalChain += n
            if n > st.maxChain { st.maxChain = n }
        }
        return st
    }
}

/// One key's record in the dense entry array.
struct KeyTableEntry<Value> {
    var key: ByteString
    var value: Value
    /// Next entry in the bucket chain, as index + 1; 0 ends the chain.
    var next: UInt32
    /// Bits 0-7: a tag from the key's hash (its top byte), compared before the key itself.
    /// Bits 8-31: 24 bits the owner may use per key (the keyspace keeps its LRU clock or LFU
    /// counter there, as Redis keeps them in each object). Storing them here costs no memory: the
    /// entry has no room for a full hash and a separate field, so bucket positions are recomputed
    /// from the key when an entry moves (rehash, removal), as Redis's dict does.
    var meta: UInt32

    @inline(__always) var tag: UInt32 { meta & 0xFF }
    @inline(__always) var userBits: UInt32 { meta &>> 8 }
}

final class KeyTableStorage<Value> {
    typealias Entry = KeyTableEntry<Value>

    /// Smallest bucket array (as Redis's DICT_HT_INITIAL_SIZE).
    static var minBuckets: Int { 4 }

    private(set) var count = 0

    // Entry pages: page 0 and 1 hold 16 entries, page 2 holds 32, page 3 64, later pages 128.
    var pages: UnsafeMutablePointer<UnsafeMutablePointer<Entry>>?
    var pageCount = 0
    var pageSlots = 0

    // Bucket arrays: t0 is the main table (the old one while rehashing), t1 the new one.
    var t0: UnsafeMutablePointer<UInt32>?
    var size0 = 0
    var t1: UnsafeMutablePointer<UInt32>?
    var size1 = 0
    /// Next bucket of t0 to move, or -1 when not rehashing.
    var rehashIndex = -1
    /// Where `warm` leaves what it read (so the reads are not optimised away).
    var warmSink: UInt32 = 0
    /// Entries still in t0 while rehashing.
    var used0 = 0
    /// Non-zero while a scan or walk is in progress: bucket chains must not move under it.
    var pauseRehash = 0
    /// Big bucket arrays waiting to be unmapped (address, bytes left).
    var retired: [(UnsafeMutableRawPointer, Int)] = []

    let seed: UInt64
    var rng: UInt64

    init() {
        seed = WyHash.processSeed
        rng = WyHash.processSeed ^ 0x9E37_79B9_7F4A_7C15
    }

    deinit {
        var p = 0
        var i = 0
        while i < count {
            let n = min(Self.pageSize(p), count - i)
            pages![p].deinitialize(count: n)
            i += n
            p += 1
        }
        for q in 0 ..< pageCount { Self.freePage(pages![q], q) }
        pages?.deallocate()
        if let t = t0 { Self.freeBuckets(t, size0) }
        if let t = t1 { Self.freeBuckets(t, size1) }
        for (p, bytes) in retired { Self.unmap(p, bytes) }
    }

    /// A deep copy (copy-on-write of the table).
    func copy() -> KeyTableStorage<Value> {
        let c = KeyTableStorage<Value>()
        c.pageSlots = pageSlots
        if pageSlots > 0 { c.pages = .allocate(capacity: pageSlots) }
        var i = 0
        for p in 0 ..< pageCount {
            let size = Self.pageSize(p)
            let page = Self.allocPage(p)
            let n = max(0, min(size, count - i))
            page.initialize(from: pages![p], count: n)
            c.pages![p] = page
            i += size
        }
        c.pageCount = pageCount
        c.count = count
        if let t = t0 {
            c.t0 = Self.allocBuckets(size0)
            c.t0!.update(from: t, count: size0)
        }
        if let t = t1 {
            c.t1 = Self.allocBuckets(size1)
            c.t1!.update(from: t, count: size1)
        }
        c.size0 = size0
        c.size1 = size1
        c.rehashIndex = rehashIndex
        c.used0 = used0
        return c
    }

    // MARK: Entries

    /// Every entry in index order: its key, its value and its 24 user bits, by address. Reads only.
    @inline(__always)
    func walkEntries(_ body: (UnsafePointer<ByteString>, UnsafePointer<Value>, UInt32) throws -> Void) rethrows {
        let keyOffset = MemoryLayout<Entry>.offset(of: \Entry.key)!
        let valueOffset = MemoryLayout<Entry>.offset(of: \Entry.value)!
        let metaOffset = MemoryLayout<Entry>.offset(of: \Entry.meta)!
        let stride = MemoryLayout<Entry>.stride
        let total = count
        guard total > 0, let pages else { return }
        var i = 0
        var p = 0
        while i < total {
            let page = UnsafeRawPointer(pages[p])
            let n = min(Self.pageSize(p), total - i)
            for j in 0 ..< n {
                let e = page + j * stride
                try body((e + keyOffset).assumingMemoryBound(to: ByteString.self),
                         (e + valueOffset).assumingMemoryBound(to: Value.self),
                         (e + metaOffset).load(as: UInt32.self) &>> 8)
            }
            i += n
            p += 1
        }
    }

    /// Entries of the full-size pages, as a shift: 128. Pages stay small so that one more key never
    /// costs more than a few kilobytes at once (a big page allocated ahead would count in used_memory
    /// and, near maxmemory, make the server evict many keys to add one, which Redis never does).
    static var tailShift: Int { 7 }

    @inline(__always)
    static func pageSize(_ p: Int) -> Int {
        p == 0 ? 16 : p < tailShift &- 3 ? 1 &<< (p + 3) : 1 &<< tailShift
    }

    @inline(__always)
    static func pageStart(_ p: Int) -> Int {
        p == 0 ? 0 : p <= tailShift &- 3 ? 1 &<< (p + 3) : (p &- (tailShift &- 4)) &<< tailShift
    }

    @inline(__always)
    func entry(_ i: Int) -> UnsafeMutablePointer<Entry> {
        let pages = self.pages.unsafelyUnwrapped
        if i >= 1 &<< Self.tailShift { return pages[(i &>> Self.tailShift) &+ (Self.tailShift &- 4)] + (i & ((1 &<< Self.tailShift) &- 1)) }
        if i < 16 { return pages[0] + i }
        let lg = Int.bitWidth &- 1 &- i.leadingZeroBitCount
        return pages[lg &- 3] + (i &- (1 &<< lg))
    }

    /// Makes room for entry index `count`.
    @inline(__always)
    func reserveNext() {
        if count == Self.pageStart(pageCount) { addPage() }
    }

    func addPage() {
        precondition(count < Int(UInt32.max) - 1, "KeyTable is full")
        if pageCount == pageSlots {
            let slots = max(16, pageSlots * 2)
            let np = UnsafeMutablePointer<UnsafeMutablePointer<Entry>>.allocate(capacity: slots)
            if let old = pages {
                np.initialize(from: old, count: pageCount)
                old.deallocate()
            }
            pages = np
            pageSlots = slots
        }
        pages![pageCount] = Self.allocPage(pageCount)
        pageCount += 1
    }

    /// Frees the last page once it and the one before it are both empty (hysteresis: alternating
    /// inserts and deletes at a page boundary don't allocate and free repeatedly).
    @inline(__always)
    func releasePages() {
        while pageCount >= 2 && count <= Self.pageStart(pageCount - 2) {
            pageCount -= 1
            Self.freePage(pages![pageCount], pageCount)
        }
    }

    // MARK: Buckets

    // MARK: Memory
    //
    // Big blocks (256 KB and up: large bucket arrays) come straight from
    // mmap. That keeps every operation's allocator work bounded: glibc's calloc may have to clear
    // reused heap memory (O(n) in one call), and freeing into its heap can trigger a trim that hands
    // tens of megabytes back to the kernel at once. A big bucket array retired by a rehash is
    // unmapped 256 KB at a time by later operations (`reclaimStep`), not in one munmap.

    static var mmapThreshold: Int { 256 << 10 }

    static func unmap(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
        munmap(p, bytes)
        EngineMemory.mappedBytes -= bytes
    }

    static func allocRaw(_ bytes: Int, zeroed: Bool) -> UnsafeMutableRawPointer {
        if bytes >= mmapThreshold {
            let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else { fatalError("KeyTable: out of memory") }
            EngineMemory.mappedBytes += bytes
            return p
        }
        guard let p = zeroed ? calloc(1, bytes) : malloc(bytes) else { fatalError("KeyTable: out of memory") }
        return p
    }

    static func freeRaw(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
        if bytes >= mmapThreshold { unmap(p, bytes) } else { free(p) }
    }

    static func allocPage(_ p: Int) -> UnsafeMutablePointer<Entry> {
        let n = pageSize(p)
        return allocRaw(n * MemoryLayout<Entry>.stride, zeroed: false).bindMemory(to: Entry.self, capacity: n)
    }

    static func freePage(_ page: UnsafeMutablePointer<Entry>, _ p: Int) {
        freeRaw(page, pageSize(p) * MemoryLayout<Entry>.stride)
    }

    /// A zeroed bucket array.
    static func allocBuckets(_ n: Int) -> UnsafeMutablePointer<UInt32> {
        allocRaw(n * MemoryLayout<UInt32>.stride, zeroed: true).bindMemory(to: UInt32.self, capacity: n)
    }

    static func freeBuckets(_ t: UnsafeMutablePointer<UInt32>, _ n: Int) {
        freeRaw(t, n * MemoryLayout<UInt32>.stride)
    }

    /// Frees a bucket array no longer in use: small ones now, big ones a chunk at a time later.
    func retireBuckets(_ t: UnsafeMutablePointer<UInt32>, _ n: Int) {
        let bytes = n * MemoryLayout<UInt32>.stride
        if bytes >= Self.mmapThreshold {
            retired.append((UnsafeMutableRawPointer(t), bytes))
        } else {
            free(t)
        }
    }

    /// Unmaps 256 KB of a retired bucket array.
    func reclaimStep() {
        guard let (p, bytes) = retired.last else { return }
        let chunk = min(bytes, Self.mmapThreshold)
        Self.unmap(p + (bytes - chunk), chunk)
        if bytes == chunk { retired.removeLast() } else { retired[retired.count - 1].1 = bytes - chunk }
    }

    /// The key's hash: the low bits choose the bucket, the top byte is the entry's tag.
    @inline(__always)
    func hash(_ key: ByteString) -> UInt64 {
        key.hash64(seed: seed)
    }

    @inline(__always)
    static func tag(_ h: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: h &>> 56) }

    // MARK: Lookup

    @inline(__always)
    func chainFind(_ head: UInt32, _ key: ByteString, _ h: UInt64) -> Int? {
        var c = head
        let tag = Self.tag(h)
        guard let largeTag = ByteString.largeTag else {
            while c != 0 {
                let e = entry(Int(c &- 1))
                if e.pointee.tag == tag && e.pointee.key == key { return Int(c &- 1) }
                c = e.pointee.next
            }
            return nil
        }
        let keyOffset = MemoryLayout<Entry>.offset(of: \Entry.key)!
        while c != 0 {
            let e = entry(Int(c &- 1))
            if e.pointee.tag == tag && ByteString.storedEquals(UnsafeRawPointer(e) + keyOffset, key, largeTag: largeTag) {
                return Int(c &- 1)
            }
            c = e.pointee.next
        }
        return nil
    }

    func find(_ key: ByteString) -> Int? {
        guard count > 0 else { return nil }
        return find(key, hash(key))
    }

    @inline(__always)
    func find(_ key: ByteString, _ h: UInt64) -> Int? {
        if rehashIndex >= 0 {
            let b = Int(truncatingIfNeeded: h) & (size0 &- 1)
            if b >= rehashIndex, let i = chainFind(t0.unsafelyUnwrapped[b], key, h) { return i }
            return chainFind(t1.unsafelyUnwrapped[Int(truncatingIfNeeded: h) & (size1 &- 1)], key, h)
        }
        return chainFind(t0.unsafelyUnwrapped[Int(truncatingIfNeeded: h) & (size0 &- 1)], key, h)
    }

    /// Touches the bucket heads of `keys`, then the first entry of each chain: independent loads the CPU
    /// overlaps, so a batch of inserts that follows finds its lines in cache (loading a file).
    func warm(_ keys: UnsafeBufferPointer<ByteString>) {
        guard rehashIndex < 0, size0 > 0, count > 0, keys.count <= 64 else { return }
        let t = t0.unsafelyUnwrapped
        let mask = size0 &- 1
        var acc: UInt32 = 0
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: keys.count) { heads in
            for i in 0 ..< keys.count { heads[i] = t[Int(truncatingIfNeeded: hash(keys[i])) & mask] }
            for i in 0 ..< keys.count where heads[i] != 0 { acc &+= entry(Int(heads[i] &- 1)).pointee.meta }
        }
        warmSink &+= acc
    }

    /// Brings in what finding each of `keys` will read, in three passes of independent prefetches: the
    /// buckets, then each chain's first entry, then that entry's out-of-line key bytes. A batch's cache
    /// misses then overlap instead of each lookup waiting for its own in turn (a pipeline of requests, a
    /// replica's stream). Only hints: a prefetch never faults, and nothing here changes the table.
    func prefetch(_ keys: UnsafeBufferPointer<UnsafeRawBufferPointer>) {
        guard rehashIndex < 0, size0 > 0, count > 0, keys.count <= 64 else { return }
        let t = t0.unsafelyUnwrapped
        let mask = UInt64(size0 &- 1)
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: keys.count) { slot in
            for i in 0 ..< keys.count {
                let h = ByteString.hash64(bytes: keys[i], seed: seed)
                slot[i] = (h & mask) | (UInt64(Self.tag(h)) &<< 56)
                cairn_prefetch(t + Int(truncatingIfNeeded: h & mask))
            }
            for i in 0 ..< keys.count {
                let head = t[Int(truncatingIfNeeded: slot[i] & mask)]
                slot[i] = (slot[i] & 0xFF00_0000_0000_0000) | UInt64(head)
                if head != 0 { cairn_prefetch(entry(Int(head &- 1))) }
            }
            guard let largeTag = ByteString.largeTag else { return }
            let keyOffset = MemoryLayout<Entry>.offset(of: \Entry.key)!
            let metaOffset = MemoryLayout<Entry>.offset(of: \Entry.meta)!
            for i in 0 ..< keys.count {
                let head = UInt32(truncatingIfNeeded: slot[i])
                guard head != 0 else { continue }
                let e = UnsafeRawPointer(entry(Int(head &- 1)))
                guard e.load(fromByteOffset: metaOffset, as: UInt32.self) & 0xFF == UInt32(truncatingIfNeeded: slot[i] &>> 56),
                      let object = ByteString.heapObject(ofStringAt: e + keyOffset, largeTag: largeTag)
                else { continue }
                // The array's count (compared first), then its first bytes.
                cairn_prefetch(object + 16)
                cairn_prefetch(object + 48)
            }
        }
    }

    // MARK: Insert and remove

    /// Sets `key` to `value`; returns the old value if there was one. A new entry gets `bits` as its
    /// user bits; an existing one gets them too when `replaceBits` is set, else keeps its own.
    @discardableResult
    func insert(_ key: ByteString, _ value: Value, bits: UInt32 = 0, replaceBits: Bool = true) -> Value? {
        if rehashIndex >= 0 { rehash(count >= 2 * size1 ? 16 : 1) }
        if !retired.isEmpty { reclaimStep() }
        let h = hash(key)
        if count > 0, let i = find(key, h) {
            let e = entry(i)
            let old = e.pointee.value
            e.pointee.value = value
            if replaceBits { e.pointee.meta = e.pointee.tag | (bits &<< 8) }
            return old
        }
        if size0 == 0 {
            t0 = Self.allocBuckets(Self.minBuckets)
            size0 = Self.minBuckets
        } else if rehashIndex < 0 && count >= size0 && Self.mayGrow(count, size0)
                    && (count >= 5 * size0 || EngineMemory.expansionAllowed?(Self.bucketsFor(count + 1) * MemoryLayout<UInt32>.stride) ?? true) {
            // Redis's dictExpand(used + 1): the next power of two above the count; not past maxmemory
            // until the chains average 5 entries (Redis 7.0's dictExpandAllowed).
            startRehash(Self.bucketsFor(count + 1))
        }
        reserveNext()
        let idx = count
        let t: UnsafeMutablePointer<UInt32>
        let b: Int
        if rehashIndex >= 0 {
            t = t1.unsafelyUnwrapped
            b = Int(truncatingIfNeeded: h) & (size1 &- 1)
        } else {
            t = t0.unsafelyUnwrapped
            b = Int(truncatingIfNeeded: h) & (size0 &- 1)
        }
        entry(idx).initialize(to: Entry(key: key, value: value, next: t[b], meta: Self.tag(h) | (bits &<< 8)))
        t[b] = UInt32(truncatingIfNeeded: idx &+ 1)
        count = idx + 1
        return nil
    }

    /// Removes `key`; returns its value if it was present.
    func remove(_ key: ByteString) -> Value? {
        guard count > 0 else { return nil }
        if rehashIndex >= 0 { rehash(1) }
        if !retired.isEmpty { reclaimStep() }
        let h = hash(key)
        // Find the link (bucket head or previous entry's `next`) that holds the entry.
        var found = unlink(key, h, in: t0.unsafelyUnwrapped, Int(truncatingIfNeeded: h) & (size0 &- 1),
                           only: rehashIndex < 0 || Int(truncatingIfNeeded: h) & (size0 &- 1) >= rehashIndex)
        if found != nil {
            if rehashIndex >= 0 { used0 -= 1 }
        } else if rehashIndex >= 0 {
            found = unlink(key, h, in: t1.unsafelyUnwrapped, Int(truncatingIfNeeded: h) & (size1 &- 1), only: true)
        }
        guard let i = found else { return nil }
        let removed = entry(i).move()
        let last = count - 1
        if i != last {
            let le = entry(last)
            relink(last, hash(le.pointee.key), to: i)
            entry(i).moveInitialize(from: le, count: 1)
        }
        count = last
        releasePages()
        if rehashIndex < 0 { shrinkIfNeeded() }
        return removed.value
    }

    /// Unlinks the entry for `key` from bucket `b` of `t` (when `only` allows looking there).
    @inline(__always)
    func unlink(_ key: ByteString, _ h: UInt64, in t: UnsafeMutablePointer<UInt32>, _ b: Int, only: Bool) -> Int? {
        guard only else { return nil }
        var prev: UnsafeMutablePointer<Entry>? = nil
        var c = t[b]
        let tag = Self.tag(h)
        while c != 0 {
            let e = entry(Int(c &- 1))
            if e.pointee.tag == tag && e.pointee.key == key {
                if let p = prev { p.pointee.next = e.pointee.next } else { t[b] = e.pointee.next }
                return Int(c &- 1)
            }
            prev = e
            c = e.pointee.next
        }
        return nil
    }

    /// Repoints the link that refers to entry `from` (hash `h`) at entry `to`.
    func relink(_ from: Int, _ h: UInt64, to: Int) {
        let target = UInt32(truncatingIfNeeded: from &+ 1)
        let replacement = UInt32(truncatingIfNeeded: to &+ 1)
        func fix(_ t: UnsafeMutablePointer<UInt32>, _ b: Int) -> Bool {
            if t[b] == target { t[b] = replacement; return true }
            var c = t[b]
            while c != 0 {
                let e = entry(Int(c &- 1))
                if e.pointee.next == target { e.pointee.next = replacement; return true }
                c = e.pointee.next
            }
            return false
        }
        if rehashIndex >= 0 {
            let b0 = Int(truncatingIfNeeded: h) & (size0 &- 1)
            if b0 >= rehashIndex && fix(t0.unsafelyUnwrapped, b0) { return }
            if fix(t1.unsafelyUnwrapped, Int(truncatingIfNeeded: h) & (size1 &- 1)) { return }
        } else if fix(t0.unsafelyUnwrapped, Int(truncatingIfNeeded: h) & (size0 &- 1)) {
            return
        }
        preconditionFailure("KeyTable: entry \(from) is in no bucket chain")
    }

    // MARK: Resizing

    func startRehash(_ newSize: Int) {
        if count == 0 {
            // Nothing to move: swap in the new array at once.
            if let t = t0 { retireBuckets(t, size0) }
            t0 = Self.allocBuckets(newSize)
            size0 = newSize
            return
        }
        t1 = Self.allocBuckets(newSize)
        size1 = newSize
        rehashIndex = 0
        used0 = count
    }

    /// Whether a full table (`count` entries in `size` buckets) may grow under the resize policy:
    /// always without a child, past the force ratio with one, never in the child.
    @inline(__always)
    static func mayGrow(_ count: Int, _ size: Int) -> Bool {
        switch KeyTableResize.policy {
        case .enable: return true
        case .avoid: return count / size > KeyTableResize.forceRatio
        case .forbid: return false
        }
    }

    /// The smallest power of two of at least `n` buckets (and at least the minimum).
    static func bucketsFor(_ n: Int) -> Int {
        var target = minBuckets
        while target < n { target *= 2 }
        return target
    }

    /// Starts a shrink when fewer than 10% of the buckets are used (never below the minimum size),
    /// and only when no child process runs (Redis's dictResize).
    func shrinkIfNeeded() {
        guard rehashIndex < 0, size0 > Self.minBuckets, count * 10 < size0,
              KeyTableResize.policy == .enable else { return }
        let target = Self.bucketsFor(count)
        if target < size0 { startRehash(target) }
    }

    /// Whether rehashing may move buckets now: not in a child, and with a child running only when one
    /// table is more than the force ratio times the other (Redis 7.0's dictRehash).
    @inline(__always)
    func mayRehash() -> Bool {
        switch KeyTableResize.policy {
        case .enable: return true
        case .forbid: return false
        case .avoid: return max(size0, size1) / max(1, min(size0, size1)) >= KeyTableResize.forceRatio
        }
    }

    /// Moves up to `n` non-empty buckets of t0 into t1 (passing at most 10n empty ones).
    /// Returns true if more remains.
    @discardableResult
    func rehash(_ n: Int) -> Bool {
        guard rehashIndex >= 0 else { return false }
        guard pauseRehash == 0, mayRehash() else { return true }
        let old = t0.unsafelyUnwrapped
        let new = t1.unsafelyUnwrapped
        let mask1 = size1 &- 1
        var n = n
        var emptyVisits = n * 10
        while n > 0 && used0 > 0 && rehashIndex < size0 {
            var c = old[rehashIndex]
            if c == 0 {
                rehashIndex += 1
                emptyVisits -= 1
                if emptyVisits == 0 { return true }
                continue
            }
            while c != 0 {
                let e = entry(Int(c &- 1))
                let next = e.pointee.next
                let b = Int(truncatingIfNeeded: hash(e.pointee.key)) & mask1
                e.pointee.next = new[b]
                new[b] = c
                c = next
                used0 -= 1
            }
            old[rehashIndex] = 0
            rehashIndex += 1
            n -= 1
        }
        if used0 > 0 && rehashIndex < size0 { return true }
        retireBuckets(old, size0)
        t0 = new
        size0 = size1
        t1 = nil
        size1 = 0
        rehashIndex = -1
        used0 = 0
        return false
    }

    // MARK: SCAN

    @inline(__always)
    static func reverseBits(_ v: UInt64) -> UInt64 {
        var x = v.byteSwapped
        x = ((x & 0x0F0F_0F0F_0F0F_0F0F) &<< 4) | ((x &>> 4) & 0x0F0F_0F0F_0F0F_0F0F)
        x = ((x & 0x3333_3333_3333_3333) &<< 2) | ((x &>> 2) & 0x3333_3333_3333_3333)
        x = ((x & 0x5555_5555_5555_5555) &<< 1) | ((x &>> 1) & 0x5555_5555_5555_5555)
        return x
    }

    /// Adds one to the cursor's bits under `mask`, counting from the most significant one down.
    @inline(__always)
    static func advance(_ v: UInt64, _ mask: UInt64) -> UInt64 {
        reverseBits(reverseBits(v | ~mask) &+ 1)
    }

    @inline(__always)
    func visitBucket(_ t: UnsafeMutablePointer<UInt32>, _ b: Int, _ visit: (ByteString, Value) -> Void) {
        var c = t[b]
        while c != 0 {
            let e = entry(Int(c &- 1))
            visit(e.pointee.key, e.pointee.value)
            c = e.pointee.next
        }
    }

    /// One dictScan step: the bucket at `v` in the smaller table and, while rehashing, every bucket of
    /// the larger table that expands it. Returns the next cursor.
    func scanStep(_ cursor: UInt64, _ visit: (ByteString, Value) -> Void) -> UInt64 {
        var v = cursor
        if rehashIndex < 0 {
            let m0 = UInt64(size0 - 1)
            visitBucket(t0.unsafelyUnwrapped, Int(v & m0), visit)
            return Self.advance(v, m0)
        }
        var (small, smallMask) = (t0.unsafelyUnwrapped, UInt64(size0 - 1))
        var (large, largeMask) = (t1.unsafelyUnwrapped, UInt64(size1 - 1))
        if size0 > size1 { swap(&small, &large); swap(&smallMask, &largeMask) }
        visitBucket(small, Int(v & smallMask), visit)
        repeat {
            visitBucket(large, Int(v & largeMask), visit)
            v = Self.advance(v, largeMask)
        } while v & (smallMask ^ largeMask) != 0
        return v
    }

    // MARK: Random

    /// A uniform index in 0..<count (wyrand).
    func randomIndex() -> Int {
        rng &+= 0xa076_1d64_78bd_642f
        let r = WyHash.mix(rng, rng ^ 0xe703_7ed1_a0b4_28db)
        return Int(r.multipliedFullWidth(by: UInt64(count)).high)
    }
}

/// Memory the engine takes from the kernel directly (KeyTable's big blocks), which the allocator's
/// statistics do not see; INFO's used_memory adds it. Only the command thread touches it.
public enum EngineMemory {
    nonisolated(unsafe) public static var mappedBytes = 0
    /// Whether a key table may allocate this many bytes for a bigger bucket array (the server: not when
    /// that would put used memory over maxmemory). Nil: always.
    nonisolated(unsafe) public static var expansionAllowed: ((Int) -> Bool)? = nil
}

extension KeyTable {
    /// Calls `body` with each entry's key, value and user bits, reading the table whose struct is at
    /// `table` in place: no copy of the table, no retain of its storage, no write to it (not even the
    /// rehash pause, which only matters when something else could touch the table meanwhile). For the
    /// fork()ed snapshot child, where any write to a page copies it.
    static func forEachInPlace(_ table: UnsafeRawPointer,
                               _ body: (UnsafePointer<ByteString>, UnsafePointer<Value>, UInt32) throws -> Void) rethrows {
        guard let object = BorrowedValue.referent(table) else { return }
        try Unmanaged<KeyTableStorage<Value>>.fromOpaque(object)._withUnsafeGuaranteedRef { try $0.walkEntries(body) }
    }

    /// The number of entries of the table whose struct is at `table`, read in place.
    static func countInPlace(_ table: UnsafeRawPointer) -> Int {
        guard let object = BorrowedValue.referent(table) else { return 0 }
        return Unmanaged<KeyTableStorage<Value>>.fromOpaque(object)._withUnsafeGuaranteedRef { $0.count }
    }
}
