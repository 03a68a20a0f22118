// Latency: the two things Redis's LATENCY command reports.
//
// The latency monitor (`latency-monitor-threshold` ms, 0 = off) keeps, per event class ("command",
// "fast-command", "fork", "aof-fsync-always", "expire-cycle", ...), the last 160 samples of
// (Unix second, milliseconds) that reached the threshold — two samples in the same second keep the
// larger — and the all-time maximum.
//
// Per-command latency histograms (`latency-tracking yes`) record each call's duration in
// nanoseconds (µs × 1000, as Redis does) in an HDR histogram with two significant digits over
// 1 ns ... 1 s: values are grouped in buckets whose width doubles every 128 sub-buckets, so each
// value is kept within 1% of its size. LATENCY HISTOGRAM and INFO latencystats read them.

/// An HDR histogram of 1 ns ... 1 s with two significant digits (256 sub-buckets, 23 buckets).
public final class LatencyHistogram {
    static let subBucketHalfCountMagnitude = 7
    static let subBucketHalfCount = 128
    static let subBucketMask: Int64 = 255
    static let bucketCount = 23
    static let countsLength = (bucketCount + 1) * subBucketHalfCount
    static let lowest: Int64 = 1
    static let highest: Int64 = 1_000_000_000

    var counts: UnsafeMutablePointer<Int64>
    public private(set) var total: Int64 = 0

    public init() {
        counts = .allocate(capacity: Self.countsLength)
        counts.initialize(repeating: 0, count: Self.countsLength)
    }

    deinit { counts.deallocate() }

    @inline(__always)
    static func bucketIndex(_ v: Int64) -> Int {
        (Int64.bitWidth - (v | subBucketMask).leadingZeroBitCount) - (subBucketHalfCountMagnitude + 1)
    }

    @inline(__always)
    static func countsIndex(_ v: Int64) -> Int {
        let b = bucketIndex(v)
        let sub = Int(v >> Int64(b))
        return ((b + 1) << subBucketHalfCountMagnitude) + (sub - subBucketHalfCount)
    }

    /// The smallest value counted at `index`.
    static func value(at index: Int) -> Int64 {
        var b = (index >> subBucketHalfCountMagnitude) - 1
        var sub = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
        if b < 0 {
            sub -= subBucketHalfCount
            b = 0
        }
        return Int64(sub) << Int64(b)
    }

    /// The largest value that shares `v`'s slot.
    static func highestEquivalent(_ v: Int64) -> Int64 {
        let b = bucketIndex(v)
        let lowestEq = (v >> Int64(b)) << Int64(b)
        return lowestEq + (Int64(1) << Int64(b)) - 1
    }

    static func lowestEquivalent(_ v: Int64) -> Int64 {
        let b = bucketIndex(v)
        return (v >> Int64(b)) << Int64(b)
    }

    /// Records one value in ns (clamped to 1 ns ... 1 s).
    @inline(__always)
    public func record(_ ns: Int64) {
        let v = min(max(ns, Self.lowest), Self.highest)
        counts[Self.countsIndex(v)] &+= 1
        total &+= 1
    }

    /// The value (ns) at `percentile` (0–100): the top of the slot where that share of calls is reached.
    public func value(atPercentile percentile: Double) -> Int64 {
        guard total > 0 else { return 0 }
        let wanted = max(1, Int64((min(percentile, 100) / 100) * Double(total) + 0.5))
        var seen: Int64 = 0
        for i in 0 ..< Self.countsLength {
            seen += counts[i]
            if seen >= wanted { return Self.highestEquivalent(Self.value(at: i)) }
        }
        return 0
    }

    /// Cumulative counts at 1024 ns × 2^k: (µs of the level's slot top, calls at or below it), levels where the
    /// count did not change left out, ending at the level that holds every call.
    public func cumulativeDistribution() -> [(usec: Int64, count: Int64)] {
        guard total > 0 else { return [] }
        var out: [(Int64, Int64)] = []
        var level: Int64 = 1024
        var index = 0
        var cumulative: Int64 = 0
        var previous: Int64 = 0
        while true {
            let limit = Self.lowestEquivalent(level)
            while index < Self.countsLength && Self.value(at: index) <= limit {
                cumulative += counts[index]
                index += 1
            }
            if cumulative != previous {
                // Reported, as Redis does, by the highest value the level's slot holds: 1024 ns × 2^k
                // rounded up to its slot's top (32768 ns → 33 µs).
                out.append((Self.highestEquivalent(level) / 1000, cumulative))
                previous = cumulative
            }
            if cumulative >= total || index >= Self.countsLength { break }
            level *= 2
        }
        return out
    }
}

/// The latency monitor's samples.
public final class LatencyMonitor {
    public struct Sample: Sendable {
        public var time: Int
        public var ms: Int
    }

    public struct Series {
        public var samples: [Sample] = []  // oldest first, at most `capacity`
        public var max = 0
    }

    public static let capacity = 160

    /// latency-monitor-threshold in ms; 0 disables the monitor.
    public var threshold = 0
    public private(set) var events: [String: Series] = [:]

    public init() {}

    /// Adds a sample when the monitor is on and `ms` reaches the threshold.
    @inline(__always)
    public func add(_ event: String, ms: Int, now: Int) {
        guard threshold > 0, ms >= threshold else { return }
        record(event, ms: ms, now: now)
    }

    func record(_ event: String, ms: Int, now: Int) {
        var s = events[event] ?? Series()
        if var last = s.samples.last, last.time == now {
            last.ms = Swift.max(last.ms, ms)
            s.samples[s.samples.count - 1] = last
        } else {
            s.samples.append(Sample(time: now, ms: ms))
            if s.samples.count > Self.capacity { s.samples.removeFirst(s.samples.count - Self.capacity) }
        }
        s.max = Swift.max(s.max, ms)
        events[event] = s
    }

    /// Forgets the named events (all when `names` is empty); returns how many were forgotten.
    public func reset(_ names: [String]) -> Int {
        if names.isEmpty {
            let n = events.count
            events.removeAll()
            return n
        }
        var n = 0
        for name in names where events.removeValue(forKey: name) != nil { n += 1 }
        return n
    }
}
