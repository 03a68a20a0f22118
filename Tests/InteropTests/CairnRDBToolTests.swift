// cairn-rdb as users run it: the built binary, real fixture files, exit codes, JSON parsed back.
import Foundation
import Testing
@testable import StorageFormat
import TestSupport

enum CairnRDBBinary {
    static let path = Paths.tool("cairn-rdb")
    static var available: Bool { access(path, X_OK) == 0 }

    static func run(_ args: [String]) throws -> (status: Int32, out: Data, err: String) {
        try runProcess(path, args)
    }
}

/// The bytes of a JSON string written with one \u00XX escape per non-ASCII byte.
func bytesOfJSONString(_ s: String) -> [UInt8] { s.unicodeScalars.map { UInt8($0.value) } }

@Suite(.enabled(if: CairnRDBBinary.available, "build the package first (tools/test does)"))
struct CairnRDBToolTests {
    @Test func jsonMatchesTheSidecar() throws {
        let r = try CairnRDBBinary.run(["json", Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb")])
        #expect(r.status == 0, "\(r.err)")
        var dbs = try JSONSerialization.jsonObject(with: r.out) as! [[String: Any]]
        #expect(dbs.count == 4)
        let sidecar = try loadJSON(Paths.repo("Fixtures/rdb/redis70.json")) as! [String: Any]
        // The last element is the file's function libraries, as Redis reported them.
        let libraries = dbs.removeLast()["functions"] as? [[String: String]] ?? []
        let expected = sidecar["functions"] as! [[String: String]]
        #expect(libraries.map { $0["name"] } == expected.map { $0["name"] })
        #expect(libraries.map { Array(($0["code"] ?? "").utf8) } == expected.map { hexBytes($0["code"]!) })
        var checked = 0
        for k in sidecar["keys"] as! [[String: Any]] {
            let db = k["db"] as! Int
            let key = bytesOfJSONStringInverse(hexBytes(k["key"] as! String))
            let v = try #require(dbs[db][key], "key \(k["key"]!) missing from db \(db)")
            switch k["type"] as! String {
            case "string":
                #expect(hex(bytesOfJSONString(v as! String)) == k["value"] as! String)
            case "list":
                #expect((v as! [String]).map { hex(bytesOfJSONString($0)) } == k["value"] as! [String])
            case "set":
                #expect((v as! [String]).map { hex(bytesOfJSONString($0)) }.sorted() == k["value"] as! [String])
            case "hash":
                let mine = (v as! [String: String]).map { [hex(bytesOfJSONString($0.key)), hex(bytesOfJSONString($0.value))] }
                #expect(mine.sorted { $0[0] < $1[0] } == k["value"] as! [[String]])
            case "zset":
                let mine = v as! [String: Any]
                for pair in k["value"] as! [[String]] {
                    let member = String(bytesOfJSONStringInverse(hexBytes(pair[0])))
                    let score: Double = (mine[member] as? NSNumber)?.doubleValue ?? Double(mine[member] as! String)!
                    #expect(score == Double(pair[1])!, "member \(pair[0])")
                }
            case "stream":
                let entries = (v as! [String: Any])["entries"] as! [String: Any]
                #expect(entries.count == ((k["value"] as! [String: Any])["entries"] as! [Any]).count)
            default:
                Issue.record("unexpected type \(k["type"]!)")
            }
            checked += 1
        }
        #expect(checked == 56)
    }

    @Test func gzipInputGivesTheSameJSON() throws {
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        let plain = try CairnRDBBinary.run(["json", Paths.repo("Fixtures/rdb/redis70-nolzf-crc.rdb")])
        let gz = try Gzip.compress(Array(try Data(contentsOf: URL(fileURLWithPath: Paths.repo("Fixtures/rdb/redis70-nolzf-crc.rdb")))))
        try Data(gz).write(to: URL(fileURLWithPath: dir + "/dump.rdb.gz"))
        let fromGz = try CairnRDBBinary.run(["json", dir + "/dump.rdb.gz"])
        #expect(fromGz.status == 0, "\(fromGz.err)")
        #expect(fromGz.out == plain.out)
        #expect(plain.out.count > 1000)
    }

    @Test(arguments: [9, 10, 11, 12])
    func convertWritesTheRequestedVersion(version: Int) throws {
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        let out = dir + "/out.rdb"
        let r = try CairnRDBBinary.run(["convert", Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb"), out, "--to-version", String(version)]
                                       + (version < 10 ? ["--lossy"] : []))
        #expect(r.status == 0, "\(r.err)")
        #expect(try RDBReader(path: out).dialect.version == version)
        let (mine, end, _) = try canonicalFile(out)
        if case .end(_, let verified) = end { #expect(verified) } else { Issue.record("no EOF") }
        let original = try canonicalFile(Paths.repo("Fixtures/rdb/redis70-lzf-crc.rdb")).snapshot
        if version >= 10 {
            #expect(snapshotDifferences(mine, original).isEmpty)
        } else {
            #expect(r.err.contains("dropped function library 'cairnlib'"))
            #expect((mine["keys"] as! [Any]).count == 56)
        }
        // Encodings the version holds: a small string set is a listpack only from v11.
        let setType = try firstTypeCode(of: "set:strings", in: out)
        #expect(setType == (version >= 11 ? RDBType.setListpack : RDBType.set))
        let hashType = try firstTypeCode(of: "hash:listpack", in: out)
        #expect(hashType == (version >= 10 ? RDBType.hashListpack : RDBType.hash))
    }

    func firstTypeCode(of key: String, in path: String) throws -> UInt8? {
        let r = try RDBReader(path: path)
        while let rec = try r.next() {
            if case .entry(let e) = rec, e.key == Array(key.utf8) { return e.typeCode }
        }
        return nil
    }

    @Test func convertRefusesHashFieldTTLsBelow12UnlessLossy() throws {
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        let entries = [RDBEntry(db: 0, key: Array("h".utf8), value: .hash([RDBHashField(field: [0x61], value: [0x62], expiresAt: 4_102_444_800_000)]), typeCode: 0)]
        var bytes: [UInt8] = []
        let w = try RDBWriter(options: RDBWriterOptions(version: 12)) { bytes.append(contentsOf: $0) }
        try w.writeHeader()
        try w.writeSelectDB(0)
        for e in entries { try w.writeEntry(key: e.key, value: e.value) }
        try w.finish()
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/v12.rdb"))
        let refused = try CairnRDBBinary.run(["convert", dir + "/v12.rdb", dir + "/v10.rdb", "--to-version", "10"])
        #expect(refused.status == 2)
        #expect(refused.err.contains("--lossy"))
        #expect(access(dir + "/v10.rdb", F_OK) != 0, "a refused conversion left an output file")
        let lossy = try CairnRDBBinary.run(["convert", dir + "/v12.rdb", dir + "/v10.rdb", "--to-version", "10", "--lossy"])
        #expect(lossy.status == 0)
        #expect(lossy.err.contains("dropped the TTLs of 1 hash fields"))
        let back = try readAll(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/v10.rdb"))))
        #expect(back.entries.first?.value == .hash([RDBHashField(field: [0x61], value: [0x62])]))
    }

    @Test func exitCodes() throws {
        // A fixture with one length byte damaged inside a value: invalid input, exit 1, offset named.
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        var damaged = Array(try Data(contentsOf: URL(fileURLWithPath: Paths.repo("Fixtures/rdb/redis70-nolzf-nocrc.rdb"))))
        damaged.removeLast(5000)
        try Data(damaged).write(to: URL(fileURLWithPath: dir + "/damaged.rdb"))
        let corrupt = try CairnRDBBinary.run(["json", dir + "/damaged.rdb"])
        #expect(corrupt.status == 1)
        #expect(corrupt.err.contains("offset"))
        let missing = try CairnRDBBinary.run(["json", "/nonexistent/dump.rdb"])
        #expect(missing.status == 2)
        #expect(missing.err.contains("No such file"))
        let usage = try CairnRDBBinary.run(["convert", "a", "b", "--to-version", "8"])
        #expect(usage.status == 2)
        let help = try CairnRDBBinary.run(["convert", "--help"])
        #expect(help.status == 0)
        #expect(String(decoding: help.out, as: UTF8.self).contains("--to-version"))
    }
}

func readAll(_ bytes: [UInt8]) throws -> (entries: [RDBEntry], end: RDBRecord?) {
    let r = try RDBReader(bytes: bytes)
    var entries: [RDBEntry] = []
    var end: RDBRecord? = nil
    while let rec = try r.next() {
        if case .entry(let e) = rec { entries.append(e) }
        if case .end = rec { end = rec }
    }
    return (entries, end)
}

/// The Swift string JSONSerialization gives for bytes escaped one \u00XX per byte.
func bytesOfJSONStringInverse(_ b: [UInt8]) -> String {
    var s = ""
    for x in b { s.unicodeScalars.append(Unicode.Scalar(x)) }
    return s
}
