// Differences Redis's own test suite found, each checked here against Debian's redis-server so they
// stay fixed without the suite: WATCH and stale keys, MONITOR around transactions, CLIENT REPLY with
// pub/sub, CLIENT LIST fields, errorstats inside EXEC, CLIENT KILL USER, glob patterns that used to
// take exponential time.
import Foundation
import Testing
@testable import Server
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A step of a script: a command, or a pause (milliseconds) written as "@sleep N".
private func run(_ c: RawClient, _ steps: [String]) throws -> [String] {
    var out: [String] = []
    for step in steps {
        if step.hasPrefix("@sleep ") {
            usleep(UInt32(Int(step.dropFirst(7))!) * 1000)
            continue
        }
        out.append("\(step) -> \(try c.send(step))")
    }
    return out
}

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn)) struct SuiteFindingsTests {
    /// Runs `body` against a Cairn and a Redis; returns Cairn's and Redis's results.
    func both<T>(_ args: [String] = [], _ body: (ServerProcess) throws -> T) throws -> (cairn: T, redis: T) {
        let c = try ServerProcess(cairn: true, args: args)
        let r = try ServerProcess(cairn: false, args: args)
        return (try body(c), try body(r))
    }

    @Test func watchFollowsStaleKeyRules() throws {
        let script = [
            "DEBUG SET-ACTIVE-EXPIRE 0",
            // A live watched key that expires before EXEC fails it.
            "SET k 1 PX 50", "WATCH k", "@sleep 80", "MULTI", "INCR k", "EXEC",
            // Already stale when watched: EXEC goes on, also once the key is deleted, flushed or swapped.
            "SET x foo PX 1", "@sleep 10", "WATCH x", "MULTI", "PING", "EXEC",
            "SET x foo PX 1", "@sleep 10", "WATCH x", "EXISTS x", "MULTI", "PING", "EXEC",
            "SET x foo PX 1", "@sleep 10", "WATCH x", "FLUSHDB", "MULTI", "PING", "EXEC",
            "SET x foo PX 1", "@sleep 10", "WATCH x", "SWAPDB 0 1", "MULTI", "PING", "EXEC",
            // A watched key that does not exist, flushed: nothing changed.
            "WATCH nothere", "FLUSHALL", "MULTI", "PING", "EXEC",
            // A live watched key flushed: EXEC fails.
            "SET y 1", "WATCH y", "FLUSHDB", "MULTI", "PING", "EXEC",
        ]
        let r = try both { s in try run(try s.client(), script) }
        #expect(r.cairn == r.redis)
    }

    @Test func monitorShowsTransactionsInOrder() throws {
        let r = try both { s -> [String] in
            let monitor = try s.client()
            _ = try monitor.send("MONITOR")
            let c = try s.client()
            for line in ["MULTI", "SET foo bar", "EXEC", "MULTI", "NOSUCHCOMMAND x", "EXEC", "GET foo"] { _ = try c.send(line) }
            var lines: [String] = []
            for _ in 0 ..< 6 {
                let line = String(decoding: try monitor.readReply(), as: UTF8.self)
                // "+<time> [0 <addr>] "cmd" ...": keep the command part.
                lines.append(String(line[line.range(of: "] ")!.upperBound...]))
            }
            return lines
        }
        #expect(r.cairn == r.redis)
        #expect(r.cairn.first == "\"MULTI\"\r\n")
    }

    @Test func clientReplyOffKeepsPushesAndOnReplies() throws {
        let r = try both { s -> [String] in
            let c = try s.client(), other = try s.client()
            var out: [String] = []
            try c.write(RawClient.encode(argv("CLIENT REPLY OFF")))
            out.append(try c.send("PSUBSCRIBE *"))
            _ = try other.send("PUBLISH chan hello")
            out.append(String(decoding: try c.readReply(), as: UTF8.self))
            let d = try s.client()
            try d.write(RawClient.encode(argv("CLIENT REPLY SKIP")))
            out.append(try d.send("CLIENT REPLY ON"))
            out.append(try d.send("PING"))
            return out
        }
        #expect(r.cairn == r.redis)
    }

    @Test func clientListAndErrorStats() throws {
        let r = try both { s -> [String] in
            let c = try s.client()
            var out: [String] = []
            let list = try c.send("CLIENT LIST")
            out += list.split(separator: " ").filter { $0.hasPrefix("cmd=") || $0.hasPrefix("qbuf=") }.map(String.init)
            out += try run(c, ["CLIENT KILL USER nosuchuser", "CONFIG RESETSTAT", "MULTI", "SET a b", "AUTH a", "EXEC"])
            let stats = try c.send("INFO commandstats")
            out += stats.split(separator: "\r\n").filter { $0.hasPrefix("cmdstat_exec") || $0.hasPrefix("cmdstat_auth") }
                .map { String($0.split(separator: ",").filter { !$0.contains("usec") }.joined(separator: ",")) }.sorted()
            out += try c.send("INFO errorstats").split(separator: "\r\n").filter { $0.hasPrefix("errorstat_") }.map(String.init)
            return out
        }
        #expect(r.cairn == r.redis)
        #expect(r.cairn.contains("cmd=client|list"))
    }

    @Test func nestedStarPatternsAreFast() throws {
        let r = try both { s -> [String] in
            let c = try s.client()
            return try run(c, ["SET aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1", "KEYS a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
                               "KEYS a*a*a*", "KEYS *a", "KEYS a?a*", "KEYS [a-b]*a"])
        }
        #expect(r.cairn == r.redis)
    }

    @Test func configSetPortAndBindRebindOrFailAsRedis() throws {
        // A port someone else listens on, and a port that is free.
        let other = try ServerProcess(cairn: false)
        let r = try both { s -> [String] in
            let c = try s.client()
            var out = try run(c, ["CONFIG SET port \(other.port)", "CONFIG SET bind 999.999.999.999", "CONFIG GET port", "PING"])
            let free = freeLoopbackPort()
            out.append(try c.send("CONFIG SET port \(free)"))
            // The old listener is gone, the new one serves.
            out.append((try? RawClient(port: s.port)) == nil ? "old port closed" : "old port open")
            out.append(try RawClient(port: free).send("PING"))
            return out.map { $0.replacingOccurrences(of: String(s.port), with: "PORT") }
        }
        #expect(r.cairn == r.redis)
        #expect(r.cairn.contains("old port closed"))
    }

    @Test func hugeRandomReplyStopsAtTheOutputLimit() throws {
        let r = try both { s -> [String] in
            let c = try s.client()
            var out = try run(c, ["CONFIG SET client-output-buffer-limit \"normal 100000 0 0\"", "HSET h a b", "SADD s a", "ZADD z 1 a"])
            for cmd in ["HRANDFIELD h -999999999", "SRANDMEMBER s -999999999", "ZRANDMEMBER z -999999999"] {
                let victim = try s.client()
                out.append("\(cmd) -> " + ((try? victim.send(cmd)) == nil ? "closed" : "replied"))
            }
            out.append(try c.send("PING"))
            return out
        }
        #expect(r.cairn == r.redis)
        #expect(r.cairn.filter { $0.hasSuffix("closed") }.count == 3)
    }

    @Test func emptyMultiArgumentEnumIsRefused() throws {
        // Cairn's config loader (what cairn-server runs first) and redis-server given the same arguments.
        var cairnText = ""
        do {
            _ = try loadConfig(arguments: ["--shutdown-on-sigint"])
        } catch let e as ConfigError {
            cairnText = e.message
        }
        let redis = try runRealRedisServer(["--port", String(freeLoopbackPort()), "--shutdown-on-sigint"])
        #expect(redis.status == 1)
        for text in [cairnText, redis.stderr] {
            #expect(text.contains("'shutdown-on-sigint'") && text.contains("argument(s) must be one of the following"), "\(text)")
        }
    }

    /// DEBUG CONFIG-REWRITE-FORCE-ALL writes every parameter; a server started from that file has the
    /// same configuration (Redis's "CONFIG REWRITE sanity").
    @Test func forceAllRewriteRoundTrips() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var configs: [[String: String]] = []
        for round in 0 ..< 2 {
            let port = freeLoopbackPort()
            if round == 0 {
                try "port \(port)\nenable-debug-command yes\nsave \"\"\ndir \(dir)\nmaxmemory 10mb\n".write(toFile: dir + "/c.conf", atomically: true, encoding: .utf8)
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Paths.cairnServer)
            p.arguments = [dir + "/c.conf", "--port", String(port)]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            defer { p.terminate(); p.waitUntilExit() }
            var client: RawClient? = nil
            #expect(waitFor(timeout: 10) { client = try? RawClient(port: port); return client != nil })
            guard let c = client else { return }
            var all = configPairs(try c.send(argv("CONFIG GET *")))
            all["port"] = nil
            configs.append(all)
            if round == 0 { #expect(try c.send("DEBUG CONFIG-REWRITE-FORCE-ALL") == "+OK\r\n") }
        }
        #expect(configs[0] == configs[1])
        #expect(configs[0]["maxmemory"] == "10485760")
        let text = try String(contentsOfFile: dir + "/c.conf", encoding: .utf8)
        // Defaults are written too.
        #expect(text.contains("\nhz 10") && text.contains("\nappendonly no"))
    }
}
