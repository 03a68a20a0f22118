// Scripts and replication, persistence and stats against the oracle: the same command sequences, over
// several clients, sent to Debian's redis-server 7.0 and to cairn-server, with identical reply bytes:
// shebang flags on a stale and on a read-only replica (MASTERDOWN, READONLY, EXECABORT of a queued
// write script, SCRIPT LOAD while stale), redis.set_repl targets seen through DEBUG LOADAOF (and, on
// Cairn, through a replica), the command stats of a command a script was refused, and a script's
// lookups of a key DEBUG OBJECT still finds after it expired.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: Paths.haveCairn && Paths.haveRedis, "needs cairn-server built and redis-server installed"))
struct ScriptReplicationDifferentialTests {
    /// One step: which client sends the line (clients are opened as needed).
    typealias Step = (client: Int, line: [String])

    /// Runs `steps` on both servers; returns the mismatching steps with both replies.
    func compare(_ steps: [Step], args: [String] = [], filter: (String) -> String = { $0 }) throws -> [String] {
        let cairn = try ServerProcess(cairn: true, args: args)
        let redis = try ServerProcess(cairn: false, args: args)
        var mine: [Int: RawClient] = [:], theirs: [Int: RawClient] = [:]
        var mismatches: [String] = []
        for step in steps {
            if mine[step.client] == nil { mine[step.client] = try cairn.client() }
            if theirs[step.client] == nil { theirs[step.client] = try redis.client() }
            let bytes = step.line.map { Array($0.utf8) }
            let c = filter(String(decoding: try mine[step.client]!.send(bytes), as: UTF8.self))
            let r = filter(String(decoding: try theirs[step.client]!.send(bytes), as: UTF8.self))
            if c != r { mismatches.append("\(step.client): \(step.line)\n  redis: \(r.debugDescription)\n  cairn: \(c.debugDescription)") }
        }
        return mismatches
    }

    /// On a replica whose link is down with replica-serve-stale-data no: a flagless EVAL and one
    /// without allow-stale get MASTERDOWN, allow-stale scripts run but may call only stale-safe
    /// commands, and SCRIPT LOAD still works.
    @Test func shebangFlagsOnAStaleReplica() throws {
        let steps: [Step] = [
            (0, ["SET", "x", "1"]), (0, ["CONFIG", "SET", "replica-serve-stale-data", "no"]), (0, ["REPLICAOF", "127.0.0.1", "1"]),
            (0, ["EVAL", "return redis.call('get','x')", "1", "x"]),
            (0, ["EVAL", "#!lua flags=no-writes\nreturn 1", "0"]),
            (0, ["EVAL", "#!lua flags=allow-stale,no-writes\nreturn 1", "0"]),
            (0, ["EVAL", "#!lua flags=allow-stale,no-writes\nreturn redis.call('get','x')", "1", "x"]),
            (0, ["EVAL", "#!lua flags=allow-stale,no-writes\nreturn redis.pcall('get','x')", "1", "x"]),
            (0, ["EVAL", "#!lua flags=allow-stale,no-writes\nreturn redis.call('echo','foobar')", "0"]),
            (0, ["SCRIPT", "LOAD", "#!lua flags=allow-stale,no-writes\nreturn redis.call('echo','foobar')"]),
            (0, ["EVALSHA", "9e655be44ca2edf34416dd7efe4120d3ff2ebef2", "0"]),
            (0, ["SCRIPT", "EXISTS", "9e655be44ca2edf34416dd7efe4120d3ff2ebef2"]),
            (0, ["REPLICAOF", "NO", "ONE"]), (0, ["CONFIG", "SET", "replica-serve-stale-data", "yes"]),
        ]
        let mismatches = try compare(steps)
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    /// On a read-only replica: a script with write flags gets READONLY, a flagless one fails at its
    /// first write inside the script; a transaction queued while primary is judged at EXEC by its queue.
    @Test func scriptsOnAReadOnlyReplica() throws {
        let steps: [Step] = [
            (0, ["SET", "x", "some value"]),
            (1, ["MULTI"]), (1, ["EVAL", "#!lua\nreturn 1", "0"]),
            (2, ["MULTI"]), (2, ["EVAL", "redis.call('set','x',1) return 1", "1", "x"]),
            (3, ["MULTI"]), (3, ["EVAL", "#!lua flags=no-writes\nreturn redis.call('get','x')", "1", "x"]),
            (0, ["REPLICAOF", "127.0.0.1", "1"]),
            (0, ["EVAL", "#!lua flags=no-writes\nreturn redis.call('get','x')", "1", "x"]),
            (0, ["EVAL", "#!lua\nreturn redis.call('get','x')", "1", "x"]),
            (0, ["EVAL", "return redis.call('get','x')", "1", "x"]),
            (0, ["EVAL", "return redis.call('set','x','2')", "1", "x"]),
            (0, ["EVAL", "return redis.pcall('set','x','2')", "1", "x"]),
            (1, ["EXEC"]), (2, ["EXEC"]), (3, ["EXEC"]),
            (0, ["REPLICAOF", "NO", "ONE"]),
        ]
        let mismatches = try compare(steps)
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    /// A command a script was refused counts as that command's rejected call, and the script's own
    /// failure (or not, under pcall) as Redis counts them.
    @Test func refusedCommandsInScriptsAreCountedAsRejected() throws {
        // Only the counters of INFO commandstats (times differ).
        func counters(_ reply: String) -> String {
            reply.split(separator: "\n").filter { $0.hasPrefix("cmdstat_set:") || $0.hasPrefix("cmdstat_eval") || $0.hasPrefix("cmdstat_select:") }
                .map { line in line.split(separator: ",").filter { !$0.contains("usec") }.joined(separator: ",") }
                .sorted().joined(separator: "\n")
        }
        let stats = ["INFO", "commandstats"], errors = ["INFO", "errorstats"]
        let steps: [Step] = [
            (0, ["CONFIG", "RESETSTAT"]), (0, ["CONFIG", "SET", "maxmemory", "1"]),
            (0, ["EVAL", "return redis.call('set','x','y')", "1", "x"]), (0, stats), (0, errors),
            (0, ["CONFIG", "RESETSTAT"]),
            (0, ["EVAL", "local t = redis.pcall('set','x','y') return t['err']", "1", "x"]), (0, stats), (0, errors),
            (0, ["CONFIG", "SET", "maxmemory", "0"]), (0, ["CONFIG", "RESETSTAT"]),
            (0, ["EVAL_RO", "return redis.call('set','x','y')", "1", "x"]), (0, stats), (0, errors),
            (0, ["CONFIG", "RESETSTAT"]),
            (0, ["EVAL", "return redis.call('select',99)", "0"]), (0, stats), (0, errors),
        ]
        let mismatches = try compare(steps) { $0.hasPrefix("$") && $0.contains("cmdstat_") ? counters($0) : $0 }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    /// redis.set_repl: REPL_NONE writes go nowhere, REPL_AOF only to the AOF, REPL_REPLICA only to the
    /// replicas; after DEBUG LOADAOF both servers hold the same keys.
    @Test func setReplTargetsReachTheAOF() throws {
        let script = "redis.call('set','a','1'); redis.set_repl(redis.REPL_NONE); redis.call('set','b','2'); " +
            "redis.set_repl(redis.REPL_AOF); redis.call('set','c','3'); redis.set_repl(redis.REPL_REPLICA); " +
            "redis.call('set','e','5'); redis.set_repl(redis.REPL_ALL); redis.call('set','d','4')"
        let steps: [Step] = [
            (0, ["EVAL", script, "0"]), (0, ["MGET", "a", "b", "c", "d", "e"]),
            (0, ["DEBUG", "LOADAOF"]), (0, ["MGET", "a", "b", "c", "d", "e"]),
        ]
        let mismatches = try compare(steps, args: ["--appendonly", "yes"])
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    /// The same script on a Cairn primary with a Cairn replica: the replica gets only a, d and e.
    @Test func setReplTargetsReachTheReplica() throws {
        let primary = try ServerProcess(cairn: true)
        let replica = try ServerProcess(cairn: true)
        let p = try primary.client(), r = try replica.client()
        #expect(try r.send("REPLICAOF 127.0.0.1 \(primary.port)") == "+OK\r\n")
        var deadline = Date().addingTimeInterval(10)
        while !(try r.send("INFO replication")).contains("master_link_status:up") && Date() < deadline { usleep(50_000) }
        let script = "redis.call('set','a','1'); redis.set_repl(redis.REPL_NONE); redis.call('set','b','2'); " +
            "redis.set_repl(redis.REPL_AOF); redis.call('set','c','3'); redis.set_repl(redis.REPL_REPLICA); " +
            "redis.call('set','e','5'); redis.set_repl(redis.REPL_ALL); redis.call('set','d','4')"
        _ = try p.send(["EVAL", script, "0"].map { Array($0.utf8) })
        let expected = "*5\r\n$1\r\n1\r\n$-1\r\n$-1\r\n$1\r\n4\r\n$1\r\n5\r\n"
        deadline = Date().addingTimeInterval(10)
        var got = ""
        repeat {
            got = try r.send("MGET a b c d e")
            if got == expected { break }
            usleep(50_000)
        } while Date() < deadline
        #expect(got == expected)
        #expect(try p.send("MGET a b c d e") == "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n")
    }

    /// With active expiry off, DEBUG OBJECT still finds a key past its expiry (Redis 7.0 does not
    /// expire it there); a script's EXISTS then sees it gone, and so does the client.
    @Test func scriptsSeeAnExpiredKeyGone() throws {
        let steps: [Step] = [
            (0, ["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), (0, ["SET", "key", "value", "PX", "1"]), (0, ["DEBUG", "SLEEP", "0.01"]),
            (0, ["DEBUG", "OBJECT", "key"]),
            (0, ["EVAL", "return redis.call('EXISTS', 'key')", "0"]), (0, ["EXISTS", "key"]), (0, ["DEBUG", "OBJECT", "key"]),
            (0, ["DEBUG", "SET-ACTIVE-EXPIRE", "1"]),
        ]
        // DEBUG OBJECT's text shows addresses and LRU clocks: only whether it found the key is compared.
        let mismatches = try compare(steps) { $0.hasPrefix("+Value at:") ? "+Value at:..." : $0 }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }
}
