// What a load must reproduce of an engine's dataset, in one comparable value: DEBUG DIGEST's dataset
// digest (every key, type and value; an expiry's presence), the keys of each database, and every
// expiry time (which the digest does not hold).
import Testing
@testable import Engine
import TestSupport

struct DatasetState: Equatable, CustomStringConvertible {
    var digest: String
    /// Database number → number of keys, for the non-empty databases.
    var keyCounts: [Int: Int]
    /// Database number → key (as hex) → expiry in Unix milliseconds.
    var expiries: [Int: [String: Int64]]

    init(_ engine: Engine) {
        digest = hex(datasetDigest(engine))
        keyCounts = [:]
        expiries = [:]
        for (i, db) in engine.databases.enumerated() where db.count > 0 {
            keyCounts[i] = db.count
            var e: [String: Int64] = [:]
            db.expires.forEach { key, at in e[hex(key.bytes)] = at }
            if !e.isEmpty { expiries[i] = e }
        }
    }

    var description: String {
        "digest \(digest), keys \(keyCounts.sorted { $0.key < $1.key }), expiries in \(expiries.mapValues(\.count).sorted { $0.key < $1.key })"
    }

    var totalKeys: Int { keyCounts.values.reduce(0, +) }
}
