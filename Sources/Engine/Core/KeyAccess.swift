// KeyAccess: the per-key access record Redis keeps in 24 bits of every object, here kept in the
// keyspace entry's user bits (KeyTable). Two meanings, chosen by maxmemory-policy:
//   LRU (every policy but the *-lfu ones): the LRU clock at the last access, in seconds modulo 2^24
//        (wraps after about 194 days). OBJECT IDLETIME reports now minus it.
//   LFU (volatile-lfu, allkeys-lfu): bits 8-23 the time of the last decrement in minutes modulo 2^16,
//        bits 0-7 a logarithmic access counter. A new key starts at 5; each access increments it with
//        probability 1 / ((counter - 5) × lfu-log-factor + 1); it loses one for every lfu-decay-time
//        minutes without access. OBJECT FREQ reports the decayed counter.
// Stamps are not refreshed while a forked child runs, so reads do not copy the child's pages.

public final class KeyAccess {
    public enum Mode: Sendable { case lru, lfu }

    public var mode: Mode = .lru
    /// The maxmemory policy evicts by LRU (volatile-lru, allkeys-lru): snapshots then record each
    /// key's idle time, and idle times from RESTORE IDLETIME or a loaded file are applied.
    public var lruPolicy = false
    /// The policy evicts by LFU (volatile-lfu, allkeys-lfu).
    public var lfuPolicy: Bool { mode == .lfu }
    /// lfu-log-factor
    public var lfuLogFactor = 10
    /// lfu-decay-time (minutes; 0 never decays)
    public var lfuDecayTime = 1
    /// Forked children (BGSAVE, BGREWRITEAOF) running: while there is one, accesses do not restamp
    /// keys, so reads do not copy the pages the child is still reading.
    /// Hash tables follow the same switch (Redis's updateDictResizePolicy): see KeyTableResize.
    public var forkedChildren = 0 {
        didSet {
            frozen = forkedChildren > 0
            KeyTableResize.policy = forkedChildren > 0 ? .avoid : .enable
        }
    }
    public private(set) var frozen = false

    static let lruClockMax: UInt32 = (1 << 24) - 1
    static let lfuInitialCounter: UInt32 = 5

    /// The LRU clock: Unix seconds modulo 2^24.
    public private(set) var lruClock: UInt32 = 0
    /// Unix minutes modulo 2^16 (the LFU decrement time).
    private(set) var minutes: UInt32 = 0
    private var rng: UInt64 = 0x2545_F491_4F6C_DD1D

    public init() {}

    /// Advances the clocks to `nowMs` (Unix ms).
    @inline(__always)
    public func update(nowMs: Int64) {
        let secs = UInt64(max(0, nowMs / 1000))
        lruClock = UInt32(truncatingIfNeeded: secs) & Self.lruClockMax
        minutes = UInt32(truncatingIfNeeded: secs / 60) & 0xFFFF
    }

    /// The bits a newly stored value starts with.
    @inline(__always)
    public var newKeyBits: UInt32 {
        mode == .lru ? lruClock : (minutes &<< 8) | Self.lfuInitialCounter
    }

    /// The bits after an access to a key whose bits were `old`.
    @inline(__always)
    public func touched(_ old: UInt32) -> UInt32 {
        if frozen { return old }
        if mode == .lru { return lruClock }
        var counter = decayedCounter(old)
        counter = logIncrement(counter)
        return (minutes &<< 8) | counter
    }

    /// Seconds since the access recorded in LRU bits `bits`.
    public func idleSeconds(_ bits: UInt32) -> Int {
        let b = bits & Self.lruClockMax
        if lruClock >= b { return Int(lruClock - b) }
        return Int(lruClock + (Self.lruClockMax - b))
    }

    /// LRU bits for a key idle for `seconds` (RESTORE IDLETIME, the RDB's IDLE opcode).
    public func lruBits(idleSeconds seconds: Int) -> UInt32 {
        let idle = UInt32(truncatingIfNeeded: min(max(seconds, 0), Int(Self.lruClockMax)))
        return lruClock >= idle ? lruClock - idle : Self.lruClockMax - (idle - lruClock)
    }

    /// LFU bits for a counter of `freq` as of now (RESTORE FREQ, the RDB's FREQ opcode).
    public func lfuBits(frequency freq: Int) -> UInt32 {
        (minutes &<< 8) | UInt32(min(max(freq, 0), 255))
    }

    /// The LFU counter in `bits` after the decay due since its last decrement time.
    public func decayedCounter(_ bits: UInt32) -> UInt32 {
        let counter = bits & 0xFF
        guard lfuDecayTime > 0 else { return counter }
        let last = (bits &>> 8) & 0xFFFF
        let elapsed = minutes >= last ? minutes - last : 65535 - last + minutes
        let periods = elapsed / UInt32(lfuDecayTime)
        return periods >= counter ? 0 : counter - periods
    }

    /// Increments an LFU counter with probability falling as it grows (saturates at 255).
    func logIncrement(_ counter: UInt32) -> UInt32 {
        if counter == 255 { return 255 }
        let base = counter > Self.lfuInitialCounter ? Double(counter - Self.lfuInitialCounter) : 0
        let p = 1.0 / (base * Double(lfuLogFactor) + 1)
        return nextUnit() < p ? counter + 1 : counter
    }

    /// A uniform double in [0, 1) (xorshift64*).
    private func nextUnit() -> Double {
        rng ^= rng >> 12
        rng ^= rng << 25
        rng ^= rng >> 27
        let r = rng &* 0x2545_F491_4F6C_DD1D
        return Double(r >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}
