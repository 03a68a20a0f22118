// DiffReport: the differences `diff` (and `restore --verify`) find, written as they are found —
// text lines or one JSON document — with counts per kind.
//   missing   the key is in A and not in B
//   extra     the key is in B and not in A
//   type      the key has another type in B
//   value     same type, another value
//   ttl       another expiry (beyond the tolerance), or a TTL on one side only
//   error     B's value could not be read (a payload too new to decode, an error reply)
import StorageFormat
import ToolKit

enum DiffKind: String, CaseIterable {
    case missing, extra, type, value, ttl, error
}

/// What one side holds for a key: its type code (RDBValue.kindCode), value fingerprint and expiry.
struct KeySummary {
    var value: Digest128
    var expiresAt: Int64?
    var type: UInt8

    init(_ value: RDBValue, expiresAt: Int64?) throws {
        self.value = try KeyDigest.value(value)
        self.expiresAt = expiresAt
        type = value.kindCode
    }

    init(value: Digest128, expiresAt: Int64?, type: UInt8) {
        self.value = value; self.expiresAt = expiresAt; self.type = type
    }

    var typeName: String { RDBValue.typeName(code: type) }
}

final class DiffReport {
    let json: Bool
    let out: FileOutput
    let labelA: String
    let labelB: String
    /// Largest expiry difference (ms) that still counts as equal.
    let tolerance: Int64
    private(set) var counts: [DiffKind: Int] = [:]
    var keysA = 0
    var keysB = 0
    private var first = true

    var total: Int { counts.values.reduce(0, +) }

    init(json: Bool, labelA: String, labelB: String, tolerance: Int64, out: FileOutput = .standardOutput()) throws {
        self.json = json
        self.out = out
        self.labelA = labelA
        self.labelB = labelB
        self.tolerance = tolerance
        if json {
            out.writeASCII("{\"a\":")
            out.writeJSONString(Array(labelA.utf8))
            out.writeASCII(",\"b\":")
            out.writeJSONString(Array(labelB.utf8))
            out.writeASCII(",\"differences\":[")
        }
    }

    /// Compares two summaries of the same key and reports what differs.
    func compare(db: Int, key: [UInt8], a: KeySummary, b: KeySummary) throws {
        if a.type != b.type {
            try report(.type, db: db, key: key, a: a, b: b)
            return
        }
        if a.value != b.value { try report(.value, db: db, key: key, a: a, b: b) }
        if !expiriesMatch(a.expiresAt, b.expiresAt) { try report(.ttl, db: db, key: key, a: a, b: b) }
    }

    func expiriesMatch(_ x: Int64?, _ y: Int64?) -> Bool {
        switch (x, y) {
        case (nil, nil): return true
        case (let x?, let y?): return abs(x - y) <= tolerance
        default: return false
        }
    }

    func report(_ kind: DiffKind, db: Int, key: [UInt8], a: KeySummary?, b: KeySummary?, message: String? = nil) throws {
        counts[kind, default: 0] += 1
        if json {
            if !first { out.writeASCII(",") }
            first = false
            try out.write("\n{\"kind\":\"\(kind.rawValue)\",\"db\":\(db),\"key\":")
            out.writeJSONString(key)
            if let a { try out.write(",\"type_a\":\"\(a.typeName)\",\"expiry_a\":" + (a.expiresAt.map { String($0) } ?? "null")) }
            if let b { try out.write(",\"type_b\":\"\(b.typeName)\",\"expiry_b\":" + (b.expiresAt.map { String($0) } ?? "null")) }
            if let message {
                out.writeASCII(",\"message\":")
                out.writeJSONString(Array(message.utf8))
            }
            out.writeASCII("}")
        } else {
            var line = kind.rawValue.padding(8) + "db=\(db) key=\"\(printableKey(key))\""
            switch kind {
            case .missing: line += " \(a?.typeName ?? "?") (only in \(labelA))"
            case .extra: line += " \(b?.typeName ?? "?") (only in \(labelB))"
            case .type: line += " \(a?.typeName ?? "?") -> \(b?.typeName ?? "?")"
            case .value: line += " (\(a?.typeName ?? "?"))"
            case .ttl: line += " \(expiry(a?.expiresAt)) -> \(expiry(b?.expiresAt))"
            case .error: line += " " + (message ?? "")
            }
            try out.write(line + "\n")
        }
        try out.flushIfFull()
    }

    func expiry(_ at: Int64?) -> String { at.map { "\($0) (\(isoTimestamp(unixMilliseconds: $0)))" } ?? "none" }

    /// Writes the summary; returns true when the two sides are equal.
    @discardableResult
    func finish() throws -> Bool {
        let n = total
        if json {
            try out.write("],\"summary\":{\"keys_a\":\(keysA),\"keys_b\":\(keysB)")
            for k in DiffKind.allCases { try out.write(",\"\(k.rawValue)\":\(counts[k] ?? 0)") }
            try out.write("},\"equal\":\(n == 0)}\n")
        } else if n == 0 {
            try out.write("no differences (\(keysA) keys in \(labelA), \(keysB) in \(labelB))\n")
        } else {
            let parts = DiffKind.allCases.compactMap { k in counts[k].map { "\($0) \(k.rawValue)" } }
            try out.write("\(n) differences: \(parts.joined(separator: ", ")) (\(keysA) keys in \(labelA), \(keysB) in \(labelB))\n")
        }
        try out.flush()
        return n == 0
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
