// Streams (consumer groups, PELs, tombstones, trimmed and emptied streams, XSETID metadata),
// HyperLogLog (sparse and dense), geo sets and BITFIELD strings move between Debian's redis-server
// 7.0 and cairn-server, real processes over real sockets, both ways and through every path: RDB
// files (SAVE, loaded at start), AOF directories (with and without an RDB preamble, before and after
// BGREWRITEAOF) and DUMP/RESTORE payloads. Sameness is judged by DEBUG DIGEST (the whole dataset),
// DEBUG DIGEST-VALUE per key, and the raw reply bytes of XINFO STREAM FULL (which also shows the
// consumer groups the digest leaves out), PFCOUNT, GEOPOS, PEXPIRETIME and DUMP. Loading servers run
// with sanitize-dump-payload yes (Redis then validates every listpack, node and PEL it reads), Redis's
// redis-check-rdb and redis-check-aof check Cairn's files, and loaded values are written to afterwards
// on both sides to show they behave alike too.
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A redis-server or cairn-server with DEBUG enabled, on a free loopback port, in a folder of its own.
private final class InteropServer {
    let cairn: Bool
    let dir: String
    let port: Int
    let process = Process()
    private(set) var client: RawClient
    private let ownsDir: Bool

    var name: String { cairn ? "cairn" : "redis" }

    /// `dir`: run in this existing folder (kept); a new temporary one (removed at the end) when nil.
    /// `extra`: more options, last on the command line (so they win).
    /// `owningDir`: remove a given `dir` at the end too.
    init(cairn: Bool, dir given: String? = nil, owningDir: Bool = false, extra: [String] = []) throws {
        self.cairn = cairn
        dir = try given ?? makeTempDir("cairn-newtypes")
        ownsDir = given == nil || owningDir
        port = freeLoopbackPort()
        process.executableURL = URL(fileURLWithPath: cairn ? Paths.tool("cairn-server") : Paths.redisServer)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--dbfilename", "dump.rdb",
                             "--save", "", "--appendonly", "no", "--daemonize", "no",
                             "--logfile", dir + "/\(cairn ? "cairn" : "redis")-\(port).log",
                             "--enable-debug-command", "yes", "--stream-node-max-entries", "8"] + extra
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !process.isRunning {
                process.waitUntilExit()
                let why = "\(cairn ? "cairn-server" : "redis-server") exited: \(InteropServer.log(dir: dir, port: port))"
                if ownsDir { removeTree(dir) }
                throw TestFailure(description: why)
            }
            if let c = try? RawClient(port: port, timeout: 30), let pong = try? c.send("PING"), !pong.hasPrefix("-LOADING") {
                client = c
                return
            }
            usleep(20_000)
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let why = "\(cairn ? "cairn-server" : "redis-server") did not answer PING: \(InteropServer.log(dir: dir, port: port))"
        if ownsDir { removeTree(dir) }
        throw TestFailure(description: why)
    }

    func log() -> String { InteropServer.log(dir: dir, port: port) }

    private static func log(dir: String, port: Int) -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix("-\(port).log") }
            .map { (try? String(contentsOfFile: dir + "/" + $0, encoding: .utf8)) ?? "" }.joined()
    }

    /// The raw reply bytes of `args`.
    func send(_ args: [String]) throws -> [UInt8] { try client.send(args.map { Array($0.utf8) }) }

    /// The raw reply of `args` as text.
    @discardableResult
    func run(_ args: String...) throws -> String { try run(args) }

    /// The raw reply of `args` as text.
    @discardableResult
    func run(_ args: [String]) throws -> String { String(decoding: try send(args), as: UTF8.self) }

    /// Runs `args`, failing on an error reply; returns the reply as text.
    @discardableResult
    func must(_ args: [String]) throws -> String {
        let r = String(decoding: try send(args), as: UTF8.self)
        if r.hasPrefix("-") { throw TestFailure(description: "\(name): \(args.joined(separator: " ").prefix(120)) -> \(r)") }
        return r
    }

    /// An INFO field.
    func info(_ section: String, _ field: String) throws -> String? { try client.infoField(section, field) }

    /// Waits until no rewrite or save child runs (nor is scheduled).
    func waitForChildren() throws {
        try waitFor("\(name) background jobs", timeout: 60) {
            try client.persistenceIdle(andSave: true)
        }
    }

    func stop() { stopServer(process, grace: 10) { _ = try? client.send(argv("SHUTDOWN NOSAVE")) } }

    deinit {
        stop()
        if ownsDir { removeTree(dir) }
    }
}

/// The dataset, as commands both servers run. Every stream ID is explicit, so two servers that run
/// `explicitCommands` separately hold the same data (delivery and seen times apart).
private enum NewTypesDataset {
    /// An absolute expire time in ms, the same for both servers, well in the future.
    static let expireAt = (Int(Date().timeIntervalSince1970) + 30 * 86_400) * 1000 + 123

    static let streamKeys = ["s:big", "s:trim", "s:empty", "s:emptied", "s:groups", "s:setid"]

    static func explicitCommands() -> [[String]] {
        var c: [[String]] = []
        // s:big: 300 entries over many nodes of 8 (the servers run with stream-node-max-entries 8),
        // field sets that change (so some entries share the master entry's fields and some do not),
        // values that are integers and strings, then deletions: every 7th entry and a whole node.
        for i in 1 ... 300 {
            var cmd = ["XADD", "s:big", "\(1_000 + i)-\(i % 4)"]
            let nfields = i % 3 + 1
            for k in 0 ..< nfields {
                cmd += ["f\(k + (i / 50))", i % 2 == 0 ? String(i * (k + 1) - 150) : "value-\(i)-\(k)"]
            }
            c.append(cmd)
        }
        c.append(["XDEL", "s:big"] + stride(from: 1, through: 300, by: 7).map { "\(1_000 + $0)-\($0 % 4)" })
        c.append(["XDEL", "s:big"] + (9 ... 16).map { "\(1_000 + $0)-\($0 % 4)" })
        c.append(["XDEL", "s:big", "1300-0"])   // the last entry: max-deleted-id is the last ID
        // s:trim: exact MAXLEN and MINID trims, and an XADD that trims.
        for i in 1 ... 100 { c.append(["XADD", "s:trim", "\(i)-1", "n", String(i), "s", "x\(i)"]) }
        c.append(["XTRIM", "s:trim", "MAXLEN", "30"])
        c.append(["XTRIM", "s:trim", "MINID", "75"])
        c.append(["XADD", "s:trim", "MAXLEN", "20", "101-0", "n", "101"])
        // s:empty: no entries, one group; s:emptied: its only entry deleted.
        c.append(["XGROUP", "CREATE", "s:empty", "g0", "$", "MKSTREAM"])
        c.append(["XADD", "s:emptied", "5-5", "a", "1"])
        c.append(["XDEL", "s:emptied", "5-5"])
        // s:groups: three groups, pending entries for several consumers, acks, claims, a consumer
        // with nothing pending, a pending entry that was deleted, ENTRIESREAD.
        for i in 1 ... 20 { c.append(["XADD", "s:groups", "\(100 + i)-0", "item", String(i), "who", i % 2 == 0 ? "even" : "odd"]) }
        c.append(["XGROUP", "CREATE", "s:groups", "g1", "0"])
        c.append(["XGROUP", "CREATE", "s:groups", "g2", "$"])
        c.append(["XGROUP", "CREATE", "s:groups", "g3", "105-0", "ENTRIESREAD", "5"])
        c.append(["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", "s:groups", ">"])
        c.append(["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "4", "STREAMS", "s:groups", ">"])
        c.append(["XACK", "s:groups", "g1", "101-0", "103-0", "107-0"])
        c.append(["XGROUP", "CREATECONSUMER", "s:groups", "g1", "carol"])
        c.append(["XGROUP", "CREATECONSUMER", "s:groups", "g1", "erin"])
        c.append(["XCLAIM", "s:groups", "g1", "carol", "0", "102-0", "104-0"])
        c.append(["XREADGROUP", "GROUP", "g3", "dave", "STREAMS", "s:groups", ">"])
        c.append(["XACK", "s:groups", "g3", "106-0", "120-0"])
        c.append(["XDEL", "s:groups", "108-0"])
        c.append(["XGROUP", "SETID", "s:groups", "g2", "110-0", "ENTRIESREAD", "10"])
        // s:setid: XSETID with ENTRIESADDED and MAXDELETEDID.
        c.append(["XADD", "s:setid", "1-1", "a", "1"])
        c.append(["XADD", "s:setid", "2-2", "b", "2"])
        c.append(["XADD", "s:setid", "3-3", "c", "3"])
        c.append(["XDEL", "s:setid", "3-3"])
        c.append(["XSETID", "s:setid", "50-0", "ENTRIESADDED", "100", "MAXDELETEDID", "40-0"])
        c.append(["XGROUP", "CREATE", "s:setid", "late", "0", "ENTRIESREAD", "1"])
        // s:ints: values of every listpack integer width and sign, non-canonical numbers kept as
        // strings, an entry bigger than stream-node-max-bytes, IDs with huge jumps up to the largest.
        let numbers = ["0", "-1", "127", "128", "-4096", "4095", "-32768", "32767", "8388607", "-8388608", "2147483647",
                       "-2147483648", "9223372036854775807", "-9223372036854775808", "18446744073709551615", "007", "-0",
                       "1e5", " 1", "+1", "3.14"]
        for (i, n) in numbers.enumerated() { c.append(["XADD", "s:ints", "\(i + 1)-\(i)", n, n, "i\(i)", String(i * 1_000_003)]) }
        c.append(["XADD", "s:ints", "100-0", "huge", String(repeating: "0123456789", count: 600), "tail", "1"])
        c.append(["XADD", "s:ints", "101-0", "after", "huge"])
        c.append(["XADD", "s:ids", "1-0", "a", "1"])
        c.append(["XADD", "s:ids", "1-18446744073709551615", "a", "2"])
        c.append(["XADD", "s:ids", "4294967296-0", "a", "3"])
        c.append(["XADD", "s:ids", "9007199254740993-7", "a", "4"])
        c.append(["XADD", "s:ids", "18446744073709551615-0", "a", "5"])
        c.append(["XGROUP", "CREATE", "s:ids", "all", "0"])
        c.append(["XREADGROUP", "GROUP", "all", "x", "COUNT", "3", "STREAMS", "s:ids", ">"])
        // HyperLogLog: sparse (cached cardinality and not), dense, merged.
        c.append(["PFADD", "hll:sparse"] + (0 ..< 40).map { "elem-\($0)" })
        c.append(["PFCOUNT", "hll:sparse"])
        c.append(["PFADD", "hll:nocache"] + (0 ..< 25).map { "other-\($0)" })
        for batch in 0 ..< 8 { c.append(["PFADD", "hll:dense"] + (0 ..< 500).map { "d\(batch * 500 + $0)" }) }
        c.append(["PFCOUNT", "hll:dense"])
        c.append(["PFADD", "hll:dense", "one-more"])
        c.append(["PFMERGE", "hll:merged", "hll:sparse", "hll:nocache"])
        c.append(["PFADD", "hll:empty"])
        // Geo: ordinary points, the poles' latitude limits and the antimeridian.
        c.append(["GEOADD", "geo:pts", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania",
                  "180", "0", "anti-east", "-180", "0", "anti-west", "179.9999999", "-45.5", "near-east",
                  "-179.9999999", "45.5", "near-west", "0", "85.05112878", "north", "0", "-85.05112878", "south",
                  "-0.0001", "85.05", "north-ish", "120.123456789", "-85.0511", "south-ish", "0", "0", "origin"])
        c.append(["GEOADD", "geo:pts", "XX", "CH", "13.4", "38.2", "Palermo"])
        // A geo set past zset-max-listpack-entries (a skiplist), points all over the globe.
        var big = ["GEOADD", "geo:big"]
        for i in 0 ..< 200 {
            big += [String(format: "%.6f", -180 + Double(i * 7919 % 36000) / 100), String(format: "%.6f", -85 + Double(i * 104729 % 17000) / 100), "m\(i)"]
        }
        c.append(big)
        c.append(["GEOSEARCHSTORE", "geo:near", "geo:pts", "FROMLONLAT", "15", "37", "BYRADIUS", "300", "km", "ASC"])
        c.append(["GEOSEARCHSTORE", "geo:dist", "geo:pts", "FROMMEMBER", "origin", "BYBOX", "40000", "40000", "km", "ASC", "STOREDIST"])
        // BITFIELD: several widths, signed and unsigned, every overflow mode, and a SETBIT far out.
        c.append(["BITFIELD", "bf", "SET", "u8", "0", "255", "SET", "i5", "8", "-3", "INCRBY", "u16", "13", "1000",
                  "SET", "i64", "100", "-123456789012", "INCRBY", "u63", "200", "5", "OVERFLOW", "SAT", "INCRBY", "i8", "300", "200",
                  "OVERFLOW", "FAIL", "INCRBY", "u4", "400", "20", "OVERFLOW", "WRAP", "INCRBY", "i16", "#30", "40000",
                  "SET", "u1", "#1000", "1", "SET", "i32", "#9", "-7"])
        c.append(["BITFIELD", "bf", "INCRBY", "u2", "3", "7", "OVERFLOW", "SAT", "INCRBY", "i63", "5000", "-9223372036854775807"])
        c.append(["SETBIT", "bf", "9000", "1"])
        c.append(["BITFIELD", "bf:small", "SET", "u3", "0", "5", "SET", "i7", "3", "-64"])
        // TTLs.
        c.append(["PEXPIREAT", "s:trim", String(expireAt)])
        c.append(["PEXPIREAT", "s:groups", String(expireAt + 1)])
        c.append(["PEXPIREAT", "hll:sparse", String(expireAt + 2)])
        c.append(["PEXPIREAT", "hll:dense", String(expireAt + 3)])
        c.append(["PEXPIREAT", "geo:pts", String(expireAt + 4)])
        c.append(["PEXPIREAT", "bf", String(expireAt + 5)])
        return c
    }

    /// Commands with `*` IDs and the group commands whose propagation replaces them (XREADGROUP,
    /// XCLAIM, XAUTOCLAIM, also over a deleted pending entry), on s:auto; run after `explicitCommands`.
    /// `tag` varies the values so a second round adds different data.
    static func runAutoCommands(on s: InteropServer, tag: String = "") throws {
        var ids: [String] = []
        for i in 0 ..< 12 {
            let r = try s.must(["XADD", "s:auto", "*", "n", "\(tag)\(i)", "pad", String(repeating: "p", count: i)])
            ids.append(try bulkText(r))
        }
        try s.must(["XADD", "s:auto", "MAXLEN", "=", "11", "*", "n", "\(tag)last"])
        let key = "s:auto"
        if tag.isEmpty {
            try s.must(["XGROUP", "CREATE", key, "ga", "0"])
            try s.must(["XGROUP", "CREATE", key, "gb", "$"])
        }
        try s.must(["XREADGROUP", "GROUP", "ga", "c1", "COUNT", "6", "STREAMS", key, ">"])
        try s.must(["XREADGROUP", "GROUP", "ga", "c2", "COUNT", "2", "STREAMS", key, ">"])
        try s.must(["XCLAIM", key, "ga", "c3", "0", ids[2], ids[3], "RETRYCOUNT", "7"])
        try s.must(["XCLAIM", key, "ga", "c2", "0", ids[4], "IDLE", "500", "JUSTID"])
        try s.must(["XDEL", key, ids[5]])
        try s.must(["XAUTOCLAIM", key, "ga", "c4", "0", "0-0", "COUNT", "3"])
        try s.must(["XAUTOCLAIM", key, "ga", "c4", "0", "0-0", "COUNT", "2", "JUSTID"])
        try s.must(["XACK", key, "ga", ids[6]])
        try s.must(["XREADGROUP", "GROUP", "gb", "c9", "STREAMS", key, ">"])
        try s.must(["XADD", key, "*", "n", "\(tag)after"])
        try s.must(["PFADD", "hll:auto"] + (0 ..< 30).map { "\(tag)a\($0)" })
        try s.must(["PFCOUNT", "hll:auto"])
        try s.must(["PFCOUNT", "hll:sparse", "hll:nocache"])
        try s.must(["GEOADD", "geo:auto", "-179.5", "-85", "\(tag)p1", "179.5", "85", "\(tag)p2"])
        try s.must(["BITFIELD", "bf:auto", "INCRBY", "i12", "#3", "\(tag.count + 100)", "SET", "u33", "70", "123456789"])
    }

    /// Writes to the loaded values (explicit IDs), run on both servers after a load: the loaded
    /// values must behave alike too (a sparse HLL promoted to dense, nodes appended to and trimmed,
    /// groups read from and claimed).
    static func followUpCommands() -> [[String]] {
        var c: [[String]] = []
        c.append(["PFADD", "hll:sparse"] + (0 ..< 1500).map { "more-\($0)" })
        c.append(["PFADD", "hll:nocache", "x", "y"])
        c.append(["PFADD", "hll:dense", "z1", "z2", "z3"])
        c.append(["PFMERGE", "hll:merged2", "hll:merged", "hll:dense"])
        c.append(["PFCOUNT", "hll:sparse"])
        c.append(["GEOADD", "geo:pts", "-179.99", "-85.05", "deep-south", "13.361389", "38.115556", "Palermo"])
        c.append(["ZREM", "geo:big", "m3", "m5"])
        c.append(["BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "u16", "13", "65000", "INCRBY", "i64", "100", "1"])
        c.append(["XADD", "s:big", "2000-0", "f9", "v"])
        c.append(["XDEL", "s:big", "1100-0", "1101-1"])
        c.append(["XTRIM", "s:big", "MINID", "1040"])
        c.append(["XADD", "s:emptied", "6-0", "b", "2"])
        c.append(["XADD", "s:empty", "7-0", "c", "3"])
        c.append(["XREADGROUP", "GROUP", "g0", "new", "STREAMS", "s:empty", ">"])
        c.append(["XREADGROUP", "GROUP", "g2", "frank", "COUNT", "3", "STREAMS", "s:groups", ">"])
        c.append(["XACK", "s:groups", "g1", "102-0", "108-0"])
        c.append(["XCLAIM", "s:groups", "g1", "erin", "0", "109-0", "JUSTID"])
        c.append(["XAUTOCLAIM", "s:groups", "g3", "dave2", "0", "0-0", "COUNT", "4"])
        c.append(["XADD", "s:setid", "51-0", "d", "4"])
        c.append(["XADD", "s:ints", "102-0", "i", "-9223372036854775808"])
        return c
    }

    static func run(_ cmds: [[String]], on s: InteropServer) throws { for c in cmds { try s.must(c) } }
}

/// The text of a bulk-string reply ("$n\r\n…\r\n").
private func bulkText(_ reply: String) throws -> String {
    let lines = reply.components(separatedBy: "\r\n")
    guard reply.hasPrefix("$"), lines.count == 3, lines[1].utf8.count == Int(lines[0].dropFirst()) else {
        throw TestFailure(description: "not a bulk: \(reply)")
    }
    return lines[1]
}

/// The elements of an array of bulk strings (KEYS, ZRANGE).
private func bulkList(_ reply: [UInt8]) -> [String] {
    var out: [String] = []
    guard reply.first == UInt8(ascii: "*"), var i = reply.firstIndex(of: 10).map({ $0 + 1 }) else { return out }
    while i < reply.count, reply[i] == UInt8(ascii: "$") {
        guard let nl = reply[i...].firstIndex(of: 10), let n = Int(String(decoding: reply[(i + 1) ..< (nl - 1)], as: UTF8.self)) else { break }
        out.append(String(decoding: reply[(nl + 1) ..< (nl + 1 + n)], as: UTF8.self))
        i = nl + 1 + n + 2
    }
    return out
}

/// Where two replies part: the first differing line and a few lines around it, from each.
private func whereTheyDiffer(_ a: String, _ b: String) -> String {
    let la = a.components(separatedBy: "\r\n"), lb = b.components(separatedBy: "\r\n")
    var i = 0
    while i < la.count && i < lb.count && la[i] == lb[i] { i += 1 }
    let from = max(0, i - 8)
    return "line \(i) of \(la.count)/\(lb.count): " + la[from ..< min(la.count, i + 4)].joined(separator: " ")
        + "  <>  " + lb[from ..< min(lb.count, i + 4)].joined(separator: " ")
}

/// What XINFO STREAM FULL replies are compared with.
private enum StreamInfoCheck {
    /// Byte for byte.
    case exact
    /// Each consumer's seen-time replaced: a server that loads an AOF replays the consumers' creation,
    /// so their seen-time is the load's time (Redis's own loader does the same).
    case maskSeenTime
    /// Every millisecond time (13-digit integer) replaced: delivery and seen times of two servers that
    /// ran the same commands at slightly different times.
    case maskAllTimes
    /// Not compared: a writer against a server that loaded its AOF, whose group state differs from
    /// the writer's by what Redis's propagation itself loses (entries-read after XREADGROUP becomes
    /// unknown, a PEL entry whose message was deleted is dropped on replay, a rewrite repacks nodes).
    case skip

    func apply(_ reply: String) -> String {
        switch self {
        case .exact, .skip: return reply
        case .maskSeenTime: return mask(reply, after: "seen-time\r\n:")
        case .maskAllTimes: return mask(reply, after: ":", digits: 13)
        }
    }

    /// `reply` with the digits after each `marker` replaced by "T" (only runs of exactly `digits`
    /// digits when given).
    private func mask(_ reply: String, after marker: String, digits: Int? = nil) -> String {
        var out = ""
        var rest = Substring(reply)
        while let r = rest.range(of: marker) {
            out += rest[..<r.upperBound]
            rest = rest[r.upperBound...]
            let run = rest.prefix { $0.isASCII && $0.isNumber }
            if digits == nil || run.count == digits! {
                out += "T"
                rest = rest.dropFirst(run.count)
            }
        }
        return out + rest
    }
}

/// Compares two servers' datasets: DEBUG DIGEST, the key set, and per key its type, DEBUG
/// DIGEST-VALUE, PEXPIRETIME, DUMP (when `dumps`), and XINFO STREAM FULL / PFCOUNT / GEOPOS replies
/// byte for byte (XINFO as `streams` says). Returns how many keys were compared.
@discardableResult
private func expectSameDataset(_ a: InteropServer, _ b: InteropServer, streams: StreamInfoCheck = .exact, dumps: Bool = false, pfcount: Bool = true,
                               _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    let keysA = bulkList(try a.send(["KEYS", "*"])).sorted()
    let keysB = bulkList(try b.send(["KEYS", "*"])).sorted()
    #expect(keysA == keysB, "\(what): key sets differ", sourceLocation: sourceLocation)
    #expect(keysA.count >= 10, "\(what): only \(keysA.count) keys", sourceLocation: sourceLocation)
    for key in keysA {
        // (OBJECT ENCODING of a string is left out: a short one that BITFIELD, SETBIT or PFADD made is
        // "raw" in the server that ran them and "embstr" once loaded, in Redis as in Cairn.)
        let isString = try a.run("TYPE", key) == "+string\r\n"
        for cmd in [["TYPE", key], ["DEBUG", "DIGEST-VALUE", key], ["PEXPIRETIME", key]] + (isString ? [] : [["OBJECT", "ENCODING", key]])
            + (dumps ? [["DUMP", key]] : []) {
            let ra = try a.run(cmd), rb = try b.run(cmd)
            #expect(ra == rb, "\(what): \(cmd.joined(separator: " ")): \(a.name) \(ra.debugDescription.prefix(300)) vs \(b.name) \(rb.debugDescription.prefix(300))", sourceLocation: sourceLocation)
        }
        let type = try a.run("TYPE", key)
        if type == "+stream\r\n" {
            let infos = streams == .skip ? [] : [["XINFO", "STREAM", key, "FULL", "COUNT", "0"], ["XINFO", "STREAM", key, "FULL", "COUNT", "3"]]
            for cmd in infos + [["XLEN", key], ["XRANGE", key, "-", "+"], ["XREVRANGE", key, "+", "-", "COUNT", "5"]] {
                let ra = streams.apply(try a.run(cmd)), rb = streams.apply(try b.run(cmd))
                #expect(ra == rb, "\(what): \(cmd.joined(separator: " ")): \(a.name) <> \(b.name) at \(whereTheyDiffer(ra, rb))", sourceLocation: sourceLocation)
            }
        } else if key.hasPrefix("geo:") {
            let members = bulkList(try a.send(["ZRANGE", key, "0", "-1"]))
            for cmd in [["GEOPOS", key] + members + ["missing"], ["ZRANGE", key, "0", "-1", "WITHSCORES"], ["GEOHASH", key] + members] {
                let ra = try a.run(cmd), rb = try b.run(cmd)
                #expect(ra == rb, "\(what): \(cmd.prefix(3).joined(separator: " ")): \(a.name) \(ra.debugDescription) vs \(b.name) \(rb.debugDescription)", sourceLocation: sourceLocation)
            }
        } else if key.hasPrefix("bf") {
            let cmd = ["BITFIELD_RO", key, "GET", "u8", "0", "GET", "i5", "8", "GET", "u16", "13", "GET", "i64", "100", "GET", "u63", "200",
                       "GET", "i8", "300", "GET", "i16", "#30", "GET", "u33", "70", "GET", "i12", "#3"]
            let ra = try a.run(cmd), rb = try b.run(cmd)
            #expect(ra == rb, "\(what): BITFIELD_RO \(key): \(a.name) \(ra.debugDescription) vs \(b.name) \(rb.debugDescription)", sourceLocation: sourceLocation)
        }
    }
    // PFCOUNT last: it may refresh an HLL's cached cardinality (its value), on both alike (so a
    // server compared again with a third one is compared without it).
    for key in keysA where pfcount && key.hasPrefix("hll:") {
        let ra = try a.run("PFCOUNT", key), rb = try b.run("PFCOUNT", key)
        #expect(ra == rb && ra.hasPrefix(":"), "\(what): PFCOUNT \(key): \(a.name) \(ra) vs \(b.name) \(rb)", sourceLocation: sourceLocation)
    }
    let da = try a.run("DEBUG", "DIGEST"), db = try b.run("DEBUG", "DIGEST")
    #expect(da == db && da.count > 10, "\(what): DEBUG DIGEST \(a.name) \(da) vs \(b.name) \(db)", sourceLocation: sourceLocation)
    return keysA.count
}

/// A loading or RESTOREing server checks every value's encoding deeply (Redis validates each
/// listpack, stream node, consumer group and PEL it reads, and refuses the file or payload otherwise).
private let deepChecks = ["--sanitize-dump-payload", "yes"]

/// A writer's AOF options. appendfsync always: each command is in the file before its reply (with
/// everysec either server may put off a write while a background fsync runs, so a copy taken right
/// after a reply could miss the last commands).
private func aofWriterOptions(preamble: Bool) -> [String] {
    ["--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", preamble ? "yes" : "no"]
}

/// Copies `source`'s appendonlydir into a new folder and starts a server of the other kind there with
/// appendonly on.
private func startOnCopyOfAOF(_ source: InteropServer, cairn: Bool) throws -> InteropServer {
    let dir = try makeTempDir("cairn-newtypes-aof")
    try copyTree(source.dir + "/appendonlydir", dir + "/appendonlydir")
    do {
        return try InteropServer(cairn: cairn, dir: dir, owningDir: true, extra: ["--appendonly", "yes"] + deepChecks)
    } catch {
        removeTree(dir)
        throw error
    }
}

/// Copies `source`'s dump.rdb into a new folder and starts a server of the given kind on it.
private func startOnCopyOfRDB(_ source: InteropServer, cairn: Bool, extra: [String] = []) throws -> InteropServer {
    let dir = try makeTempDir("cairn-newtypes-rdb")
    try FileManager.default.copyItem(atPath: source.dir + "/dump.rdb", toPath: dir + "/dump.rdb")
    do {
        return try InteropServer(cairn: cairn, dir: dir, owningDir: true, extra: deepChecks + extra)
    } catch {
        removeTree(dir)
        throw error
    }
}

@Suite(.enabled(if: RedisOracle.available && which("redis-check-rdb") != nil && Paths.haveCairn,
                "needs Debian's redis-server and redis-check-rdb and the built cairn-server"),
       .serialized)
struct NewTypesInteropTests {
    /// The same commands, run separately on both servers, give the same per-key digests and (for
    /// every key whose value holds no delivery or seen time) the same DUMP bytes.
    @Test func sameCommandsGiveTheSameValues() throws {
        let redis = try InteropServer(cairn: false)
        let cairn = try InteropServer(cairn: true)
        let cmds = NewTypesDataset.explicitCommands()
        for c in cmds {
            let rr = String(decoding: try redis.send(c), as: UTF8.self)
            let rc = String(decoding: try cairn.send(c), as: UTF8.self)
            // XREADGROUP and XCLAIM replies are data only (no times), so every reply must match.
            #expect(rr == rc, "\(c.prefix(6).joined(separator: " ")): redis \(rr.debugDescription.prefix(300)) vs cairn \(rc.debugDescription.prefix(300))")
        }
        let keys = bulkList(try redis.send(["KEYS", "*"])).sorted()
        #expect(keys == bulkList(try cairn.send(["KEYS", "*"])).sorted())
        for key in keys {
            for cmd in [["DEBUG", "DIGEST-VALUE", key], ["PEXPIRETIME", key]] {
                let rr = try redis.run(cmd), rc = try cairn.run(cmd)
                #expect(rr == rc, "\(cmd.joined(separator: " ")): redis \(rr) vs cairn \(rc)")
            }
            // Groups hold delivery and seen times (the servers' clocks): their DUMPs differ by those.
            let hasGroups = ["s:groups", "s:empty", "s:setid", "s:ids"].contains(key)
            if !hasGroups {
                let rr = try redis.run("DUMP", key), rc = try cairn.run("DUMP", key)
                #expect(rr == rc, "DUMP \(key): redis \(rr.debugDescription.prefix(400)) vs cairn \(rc.debugDescription.prefix(400))")
            }
        }
        #expect(try redis.run("DEBUG", "DIGEST") == cairn.run("DEBUG", "DIGEST"))
    }

    /// The dataset has the shapes it is meant to have, on both servers: a stream over many nodes, a
    /// sparse and a dense HLL, a listpack and a skiplist geo set.
    @Test func theDatasetHasTheIntendedShapes() throws {
        for server in [try InteropServer(cairn: false), try InteropServer(cairn: true)] {
            try NewTypesDataset.run(NewTypesDataset.explicitCommands(), on: server)
            let info = try server.run("XINFO", "STREAM", "s:big").components(separatedBy: "\r\n")
            let nodes = info.firstIndex(of: "radix-tree-keys").flatMap { Int(info[$0 + 1].dropFirst()) } ?? 0
            #expect(nodes > 30, "\(server.name): s:big in \(nodes) nodes")
            #expect(try server.run("GETRANGE", "hll:sparse", "0", "4") == "$5\r\nHYLL\u{1}\r\n", "\(server.name): hll:sparse is sparse")
            #expect(try server.run("GETRANGE", "hll:dense", "0", "4") == "$5\r\nHYLL\u{0}\r\n", "\(server.name): hll:dense is dense")
            #expect(try server.run("STRLEN", "hll:dense") == ":12304\r\n")
            #expect(try server.run("OBJECT", "ENCODING", "geo:pts") == "$8\r\nlistpack\r\n")
            #expect(try server.run("OBJECT", "ENCODING", "geo:big") == "$8\r\nskiplist\r\n")
            #expect(try server.run("XLEN", "s:empty") == ":0\r\n")
            #expect(try server.run("PTTL", "bf").hasPrefix(":2"))
        }
    }

    /// 1. RDB, Redis → Cairn: Redis SAVEs the dataset; cairn-server started on a copy of dump.rdb
    /// holds the same data, groups, times and metadata, and behaves alike when written to afterwards.
    /// With rdbcompression yes and no, and rdbchecksum no (a zero checksum) for the latter.
    @Test(arguments: ["yes", "no"])
    func redisRDBLoadsIntoCairn(compression: String) throws {
        let options = ["--rdbcompression", compression, "--rdbchecksum", compression]
        let redis = try InteropServer(cairn: false, extra: options)
        try NewTypesDataset.run(NewTypesDataset.explicitCommands(), on: redis)
        try NewTypesDataset.runAutoCommands(on: redis)
        #expect(try redis.run("SAVE") == "+OK\r\n")
        let cairn = try startOnCopyOfRDB(redis, cairn: true, extra: options)
        try expectSameDataset(redis, cairn, dumps: true, "redis dump.rdb (rdbcompression \(compression)) loaded by cairn")
        for server in [redis, cairn] { try NewTypesDataset.run(NewTypesDataset.followUpCommands(), on: server) }
        try expectSameDataset(redis, cairn, streams: .maskAllTimes, "redis dump.rdb loaded by cairn, then written to")
    }

    /// 2. RDB, Cairn → Redis: the dataset built on Cairn by the commands, SAVEd; redis-check-rdb
    /// accepts the file and redis-server started on it holds what Cairn holds. Then the same for a
    /// Cairn that loaded Redis's own file (so it writes back what it read). With rdbcompression yes and no (on both: DUMP payloads follow the setting too), and rdbchecksum
    /// no (a zero checksum) for the latter.
    @Test(arguments: ["yes", "no"])
    func cairnRDBLoadsIntoRedis(compression: String) throws {
        let options = ["--rdbcompression", compression, "--rdbchecksum", compression]
        let cairn = try InteropServer(cairn: true, extra: options)
        try NewTypesDataset.run(NewTypesDataset.explicitCommands(), on: cairn)
        try NewTypesDataset.runAutoCommands(on: cairn)
        #expect(try cairn.run("SAVE") == "+OK\r\n")
        let check = try runProcess(which("redis-check-rdb")!, [cairn.dir + "/dump.rdb"])
        #expect(check.status == 0, "redis-check-rdb: \(String(decoding: check.out, as: UTF8.self)) \(check.err)")
        let redis = try startOnCopyOfRDB(cairn, cairn: false, extra: options)
        try expectSameDataset(cairn, redis, dumps: true, "cairn dump.rdb (rdbcompression \(compression)) loaded by redis")
        for server in [cairn, redis] { try NewTypesDataset.run(NewTypesDataset.followUpCommands(), on: server) }
        try expectSameDataset(cairn, redis, streams: .maskAllTimes, "cairn dump.rdb loaded by redis, then written to")

        // Redis's file → Cairn → Cairn's SAVE → Redis.
        let redis2 = try InteropServer(cairn: false, extra: options)
        try NewTypesDataset.run(NewTypesDataset.explicitCommands(), on: redis2)
        try NewTypesDataset.runAutoCommands(on: redis2)
        #expect(try redis2.run("SAVE") == "+OK\r\n")
        let cairn2 = try startOnCopyOfRDB(redis2, cairn: true, extra: options)
        #expect(try cairn2.run("SAVE") == "+OK\r\n")
        let check2 = try runProcess(which("redis-check-rdb")!, [cairn2.dir + "/dump.rdb"])
        #expect(check2.status == 0, "redis-check-rdb: \(String(decoding: check2.out, as: UTF8.self))")
        let redis3 = try startOnCopyOfRDB(cairn2, cairn: false, extra: options)
        try expectSameDataset(redis2, redis3, dumps: true, "redis → cairn → redis")
    }

    /// The writer's INCR file holds each of `commands` (so the load replays them, not a snapshot), and
    /// none of `absent` (commands Redis propagates as others: XREADGROUP and XAUTOCLAIM as XCLAIM,
    /// GEOADD as "zadd"). Names are matched without regard to case.
    private func expectIncrHolds(_ writer: InteropServer, _ commands: [String], absent: [String] = ["XREADGROUP", "XAUTOCLAIM", "GEOADD"],
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let d = writer.dir + "/appendonlydir"
        let incrs = try FileManager.default.contentsOfDirectory(atPath: d).filter { $0.hasSuffix(".incr.aof") }
        #expect(incrs.count == 1, "\(writer.name): \(incrs)", sourceLocation: sourceLocation)
        let text = try incrs.map { String(decoding: try readBytes(d + "/" + $0), as: UTF8.self) }.joined().uppercased()
        for c in commands {
            #expect(text.contains("$\(c.utf8.count)\r\n\(c)\r\n"), "\(writer.name)'s AOF has no \(c)", sourceLocation: sourceLocation)
        }
        for c in absent {
            #expect(!text.contains("$\(c.utf8.count)\r\n\(c)\r\n"), "\(writer.name)'s AOF has \(c)", sourceLocation: sourceLocation)
        }
    }

    /// Compares a writer with a redis-server and a cairn-server each started on a copy of its
    /// appendonlydir: both loaders reach the writer's digests and values, and the same group state as
    /// each other (consumers' seen-times apart, which are the load's time).
    private func expectLoadersAgree(_ writer: InteropServer, _ what: String,
                                    sourceLocation: SourceLocation = #_sourceLocation) throws {
        let redis = try startOnCopyOfAOF(writer, cairn: false)
        let cairn = try startOnCopyOfAOF(writer, cairn: true)
        try expectSameDataset(writer, cairn, streams: .skip, pfcount: false, "\(what) loaded by cairn", sourceLocation: sourceLocation)
        try expectSameDataset(writer, redis, streams: .skip, pfcount: false, "\(what) loaded by redis", sourceLocation: sourceLocation)
        try expectSameDataset(redis, cairn, streams: .maskSeenTime, "\(what) loaded by redis and by cairn", sourceLocation: sourceLocation)
    }

    /// 3. AOF, Redis → Cairn: redis-server with appendonly on runs the commands (a plain command log:
    /// XADD *, XREADGROUP, XCLAIM and XAUTOCLAIM as Redis propagates them); cairn-server started on a
    /// copy of the appendonlydir reaches Redis's digest, and the group state Redis's own loader
    /// reaches. Then after BGREWRITEAOF (an RDB preamble, or Redis's command rewrite) and more
    /// commands, again.
    @Test(arguments: [true, false])
    func redisAOFLoadsIntoCairn(preamble: Bool) throws {
        let redis = try InteropServer(cairn: false, extra: aofWriterOptions(preamble: preamble))
        try redis.waitForChildren()
        try NewTypesDataset.run(NewTypesDataset.explicitCommands(), on: redis)
        try NewTypesDataset.runAutoCommands(on: redis)
        try expectIncrHolds(redis, ["XCLAIM", "XGROUP", "XADD", "XSETID", "XACK", "XDEL", "XTRIM", "PFADD", "PFCOUNT", "PFMERGE", "ZADD", "BITFIELD", "SETBIT", "PEXPIREAT"])
        try expectLoadersAgree(redis, "redis AOF (commands)")
        #expect(try redis.run("BGREWRITEAOF").hasPrefix("+"))
        try redis.waitForChildren()
        try NewTypesDataset.runAutoCommands(on: redis, tag: "r2-")
        let manifest = try String(contentsOfFile: redis.dir + "/appendonlydir/appendonly.aof.manifest", encoding: .utf8)
        #expect(manifest.contains(preamble ? ".base.rdb" : ".base.aof"), "\(manifest)")
        try expectLoadersAgree(redis, "redis AOF (rewritten, preamble \(preamble))")
    }

    /// 4. AOF, Cairn → Redis: cairn-server with appendonly on runs the commands; redis-server started
    /// on a copy of Cairn's appendonlydir reaches Cairn's digest, and the group state Cairn's own
    /// loader reaches. Then after Cairn's BGREWRITEAOF (with or without an RDB preamble) and more
    /// commands, again.
    @Test(arguments: [true, false])
    func cairnAOFLoadsIntoRedis(preamble: Bool) throws {
        let cairn = try InteropServer(cairn: true, extra: aofWriterOptions(preamble: preamble))
        try cairn.waitForChildren()
        try NewTypesDataset.run(NewTypesDataset.explicitCommands(), on: cairn)
        try NewTypesDataset.runAutoCommands(on: cairn)
        try expectIncrHolds(cairn, ["XCLAIM", "XGROUP", "XADD", "XSETID", "XACK", "XDEL", "XTRIM", "PFADD", "PFCOUNT", "PFMERGE", "ZADD", "BITFIELD", "SETBIT", "PEXPIREAT"])
        try expectLoadersAgree(cairn, "cairn AOF (commands)")
        #expect(try cairn.run("BGREWRITEAOF").hasPrefix("+"))
        try cairn.waitForChildren()
        try NewTypesDataset.runAutoCommands(on: cairn, tag: "c2-")
        let manifest = try String(contentsOfFile: cairn.dir + "/appendonlydir/appendonly.aof.manifest", encoding: .utf8)
        #expect(manifest.contains(preamble ? ".base.rdb" : ".base.aof"), "\(manifest)")
        try expectLoadersAgree(cairn, "cairn AOF (rewritten, preamble \(preamble))")
        // redis-check-aof finds Cairn's whole multi-part AOF (manifest, BASE, INCR) valid.
        if let checkAOF = which("redis-check-aof") {
            let r = try runProcess(checkAOF, [cairn.dir + "/appendonlydir/appendonly.aof.manifest"])
            let out = String(decoding: r.out, as: UTF8.self)
            #expect(r.status == 0 && out.contains("All AOF files and manifest are valid"), "redis-check-aof: \(out) \(r.err)")
        }
    }

    /// 3+4 side by side: Redis and Cairn, each with appendonly on, run the same explicit-ID commands;
    /// redis-server loads each one's appendonlydir (as written, then after BGREWRITEAOF): the two
    /// loaded datasets are the same, group state included (delivery and seen times apart, which are
    /// each writer's clock). So Cairn propagates XREADGROUP, XCLAIM, XACK, XGROUP, XSETID, PFADD,
    /// PFCOUNT, GEOADD and BITFIELD, and rewrites streams with groups, as Redis does.
    @Test(arguments: [true, false])
    func bothAOFsLoadAlikeInRedis(preamble: Bool) throws {
        let extra = aofWriterOptions(preamble: preamble)
        let redisWriter = try InteropServer(cairn: false, extra: extra)
        let cairnWriter = try InteropServer(cairn: true, extra: extra)
        for w in [redisWriter, cairnWriter] {
            try w.waitForChildren()
            try NewTypesDataset.run(NewTypesDataset.explicitCommands(), on: w)
        }
        for phase in ["commands", "rewritten"] {
            if phase == "rewritten" {
                for w in [redisWriter, cairnWriter] {
                    #expect(try w.run("BGREWRITEAOF").hasPrefix("+"))
                    try w.waitForChildren()
                    try w.must(["XREADGROUP", "GROUP", "g2", "frank", "COUNT", "2", "STREAMS", "s:groups", ">"])
                    try w.must(["XCLAIM", "s:groups", "g1", "erin", "0", "105-0", "RETRYCOUNT", "3"])
                }
            }
            let fromRedis = try startOnCopyOfAOF(redisWriter, cairn: false)
            let fromCairn = try startOnCopyOfAOF(cairnWriter, cairn: false)
            try expectSameDataset(fromRedis, fromCairn, streams: .maskAllTimes, "redis's and cairn's AOFs (\(phase), preamble \(preamble)) loaded by redis")
        }
    }

    /// 5. DUMP/RESTORE both ways, key by key: each payload RESTOREd on the other server gives the same
    /// DEBUG DIGEST-VALUE, XINFO STREAM FULL, PEXPIRETIME, and a DUMP of the same bytes.
    @Test(arguments: [false, true])
    func dumpRestoreBothWays(fromCairn: Bool) throws {
        let source = try InteropServer(cairn: fromCairn)
        let target = try InteropServer(cairn: !fromCairn, extra: deepChecks)
        try NewTypesDataset.run(NewTypesDataset.explicitCommands(), on: source)
        try NewTypesDataset.runAutoCommands(on: source)
        let keys = bulkList(try source.send(["KEYS", "*"]))
        #expect(keys.count >= 15)
        for key in keys {
            let dump = try source.send(["DUMP", key])
            #expect(dump.first == UInt8(ascii: "$"))
            guard let nl = dump.firstIndex(of: 10) else { continue }
            let payload = Array(dump[(nl + 1) ..< (dump.count - 2)])
            let at = try source.run("PEXPIRETIME", key)   // ":<ms>\r\n", ":-1\r\n" without one
            let ttl = Int(at.components(separatedBy: "\r\n")[0].dropFirst()) ?? -1
            #expect(ttl == -1 || ttl > 1_700_000_000_000, "PEXPIRETIME \(key): \(at)")
            var args: [[UInt8]] = [Array("RESTORE".utf8), Array(key.utf8), Array(String(max(ttl, 0)).utf8), payload]
            if ttl > 0 { args.append(Array("ABSTTL".utf8)) }
            let r = String(decoding: try target.client.send(args), as: UTF8.self)
            #expect(r == "+OK\r\n", "RESTORE \(key) on \(target.name): \(r)")
        }
        try expectSameDataset(source, target, dumps: true, "DUMP on \(source.name), RESTORE on \(target.name)")
        for server in [source, target] { try NewTypesDataset.run(NewTypesDataset.followUpCommands(), on: server) }
        try expectSameDataset(source, target, streams: .maskAllTimes, "RESTOREd on \(target.name), then written to")
    }
}
