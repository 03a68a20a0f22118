// ByteStringTests: the inline/heap split at 14 bytes, construction from every source, byte access,
// Redis's ordering (memcmp then length), and equality/hashing agreeing across representations.
import Testing
@testable import Engine
import TestSupport

extension ByteString {
    var isInline: Bool {
        if case .small = repr { return true }
        return false
    }
}

@Suite struct ByteStringTests {
    @Test func layoutIsSixteenBytes() {
        #expect(MemoryLayout<ByteString>.size == 15)
        #expect(MemoryLayout<ByteString>.stride == 16)
        // The spare bits of the length byte carry the tags of the enums that wrap a ByteString.
        #expect(MemoryLayout<StringValue>.size == 15)
        #expect(MemoryLayout<RedisValue>.size == 16)
        #expect(MemoryLayout<KeyTableEntry<RedisValue>>.stride == 40)
        #expect(MemoryLayout<KeyTableEntry<Int64>>.stride == 32)
    }

    @Test func everyLengthRoundTripsFromEverySource() {
        var rng = TestRNG(seed: 1)
        for n in 0 ... 70 {
            for _ in 0 ..< 20 {
                let a = (0 ..< n).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
                var padded = [UInt8](repeating: 7, count: 3) + a + [9, 9]
                padded.reserveCapacity(500)
                var wasteful = [UInt8]()
                wasteful.reserveCapacity(1000)
                wasteful.append(contentsOf: a)
                let forms = [
                    ByteString(a),
                    ByteString(padded[3 ..< 3 + n]),
                    a.withUnsafeBytes { ByteString($0) },
                    ByteString(wasteful),
                ]
                for s in forms {
                    #expect(s.count == n)
                    #expect(s.isEmpty == (n == 0))
                    #expect(s.isInline == (n <= 14))
                    #expect(s.bytes == a)
                    #expect(s.withUnsafeBytes { Array($0) } == a)
                    for i in 0 ..< n where s[i] != a[i] { Issue.record("byte \(i) of \(a)") }
                    #expect(s == forms[0])
                    #expect(s.hashValue == forms[0].hashValue)
                    #expect(s._rawHashValue(seed: 42) == forms[0]._rawHashValue(seed: 42))
                    #expect(s.hash64(seed: 5) == forms[0].hash64(seed: 5))
                    #expect(!(s < forms[0]) && !(forms[0] < s))
                }
            }
        }
    }

    @Test func wastefulArraysAreNotKept() {
        var big = [UInt8](repeating: 1, count: 20)
        big.reserveCapacity(10_000)
        let s = ByteString(big)
        if case .large(let a) = s.repr { #expect(a.capacity < 100) } else { Issue.record("not large") }
        let exact = [UInt8](repeating: 2, count: 100)
        if case .large(let a) = ByteString(exact).repr {
            #expect(a.withUnsafeBytes { $0.baseAddress } == exact.withUnsafeBytes { $0.baseAddress })
        }
    }

    @Test func orderingIsMemcmpThenLength() {
        var rng = TestRNG(seed: 2)
        var arrays: [[UInt8]] = [[], [0], [0, 0], [255], [1, 0], [1]]
        for _ in 0 ..< 400 {
            let n = Int.random(in: 0 ... 24, using: &rng)
            // A tiny alphabet with 0 and 255 makes prefixes, zero padding and sign bits matter.
            arrays.append((0 ..< n).map { _ in [0, 1, 127, 128, 255].randomElement(using: &rng)! })
        }
        // Near the inline boundary: equal prefixes up to 13-16 bytes.
        for n in 12 ... 17 {
            arrays.append([UInt8](repeating: 0, count: n))
            arrays.append([UInt8](repeating: 255, count: n))
            arrays.append([UInt8](repeating: 0, count: n - 1) + [1])
        }
        let strings = arrays.map { ByteString($0) }
        var mismatches = 0
        for i in arrays.indices {
            for j in arrays.indices {
                let expected = arrays[i].lexicographicallyPrecedes(arrays[j])
                if (strings[i] < strings[j]) != expected { mismatches += 1 }
                if (strings[i] == strings[j]) != (arrays[i] == arrays[j]) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        #expect(strings.sorted().map(\.bytes) == arrays.sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func integerText() {
        var values: [Int64] = [0, 1, -1, 9, 10, -9, -10, 99, 100, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1]
        var p: Int64 = 1
        for _ in 0 ..< 18 { p *= 10; values += [p, p - 1, -p, -(p - 1)] }
        var rng = TestRNG(seed: 3)
        for _ in 0 ..< 1000 { values.append(Int64.random(in: .min ... .max, using: &rng)) }
        for v in values {
            let s = ByteString(integer: v)
            #expect(s.bytes == Array(String(v).utf8))
            #expect(s == ByteString(Array(String(v).utf8)))
            #expect(s.integerValue == v)
        }
        #expect(ByteString("007").integerValue == nil)
        #expect(ByteString("-0").integerValue == nil)
        #expect(ByteString("").integerValue == nil)
        #expect(ByteString("99999999999999999999").integerValue == nil)
    }

    @Test func literalsAndDescription() {
        #expect(ByteString("OK").bytes == [79, 75])
        #expect(ByteString("a much longer literal string").count == 28)
        #expect(ByteString("héllo").description == "héllo")
        #expect(ByteString().isEmpty && ByteString() == ByteString([]))
        #expect(ByteString([UInt8](repeating: 65, count: 30)).description == String(repeating: "A", count: 30))
    }

    @Test func worksAsDictionaryAndSetKey() {
        var d: [ByteString: Int] = [:]
        for i in 0 ..< 20_000 { d[ByteString(Array("key:\(i)".utf8) + (i % 3 == 0 ? Array(repeating: 120, count: 20) : []))] = i }
        #expect(d.count == 20_000)
        for i in stride(from: 0, to: 20_000, by: 7) {
            let k = ByteString(Array("key:\(i)".utf8) + (i % 3 == 0 ? Array(repeating: 120, count: 20) : []))
            #expect(d[k] == i)
        }
        let set = Set((0 ..< 1000).map { ByteString(integer: Int64($0 % 500)) })
        #expect(set.count == 500)
    }

    @Test func hashSpreadsSequentialKeys() {
        // Low bits (the bucket index) of sequential keys, short and long, should fill buckets evenly.
        for suffix in [[UInt8](), [UInt8](repeating: 46, count: 30)] {
            var buckets = [Int](repeating: 0, count: 1024)
            for i in 0 ..< 102_400 {
                let k = ByteString(Array("user:\(i)".utf8) + suffix)
                buckets[Int(k.hash64(seed: WyHash.processSeed) & 1023)] += 1
            }
            // Mean 100; a Poisson spread stays well within 50...160.
            #expect(buckets.min()! > 50 && buckets.max()! < 160, "min \(buckets.min()!) max \(buckets.max()!)")
        }
    }
}
