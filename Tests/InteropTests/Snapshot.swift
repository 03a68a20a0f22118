// Snapshot: turns what RDBReader decoded into the canonical JSON that tools/redis-snapshot.py prints
// for a live server, so a file's contents can be compared with what real Redis holds.
import Foundation
@testable import StorageFormat
import TestSupport

/// The canonical description of one decoded key (without "encoding", which is the server's choice).
func canonicalKey(_ e: RDBEntry) throws -> [String: Any] {
    var value: Any
    switch e.value {
    case .string(let s): value = hex(s)
    case .list(let items): value = items.map(hex)
    case .set(let items): value = items.map(hex).sorted()
    case .sortedSet(let items):
        let sorted = items.sorted { a, b in a.score != b.score ? a.score < b.score : a.member.lexicographicallyPrecedes(b.member) }
        value = sorted.map { [hex($0.member), String(decoding: formatScore17g($0.score == 0 ? 0 : $0.score), as: UTF8.self)] }
    case .hash(let fields):
        value = fields.sorted { $0.field.lexicographicallyPrecedes($1.field) }.map { [hex($0.field), hex($0.value)] }
    case .stream(let s):
        var entries: [Any] = []
        for node in s.nodes {
            for entry in try StreamNodes.entries(node) where !entry.deleted {
                entries.append([entry.id.description, entry.fieldsAndValues.map(hex)])
            }
        }
        let groups: [[String: Any]] = s.groups.sorted { hex($0.name) < hex($1.name) }.map { g in
            var owner: [StreamID: [UInt8]] = [:]
            for c in g.consumers { for id in c.pending { owner[id] = c.name } }
            return [
                "name": hex(g.name),
                "last_delivered_id": g.lastDelivered.description,
                "entries_read": (g.entriesRead.map { $0 < 0 ? NSNull() : $0 as Any }) ?? NSNull(),
                "pending": g.pending.sorted { $0.id < $1.id }.map { [$0.id.description, hex(owner[$0.id] ?? []), $0.deliveryTime, $0.deliveryCount] as [Any] },
                "consumers": g.consumers.sorted { hex($0.name) < hex($1.name) }.map {
                    ["name": hex($0.name), "seen_time": $0.seenTime, "pending": $0.pending.sorted().map(\.description)] as [String: Any]
                },
            ]
        }
        value = [
            "length": s.length, "last_id": s.lastID.description,
            "first_id": (try s.firstID ?? StreamNodes.firstLiveID(s.nodes) ?? .zero).description,
            "max_deleted_id": (s.maxDeletedID ?? .zero).description,
            "entries_added": s.entriesAdded ?? s.length,
            "entries": entries, "groups": groups,
        ] as [String: Any]
    case .module(let m):
        value = m.name
    }
    return ["db": e.db, "key": hex(e.key), "type": e.value.typeName,
            "expire_ms": e.expiresAt.map { $0 as Any } ?? NSNull(), "value": value]
}

/// Everything in an RDB file, canonical: functions and keys sorted as the snapshot script sorts them.
func canonicalFile(_ path: String) throws -> (snapshot: [String: Any], end: RDBRecord?, skipped: Int) {
    let r = try RDBReader(path: path)
    var keys: [[String: Any]] = []
    var functions: [[String: Any]] = []
    var end: RDBRecord? = nil
    while let rec = try r.next() {
        switch rec {
        case .entry(let e): keys.append(try canonicalKey(e))
        case .function(let code):
            // The library name is in the shebang line: #!lua name=<name>
            let text = String(decoding: code, as: UTF8.self)
            let name = text.split(separator: "\n").first?.split(separator: " ").first { $0.hasPrefix("name=") }?.dropFirst(5) ?? ""
            functions.append(["name": String(name), "code": hex(code)])
        case .end: end = rec
        default: break
        }
    }
    keys.sort { a, b in
        let (da, db) = (a["db"] as! Int, b["db"] as! Int)
        return da != db ? da < db : hexBytes(a["key"] as! String).lexicographicallyPrecedes(hexBytes(b["key"] as! String))
    }
    return (["functions": functions, "keys": keys], end, r.skippedEmptyKeys.count)
}

/// JSON text of one record with sorted keys, for comparison and readable failures.
func jsonText(_ v: Any) -> String {
    let d = try! JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed])
    return String(decoding: d, as: UTF8.self)
}

/// Differences between two snapshots, key by key ("encoding" ignored unless asked for).
func snapshotDifferences(_ a: [String: Any], _ b: [String: Any], compareEncoding: Bool = false) -> [String] {
    func strip(_ k: [String: Any]) -> [String: Any] {
        var k = k
        if !compareEncoding { k["encoding"] = nil }
        return k
    }
    var diffs: [String] = []
    let fa = jsonText(a["functions"] ?? []), fb = jsonText(b["functions"] ?? [])
    if fa != fb { diffs.append("functions: \(fa.prefix(200)) != \(fb.prefix(200))") }
    let ka = (a["keys"] as? [[String: Any]] ?? []).map { jsonText(strip($0)) }
    let kb = (b["keys"] as? [[String: Any]] ?? []).map { jsonText(strip($0)) }
    if ka.count != kb.count { diffs.append("key count \(ka.count) != \(kb.count)") }
    let sa = Set(ka), sb = Set(kb)
    for x in ka where !sb.contains(x) { diffs.append("only in first: \(x.prefix(300))") }
    for x in kb where !sa.contains(x) { diffs.append("only in second: \(x.prefix(300))") }
    return diffs
}

func loadJSON(_ path: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
}
