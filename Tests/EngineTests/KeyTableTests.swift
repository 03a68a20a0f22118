// KeyTableTests: the keyspace table against a Dictionary model under random operations, the SCAN
// guarantee across grows and shrinks, the bound on a single insert's time while a big table grows
// (incremental rehashing), random picks, copy-on-write, and value lifetimes (no leaks, no double frees).
import Foundation
import Testing
@testable import Engine
import TestSupport

/// Counts live instances so tests can see values are released exactly once.
final class LiveCount { var n = 0 }
final class Tracked {
    let id: Int
    let live: LiveCount
    init(_ id: Int, _ live: LiveCount) { self.id = id; self.live = live; live.n += 1 }
    deinit { live.n -= 1 }
}

private func key(_ i: Int, long: Bool = false) -> ByteString {
    ByteString(Array("k:\(i)".utf8) + (long ? Array("-a-rather-long-key-suffix".utf8) : []))
}

private func contents<V>(_ t: KeyTable<V>) -> [ByteString: V] {
    var d: [ByteString: V] = [:]
    t.forEach { k, v in
        #expect(d[k] == nil, "forEach repeated a key")
        d[k] = v
    }
    return d
}

/// Every key a full scan from cursor 0 visits.
private func scanAll<V>(_ t: KeyTable<V>, count: Int = 10) -> [ByteString] {
    var seen: [ByteString] = []
    var c: UInt64 = 0
    repeat { c = t.scan(cursor: c, count: count) { k, _ in seen.append(k) } } while c != 0
    return seen
}

@Suite struct KeyTableTests {
    @Test func matchesDictionaryUnderRandomOperations() {
        var rng = TestRNG(seed: 11)
        var table = KeyTable<Int64>()
        var model: [ByteString: Int64] = [:]
        var universe = 1000
        var mismatches = 0
        for op in 0 ..< 400_000 {
            // The key universe breathes, so the table grows and shrinks through many sizes.
            if op % 50_000 == 0 { universe = [100, 5000, 60_000, 300, 20_000, 10, 80_000, 1000][op / 50_000] }
            let i = Int.random(in: 0 ..< universe, using: &rng)
            let k = key(i, long: i % 5 == 0)
            switch Int.random(in: 0 ..< 100, using: &rng) {
            case 0 ..< 40:
                let v = Int64.random(in: -1000 ... 1000, using: &rng)
                table[k] = v
                model[k] = v
            case 40 ..< 70:
                if table.removeValue(forKey: k) != model.removeValue(forKey: k) { mismatches += 1 }
            case 70 ..< 75:
                table[k] = nil
                model[k] = nil
            case 75 ..< 80:
                let had = table.modify(k) { $0 += 1 }
                if had != (model[k] != nil) { mismatches += 1 }
                if had { model[k]! += 1 }
            case 80 ..< 82:
                table.rehashStep(buckets: Int.random(in: 1 ... 50, using: &rng))
            default:
                if table[k] != model[k] { mismatches += 1 }
            }
            if table.count != model.count { mismatches += 1 }
            if op % 25_000 == 0 {
                #expect(contents(table) == model)
                for (k, v) in model where table[k] != v { Issue.record("lost \(k)") }
            }
        }
        #expect(mismatches == 0)
        #expect(contents(table) == model)
        table.removeAll()
        #expect(table.isEmpty && table[key(1)] == nil && table.randomElement() == nil)
        #expect(table.scan(cursor: 0) { _, _ in Issue.record("visited an empty table") } == 0)
    }

    @Test func valuesAreReleasedExactlyOnce() {
        let live = LiveCount()
        do {
            var table = KeyTable<Tracked>()
            for i in 0 ..< 50_000 { table[key(i, long: i % 2 == 0)] = Tracked(i, live) }
            #expect(live.n == 50_000)
            for i in 0 ..< 50_000 where i % 3 != 0 { table.removeValue(forKey: key(i, long: i % 2 == 0)) }
            #expect(live.n == table.count)
            for i in stride(from: 0, to: 50_000, by: 3) { table[key(i, long: i % 2 == 0)] = Tracked(-i, live) }
            #expect(live.n == table.count)
            for i in stride(from: 0, to: 50_000, by: 3) { #expect(table[key(i, long: i % 2 == 0)]?.id == -i) }
            var copy = table
            copy[key(-1)] = Tracked(-1, live)
            #expect(live.n == table.count + 1)
            copy.removeAll()
            #expect(live.n == table.count)
        }
        #expect(live.n == 0)
    }

    @Test func copiesAreIndependent() {
        var a = KeyTable<Int64>()
        for i in 0 ..< 10_000 { a[key(i)] = Int64(i) }  // ends mid-rehash or not; either way
        let snapshot = a
        for i in 0 ..< 10_000 where i % 2 == 0 { a.removeValue(forKey: key(i)) }
        a[key(-5)] = 5
        #expect(snapshot.count == 10_000 && a.count == 5001)
        #expect(snapshot[key(0)] == 0 && a[key(0)] == nil && snapshot[key(-5)] == nil)
        var b = snapshot
        b.modify(key(1)) { $0 = 100 }
        #expect(snapshot[key(1)] == 1 && b[key(1)] == 100)
        #expect(contents(snapshot).count == 10_000)
    }

    @Test func scanOfAStableTableVisitsEachKeyOnce() {
        for n in [0, 1, 3, 4, 5, 100, 1000, 4097, 30_000] {
            var t = KeyTable<Int64>()
            for i in 0 ..< n { t[key(i)] = Int64(i) }
            for count in [1, 10, 1000] {
                let seen = scanAll(t, count: count)
                #expect(Set(seen).count == n && seen.count == n, "n \(n) count \(count): \(seen.count)")
            }
            // Also while a rehash is half done (scan visits both tables).
            var u = KeyTable<Int64>()
            for i in 0 ..< n { u[key(i)] = Int64(i) }
            if u.isRehashing {
                let seen = scanAll(u, count: 7)
                #expect(Set(seen).count == n && seen.count == n)
            }
        }
    }

    /// Starts a scan, then between calls inserts and deletes many keys, swinging the table between
    /// 1x and ~13x the keys present throughout (so it grows past them and shrinks back through the
    /// 10% rule, again and again, with scan calls landing in every rehash state). Every key present
    /// for the whole scan must be visited.
    @Test(arguments: [0, 1, 2, 3, 4, 5])
    func scanGuaranteeHoldsAcrossResizes(pattern: Int) {
        var rng = TestRNG(seed: UInt64(100 + pattern))
        var t = KeyTable<Int64>()
        let stableCount = [20, 200, 50, 500, 5, 100][pattern]
        for i in 0 ..< stableCount { t[key(i)] = Int64(i) }
        var transient: [Int] = []
        var next = 1_000_000
        var calls = 0
        var sizes = Set<Int>()
        var resizes = 0
        var lastSize = 0
        var growing = true
        var scans = 0
        var failures = 0
        // Scan after scan, the churn going on throughout, until the table has resized many times.
        while scans < 20 || resizes < 60 {
        var seen = Set<ByteString>()
        var cursor: UInt64 = 0
        repeat {
            cursor = t.scan(cursor: cursor, count: Int.random(in: 1 ... 4, using: &rng)) { k, _ in seen.insert(k) }
            calls += 1
            if growing {
                for _ in 0 ..< Int.random(in: 0 ... stableCount, using: &rng) {
                    t[key(next)] = -1
                    transient.append(next)
                    next += 1
                }
                if transient.count > 12 * stableCount { growing = false }
            } else if !transient.isEmpty {
                let keep = transient.count / Int.random(in: 2 ... 4, using: &rng)
                while transient.count > keep {
                    let j = Int.random(in: 0 ..< transient.count, using: &rng)
                    t.removeValue(forKey: key(transient[j]))
                    transient.swapAt(j, transient.count - 1)
                    transient.removeLast()
                }
            } else {
                // Timer steps finish the shrink a little at a time, then growth starts again.
                if !t.rehashStep(buckets: Int.random(in: 1 ... 30, using: &rng)) { growing = true }
            }
            let size = t.bucketCounts.main
            if size != lastSize { resizes += 1; lastSize = size }
            sizes.insert(size)
        } while cursor != 0 && calls < 1_000_000
        #expect(cursor == 0)
        let missing = (0 ..< stableCount).filter { !seen.contains(key($0)) }
        if !missing.isEmpty { failures += 1 }
        #expect(missing.isEmpty, "pattern \(pattern) scan \(scans): \(missing.count) of \(stableCount) stable keys not returned")
        scans += 1
        if failures > 3 { break }
        }
        print("scan pattern \(pattern): \(scans) scans, \(calls) calls, \(resizes) resizes, bucket sizes \(sizes.sorted())")
    }

    @Test func scanCursorCoversShrinkToEmptyAndBack() {
        // A key present throughout, while everything else comes and goes in huge swings.
        var t = KeyTable<Int64>()
        t[key(-1)] = 1
        var seenStable = false
        var cursor: UInt64 = 0
        var round = 0
        repeat {
            cursor = t.scan(cursor: cursor, count: 1) { k, _ in if k == key(-1) { seenStable = true } }
            round += 1
            if round % 2 == 1 {
                for i in 0 ..< 5000 { t[key(i)] = 0 }
            } else {
                for i in 0 ..< 5000 { t.removeValue(forKey: key(i)) }
                while t.rehashStep(buckets: 1000) {}
            }
        } while cursor != 0 && round < 100_000
        #expect(cursor == 0 && seenStable)
    }

    @Test func growsAtLoadOneAndShrinksUnderTenPercent() {
        var t = KeyTable<Int64>()
        #expect(t.bucketCounts.main == 0)
        t[key(0)] = 0
        #expect(t.bucketCounts.main == 4)
        for i in 1 ..< 4 { t[key(i)] = 0 }
        #expect(t.bucketCounts.main == 4 && !t.isRehashing)
        t[key(4)] = 0
        #expect(t.isRehashing && t.bucketCounts.rehashTarget == 8)
        for i in 5 ..< 100_000 { t[key(i)] = 0 }
        while t.rehashStep() {}
        #expect(t.bucketCounts.main == 131_072)
        for i in 0 ..< 99_000 { t.removeValue(forKey: key(i)) }
        while t.rehashStep() {}
        #expect(t.bucketCounts.main == 1024, "\(t.bucketCounts)")
        for i in 99_000 ..< 100_000 { #expect(t[key(i)] == 0) }
        for i in 99_000 ..< 100_000 { t.removeValue(forKey: key(i)) }
        while t.rehashStep() {}
        #expect(t.bucketCounts.main == 4 && t.isEmpty)
    }

    /// DEBUG HTSTATS's numbers: each bucket array's size, entries, non-empty buckets and chain lengths,
    /// both arrays while rehashing (their entries adding up to the table's), none for a missing target.
    @Test func bucketStatsCountEveryChain() {
        var t = KeyTable<Int64>()
        let empty = t.bucketStats(table: 0)!
        #expect(empty.size == 0 && empty.elements == 0 && empty.slots == 0)
        #expect(t.bucketStats(table: 1) == nil)
        for i in 0 ..< 1000 { t[key(i)] = 0 }
        while t.rehashStep() {}
        let st = t.bucketStats(table: 0)!
        #expect(st.size == 1024 && st.elements == 1000 && st.totalChain == 1000)
        #expect(st.distribution.reduce(0, +) == 1024)
        #expect(st.slots == 1024 - st.distribution[0] && st.maxChain >= 1)
        #expect(st.distribution.enumerated().reduce(0) { $0 + $1.offset * $1.element } == 1000)
        #expect(t.bucketStats(table: 1) == nil)
        // Growing: the entries are split between the two arrays.
        t[key(1000)] = 0
        t[key(1001)] = 0
        for i in 1002 ..< 1030 { t[key(i)] = 0 }
        #expect(t.isRehashing)
        let main = t.bucketStats(table: 0)!, target = t.bucketStats(table: 1)!
        #expect(main.size == 1024 && target.size == 2048)
        #expect(main.elements + target.elements == 1030 && main.totalChain == main.elements && target.totalChain == target.elements)
        // A chain longer than the distribution's last slot is counted there.
        let capped = t.bucketStats(table: 0, maxLength: 2)!
        #expect(capped.distribution.count == 2 && capped.distribution[1] == main.slots)
    }

    /// Random picks move a rehashing table's buckets (as Redis's dictGetSomeKeys), so a table nobody
    /// writes to finishes its resize by being read; picks without steps leave it alone.
    @Test func randomPicksDriveRehashing() {
        var t = KeyTable<Int64>()
        for i in 0 ..< 100_000 { t[key(i)] = 0 }
        while t.rehashStep() {}
        for i in 0 ..< 99_500 { t.removeValue(forKey: key(i)) }
        #expect(t.isRehashing)
        let target = t.bucketCounts.rehashTarget
        let before = t.bucketStats(table: 0)!
        for _ in 0 ..< 100 { _ = t.randomElement() }
        #expect(t.bucketStats(table: 0)! == before)
        var picks = 0
        while t.isRehashing && picks < 100_000 {
            _ = t.randomElement(rehashSteps: 20)
            picks += 1
        }
        #expect(!t.isRehashing && t.bucketCounts.main == target && t.count == 500)
    }

    /// A full table grows to the next power of two above its count, and a shrink goes to the smallest
    /// power of two holding the entries, as Redis's dictExpand(used + 1) and dictResize.
    @Test func resizeTargetsAreRedis() {
        var t = KeyTable<Int64>()
        for i in 0 ..< 4096 { t[key(i)] = 0 }
        while t.rehashStep() {}
        #expect(t.bucketCounts.main == 4096 && !t.isRehashing)
        t[key(4096)] = 0
        #expect(t.bucketCounts.rehashTarget == 8192)
        while t.rehashStep() {}
        // Removing one key at a time: the shrink starts at the first count under 10% of 8192 buckets
        // (819), toward the smallest power of two holding it.
        var i = 0
        while !t.isRehashing {
            t.removeValue(forKey: key(i))
            i += 1
        }
        #expect(t.count == 819 && t.bucketCounts.rehashTarget == 1024, "\(t.count) \(t.bucketCounts)")
    }

    @Test func randomElementIsFair() {
        var t = KeyTable<Int64>()
        #expect(t.randomElement() == nil)
        for i in 0 ..< 100 { t[key(i)] = Int64(i) }
        var hits = [Int](repeating: 0, count: 100)
        for _ in 0 ..< 200_000 {
            let (k, v) = t.randomElement()!
            #expect(t[k] == v)
            hits[Int(v)] += 1
        }
        // Mean 2000, sd ~44: every key well inside 1700...2300.
        #expect(hits.min()! > 1700 && hits.max()! < 2300, "\(hits.min()!) \(hits.max()!)")
    }

    /// A single insert never does O(n) work: while a table grows to 2M keys (through every doubling,
    /// each one rehashed incrementally), the slowest insert stays far below a full rehash's cost; the
    /// same for removes down to empty.
    /// The machine can stall the whole process now and then (a VM pause, another test's load: one run
    /// saw a single 1.2 s stall at key 52,333 while the same insert took microseconds on every other
    /// run), so each bound gets up to three rounds: O(n) work fails every round, a stall only one.
    @Test func singleInsertTimeStaysBoundedWhileGrowing() {
        let n = 2_000_000
        let keys = (0 ..< n).map { key($0) }
        // A full rehash of 2M keys takes far longer than either bound; a sanitizer build (shadow memory
        // for each new bucket array, a busy machine) gets a looser one.
        let bound: UInt64 = ProcessInfo.processInfo.environment["CAIRN_TEST_SANITIZER"] == nil ? 50_000_000 : 250_000_000
        var bestInsert = UInt64.max, bestRemove = UInt64.max
        for round in 1 ... 3 {
            var t = KeyTable<Int64>()
            var worst: UInt64 = 0
            var worstAt = 0
            var rehashes = 0
            var wasRehashing = false
            for i in 0 ..< n {
                let start = DispatchTime.now().uptimeNanoseconds
                t[keys[i]] = Int64(i)
                let d = DispatchTime.now().uptimeNanoseconds - start
                if d > worst { worst = d; worstAt = i }
                if t.isRehashing && !wasRehashing { rehashes += 1 }
                wasRehashing = t.isRehashing
            }
            print("KeyTable round \(round): slowest of \(n) inserts took \(Double(worst) / 1e6) ms (at key \(worstAt)); \(rehashes) incremental rehashes")
            #expect(rehashes >= 15)
            bestInsert = min(bestInsert, worst)
            var worstRemove: UInt64 = 0
            for i in 0 ..< n {
                let start = DispatchTime.now().uptimeNanoseconds
                t.removeValue(forKey: keys[i])
                worstRemove = max(worstRemove, DispatchTime.now().uptimeNanoseconds - start)
            }
            print("KeyTable round \(round): slowest of \(n) removes took \(Double(worstRemove) / 1e6) ms")
            #expect(t.isEmpty)
            bestRemove = min(bestRemove, worstRemove)
            if bestInsert < bound && bestRemove < bound { break }
        }
        #expect(bestInsert < bound)
        #expect(bestRemove < bound)
    }

    @Test func worksThroughDatabase() {
        let db = Database(id: 0)
        for i in 0 ..< 1000 { db.set(key(i), .string(.int(Int64(i)))) }
        for i in 0 ..< 1000 where i % 2 == 0 { db.setExpire(key(i), at: 1000) }
        #expect(db.activeExpire(now: 2000, limit: 10_000) == 500)
        #expect(db.count == 500 && db.expiresCount == 0)
        #expect(db.randomKey(now: 0) != nil)
    }
}

/// The lookups of long keys read the stored string in place (ByteString.storedEquals), relying on the
/// layout `largeTag` checks at start; and prefetching a batch of keys is only a hint.
@Suite struct KeyTableInPlaceLookupTests {
    @Test func theLongStringLayoutIsRecognised() {
        // nil would silently turn the in-place paths off (correct, but slower): the layout must be known.
        #expect(ByteString.largeTag != nil)
    }

    @Test func storedEqualsMatchesEquality() throws {
        let tag = try #require(ByteString.largeTag)
        let samples: [ByteString] = [
            ByteString(), ByteString(Array("abc".utf8)), ByteString(Array("fourteen-bytes".utf8)),
            ByteString(Array("fifteen-bytes!!".utf8)), ByteString(Array("fifteen-bytes!?".utf8)),
            ByteString(Array("key:000000012345".utf8)), ByteString(Array("key:000000012346".utf8)),
            ByteString(Array("key:0000000123456".utf8)), ByteString([UInt8](repeating: 0, count: 300)),
        ]
        for stored in samples {
            var s = stored
            for probe in samples {
                let same = withUnsafeBytes(of: &s) { ByteString.storedEquals($0.baseAddress!, probe, largeTag: tag) }
                #expect(same == (stored == probe), "\(stored) vs \(probe)")
            }
            // An equal string in another buffer (not the same array) still compares equal.
            let copy = stored.withUnsafeBytes { ByteString($0) }
            #expect(withUnsafeBytes(of: &s) { ByteString.storedEquals($0.baseAddress!, copy, largeTag: tag) })
        }
    }

    @Test func prefetchChangesNothingAndLookupsStayRight() {
        var t = KeyTable<Int>()
        for i in 0 ..< 5000 { t[key(i, long: i % 2 == 0)] = i }
        let before = contents(t)
        let probes = (0 ..< 40).map { Array("k:\($0 * 131)".utf8) + ($0 % 2 == 0 ? Array("-a-rather-long-key-suffix".utf8) : []) }
        var ranges: [UnsafeRawBufferPointer] = []
        let buffers = probes.map { p -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: p.count, alignment: 1)
            b.copyBytes(from: p)
            return b
        }
        defer { buffers.forEach { $0.deallocate() } }
        for b in buffers { ranges.append(UnsafeRawBufferPointer(b)) }
        ranges.withUnsafeBufferPointer { t.prefetch($0) }
        #expect(contents(t) == before)
        for (n, p) in probes.enumerated() {
            let i = n * 131
            #expect(t[ByteString(p)] == (i < 5000 && (i % 2 == 0) == (n % 2 == 0) ? i : nil))
        }
        #expect(t[key(4999)] == 4999 && t[key(4998, long: true)] == 4998 && t[key(4998)] == nil)
    }
}
