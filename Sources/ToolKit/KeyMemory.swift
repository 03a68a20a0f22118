// KeyMemory: an estimate of the memory a key takes in a running Redis (64-bit, jemalloc), in the
// spirit of rdbtools' memory report: every allocation the server would make for the key, rounded up
// to jemalloc's size class. It is a model, not a measurement (MEMORY USAGE is the measurement).
//
// Per key (top level): the keyspace dictEntry (24 → 32 B), one bucket slot (8 B), the key as an sds
// (header 1/3/5/9/17 B + bytes + NUL), and, with a TTL, an entry in the expires dict (32 B).
// Per value, with its 16-byte robj:
//   string   int encoding: the robj only (0 for the shared integers 0–9999); embstr (≤ 44 bytes):
//            robj + sds in one allocation; raw: robj + sds
//   list     quicklist (48 B) + per node a 32-byte quicklistNode and a listpack of at most 8 KB
//            (list-max-listpack-size -2), elements packed in order
//   listpack (small hash, zset, 7.2+ set): the listpack's exact size (integers in their integer
//            encodings, a zset score as an integer or as its %.17g text)
//   intset   8-byte header + count × width (2, 4 or 8 by the largest magnitude)
//   hashtable  dict (64 B) + power-of-two bucket array + per element a 32-byte dictEntry and the
//            sds strings it owns (field and value for a hash, the member for a set)
//   skiplist dict as above + zskiplist (32 B) + a 32-level header node + per member a node of
//            expected size 53 B (levels drawn with p = 1/4) + the member's sds
//   stream   ~600 B for the stream and its radix trees, per node a listpack and ~64 B of tree, per
//            consumer group ~2 KB (its PEL and consumer trees) + 64 B a pending entry, per consumer
//            ~256 B + its name + 16 B a pending entry (calibrated on Redis 7.0's MEMORY USAGE)
//   module   the robj + the serialized value's size (modules keep their own structures)
// Encoding: what Redis picks when it loads the value with default thresholds — Redis 7.0's rules
// for RDB files up to version 10 (list: quicklist; set: intset if ≤ 512 integers, else hashtable;
// hash and zset: listpack if ≤ 128 elements and none longer than 64 bytes), Redis 7.2's from
// version 11 (also listpack lists of one node and listpack sets of ≤ 128 short members).
import StorageFormat

public struct KeyMemoryRow {
    public var db: Int
    public var type: String
    public var key: [UInt8]
    public var sizeInBytes: Int
    public var encoding: String
    public var numElements: Int
    public var lenLargestElement: Int
    public var expiresAt: Int64?
}

public enum KeyMemory {
    /// jemalloc's size class for an allocation of `n` bytes (8, 16, 32, 48 … 128, then four
    /// classes per doubling: 160, 192, 224, 256, 320 …).
    public static func mallocSize(_ n: Int) -> Int {
        if n <= 0 { return 0 }
        if n <= 8 { return 8 }
        if n <= 128 { return (n + 15) & ~15 }
        let lg = Int.bitWidth - (n - 1).leadingZeroBitCount - 1
        let spacing = 1 << (lg - 2)
        return (n + spacing - 1) & ~(spacing - 1)
    }

    /// An sds string's allocation. `type5`: Redis uses the 1-byte header below 32 bytes for keys and
    /// hash/set elements, but never for values it may grow.
    public static func sdsSize(_ len: Int, type5: Bool = true) -> Int {
        let header: Int
        if type5 && len < 32 { header = 1 } else if len < 256 { header = 3 } else if len < 65536 { header = 5 } else if len < 1 << 32 { header = 9 } else { header = 17 }
        return mallocSize(header + len + 1)
    }

    static let robj = 16
    static let dictEntry = 32
    static let dictStruct = 64

    static func buckets(_ n: Int) -> Int {
        var size = 4
        while size < n { size <<= 1 }
        return mallocSize(size * 8)
    }

    static func hashtable(_ n: Int) -> Int { dictStruct + buckets(n) + n * dictEntry }

    /// The integer a string holds when Redis would store it as one (≤ 20 bytes, canonical).
    @inline(__always)
    static func integer(_ s: UnsafeRawBufferPointer) -> Int64? {
        s.count <= 20 ? StrictInteger.parse(s) : nil
    }

    /// Bytes a listpack entry takes (encoding + data + back-length).
    @inline(__always)
    static func listpackEntry(_ s: UnsafeRawBufferPointer) -> Int {
        let body: Int
        if let v = integer(s) { body = listpackInt(v) } else { body = listpackStringBody(s.count) }
        return body + backlen(body)
    }

    static func listpackInt(_ v: Int64) -> Int {
        if v >= 0 && v <= 127 { return 1 }
        if v >= -4096 && v <= 4095 { return 2 }
        if v >= Int64(Int16.min) && v <= Int64(Int16.max) { return 3 }
        if v >= -(1 << 23) && v < 1 << 23 { return 4 }
        if v >= Int64(Int32.min) && v <= Int64(Int32.max) { return 5 }
        return 9
    }

    static func listpackStringBody(_ n: Int) -> Int { n < 64 ? 1 + n : n < 4096 ? 2 + n : 5 + n }

    static func backlen(_ n: Int) -> Int { n <= 127 ? 1 : n < 16383 ? 2 : n < 2_097_151 ? 3 : n < 268_435_455 ? 4 : 5 }

    static func listpackScore(_ d: Double) -> Int {
        if d.rounded() == d, abs(d) < 1e17 {
            let body = listpackInt(Int64(d))
            return body + backlen(body)
        }
        // %.17g text: up to 17 significant digits, a point, a sign, an exponent.
        let body = listpackStringBody(d.isFinite ? 19 : 4)
        return body + backlen(body)
    }

    static let listpackHeader = 7 // 4-byte total size, 2-byte count, 1-byte end

    static let skiplistNode = 53
    static let skiplistHeader = mallocSize(24 + 32 * 16) + 32

    /// The row for one entry. `fileVersion`: the RDB version it was read from (chooses 7.0 or 7.2 rules).
    public static func row(_ e: RDBEntry, fileVersion: Int) throws -> KeyMemoryRow {
        let meter = KeyMemoryMeter(fileVersion: fileVersion)
        try e.value.replay(RDBKeyHeader(db: e.db, key: e.key, typeCode: e.typeCode, expiresAt: e.expiresAt), into: meter)
        return meter.row!
    }
}

/// KeyMemory's estimate computed while a value is walked element by element (RDBReader.nextWalking):
/// counters only, whatever the number of elements. `row` is set by `endValue`.
public final class KeyMemoryMeter: RDBElementVisitor {
    let redis72: Bool
    public private(set) var row: KeyMemoryRow?
    var header = RDBKeyHeader(db: 0, key: [], typeCode: 0)
    var size = 0
    var encoding = ""
    var count = 0
    var largest = 0
    // list
    var nodes = 0, packed = 0, current = 0
    // set, zset, hash
    var allInts = true, width = 2, lp = 0, strings = 0, ttls = false

    /// `fileVersion`: the RDB version the values come from (chooses 7.0 or 7.2 rules).
    public init(fileVersion: Int) { redis72 = fileVersion >= 11 }

    typealias M = KeyMemory

    public func beginValue(_ h: RDBKeyHeader) throws {
        header = h
        row = nil
        size = M.dictEntry + 8 + M.sdsSize(h.key.count)
        if h.expiresAt != nil { size += M.dictEntry }
        encoding = ""
        count = 0; largest = 0
        nodes = 0; packed = 0; current = 0
        allInts = true; width = 2; lp = M.listpackHeader; strings = 0; ttls = false
        if RDBType.typeName(h.typeCode) == "stream" { size += M.robj + 600 }
    }

    public func string(_ s: UnsafeRawBufferPointer) throws {
        count = s.count
        largest = s.count
        if let v = M.integer(s) {
            encoding = "int"
            if v < 0 || v >= 10000 { size += M.robj }
        } else if s.count <= 44 {
            encoding = "embstr"
            size += M.mallocSize(M.robj + 3 + s.count + 1)
        } else {
            encoding = "raw"
            size += M.robj + M.sdsSize(s.count, type5: false)
        }
    }

    public func listElement(_ it: UnsafeRawBufferPointer) throws {
        count += 1
        largest = max(largest, it.count)
        let n = M.listpackEntry(it)
        if current > 0 && current + n > 8192 {
            packed += M.mallocSize(current)
            nodes += 1
            current = 0
        }
        if current == 0 { current = M.listpackHeader }
        current += n
    }

    public func setMember(_ m: UnsafeRawBufferPointer) throws {
        count += 1
        largest = max(largest, m.count)
        lp += M.listpackEntry(m)
        strings += M.sdsSize(m.count)
        if allInts {
            if let v = M.integer(m) {
                if v < Int64(Int16.min) || v > Int64(Int16.max) { width = max(width, 4) }
                if v < Int64(Int32.min) || v > Int64(Int32.max) { width = 8 }
            } else {
                allInts = false
            }
        }
    }

    public func sortedSetMember(_ m: UnsafeRawBufferPointer, score: Double) throws {
        count += 1
        largest = max(largest, m.count)
        lp += M.listpackEntry(m) + M.listpackScore(score)
        strings += M.sdsSize(m.count)
    }

    public func hashField(_ f: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
        count += 1
        largest = max(largest, f.count, value.count)
        lp += M.listpackEntry(f) + M.listpackEntry(value)
        strings += M.sdsSize(f.count) + M.sdsSize(value.count)
        if expiresAt != 0 {
            ttls = true
            lp += 10
        }
    }

    public func streamNode(_ node: RDBStreamNode) throws {
        size += M.mallocSize(node.listpack.count) + 64
        for entry in try StreamNodes.entries(node) where !entry.deleted {
            for fv in entry.fieldsAndValues { largest = max(largest, fv.count) }
        }
    }

    public func streamEnd(_ s: RDBStream) throws {
        count = Int(s.length)
        for g in s.groups {
            size += 2048 + M.sdsSize(g.name.count) + g.pending.count * 64
            for c in g.consumers { size += 256 + M.sdsSize(c.name.count) + c.pending.count * 16 }
        }
    }

    public func module(_ m: RDBModuleValue) throws {
        size += M.robj + m.raw.count
    }

    public func endValue() throws {
        let type = RDBType.typeName(header.typeCode)
        switch type {
        case "list":
            if current > 0 { packed += M.mallocSize(current); nodes += 1 }
            if redis72 && nodes <= 1 {
                encoding = "listpack"
                size += M.robj + max(packed, M.mallocSize(M.listpackHeader))
            } else {
                encoding = "quicklist"
                size += M.robj + 48 + nodes * 32 + packed
            }
        case "set":
            if allInts && count <= 512 {
                encoding = "intset"
                size += M.robj + M.mallocSize(8 + count * width)
            } else if redis72 && count <= 128 && largest <= 64 {
                encoding = "listpack"
                size += M.robj + M.mallocSize(lp)
            } else {
                encoding = "hashtable"
                size += M.robj + M.hashtable(count) + strings
            }
        case "zset":
            if count <= 128 && largest <= 64 {
                encoding = "listpack"
                size += M.robj + M.mallocSize(lp)
            } else {
                encoding = "skiplist"
                size += M.robj + 16 + M.hashtable(count) + M.skiplistHeader + count * M.skiplistNode + strings
            }
        case "hash":
            if count <= 128 && largest <= 64 {
                encoding = ttls ? "listpackex" : "listpack"
                size += M.robj + M.mallocSize(lp)
            } else {
                encoding = "hashtable"
                size += M.robj + M.hashtable(count) + strings
            }
        case "stream":
            encoding = "stream"
        case "module":
            encoding = "module"
        default:
            break
        }
        row = KeyMemoryRow(db: header.db, type: type, key: header.key, sizeInBytes: size, encoding: encoding,
                           numElements: count, lenLargestElement: largest, expiresAt: header.expiresAt)
    }
}

/// Unix milliseconds as rdbtools prints an expiry: ISO 8601 in UTC without a zone,
/// `2100-01-01T00:00:00.003000` (microseconds, like Python's `datetime.isoformat`).
public func isoTimestamp(unixMilliseconds ms: Int64) -> String {
    var days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
    let msOfDay = ms - days * 86_400_000
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    days += 719_468
    let era = (days >= 0 ? days : days - 146_096) / 146_097
    let doe = days - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    var y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    if m <= 2 { y += 1 }
    func pad(_ v: Int64, _ n: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, n - s.count)) + s
    }
    let h = msOfDay / 3_600_000, mi = (msOfDay / 60000) % 60, s = (msOfDay / 1000) % 60, frac = msOfDay % 1000
    return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)).\(pad(frac * 1000, 6))"
}
