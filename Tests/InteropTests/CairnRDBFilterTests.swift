// cairn-rdb's filters, jsonl and memory report on the Redis-written fixtures, checked against the
// sidecar (tools/redis-snapshot.py's view of the same server): exactly the expected keys, counts,
// encodings and expiries. Plus --help and exit codes of every subcommand.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport

/// The fixture sidecar's keys: (db, key bytes) → the sidecar's record.
struct SidecarKey {
    var db: Int
    var key: [UInt8]
    var type: String
    var encoding: String
    var expireMs: Int64?
    var value: Any

    /// The element count Redis reports (string: its length).
    var count: Int {
        switch type {
        case "string": return (value as! String).count / 2
        case "stream": return ((value as! [String: Any])["entries"] as! [Any]).count
        default: return (value as! [Any]).count
        }
    }

    static func load() throws -> [SidecarKey] {
        let sidecar = try loadJSON(Paths.repo("Fixtures/rdb/redis70.json")) as! [String: Any]
        return (sidecar["keys"] as! [[String: Any]]).map { k in
            SidecarKey(db: k["db"] as! Int, key: hexBytes(k["key"] as! String), type: k["type"] as! String,
                       encoding: k["encoding"] as! String, expireMs: (k["expire_ms"] as? NSNumber)?.int64Value, value: k["value"]!)
        }
    }
}

struct DBKey: Hashable, CustomStringConvertible {
    var db: Int
    var key: [UInt8]
    var description: String { "\(db):\(String(decoding: key, as: UTF8.self).debugDescription)" }
}

/// The (db, key) pairs of `cairn-rdb jsonl` output (function library lines have no key and are left out).
func jsonlKeys(_ out: Data) throws -> [DBKey] {
    try String(decoding: out, as: UTF8.self).split(separator: "\n").compactMap { line in
        let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        guard let key = o["key"] as? String else { return nil }
        return DBKey(db: o["db"] as! Int, key: bytesOfJSONString(key))
    }
}

@Suite(.enabled(if: CairnRDBBinary.available, "build the package first (tools/test does)"))
struct CairnRDBFilterTests {
    static let fixture = Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb")

    static let cases: [(args: [String], select: @Sendable (SidecarKey) -> Bool)] = [
        ([], { _ in true }),
        (["--db", "1"], { $0.db == 1 }),
        (["--db", "0", "--db", "2"], { $0.db != 1 }),
        (["--type", "zset"], { $0.type == "zset" }),
        (["--type", "hash", "--type", "set"], { $0.type == "hash" || $0.type == "set" }),
        (["--expiring"], { $0.expireMs != nil }),
        (["--persistent"], { $0.expireMs == nil }),
        (["--key", "^str:int:"], { $0.key.starts(with: Array("str:int:".utf8)) }),
        (["--not-key", ":"], { !$0.key.contains(UInt8(ascii: ":")) }),
        // A binary key: each byte is one character (Latin-1), so \xFF and \r\n match the raw bytes.
        (["--key", "\\xFFkey\\r\\n\\x80$"], { $0.key == [0x00, 0x62, 0x69, 0x6e, 0xff, 0x6b, 0x65, 0x79, 0x0d, 0x0a, 0x80] }),
        (["--key", "(?s)^.bin.key..\\x80$"], { $0.key.count == 11 && $0.key.last == 0x80 }),
        (["--db", "0", "--type", "string", "--expiring"], { $0.db == 0 && $0.type == "string" && $0.expireMs != nil }),
        (["--key", "^(hash|list):", "--not-key", "big|long"], { k in
            let s = String(decoding: k.key, as: UTF8.self)
            return (s.hasPrefix("hash:") || s.hasPrefix("list:")) && !s.contains("big") && !s.contains("long")
        }),
    ]

    @Test(arguments: 0 ..< cases.count)
    func filtersSelectExactlyTheExpectedKeys(index: Int) throws {
        let c = Self.cases[index]
        let expected = Set(try SidecarKey.load().filter(c.select).map { DBKey(db: $0.db, key: $0.key) })
        #expect(!expected.isEmpty)
        let r = try CairnRDBBinary.run(["jsonl", Self.fixture] + c.args)
        #expect(r.status == 0, "\(r.err)")
        let got = try jsonlKeys(r.out)
        #expect(got.count == Set(got).count, "a key printed twice")
        #expect(Set(got) == expected, "\(c.args): extra \(Set(got).subtracting(expected)), missing \(expected.subtracting(Set(got)))")

        // The same selection through json (rdbtools' layout) and through resp (one RESTORE per key).
        let j = try CairnRDBBinary.run(["json", Self.fixture] + c.args)
        #expect(j.status == 0)
        var dbs = try JSONSerialization.jsonObject(with: j.out) as! [[String: Any]]
        // The function libraries' element comes last, and only when no filter selects keys.
        let libraries = dbs.last?["functions"] as? [[String: String]]
        #expect((libraries != nil) == c.args.isEmpty)
        if libraries != nil { dbs.removeLast() }
        #expect(dbs.reduce(0) { $0 + $1.count } == expected.count)
        let resp = try CairnRDBBinary.run(["resp", Self.fixture] + c.args)
        #expect(resp.status == 0)
        let restores = String(decoding: resp.out, as: UTF8.self).components(separatedBy: "\r\n$7\r\nRESTORE\r\n").count - 1
        #expect(restores == expected.count)
    }

    @Test func jsonlCarriesTypeExpiryAndValue() throws {
        let r = try CairnRDBBinary.run(["jsonl", Self.fixture])
        #expect(r.status == 0)
        let sidecar = Dictionary(uniqueKeysWithValues: try SidecarKey.load().map { (DBKey(db: $0.db, key: $0.key), $0) })
        var n = 0
        var libraries: [String] = []
        for line in String(decoding: r.out, as: UTF8.self).split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            if let library = o["function"] as? String {
                libraries.append(library)
                continue
            }
            let k = DBKey(db: o["db"] as! Int, key: bytesOfJSONString(o["key"] as! String))
            let s = try #require(sidecar[k])
            #expect(o["type"] as! String == s.type)
            #expect((o["expiry"] as? NSNumber)?.int64Value == s.expireMs)
            if s.type == "string" { #expect(hex(bytesOfJSONString(o["value"] as! String)) == s.value as! String) }
            n += 1
        }
        #expect(n == 56)
        #expect(libraries == ["cairnlib"], "the fixture's function library is a line of its own")
    }

    /// Parses one CSV line (RFC 4180 quoting).
    func csvFields(_ line: Substring) -> [String] {
        var fields: [String] = []
        var cur = ""
        var quoted = false
        var i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            if quoted {
                if c == "\"" {
                    let n = line.index(after: i)
                    if n < line.endIndex && line[n] == "\"" { cur.append("\""); i = n } else { quoted = false }
                } else { cur.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(cur); cur = ""
            } else {
                cur.append(c)
            }
            i = line.index(after: i)
        }
        fields.append(cur)
        return fields
    }

    /// The CSV key column back to bytes (\xHH escapes).
    func unescapeKey(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count + 0, b[i + 1] == UInt8(ascii: "x") {
                out.append(UInt8(String(decoding: b[i + 2 ... i + 3], as: UTF8.self), radix: 16)!)
                i += 4
            } else {
                out.append(b[i]); i += 1
            }
        }
        return out
    }

    func memoryRows(_ args: [String]) throws -> [[String]] {
        let r = try CairnRDBBinary.run(["memory", Self.fixture] + args)
        #expect(r.status == 0, "\(r.err)")
        let lines = String(decoding: r.out, as: UTF8.self).split(separator: "\n")
        #expect(lines.first == "database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry")
        return lines.dropFirst().map { csvFields($0) }
    }

    @Test func memoryReportMatchesTheSidecar() throws {
        let rows = try memoryRows([])
        #expect(rows.count == 56)
        let sidecar = Dictionary(uniqueKeysWithValues: try SidecarKey.load().map { (DBKey(db: $0.db, key: $0.key), $0) })
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for row in rows {
            #expect(row.count == 8)
            let k = DBKey(db: Int(row[0])!, key: unescapeKey(row[2]))
            let s = try #require(sidecar[k], "unknown key \(k)")
            #expect(row[1] == s.type, "\(k)")
            #expect(row[4] == s.encoding, "encoding of \(k)")
            #expect(Int(row[5]) == s.count, "num_elements of \(k)")
            #expect(Int(row[3])! > 0)
            #expect(Int(row[6])! >= 0)
            if let ms = s.expireMs {
                // rdbtools' format: 2100-01-01T00:00:00.003000 (UTC, microseconds, no zone).
                let d = try #require(iso.date(from: String(row[7].dropLast(3)) + "Z"), "expiry \(row[7])")
                #expect(Int64((d.timeIntervalSince1970 * 1000).rounded()) == ms)
            } else {
                #expect(row[7].isEmpty)
            }
        }
        // Sizes grow with the data: the 600-field hash outweighs the 6-field one.
        let size = Dictionary(uniqueKeysWithValues: rows.map { (DBKey(db: Int($0[0])!, key: unescapeKey($0[2])), Int($0[3])!) })
        #expect(size[DBKey(db: 0, key: Array("hash:big".utf8))]! > 20 * size[DBKey(db: 0, key: Array("hash:listpack".utf8))]!)
        #expect(size[DBKey(db: 0, key: Array("hll:dense".utf8))]! > 12304)
    }

    @Test func bigkeysKeepsTheLargestPerType() throws {
        let all = try memoryRows([])
        let top = try memoryRows(["--bigkeys", "2"])
        var byType: [String: [Int]] = [:]
        for r in all { byType[r[1], default: []].append(Int(r[3])!) }
        var got: [String: [Int]] = [:]
        for r in top { got[r[1], default: []].append(Int(r[3])!) }
        #expect(Set(got.keys) == Set(byType.keys))
        for (type, sizes) in byType {
            #expect(got[type]! == Array(sizes.sorted(by: >).prefix(2)), "\(type)")
        }
        let filtered = try memoryRows(["--bigkeys", "1", "--type", "list"])
        #expect(filtered.count == 1 && filtered[0][2] == "list:long")
    }

    @Test func helpAndExitCodes() throws {
        for sub in ["json", "jsonl", "resp", "aof", "memory", "diff", "restore"] {
            let h = try CairnRDBBinary.run([sub, "--help"])
            #expect(h.status == 0, "\(sub) --help")
            #expect(String(decoding: h.out, as: UTF8.self).contains("--key"), "\(sub) --help lists the filters")
        }
        #expect(try CairnRDBBinary.run(["jsonl", Self.fixture, "--key", "("]).status == 2)
        #expect(try CairnRDBBinary.run(["jsonl", Self.fixture, "--type", "bitmap"]).status == 2)
        #expect(try CairnRDBBinary.run(["jsonl", Self.fixture, "--expiring", "--persistent"]).status == 2)
        #expect(try CairnRDBBinary.run(["memory", "/nonexistent.rdb"]).status == 2)
        #expect(try CairnRDBBinary.run(["diff", Self.fixture]).status == 2)
        #expect(try CairnRDBBinary.run(["resp", Self.fixture, "--payload-version", "8"]).status == 2)
        let closed = freeLoopbackPort()
        let r = try CairnRDBBinary.run(["restore", Self.fixture, "--server", "127.0.0.1:\(closed)"])
        #expect(r.status == 2)
        #expect(r.err.contains("cannot connect"))
        // Two copies of the same data written with other settings: equal (exit 0); a damaged file: 1.
        let same = try CairnRDBBinary.run(["diff", Self.fixture, Paths.repo("Fixtures/rdb/redis70-nolzf-nocrc.rdb")])
        #expect(same.status == 0, "\(String(decoding: same.out, as: UTF8.self))")
        #expect(String(decoding: same.out, as: UTF8.self).hasPrefix("no differences (56 keys"))
    }
}
