// What redis-cli --rdb and --functions-rdb ask of a primary, on both servers: REPLCONF rdb-only (the RDB
// and no stream after it; the link is closed once the RDB is sent) and REPLCONF rdb-filter-only
// (an RDB holding only what is named, made for the socket even when repl-diskless-sync is off, so the
// dump file never holds a filtered snapshot), with Redis's errors for bad values.
import Foundation
import Testing
import TestSupport

@Suite(.enabled(if: Paths.haveRedis && Paths.haveCairn)) struct RDBFilterTests {
    static let library = "#!lua name=lib1\nredis.register_function('func1', function() return 123 end)"

    /// Keys and function libraries of an RDB file, read by loading it into a server of the same kind.
    func contents(of file: String, cairn: Bool) throws -> (keys: String, functions: String) {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: file, toPath: dir + "/dump.rdb")
        let s = try ServerProcess(cairn: cairn, dir: dir)
        let c = try s.client()
        return (try c.send("DBSIZE"), try c.send("FUNCTION LIST"))
    }

    @Test func redisCliDumpsWithAndWithoutTheFilter() throws {
        for cairn in [true, false] {
            for diskless in ["no", "yes"] {
                let who = "\(cairn ? "cairn" : "redis"), diskless \(diskless)"
                let s = try ServerProcess(cairn: cairn, args: ["--save", ""])
                let c = try s.client()
                #expect(try c.send("CONFIG SET repl-diskless-sync \(diskless)") == "+OK\r\n")
                #expect(try c.send("CONFIG SET repl-diskless-sync-delay 0") == "+OK\r\n")
                #expect(try c.send("DEBUG POPULATE 1000 key 10") == "+OK\r\n")
                #expect(try c.send(["FUNCTION", "LOAD", Self.library].map { Array($0.utf8) }) == Array("$4\r\nlib1\r\n".utf8))
                let functions = try c.send("FUNCTION LIST")

                // redis-cli's dump with `option`, loaded into a fresh server of the same kind.
                func dump(_ option: String) throws -> (keys: String, functions: String) {
                    let file = s.dir + "/cli.rdb"
                    let r = try run(Paths.redisCLI, ["-p", String(s.port), option, file])
                    #expect(r.out.contains("Transfer finished with success"), "\(who) \(option): \(r.out)")
                    defer { try? FileManager.default.removeItem(atPath: file) }
                    return try contents(of: file, cairn: cairn)
                }
                let onlyFunctions = try dump("--functions-rdb")
                #expect(onlyFunctions.keys == ":0\r\n", "\(who)")
                #expect(onlyFunctions.functions == functions, "\(who)")
                // Made for the socket: no dump file, even with disk-based sync.
                #expect(!FileManager.default.fileExists(atPath: s.dir + "/dump.rdb"), "\(who)")

                let everything = try dump("--rdb")
                #expect(everything.keys == ":1000\r\n", "\(who)")
                #expect(everything.functions == functions, "\(who)")
                // redis-cli holds no replica slot afterwards.
                try waitFor("\(who): no replica left", timeout: 10) { try c.infoField("replication", "connected_slaves") == "0" }
            }
        }
    }

    @Test func rdbOnlyLinksAreClosedAfterTheRDBAndBadValuesRefused() throws {
        var replies: [Bool: [String]] = [:]
        for cairn in [true, false] {
            let s = try ServerProcess(cairn: cairn, args: ["--save", ""])
            let c = try s.client()
            _ = try c.send("SET k v")
            var r: [String] = []
            for bad in [["rdb-only", "2"], ["rdb-only", "x"], ["rdb-filter-only", "keys"],
                        ["rdb-filter-only", "functions foo"], ["rdb-filter-only", "\"functions"]] {
                r.append(String(decoding: try c.send((["REPLCONF"] + bad).map { Array($0.utf8) }), as: UTF8.self))
            }
            // A filter needs the $EOF: framing.
            let noEOF = try s.client()
            _ = try noEOF.send("REPLCONF rdb-filter-only functions")
            r.append(try noEOF.send("SYNC"))
            replies[cairn] = r

            for diskless in ["no", "yes"] {
                let who = "\(cairn ? "cairn" : "redis"), diskless \(diskless)"
                #expect(try c.send("CONFIG SET repl-diskless-sync \(diskless)") == "+OK\r\n")
                #expect(try c.send("CONFIG SET repl-diskless-sync-delay 0") == "+OK\r\n")
                let link = try s.client()
                #expect(try link.send("REPLCONF rdb-only 1") == "+OK\r\n")
                #expect(try link.send("REPLCONF capa eof") == "+OK\r\n")
                try link.write(RawClient.encode(argv("SYNC")))
                // Once the RDB is through, the primary closes the link (nothing streams after it).
                #expect(link.isClosedByServer(), "\(who)")
                let payload = String(decoding: link.buffer.filter { $0 != 10 }.prefix(5), as: UTF8.self)
                #expect(payload.hasPrefix("$"), "\(who): \(payload)")
                #expect(String(decoding: link.buffer, as: UTF8.self).contains("REDIS"), "\(who)")
            }
        }
        #expect(replies[true] == replies[false])
        #expect(replies[true]?[2] == "-ERR Unsupported rdb-filter-only option: keys\r\n")
        #expect(replies[true]?[4] == "-ERR Missing rdb-filter-only values\r\n")
    }
}
