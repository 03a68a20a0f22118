import Foundation
import Testing
@testable import Engine
import StorageFormat
import TestSupport

/// The stream's performance structures: the chunked PEL map against a plain sorted model, and large
/// pending entries lists (many leaves, splits, merges) driven through the commands against redis-server.
@Suite struct StreamPerfTests {
    /// A deterministic pseudo-random sequence (an LCG), so a failure replays.
    struct LCG {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    /// `clustered`: IDs in three far-apart clusters (0, 2^40, 2^63), so the lookups' interpolation guess
    /// lands far from the answer, next to the evenly spread case where it lands close.
    @Test(arguments: [false, true])
    func idMapMatchesASortedModel(clustered: Bool) {
        var map = StreamIDMap<Int>()
        var model: [(StreamID, Int)] = []
        var rng = LCG(state: 42)
        func draw() -> UInt64 {
            let ms = UInt64(rng.next(6000))
            guard clustered else { return ms }
            return [0, UInt64(1) << 40, UInt64(1) << 63][rng.next(3)] + ms / 2
        }
        func modelLowerBound(_ id: StreamID) -> Int { model.firstIndex { $0.0 >= id } ?? model.count }
        func check(_ step: Int) {
            #expect(map.count == model.count, "count at step \(step)")
            let all = Array(map)
            #expect(all.map(\.id) == model.map(\.0), "order at step \(step)")
            #expect(all.map(\.value) == model.map(\.1), "values at step \(step)")
            #expect(map.first?.id == model.first?.0 && map.last?.id == model.last?.0)
            #expect(map.leaves.allSatisfy { !$0.isEmpty && $0.count <= StreamIDMap<Int>.leafMax })
            #expect(map.firsts == map.leaves.map { $0[0].id })
        }
        for step in 0 ..< 20000 {
            let op = rng.next(10)
            if op < 3 {
                // Append past the end (the common XREADGROUP pattern).
                let id = StreamID(ms: UInt64((model.last?.0.ms ?? 0) + 1 + UInt64(rng.next(3))), seq: 0)
                let inserted = map.insert(id, step)
                #expect(inserted)
                model.append((id, step))
            } else if op < 6 {
                let id = StreamID(ms: draw(), seq: UInt64(rng.next(2)))
                let i = modelLowerBound(id)
                let present = i < model.count && model[i].0 == id
                let inserted = map.insert(id, step)
                #expect(inserted == !present)
                if !present { model.insert((id, step), at: i) }
            } else if op < 9 {
                guard !model.isEmpty else { continue }
                let victim = rng.next(3) == 0 ? StreamID(ms: draw(), seq: 0) : model[rng.next(model.count)].0
                let i = modelLowerBound(victim)
                let present = i < model.count && model[i].0 == victim
                let removed = map.remove(victim)
                #expect(removed == (present ? model[i].1 : nil))
                if present { model.remove(at: i) }
            } else {
                let id = StreamID(ms: draw(), seq: 0)
                let i = modelLowerBound(id)
                let pos = map.lowerBound(id)
                if i == model.count {
                    #expect(pos == map.endIndex)
                } else {
                    #expect(map[pos].id == model[i].0)
                    #expect(Array(map.entries(from: id)).map(\.id) == model[i...].map(\.0))
                    // Removing at a position, then finding the next one again by ID (XAUTOCLAIM's walk).
                    if rng.next(2) == 0 {
                        let removed = map.remove(at: pos)
                        #expect(removed == model[i].1)
                        model.remove(at: i)
                        let again = map.lowerBound(id)
                        #expect(again == map.endIndex ? i == model.count : map[again].id == model[i].0)
                    }
                }
                #expect(map[id] == (i < model.count && model[i].0 == id ? model[i].1 : nil))
            }
            if step % 997 == 0 { check(step) }
        }
        check(-1)
        // Drain completely: leaves merge and go away.
        var rng2 = LCG(state: 7)
        while !model.isEmpty {
            let i = rng2.next(model.count)
            let removed = map.remove(model[i].0)
            #expect(removed == model[i].1)
            model.remove(at: i)
            if model.count % 500 == 0 { check(model.count) }
        }
        #expect(map.isEmpty && map.leaves.isEmpty && map.firsts.isEmpty)
    }

    /// Entries written in place over the node's terminator: every element encoding and backlen size
    /// (strings of 0 to 5000 bytes, integers of each width, same and different fields), compared by DUMP.
    @Test func entryEncodingsMatchRedisBytes() throws {
        try #require(RedisOracle.available)
        var script = ""
        var i = 1
        for len in [0, 1, 63, 64, 126, 127, 128, 200, 4094, 4095, 4096, 5000] {
            let v = String(repeating: "x", count: len)
            script += "XADD s \(i)-1 f \(v.isEmpty ? "\"\"" : v)\n"
            script += "XADD s \(i)-2 f \(v.isEmpty ? "\"\"" : v) g 1\n"
            script += "XADD s \(i)-3 \(v.isEmpty ? "\"\"" : v) 7\n"
            i += 1
        }
        for v in ["0", "127", "128", "-1", "4095", "-4096", "4096", "32767", "-32768", "8388607", "-8388609",
                  "2147483647", "2147483648", "-9223372036854775808", "9223372036854775807", "01", "1.5"] {
            script += "XADD n \(i)-0 f \(v)\n"
            script += "XADD n \(i)-1 \(v) f\n"
            i += 1
        }
        script += "XADD n \(i)-0 a 1 b 2 c 3\nXADD n \(i)-1 a 1 b 2 c 3\n"
        script += "DUMP s\nDUMP n\nXRANGE s - +\nXREVRANGE n + -\n"
        try listHashCompare(script)
    }

    /// PELs of thousands of entries (tens of leaves per consumer): acknowledgements in a scattered
    /// order, claims that insert into the middle of other consumers' PELs, reads of a consumer's PEL
    /// from an ID, XAUTOCLAIM over deleted entries, consumer deletion. Replies that carry no clock.
    @Test func largePendingListsAgainstRedis() throws {
        try #require(RedisOracle.available)
        var rng = LCG(state: 2024)
        var script = ""
        for i in 1 ... 3000 { script += "XADD s \(i)-\(i % 3) f v\(i)\n" }
        script += """
        XGROUP CREATE s g 0
        XREADGROUP GROUP g alice COUNT 1000 STREAMS s >
        XREADGROUP GROUP g bob COUNT 1000 STREAMS s >
        XREADGROUP GROUP g carol COUNT 1000 STREAMS s >
        XPENDING s g
        XINFO GROUPS s

        """
        func someID() -> String { let i = 1 + rng.next(3000); return "\(i)-\(i % 3)" }
        for round in 0 ..< 6 {
            var acks = "XACK s g"
            for _ in 0 ..< 150 { acks += " " + someID() }
            script += acks + "\n"
            for _ in 0 ..< 40 { script += "XACK s g \(someID())\n" }
            var claim = "XCLAIM s g \(["alice", "bob", "carol", "dave"][round % 4]) 0"
            for _ in 0 ..< 120 { claim += " " + someID() }
            script += claim + " JUSTID\n"
            script += "XPENDING s g\n"
            script += "XREADGROUP GROUP g alice COUNT 20 STREAMS s \(someID())\n"
            script += "XREADGROUP GROUP g bob COUNT 5 STREAMS s \(someID())\n"
            script += "XDEL s \(someID()) \(someID()) \(someID())\n"
            script += "XAUTOCLAIM s g erin 0 \(someID()) COUNT 30 JUSTID\n"
            script += "XINFO GROUPS s\n"
        }
        script += """
        XGROUP DELCONSUMER s g bob
        XPENDING s g
        XAUTOCLAIM s g erin 0 0 COUNT 5000 JUSTID
        XPENDING s g
        XREADGROUP GROUP g erin COUNT 3 STREAMS s 0
        XGROUP DELCONSUMER s g erin
        XPENDING s g
        XINFO GROUPS s
        """
        let n = try listHashCompare(script)
        #expect(n > 3000)
    }
}
