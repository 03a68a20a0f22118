// LATENCY against Redis 7.0: the monitor's samples (LATEST, HISTORY, RESET, GRAPH/DOCTOR), the
// per-command histograms (LATENCY HISTOGRAM, INFO latencystats) and their resets, with Redis's reply
// shapes and error texts.
import Foundation
import Testing
@testable import Engine
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

private func lines(_ s: String) -> [String] { s.components(separatedBy: "\r\n") }

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct LatencyTests {
    @Test func monitorRecordsSpikesLikeRedis() throws {
        let cairn = try ServerProcess()
        let redis = try ServerProcess(cairn: false, args: ["--enable-debug-command", "yes"])
        var latest: [String] = []
        for c in [try cairn.client(), try redis.client()] {
            #expect(try c.send("LATENCY LATEST") == "*0\r\n")  // off by default
            #expect(try c.send("CONFIG SET latency-monitor-threshold 50") == "+OK\r\n")
            #expect(try c.send("DEBUG SLEEP 0.2") == "+OK\r\n")
            #expect(try c.send("GET x") == "$-1\r\n")  // fast, below the threshold
            let l = lines(try c.send("LATENCY LATEST"))
            // *1 / *4 / $7 / command / :time / :latest / :max
            #expect(l.count >= 8 && l[0] == "*1" && l[1] == "*4" && l[3] == "command", "\(l)")
            if l.count >= 8 {
                let t = Int(l[4].dropFirst()) ?? 0, ms = Int(l[5].dropFirst()) ?? 0, max = Int(l[6].dropFirst()) ?? 0
                #expect(abs(t - Int(Date().timeIntervalSince1970)) <= 2)
                #expect(ms >= 200 && ms < 400 && max == ms, "latest \(ms) max \(max)")
            }
            latest.append(l.prefix(4).joined(separator: "|"))
            let h = lines(try c.send("LATENCY HISTORY command"))
            #expect(h.first == "*1" && h[1] == "*2")
            #expect(try c.send("LATENCY HISTORY nosuch") == "*0\r\n")
            #expect(try c.send("LATENCY GRAPH command").contains("command - high"))
            #expect(try c.send("LATENCY DOCTOR").hasPrefix("$"))
            #expect(try c.send("LATENCY RESET nosuch") == ":0\r\n")
            #expect(try c.send("LATENCY RESET command") == ":1\r\n")
            #expect(try c.send("LATENCY LATEST") == "*0\r\n")
        }
        #expect(latest[0] == latest[1])
        // Errors and HELP, byte for byte.
        let (a, b) = (try cairn.client(), try redis.client())
        for line in ["LATENCY GRAPH nosuch", "LATENCY DOCTOR x", "LATENCY foo", "LATENCY HISTORY", "LATENCY", "LATENCY HELP",
                     "LATENCY RESET", "LATENCY HISTOGRAM nosuch"] {
            #expect(try a.send(line) == (try b.send(line)), "\(line)")
        }
    }

    /// Statistics are kept per command and, for commands with subcommands, per "name|sub": the same
    /// names as Redis in INFO commandstats and LATENCY HISTOGRAM (DEBUG has no subcommands in Redis's
    /// table, so all its calls count as "debug").
    @Test func statisticsUseRedisCommandNames() throws {
        let cairn = try ServerProcess()
        let redis = try ServerProcess(cairn: false, args: ["--enable-debug-command", "yes"])
        var seen: [[String]] = []
        for c in [try cairn.client(), try redis.client()] {
            for line in ["DEBUG SLEEP 0", "DEBUG DIGEST", "CONFIG GET port", "CLIENT ID", "OBJECT FREQ nokey", "MEMORY USAGE nokey",
                         "SLOWLOG LEN", "COMMAND COUNT", "PUBSUB CHANNELS", "ACL WHOAMI", "LATENCY LATEST", "GET x", "SET x 1"] {
                _ = try c.send(line)
            }
            let stats = try c.send("INFO commandstats").components(separatedBy: "\r\n")
                .filter { $0.hasPrefix("cmdstat_") }.map { String($0.prefix { $0 != ":" }) }
            let histogram = lines(try c.send("LATENCY HISTOGRAM")).filter { !$0.hasPrefix("*") && !$0.hasPrefix("$") && !$0.hasPrefix(":") }
            seen.append(stats.sorted() + ["--"] + histogram.filter { $0.contains("|") || ["debug", "get", "set"].contains($0) }.sorted())
        }
        #expect(seen[0] == seen[1])
        #expect(seen[0].contains("cmdstat_debug") && seen[0].contains("cmdstat_config|get"), "\(seen[0])")
    }

    @Test func histogramsCountEveryCallLikeRedis() throws {
        let cairn = try ServerProcess()
        let redis = try ServerProcess(cairn: false)
        for c in [try cairn.client(), try redis.client()] {
            _ = try c.send("HELLO 3")
            var req: [UInt8] = []
            for i in 0 ..< 300 { req += RawClient.encode(argv("SET k\(i) v")) }
            for i in 0 ..< 120 { req += RawClient.encode(argv("GET k\(i)")) }
            try c.write(req)
            for _ in 0 ..< 420 { _ = try c.readReply() }
            _ = try c.send("CONFIG GET maxmemory")
            let reply = try c.send("LATENCY HISTOGRAM set get config|get nosuch")
            let l = lines(reply)
            // %3 / $3 set / %2 / $5 calls / :300 / $14 histogram_usec / %n / :level / :count ...
            #expect(l.first == "%3", "\(reply)")
            for (name, calls) in [("set", 300), ("get", 120), ("config|get", 1)] {
                guard let at = l.firstIndex(of: name) else { Issue.record("no \(name) in \(reply)"); continue }
                #expect(l[at + 1] == "%2" && l[at + 3] == "calls" && l[at + 4] == ":\(calls)")
                #expect(l[at + 6] == "histogram_usec")
                let n = Int(l[at + 7].dropFirst()) ?? 0
                var levels: [Int] = [], counts: [Int] = []
                for j in 0 ..< n {
                    levels.append(Int(l[at + 8 + 2 * j].dropFirst()) ?? -1)
                    counts.append(Int(l[at + 9 + 2 * j].dropFirst()) ?? -1)
                }
                // Redis reports each power-of-two step from 1024 ns by the highest value its HDR bucket
                // holds (2 significant digits: from 2^n ns on, buckets are 2^(n-7) ns wide), in µs:
                // 1, 2, 4, 8, 16, then 33, 66, 132, 264... (a slow, e.g. sanitizer, build reaches those).
                let allowed = (0 ..< 30).map { k in ((1024 << k) + (1 << (k + 3)) - 1) / 1000 }
                #expect(levels.allSatisfy { allowed.contains($0) } && levels == levels.sorted(), "\(levels)")
                #expect(counts == counts.sorted() && counts.last == calls, "\(counts)")
            }
            let info = try c.send("INFO latencystats")
            let pattern = #/latency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\r\n/#
            #expect(info.contains(pattern), "\(info)")
            #expect(try c.send("CONFIG SET latency-tracking-info-percentiles \"25 75\"") == "+OK\r\n")
            #expect(try c.send("INFO latencystats").contains(#/latency_percentiles_usec_get:p25=\d+\.\d{3},p75=\d+\.\d{3}\r\n/#))
            #expect(try c.send("CONFIG RESETSTAT") == "+OK\r\n")
            #expect(try c.send("LATENCY HISTOGRAM set") == "%0\r\n")
            #expect(try c.send("CONFIG SET latency-tracking no") == "+OK\r\n")
            _ = try c.send("SET a b")
            #expect(try c.send("LATENCY HISTOGRAM set") == "%0\r\n")
        }
    }

    @Test func histogramSlotsMatchRedisPercentiles() {
        // The slot tops Redis reports for µs-resolution durations (8 µs → 8.031, 7 µs → 7.007).
        #expect(LatencyHistogram.highestEquivalent(8000) == 8031)
        #expect(LatencyHistogram.highestEquivalent(7000) == 7007)
        #expect(LatencyHistogram.highestEquivalent(100) == 100)
        let h = LatencyHistogram()
        for i in 1 ... 100 { h.record(Int64(i) * 1000) }
        #expect(h.total == 100)
        #expect(h.value(atPercentile: 50) == LatencyHistogram.highestEquivalent(50_000))
        #expect(h.value(atPercentile: 99) == LatencyHistogram.highestEquivalent(99_000))
        #expect(h.value(atPercentile: 100) == LatencyHistogram.highestEquivalent(100_000))
        let cdf = h.cumulativeDistribution()
        #expect(cdf.last?.count == 100)
        #expect(cdf.first?.usec == 1 && cdf.first?.count == 1)  // 1 µs is at or below the first level (1024 ns)
        #expect(cdf.map(\.usec) == [1, 2, 4, 8, 16, 33, 66, 132])
        // Out-of-range values are clamped, never lost.
        h.record(0); h.record(5_000_000_000)
        #expect(h.total == 102 && h.cumulativeDistribution().last?.count == 102)
    }
}
