// Eviction: keeping the dataset under `maxmemory`, as Redis does. Before each command, when memory
// in use is over the limit, keys are removed by `maxmemory-policy` until enough is freed; with
// `noeviction` (or nothing left to evict) commands that may grow memory get -OOM instead.
//
// Picking keys is Redis's approximation: sample `maxmemory-samples` random keys per database (from
// all keys, or only those with an expiry for the volatile-* policies), score them (idle seconds for
// LRU, 255 minus the decayed counter for LFU, how soon it expires for volatile-ttl), keep the best 16
// candidates in a pool across rounds, and evict the best. The random policies take any sampled key.
//
// Memory: the server's measure is its allocator count (client buffers included, the AOF buffer and
// replica output left out, as Redis's mem_not_counted_for_evict). When that count is one atomic read
// (`measureIsCheap`), every check reads it afresh and each eviction is credited with what its
// deletion freed (not what the messages it sends cost), as Redis does. Otherwise
// (glibc's mallinfo2 walks its free lists) it runs at most once per cron tick and the figure moves
// between measurements by estimates: each write adds its argument bytes plus an entry's overhead,
// each eviction subtracts the key's estimated size; the next measurement corrects any drift.
#if canImport(Glibc)
import Glibc
#endif

public enum MaxmemoryPolicy: String, Sendable, CaseIterable {
    case volatileLRU = "volatile-lru"
    case volatileLFU = "volatile-lfu"
    case volatileRandom = "volatile-random"
    case volatileTTL = "volatile-ttl"
    case allkeysLRU = "allkeys-lru"
    case allkeysLFU = "allkeys-lfu"
    case allkeysRandom = "allkeys-random"
    case noeviction = "noeviction"

    var volatileOnly: Bool {
        switch self {
        case .volatileLRU, .volatileLFU, .volatileRandom, .volatileTTL: return true
        default: return false
        }
    }

    var random: Bool { self == .volatileRandom || self == .allkeysRandom }
}

public final class Eviction {
    /// maxmemory in bytes (0: no limit).
    public var maxmemory = 0
    public var policy: MaxmemoryPolicy = .noeviction
    /// maxmemory-samples
    public var samples = 5
    /// maxmemory-eviction-tenacity (0–100): how long one eviction pass may run.
    public var tenacity = 10
    /// Measures the memory the limit applies to (the server: allocator bytes minus the AOF buffer and
    /// replica output).
    public var measure: (() -> Int)?
    /// `measure` costs next to nothing: read it at every check instead of estimating.
    public var measureIsCheap = false

    /// The last pass stopped for time with memory still over the limit: the next one is due at once.
    public var inProgress = false
    /// The last measurement, and the estimated change since.
    var measured = 0
    var drift = 0
    /// When the dataset first went over the limit without getting back under (monotonic µs; 0 = not over).
    var overSince: Int64 = 0
    /// Total µs spent over the limit (INFO total_eviction_exceeded_time, in ms there).
    var exceededTotal: Int64 = 0

    struct Candidate {
        var score: UInt64
        var db: Int
        var key: ByteString
    }
    /// Best candidates so far, ascending by score (the last is evicted first).
    var pool: [Candidate] = []
    static let poolSize = 16
    var nextRandomDB = 0

    public init() {}

    /// The memory figure the limit is compared with.
    public var used: Int { max(0, measured + drift) }

    /// Takes a fresh measurement (cron, CONFIG SET maxmemory).
    public func remeasure() {
        guard let m = measure else { return }
        measured = m()
        drift = 0
    }

    /// A write of `bytes` argument bytes happened: memory probably grew.
    @inline(__always)
    func noteWrite(_ bytes: Int) { if !measureIsCheap { drift += bytes + 48 } }

    /// µs one eviction pass may run (tenacity 10: 500 µs; 100: no limit).
    var timeLimitMicros: Int64 {
        if tenacity <= 10 { return 50 * Int64(tenacity) }
        if tenacity < 100 { return Int64(500 * pow(1.15, Double(tenacity - 10))) }
        return .max
    }

    /// Exceeded-time fields for INFO (ms).
    public func exceededTimes() -> (total: Int64, current: Int64) {
        let current = overSince > 0 ? (Self.monotonicMicros() - overSince) / 1000 : 0
        return ((exceededTotal / 1000) + current, current)
    }

    static func monotonicMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}

extension Engine {
    public enum EvictionResult { case ok, running, failed }

    /// Frees memory until under `maxmemory` (or the pass's time runs out). `.failed` when still over
    /// and nothing (more) can be evicted: commands that may use memory are then refused. After a pass
    /// that ran out of time (`.running`), `eviction.inProgress` asks the server to run the next one
    /// without waiting, as Redis does from a timer that fires again at once.
    @discardableResult
    public func performEvictions() -> EvictionResult {
        let result = evictionPass()
        eviction.inProgress = result == .running
        return result
    }

    /// Asks the server loop to run an eviction pass before it next waits (CONFIG SET maxmemory).
    public func scheduleEvictions() { eviction.inProgress = true }

    func evictionPass() -> EvictionResult {
        let ev = eviction
        guard ev.maxmemory > 0 else { return .ok }
        // Nothing is evicted while clients are paused (Redis's isSafeToPerformEvictions).
        if pauseType != .off && checkPauseTimeout() { return .ok }
        if ev.measureIsCheap { ev.remeasure() }
        if ev.used <= ev.maxmemory {
            if ev.overSince > 0 {
                ev.exceededTotal += Eviction.monotonicMicros() - ev.overSince
                ev.overSince = 0
            }
            return .ok
        }
        if ev.overSince == 0 { ev.overSince = Eviction.monotonicMicros() }
        guard ev.policy != .noeviction else { return .failed }
        let start = Eviction.monotonicMicros()
        let limit = ev.timeLimitMicros
        defer {
            if latency.threshold > 0 {
                latency.add("eviction-cycle", ms: Int((Eviction.monotonicMicros() - start) / 1000), now: Int(now / 1000))
            }
        }
        // What to free is fixed at the start, and each eviction counts only what its deletion freed,
        // as Redis's performEvictions: the invalidation messages and keyspace events an eviction
        // sends grow client buffers, and counting that growth as memory still to free would evict
        // more keys, whose messages grow the buffers again, until the database is empty.
        let toFree = ev.used - ev.maxmemory
        var freed = 0
        var evicted = 0
        defer { if ev.measureIsCheap { ev.remeasure() } }
        while freed < toFree {
            guard let (db, key) = pickEvictionCandidate() else { return .failed }
            let database = databases[db]
            guard let estimate = database.keys[key].map({ estimateMemory(key, $0) }) else { continue }
            if ev.measureIsCheap, let measure = ev.measure {
                let before = measure()
                database.remove(key)
                // The key's bytes may outlive the entry for a moment (the tracking table, the caller
                // here): the estimate stands in when the allocator saw less go.
                freed += max(before - measure(), estimate)
            } else {
                database.remove(key)
                ev.drift -= estimate
                freed += estimate
            }
            stats.evictedKeys += 1
            signalModifiedKey(db: db, key: key)
            notify(KeyspaceEventClass.evicted, "evicted", key, db: db)
            if isPropagating { emit(db, [Engine.delName, key.bytes]) }
            evicted += 1
            if evicted % 16 == 0 && Eviction.monotonicMicros() - start > limit { return .running }
        }
        return .ok
    }

    /// The next key to evict under the current policy, or nil when there is none.
    func pickEvictionCandidate() -> (Int, ByteString)? {
        let ev = eviction
        let volatile = ev.policy.volatileOnly
        if ev.policy.random {
            for _ in 0 ..< databases.count {
                let db = ev.nextRandomDB % databases.count
                ev.nextRandomDB += 1
                let d = databases[db]
                if volatile {
                    if let e = d.expires.randomElement() { return (db, e.key) }
                } else if let e = d.keys.randomElement() {
                    return (db, e.key)
                }
            }
            return nil
        }
        let access = keyAccess
        while true {
            var sampledAny = false
            for d in databases {
                let size = volatile ? d.expires.count : d.keys.count
                guard size > 0 else { continue }
                sampledAny = true
                for _ in 0 ..< min(ev.samples, size) {
                    let key: ByteString
                    let score: UInt64
                    if volatile {
                        guard let e = d.expires.randomElement() else { break }
                        key = e.key
                        if ev.policy == .volatileTTL {
                            score = UInt64.max &- UInt64(bitPattern: e.value)
                        } else {
                            guard let bits = d.keys.userBits(key) else { continue }
                            score = evictionScore(bits, access)
                        }
                    } else {
                        guard let e = d.keys.randomEntry() else { break }
                        key = e.key
                        score = evictionScore(e.bits, access)
                    }
                    insertCandidate(Eviction.Candidate(score: score, db: d.id, key: key))
                }
            }
            guard sampledAny else { return nil }
            // Best first; skip candidates deleted (or made persistent) since they were sampled.
            while let c = ev.pool.popLast() {
                let d = databases[c.db]
                if volatile ? d.expires[c.key] != nil : d.keys[c.key] != nil { return (c.db, c.key) }
            }
        }
    }

    @inline(__always)
    func evictionScore(_ bits: UInt32, _ access: KeyAccess) -> UInt64 {
        if eviction.policy == .allkeysLFU || eviction.policy == .volatileLFU {
            return 255 - UInt64(access.decayedCounter(bits))
        }
        return UInt64(access.idleSeconds(bits))
    }

    func insertCandidate(_ c: Eviction.Candidate) {
        let ev = eviction
        if let i = ev.pool.firstIndex(where: { $0.db == c.db && $0.key == c.key }) {
            ev.pool.remove(at: i)
        }
        var i = 0
        while i < ev.pool.count && ev.pool[i].score < c.score { i += 1 }
        if ev.pool.count >= Eviction.poolSize {
            if i == 0 { return }  // worse than every candidate kept
            ev.pool.removeFirst()
            i -= 1
        }
        ev.pool.insert(c, at: i)
    }
}
