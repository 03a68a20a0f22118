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
// Every fingerprint starts with the type, so equal bytes of different types differ; counts, and a
// stream's length and last ID, come after the elements, so the value can be hashed while it is walked
// element by element (ValueDigester, fed by RDBReader.nextWalking) without holding it. A materialised
// RDBValue goes through the same ValueDigester (RDBValue.replay), so both give the same fingerprint.
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

    /// The type tag of a file's type code (the same as `typeTag` of the value it holds).
    static func typeTag(code: UInt8) -> UInt64 {
        switch RDBType.typeName(code) {
        case "string": return 0
        case "list": return 1
        case "set": return 2
        case "zset": return 3
        case "hash": return 4
        case "stream": return 15
        default: return 7
        }
    }

    /// The fingerprint of a value (see the top of this file for what it covers).
    public static func value(_ value: RDBValue) throws -> Digest128 {
        let d = ValueDigester()
        try value.replay(RDBKeyHeader(db: 0, key: [], typeCode: value.plainTypeCode), into: d)
        return d.digest
    }
}

/// KeyDigest's value fingerprint computed while the value is walked element by element: a few words of
/// state, whatever the number of elements. `digest` is set by `endValue`.
public final class ValueDigester: RDBElementVisitor {
    var h = Hasher128()
    var sum = Digest128.zero
    var count: UInt64 = 0
    var tag: UInt64 = 0
    public private(set) var digest = Digest128.zero
    /// The value's type as `RDBValue.kindCode` gives it.
    public var kindCode: UInt8 { UInt8(tag) }

    public init() {}

    public func beginValue(_ header: RDBKeyHeader) throws {
        tag = KeyDigest.typeTag(code: header.typeCode)
        h = Hasher128()
        h.update(tag)
        sum = .zero
        count = 0
    }

    public func string(_ s: UnsafeRawBufferPointer) throws { h.update(s) }

    public func listElement(_ e: UnsafeRawBufferPointer) throws {
        h.update(e)
        count += 1
    }

    public func setMember(_ m: UnsafeRawBufferPointer) throws {
        var e = Hasher128()
        e.update(m)
        sum = sum &+ e.finalize()
        count += 1
    }

    public func sortedSetMember(_ m: UnsafeRawBufferPointer, score: Double) throws {
        var e = Hasher128()
        e.update(m)
        e.update(score == 0 ? 0 : score.bitPattern)
        sum = sum &+ e.finalize()
        count += 1
    }

    public func hashField(_ f: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
        var e = Hasher128()
        e.update(f)
        e.update(value)
        if expiresAt != 0 { e.update(expiresAt) }
        sum = sum &+ e.finalize()
        count += 1
    }

    public func streamNode(_ node: RDBStreamNode) throws {
        for entry in try StreamNodes.entries(node) where !entry.deleted {
            h.update(entry.id.ms); h.update(entry.id.seq)
            h.update(UInt64(entry.fieldsAndValues.count))
            for fv in entry.fieldsAndValues { h.update(fv) }
        }
    }

    public func streamEnd(_ s: RDBStream) throws {
        h.update(s.length)
        h.update(s.lastID.ms); h.update(s.lastID.seq)
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
    }

    public func module(_ m: RDBModuleValue) throws {
        h.update(m.moduleID)
        h.update(m.raw)
    }

    public func endValue() throws {
        switch tag {
        case 1:
            h.update(count)
        case 2, 3, 4:
            h.update(count)
            h.update(sum.high); h.update(sum.low)
        default:
            break
        }
        digest = h.finalize()
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
