// Database: one of the 16 keyspaces. Keys map to values; expiry times live in a second table (as in
// Redis) so the active expiry cycle samples only keys that have one. Lookups expire lazily.

public final class Database {
    public let id: Int
    /// key → value
    public internal(set) var keys = KeyTable<RedisValue>()
    /// key → absolute expiry in Unix ms (only keys that have one)
    public internal(set) var expires = KeyTable<Int64>()
    /// Keys the active expiry cycle has resumed from (its SCAN cursor over `expires`).
    var expireCursor: UInt64 = 0
    /// Called with each key removed because it expired (for stats, keyspace events, propagation).
    var onExpired: ((Database, ByteString) -> Void)?
    /// Called with each key created, while `notifyNewKeys` (the "new" keyspace event) is on.
    var onNewKey: ((Database, ByteString) -> Void)?
    var notifyNewKeys = false
    /// While an AOF is replayed no key counts as expired, as in Redis: a key keeps an expiry that has
    /// passed and expires once loading is over (Engine.loadingAOF sets this).
    var expiryPaused = false
    /// While clients are paused (CLIENT PAUSE) an expired key reads as absent but is not deleted, so
    /// the dataset stays still; it is deleted at the first access after the pause.
    var expiryHeld = false
    /// On a writable replica: keys its own clients (not its primary's stream) gave an expiry. The
    /// primary never sends a DEL for them, so the replica expires them itself (Redis's
    /// slaveKeysWithExpire); `recordOwnExpires` is on while such a client's command runs.
    var ownExpiringKeys = Set<ByteString>()
    var recordOwnExpires = false

    /// How accesses stamp keys (LRU clock or LFU counter); the engine shares one among its databases.
    public var access: KeyAccess

    public init(id: Int, access: KeyAccess = KeyAccess()) {
        self.id = id
        self.access = access
    }

    public var count: Int { keys.count }
    public var expiresCount: Int { expires.count }

    /// True when `key` has an expiry at or before `now`.
    @inline(__always)
    func isExpired(_ key: ByteString, now: Int64) -> Bool {
        guard expires.count > 0, !expiryPaused, let t = expires[key] else { return false }
        return t <= now
    }

    /// Removes `key` if its time has come; returns true if it is expired (and so removed, unless
    /// deletions are held by a client pause).
    @discardableResult
    public func expireIfNeeded(_ key: ByteString, now: Int64) -> Bool {
        guard isExpired(key, now: now) else { return false }
        if expiryHeld { return true }
        removeExpired(key)
        return true
    }

    /// Deletes a key whose expiry has passed and reports it (stats, keyspace event, propagation).
    @inline(__always)
    func removeExpired(_ key: ByteString) {
        keys.removeValue(forKey: key)
        expires.removeValue(forKey: key)
        onExpired?(self, key)
    }

    /// The value of `key`, expiring it first if due, and stamps the access (LRU clock or LFU
    /// counter). Does not count hits or misses.
    @inline(__always)
    public func lookup(_ key: ByteString, now: Int64) -> RedisValue? {
        if expires.count > 0 && expireIfNeeded(key, now: now) { return nil }
        // The access object lives as long as the database: used unretained (a retain per lookup less).
        let a = Unmanaged.passUnretained(access)
        return keys.access(key) { old in a._withUnsafeGuaranteedRef { $0.touched(old) } }
    }

    /// Runs `body` on the table's own value of `key` (nil when absent), expiring the key first if due
    /// and stamping the access as `lookup` does. Nothing is copied out, so a value whose storage the
    /// table alone holds can be read without reference counting and changed without copying (PFADD's
    /// register updates, PFCOUNT's cached cardinality). `body` must not add or remove keys.
    @inline(__always)
    public func withValue<R>(_ key: ByteString, now: Int64, _ body: (inout RedisValue) -> R) -> R? {
        if expires.count > 0 && expireIfNeeded(key, now: now) { return nil }
        // The access object lives as long as the database: used unretained.
        let a = Unmanaged.passUnretained(access)
        guard let e = keys.stamped(key, { old in a._withUnsafeGuaranteedRef { $0.touched(old) } }) else { return nil }
        return body(&e.pointee.value)
    }

    /// Whether `key` exists, expiring it first if due and stamping the access as `lookup` does (a write
    /// is about to replace it), without copying the value out.
    @inline(__always)
    public func existsForWrite(_ key: ByteString, now: Int64) -> Bool {
        if expires.count > 0 && expireIfNeeded(key, now: now) { return false }
        let a = Unmanaged.passUnretained(access)
        return keys.touch(key) { old in a._withUnsafeGuaranteedRef { $0.touched(old) } }
    }

    /// The value of `key`, expiring it first if due, without stamping an access (TYPE, EXISTS, TTL,
    /// OBJECT: Redis's no-touch lookups).
    @inline(__always)
    public func lookupNoTouch(_ key: ByteString, now: Int64) -> RedisValue? {
        if expires.count > 0 && expireIfNeeded(key, now: now) { return nil }
        return keys[key]
    }

    /// Stores `value` under `key`. Like Redis's setKey: an existing expiry is removed unless `keepTTL`.
    /// A new value counts as an access; under LFU an overwritten key keeps its counter.
    @inline(__always)
    public func set(_ key: ByteString, _ value: RedisValue, keepTTL: Bool = false) {
        let added = keys.set(key, value, bits: access.newKeyBits, replaceBits: access.mode == .lru)
        if !keepTTL && expires.count > 0 { expires.removeValue(forKey: key) }
        if added && notifyNewKeys { onNewKey?(self, key) }
    }

    /// Stores a key read from a file (loading): one lookup, no expiry to clear for a new key. Returns
    /// false when the key already existed (its value is then replaced, and its old expiry dropped).
    @inline(__always)
    public func insertLoaded(_ key: ByteString, _ value: RedisValue, expiresAt: Int64?) -> Bool {
        let old = keys.insert(key, value, bits: access.newKeyBits)
        if old != nil && expires.count > 0 { expires.removeValue(forKey: key) }
        if let t = expiresAt { expires[key] = t }
        if old == nil && notifyNewKeys { onNewKey?(self, key) }
        return old == nil
    }

    /// One bit per keyspace entry, in the order `keys.forEachBorrowed` visits them, set when that key has
    /// an expiry; nil when no key has one. A snapshot reads the expires table once this way (a lookup
    /// per expiring key) instead of looking every key up in it.
    public func expiryMarks() -> [UInt64]? {
        guard expires.count > 0 else { return nil }
        var bits = [UInt64](repeating: 0, count: (keys.count + 63) >> 6)
        expires.forEachBorrowed { key, _, _ in
            if let i = keys.storage.find(key.pointee) { bits[i >> 6] |= 1 &<< UInt64(i & 63) }
        }
        return bits
    }

    /// Touches the keyspace's buckets for a batch of keys about to be inserted by `insertLoaded`.
    public func warm(_ keys: UnsafeBufferPointer<ByteString>) { self.keys.warm(keys) }

    /// Sizes the tables for a file's stated database size (RESIZEDB), as Redis does before loading.
    public func reserve(keys n: Int, expires e: Int) {
        keys.expand(toHold: n)
        expires.expand(toHold: e)
    }

    /// Replaces the value of an existing key, keeping its expiry.
    public func overwrite(_ key: ByteString, _ value: RedisValue) {
        keys.set(key, value, bits: access.newKeyBits, replaceBits: access.mode == .lru)
    }

    /// The access bits of `key` (see KeyAccess), or nil when absent.
    public func accessBits(_ key: ByteString) -> UInt32? { keys.userBits(key) }

    /// Sets the access bits of an existing key (RESTORE IDLETIME/FREQ, loading a file).
    public func setAccessBits(_ key: ByteString, _ bits: UInt32) { keys.setUserBits(key, bits) }

    /// Applies an idle time or frequency recorded for `key` (a file's IDLE/FREQ opcodes, RESTORE's
    /// options) as Redis does: a frequency under an LFU policy, an idle time under any other.
    public func applyAccessRecord(_ key: ByteString, idle: Int?, freq: Int?) {
        if access.lfuPolicy {
            if let f = freq { keys.setUserBits(key, access.lfuBits(frequency: f)) }
        } else if let i = idle {
            keys.setUserBits(key, access.lruBits(idleSeconds: i))
        }
    }

    /// Deletes `key` (and its expiry); returns whether it existed.
    @discardableResult
    public func remove(_ key: ByteString) -> Bool {
        guard keys.removeValue(forKey: key) != nil else { return false }
        if expires.count > 0 { expires.removeValue(forKey: key) }
        return true
    }

    /// The absolute expiry of `key` in ms, or nil when it has none.
    public func expireTime(_ key: ByteString) -> Int64? { expires.count > 0 ? expires[key] : nil }

    /// Sets the absolute expiry of an existing key.
    public func setExpire(_ key: ByteString, at ms: Int64) {
        expires[key] = ms
        if recordOwnExpires { ownExpiringKeys.insert(key) }
    }

    /// A writable replica's cron: deletes those of its own expiring keys whose time has come, and
    /// forgets the ones that are gone or no longer have an expiry. Returns the number deleted.
    func expireOwnKeys(now: Int64) -> Int {
        guard !ownExpiringKeys.isEmpty else { return 0 }
        var done: [ByteString] = []
        var removed = 0
        for k in ownExpiringKeys {
            guard let t = expires.count > 0 ? expires[k] : nil else { done.append(k); continue }
            if t > now { continue }
            removeExpired(k)
            done.append(k)
            removed += 1
        }
        for k in done { ownExpiringKeys.remove(k) }
        return removed
    }

    /// Removes the expiry of `key`; returns whether it had one.
    @discardableResult
    public func persist(_ key: ByteString) -> Bool {
        expires.removeValue(forKey: key) != nil
    }

    /// Empties the database.
    public func removeAll() {
        keys.removeAll()
        expires.removeAll()
        ownExpiringKeys = []
        expireCursor = 0
    }

    /// A random key that has not expired (tries a bounded number of times, as Redis does).
    public func randomKey(now: Int64) -> ByteString? {
        for _ in 0 ..< 100 {
            guard let (k, _) = keys.randomElement() else { return nil }
            if !isExpired(k, now: now) { return k }
            if keys.count == expires.count {
                // Every key is volatile: expire this one and keep looking.
                expireIfNeeded(k, now: now)
            }
        }
        return keys.randomElement()?.key
    }

    /// Swaps contents with another database (SWAPDB).
    public func swapContents(with other: Database) {
        swap(&keys, &other.keys)
        swap(&expires, &other.expires)
        swap(&ownExpiringKeys, &other.ownExpiringKeys)
        expireCursor = 0
        other.expireCursor = 0
    }

    /// One slice of Redis's active expiry cycle: samples keys with an expiry and removes the
    /// expired ones, up to `limit` checks. Returns how many it removed.
    public func activeExpire(now: Int64, limit: Int) -> Int {
        guard expires.count > 0 else { return 0 }
        var due: [ByteString] = []
        var checked = 0
        var cursor = expireCursor
        repeat {
            cursor = expires.scan(cursor: cursor, count: 20) { k, t in
                checked += 1
                if t <= now { due.append(k) }
            }
        } while cursor != 0 && checked < limit
        expireCursor = cursor
        for k in due { expireIfNeeded(k, now: now) }
        return due.count
    }
}
