// KeyDigest: 128-bit fingerprints of keys and values, so two datasets can be compared key by key
// without holding either. Not cryptographic: a non-adversarial difference goes unnoticed only if
// two 128-bit hashes collide.
//
// What a value's fingerprint covers (the logical value, not its encoding):
//   string   the bytes
//   list     the elements in order
//   set      the members, in any order (element hashes are added up, so order does not matter)
//   zset     member + score pairs, in any order (-0 counts as 0)
//   hash     field + value (+ field TTL when there is one) pairs, in any order
//   stream   live entries in ID order (ID, fields, values), length, last ID, and each consumer
//            group: name, last-delivered ID, pending IDs with delivery counts, consumers with the IDs
//            they own. Left out: times (delivery, seen, active), and the v10+ counters (first ID,
//            max-deleted ID, entries-added, entries-read) that older files do not have.
//   module   the module id and the value's raw bytes
// Every fingerprint starts with the type, so equal bytes of different types differ.
// The value is walked element by element; it arrives materialised as an RDBValue today, and an
// element-wise RDB walk could feed the same `Hasher128` calls without holding the value.
import StorageFormat

/// A 128-bit fingerprint.
public struct Digest128: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }
    public static let zero = Digest128(high: 0, low: 0)

    /// Lane-wise wrapping sum: the order-free combination of element fingerprints.
    @inline(__always)
    public static func &+ (a: Digest128, b: Digest128) -> Digest128 {
        Digest128(high: a.high &+ b.high, low: a.low &+ b.low)
    }

    public var description: String {
        let h = String(high, radix: 16), l = String(low, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h + String(repeating: "0", count: 16 - l.count) + l
    }
}

/// A streaming 128-bit hash: two 64-bit lanes, each a multiply-rotate accumulator over 8-byte words,
/// cross-mixed at the end with a 64-bit finaliser. Every `update` is length-prefixed, so the
/// boundaries between updates are part of what is hashed.
public struct Hasher128 {
    var a: UInt64 = 0x9E37_79B9_7F4A_7C15
    var b: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    var count: UInt64 = 0

    public init() {}

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always)
    mutating func word(_ w: UInt64) {
        a = Hasher128.rotl((a ^ w) &* 0x87C3_7B91_1142_53D5, 31) &* 0x4CF5_AD43_2745_937F
        b = Hasher128.rotl((b &+ w) &* 0x1656_67B1_9E37_79F9, 29) ^ (a >> 7)
        count &+= 1
    }

    /// Hashes an integer.
    @inline(__always)
    public mutating func update(_ v: UInt64) { word(v) }

    @inline(__always)
    public mutating func update(_ v: Int64) { word(UInt64(bitPattern: v)) }

    /// Hashes a byte string (its length first).
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        word(UInt64(bytes.count) ^ 0xA5A5_0000_0000_0000)
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            word(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        if i < n {
            var last: UInt64 = 0
            var shift: UInt64 = 0
            while i < n { last |= UInt64(bytes[i]) << shift; shift += 8; i += 1 }
            word(last)
        }
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    @inline(__always) static func fmix(_ k: UInt64) -> UInt64 {
        var k = k
        k ^= k >> 33; k &*= 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33; k &*= 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }

    public func finalize() -> Digest128 {
        let x = Hasher128.fmix(a ^ count)
        let y = Hasher128.fmix(b &+ x)
        return Digest128(high: Hasher128.fmix(x &+ y), low: y)
    }
}

public enum KeyDigest {
    /// The fingerprint of a key name in a database (what the diff tables are keyed by).
    public static func key(db: Int, _ key: [UInt8]) -> Digest128 {
        var h = Hasher128()
        h.update(Int64(db))
        h.update(key)
        return h.finalize()
    }

    static func typeTag(_ v: RDBValue) -> UInt64 {
        switch v {
        case .string: return 0
        case .list: return 1
        case .set: return 2
        case .sortedSet: return 3
        case .hash: return 4
        case .stream: return 15
        case .module: return 7
        }
    }

    /// The fingerprint of a value (see the top of this file for what it covers).
    public static func value(_ value: RDBValue) throws -> Digest128 {
        var h = Hasher128()
        h.update(typeTag(value))
        switch value {
        case .string(let s):
            h.update(s)
        case .list(let items):
            h.update(UInt64(items.count))
            for e in items { h.update(e) }
        case .set(let members):
            h.update(UInt64(members.count))
            var sum = Digest128.zero
            for m in members {
                var e = Hasher128()
                e.update(m)
                sum = sum &+ e.finalize()
            }
            h.update(sum.high); h.update(sum.low)
        case .sortedSet(let members):
            h.update(UInt64(members.count))
            var sum = Digest128.zero
            for m in members {
                var e = Hasher128()
                e.update(m.member)
                e.update(m.score == 0 ? 0 : m.score.bitPattern)
                sum = sum &+ e.finalize()
            }
            h.update(sum.high); h.update(sum.low)
        case .hash(let fields):
            h.update(UInt64(fields.count))
            var sum = Digest128.zero
            for f in fields {
                var e = Hasher128()
                e.update(f.field)
                e.update(f.value)
                if f.expiresAt != 0 { e.update(f.expiresAt) }
                sum = sum &+ e.finalize()
            }
            h.update(sum.high); h.update(sum.low)
        case .stream(let s):
            h.update(s.length)
            h.update(s.lastID.ms); h.update(s.lastID.seq)
            for node in s.nodes {
                for entry in try StreamNodes.entries(node) where !entry.deleted {
                    h.update(entry.id.ms); h.update(entry.id.seq)
                    h.update(UInt64(entry.fieldsAndValues.count))
                    for fv in entry.fieldsAndValues { h.update(fv) }
                }
            }
            // Groups in name order: writers may store them in any order.
            h.update(UInt64(s.groups.count))
            for g in s.groups.sorted(by: { $0.name.lexicographicallyPrecedes($1.name) }) {
                h.update(g.name)
                h.update(g.lastDelivered.ms); h.update(g.lastDelivered.seq)
                h.update(UInt64(g.pending.count))
                for p in g.pending.sorted(by: { $0.id < $1.id }) {
                    h.update(p.id.ms); h.update(p.id.seq); h.update(p.deliveryCount)
                }
                h.update(UInt64(g.consumers.count))
                for c in g.consumers.sorted(by: { $0.name.lexicographicallyPrecedes($1.name) }) {
                    h.update(c.name)
                    h.update(UInt64(c.pending.count))
                    for id in c.pending.sorted() { h.update(id.ms); h.update(id.seq) }
                }
            }
        case .module(let m):
            h.update(m.moduleID)
            h.update(m.raw)
        }
        return h.finalize()
    }
}

extension RDBValue {
    /// `typeName` as a small code, one byte (what summaries store instead of a String).
    public var kindCode: UInt8 { UInt8(KeyDigest.typeTag(self)) }

    /// The type name for a code from `kindCode`.
    public static func typeName(code: UInt8) -> String {
        switch code {
        case 0: return "string"
        case 1: return "list"
        case 2: return "set"
        case 3: return "zset"
        case 4: return "hash"
        case 15: return "stream"
        case 7: return "module"
        default: return "unknown"
        }
    }
}
