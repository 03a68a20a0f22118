// RDBElementWalk: reads an RDB file record by record like RDBReader.next(), but hands each key's value
// to a visitor one element at a time instead of decoding it into an RDBValue — the reading twin of
// RDBWriter+Streaming's beginValue / append… / endValue. Memory is independent of the file size and of
// the number of elements of any key:
//   list, set, zset, hash (plain encodings)   one element read at a time, into two reused buffers
//   listpack, ziplist, intset, zipmap blobs   the blob (one RDB string, which Redis caps with its
//                                             encoding thresholds) is validated whole first, then its
//                                             elements are handed out from it, no array built
//   quicklist                                 one node's blob at a time
//   stream                                    one node (a listpack of a few hundred entries) at a time;
//                                             the consumer groups and their PELs come whole at the end
//   string                                    whole: one value, bounded by proto-max-bulk-len (512 MB)
//   module                                    whole (its raw opcode stream)
// Checks and error messages are RDBReader.readValue's. A compact blob is checked whole before any of its
// elements is handed out; in a plain or quicklist encoding an error in a later element arrives after
// the earlier ones were handed out (the visitor's endValue is then never called).
// An aggregate stored with no elements is skipped as RDBReader skips it (`beginValue` is called lazily,
// before the first element, so such a key is never begun).

/// What is known of a key before its value: everything an RDBEntry holds but the value.
public struct RDBKeyHeader: Sendable {
    public var db: Int
    public var key: [UInt8]
    /// The type code the file used (tells the encoding).
    public var typeCode: UInt8
    /// Absolute expiry in Unix ms, if any.
    public var expiresAt: Int64?
    public var idle: UInt64?
    public var freq: UInt8?
    /// Offset of the record's first byte.
    public var offset: Int
    /// The element count when the file states it before the elements (plain encodings) or the blob
    /// tells it (compact encodings): list items, set members, zset members, hash fields. Nil for
    /// quicklists, strings, streams and modules.
    public var count: Int?

    public init(db: Int, key: [UInt8], typeCode: UInt8, expiresAt: Int64? = nil, idle: UInt64? = nil, freq: UInt8? = nil,
                offset: Int = 0, count: Int? = nil) {
        self.db = db; self.key = key; self.typeCode = typeCode; self.expiresAt = expiresAt
        self.idle = idle; self.freq = freq; self.offset = offset; self.count = count
    }

    /// Redis's type name (`TYPE`): string, list, set, zset, hash, stream, module.
    public var typeName: String { RDBType.typeName(typeCode) }
}

/// Receives one key's value element by element. Buffers are valid only during the call. Every method
/// has a default that does nothing.
public protocol RDBElementVisitor: AnyObject {
    /// Before the value's first element (for a string, stream or module: before its one call).
    func beginValue(_ header: RDBKeyHeader) throws
    /// A string value, whole.
    func string(_ value: UnsafeRawBufferPointer) throws
    func listElement(_ element: UnsafeRawBufferPointer) throws
    func setMember(_ member: UnsafeRawBufferPointer) throws
    func sortedSetMember(_ member: UnsafeRawBufferPointer, score: Double) throws
    /// `expiresAt`: the field's absolute expiry in Unix ms, 0 for none (Redis 7.4+ field TTLs).
    func hashField(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws
    /// One node of a stream, in order (StreamNodes.entries decodes its entries).
    func streamNode(_ node: RDBStreamNode) throws
    /// After a stream's last node: its metadata and consumer groups (`nodes` is empty).
    func streamEnd(_ stream: RDBStream) throws
    func module(_ value: RDBModuleValue) throws
    /// After the last element.
    func endValue() throws
}

extension RDBElementVisitor {
    public func beginValue(_ header: RDBKeyHeader) throws {}
    public func string(_ value: UnsafeRawBufferPointer) throws {}
    public func listElement(_ element: UnsafeRawBufferPointer) throws {}
    public func setMember(_ member: UnsafeRawBufferPointer) throws {}
    public func sortedSetMember(_ member: UnsafeRawBufferPointer, score: Double) throws {}
    public func hashField(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {}
    public func streamNode(_ node: RDBStreamNode) throws {}
    public func streamEnd(_ stream: RDBStream) throws {}
    public func module(_ value: RDBModuleValue) throws {}
    public func endValue() throws {}
}

/// One record of an element-wise walk.
public enum RDBWalkRecord {
    /// Anything but a key (never `.entry`).
    case record(RDBRecord)
    /// A key whose value has been walked (and handed to the visitor chosen for it, if any).
    case key(RDBKeyHeader)
}

/// Rebuilds the RDBValue of the elements it is handed (for values known to be small, and for tests).
public final class RDBValueBuilder: RDBElementVisitor {
    public private(set) var header: RDBKeyHeader?
    var strings: [[UInt8]] = []
    var scored: [RDBScoredMember] = []
    var fields: [RDBHashField] = []
    var nodes: [RDBStreamNode] = []
    var whole: RDBValue?
    /// Element bytes plus 64 per element: roughly what the value costs in memory once built.
    public private(set) var estimatedBytes = 0

    public init() {}

    public func reset() {
        header = nil; strings = []; scored = []; fields = []; nodes = []; whole = nil; estimatedBytes = 0
    }

    public func beginValue(_ header: RDBKeyHeader) throws { reset(); self.header = header }
    public func string(_ value: UnsafeRawBufferPointer) throws {
        whole = .string(Array(value)); estimatedBytes += value.count + 64
    }
    public func listElement(_ element: UnsafeRawBufferPointer) throws {
        strings.append(Array(element)); estimatedBytes += element.count + 64
    }
    public func setMember(_ member: UnsafeRawBufferPointer) throws {
        strings.append(Array(member)); estimatedBytes += member.count + 64
    }
    public func sortedSetMember(_ member: UnsafeRawBufferPointer, score: Double) throws {
        scored.append(RDBScoredMember(member: Array(member), score: score)); estimatedBytes += member.count + 72
    }
    public func hashField(_ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
        fields.append(RDBHashField(field: Array(field), value: Array(value), expiresAt: expiresAt))
        estimatedBytes += field.count + value.count + 128
    }
    public func streamNode(_ node: RDBStreamNode) throws {
        nodes.append(node); estimatedBytes += node.listpack.count + 64
    }
    public func streamEnd(_ stream: RDBStream) throws {
        var s = stream
        s.nodes = nodes
        nodes = []
        whole = .stream(s)
    }
    public func module(_ value: RDBModuleValue) throws { whole = .module(value); estimatedBytes += value.raw.count + 64 }

    /// Hands the elements collected so far to `visitor` (no beginValue, no endValue): for switching to
    /// a streaming consumer part way through a value.
    public func replayElements(into visitor: RDBElementVisitor) throws {
        switch header.map({ RDBType.typeName($0.typeCode) }) {
        case "list": for s in strings { try s.withUnsafeBytes { try visitor.listElement($0) } }
        case "set": for s in strings { try s.withUnsafeBytes { try visitor.setMember($0) } }
        default: break
        }
        for m in scored { try m.member.withUnsafeBytes { try visitor.sortedSetMember($0, score: m.score) } }
        for f in fields {
            try f.field.withUnsafeBytes { fb in try f.value.withUnsafeBytes { try visitor.hashField(fb, value: $0, expiresAt: f.expiresAt) } }
        }
        for n in nodes { try visitor.streamNode(n) }
    }

    /// The value handed so far (call after `endValue`).
    public var value: RDBValue {
        if let whole { return whole }
        switch header.map({ RDBType.typeName($0.typeCode) }) {
        case "list": return .list(strings)
        case "set": return .set(strings)
        case "zset": return .sortedSet(scored)
        default: return .hash(fields)
        }
    }

    /// The entry handed so far (call after `endValue`).
    public var entry: RDBEntry? {
        header.map { RDBEntry(db: $0.db, key: $0.key, value: value, typeCode: $0.typeCode, expiresAt: $0.expiresAt,
                              idle: $0.idle, freq: $0.freq, offset: $0.offset) }
    }
}

extension RDBValue {
    /// Hands the value to `visitor` as the element-wise walk would (beginValue … endValue), so code
    /// written against the walk also serves materialised values (DUMP payloads, tests).
    /// A header whose type code is not of the value's type gets `plainTypeCode`.
    public func replay(_ header: RDBKeyHeader, into visitor: RDBElementVisitor) throws {
        var header = header
        if RDBType.typeName(header.typeCode) != typeName { header.typeCode = plainTypeCode }
        switch self {
        case .list(let a), .set(let a): header.count = a.count
        case .sortedSet(let a): header.count = a.count
        case .hash(let a): header.count = a.count
        default: header.count = nil
        }
        try visitor.beginValue(header)
        switch self {
        case .string(let s): try s.withUnsafeBytes { try visitor.string($0) }
        case .list(let items): for i in items { try i.withUnsafeBytes { try visitor.listElement($0) } }
        case .set(let items): for i in items { try i.withUnsafeBytes { try visitor.setMember($0) } }
        case .sortedSet(let items):
            for m in items { try m.member.withUnsafeBytes { try visitor.sortedSetMember($0, score: m.score) } }
        case .hash(let fields):
            for f in fields {
                try f.field.withUnsafeBytes { fb in try f.value.withUnsafeBytes { try visitor.hashField(fb, value: $0, expiresAt: f.expiresAt) } }
            }
        case .stream(let s):
            for n in s.nodes { try visitor.streamNode(n) }
            var meta = s
            meta.nodes = []
            try visitor.streamEnd(meta)
        case .module(let m): try visitor.module(m)
        }
        try visitor.endValue()
    }
}

extension RDBValue {
    /// A type code of the value's type (its plain encoding).
    public var plainTypeCode: UInt8 {
        switch self {
        case .string: return RDBType.string
        case .list: return RDBType.list
        case .set: return RDBType.set
        case .sortedSet: return RDBType.zset2
        case .hash: return RDBType.hash
        case .stream: return RDBType.streamListpacks3
        case .module: return RDBType.module2
        }
    }
}

/// Forwards to a visitor, calling its beginValue before the first element (so an empty aggregate can
/// be skipped without having been begun).
final class RDBWalkSink {
    let visitor: RDBElementVisitor?
    var header: RDBKeyHeader
    var began = false
    /// Decimal text of integers from compact encodings (two slots: a field and its value).
    let digits: UnsafeMutableRawPointer

    init(_ visitor: RDBElementVisitor?, _ header: RDBKeyHeader) {
        self.visitor = visitor
        self.header = header
        digits = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
    }

    deinit { digits.deallocate() }

    @inline(__always) func begin() throws {
        if !began {
            began = true
            try visitor?.beginValue(header)
        }
    }

    /// The element's bytes (an integer as its decimal text, in slot 0 or 1).
    @inline(__always)
    func bytes(_ e: CompactElement, slot: Int) -> UnsafeRawBufferPointer {
        switch e {
        case .bytes(let b): return b
        case .int(let v): return RDBWalkSink.format(v, into: digits + slot * 32)
        }
    }

    static func format(_ v: Int64, into p: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        var x = v.magnitude
        var tmp = (UInt64(0), UInt64(0), UInt64(0))
        let n: Int = withUnsafeMutableBytes(of: &tmp) { t in
            var i = 24
            repeat {
                i -= 1
                t[i] = UInt8(x % 10) + 48
                x /= 10
            } while x > 0
            if v < 0 { i -= 1; t[i] = UInt8(ascii: "-") }
            let n = 24 - i
            p.copyMemory(from: t.baseAddress! + i, byteCount: n)
            return n
        }
        return UnsafeRawBufferPointer(start: p, count: n)
    }
}

extension RDBReader {
    /// The next record, a key's value walked element by element: `choose(header)` names the visitor
    /// that gets the value's elements, or nil to walk (and check) it without handing anything out.
    /// Returns `.key(header)` after the value; nil after `.end` has been returned.
    public func nextWalking(_ choose: (RDBKeyHeader) throws -> RDBElementVisitor?) throws -> RDBWalkRecord? {
        if finished { return nil }
        var pending = PendingKeyOpcodes()
        var recordStart = input.offset
        while true {
            let at = input.offset
            let code = try input.readByte("an opcode or type byte")
            switch try step(code, at: at, &pending) {
            case .record(let r):
                return .record(r)
            case .keyOpcode:
                continue
            case .key(let code):
                if !pending.seen { recordStart = at }
                let key = try readString("key")
                let header = RDBKeyHeader(db: db, key: key, typeCode: code, expiresAt: pending.expiresAt,
                                          idle: pending.idle, freq: pending.freq, offset: recordStart)
                let sink = RDBWalkSink(try choose(header), header)
                do {
                    try walkValue(type: code, sink)
                } catch let e as FormatError {
                    throw e.withKey(key)
                }
                if !sink.began {
                    let aggregate = code != RDBType.string && code != RDBType.module2 && code != RDBType.modulePreGA
                        && code != RDBType.streamListpacks && code != RDBType.streamListpacks2 && code != RDBType.streamListpacks3
                    if aggregate && options.skipEmptyAggregates {
                        skippedEmptyKeys.append((key, recordStart))
                        pending = PendingKeyOpcodes()
                        recordStart = input.offset
                        continue
                    }
                    try sink.begin()
                }
                try sink.visitor?.endValue()
                return .key(sink.header)
            }
        }
    }

    /// A string element into `buf` (reusing its storage): raw, an integer as decimal text, or LZF.
    func readString(into buf: inout [UInt8], _ what: @autoclosure () -> String) throws {
        let at = input.offset
        let b = try input.readByte(what())
        buf.removeAll(keepingCapacity: true)
        if b >> 6 != 3 {
            buf.append(contentsOf: try input.span(try rawStringLength(b, at: at, what()), what()))
            return
        }
        // Integer and LZF encodings: rare for elements, read as readString does.
        input.position -= 1
        buf = try readString(what())
    }

    /// Walks one value of type `type` into `sink` (see the file comment). Mirrors readValue.
    func walkValue(type: UInt8, _ sink: RDBWalkSink) throws {
        let v = sink.visitor
        var a: [UInt8] = [], b: [UInt8] = []
        switch type {
        case RDBType.string:
            let s = try readString("string value")
            try sink.begin()
            try s.withUnsafeBytes { try v?.string($0) }
        case RDBType.list, RDBType.set:
            let isList = type == RDBType.list
            let n = try readCount(isList ? "list length" : "set size")
            sink.header.count = n
            for _ in 0 ..< n {
                try readString(into: &a, isList ? "list element" : "set member")
                try sink.begin()
                try a.withUnsafeBytes { if isList { try v?.listElement($0) } else { try v?.setMember($0) } }
            }
        case RDBType.zset, RDBType.zset2:
            let n = try readCount("sorted set size", minBytes: 2)
            sink.header.count = n
            for _ in 0 ..< n {
                try readString(into: &a, "sorted set member")
                let at = input.offset
                let s = type == RDBType.zset ? try readASCIIDouble("score") : try readBinaryDouble("score")
                if s.isNaN { throw formatError(at, "a score that is a number", "NaN") }
                try sink.begin()
                try a.withUnsafeBytes { try v?.sortedSetMember($0, score: s) }
            }
        case RDBType.hash:
            let n = try readCount("hash size", minBytes: 2)
            sink.header.count = n
            for _ in 0 ..< n {
                try readString(into: &a, "hash field")
                try readString(into: &b, "hash value")
                try sink.begin()
                try a.withUnsafeBytes { f in try b.withUnsafeBytes { try v?.hashField(f, value: $0, expiresAt: 0) } }
            }
        case RDBType.modulePreGA:
            throw formatError(input.offset - 1, "a released module format", "MODULE_PRE_GA (type 6), which Redis refuses")
        case RDBType.module2:
            let id = try readLength("module id")
            let m = RDBModuleValue(moduleID: id, raw: try readModuleOpcodes(key: sink.header.key))
            try sink.begin()
            try v?.module(m)
        case RDBType.hashZipmap:
            let (blob, at) = try readBlob("zipmap")
            try blob.withUnsafeBytes { bp in
                sink.header.count = try Zipmap.forEach(bp, baseOffset: at) { _, _ in }
                try Zipmap.forEach(bp, baseOffset: at) { f, val in
                    try sink.begin()
                    try v?.hashField(f, value: val, expiresAt: 0)
                }
            }
        case RDBType.listZiplist, RDBType.setListpack:
            let isList = type == RDBType.listZiplist
            let (blob, at) = try readBlob(isList ? "ziplist" : "listpack")
            try blob.withUnsafeBytes { bp in
                let each: (UnsafeRawBufferPointer, (CompactElement) throws -> Void) throws -> Int = isList
                    ? { try Ziplist.forEach($0, baseOffset: at, $1) } : { try Listpack.forEach($0, baseOffset: at, $1) }
                sink.header.count = try each(bp) { _ in }
                _ = try each(bp) { e in
                    try sink.begin()
                    let s = sink.bytes(e, slot: 0)
                    if isList { try v?.listElement(s) } else { try v?.setMember(s) }
                }
            }
        case RDBType.setIntset:
            let (blob, at) = try readBlob("intset")
            try blob.withUnsafeBytes { bp in
                sink.header.count = try Intset.forEach(bp, baseOffset: at) { _ in }
                try Intset.forEach(bp, baseOffset: at) { i in
                    try sink.begin()
                    try v?.setMember(RDBWalkSink.format(i, into: sink.digits))
                }
            }
        case RDBType.zsetZiplist, RDBType.zsetListpack:
            let ziplist = type == RDBType.zsetZiplist
            let (blob, at) = try readBlob(ziplist ? "ziplist" : "listpack")
            try walkScoredPairs(blob, at: at, ziplist: ziplist, sink)
        case RDBType.hashZiplist, RDBType.hashListpack, RDBType.hashListpackExPreGA, RDBType.hashListpackEx:
            let ziplist = type == RDBType.hashZiplist
            let withTTL = type == RDBType.hashListpackExPreGA || type == RDBType.hashListpackEx
            if type == RDBType.hashListpackEx { _ = try input.readLE(Int64.self, "hash minimum expiry") }
            let (blob, at) = try readBlob(ziplist ? "ziplist" : "listpack")
            try walkHashBlob(blob, at: at, ziplist: ziplist, withTTL: withTTL, sink)
        case RDBType.listQuicklist, RDBType.listQuicklist2:
            let nodes = try readCount("quicklist node count")
            for _ in 0 ..< nodes {
                var container: UInt64 = 2
                if type == RDBType.listQuicklist2 {
                    let at = input.offset
                    container = try readLength("quicklist node container")
                    guard container == 1 || container == 2 else {
                        throw formatError(at, "quicklist container 1 (plain) or 2 (packed)", "\(container)")
                    }
                }
                let (blob, at) = try readBlob("quicklist node")
                if container == 1 {
                    try sink.begin()
                    try blob.withUnsafeBytes { try v?.listElement($0) }
                    continue
                }
                try blob.withUnsafeBytes { bp in
                    // Checked whole before its elements are handed out; an empty node adds nothing.
                    let each: (UnsafeRawBufferPointer, (CompactElement) throws -> Void) throws -> Int = type == RDBType.listQuicklist
                        ? { try Ziplist.forEach($0, baseOffset: at, $1) } : { try Listpack.forEach($0, baseOffset: at, $1) }
                    _ = try each(bp) { _ in }
                    _ = try each(bp) { e in
                        try sink.begin()
                        try v?.listElement(sink.bytes(e, slot: 0))
                    }
                }
            }
        case RDBType.streamListpacks, RDBType.streamListpacks2, RDBType.streamListpacks3:
            try sink.begin()
            let meta = try readStream(version: type == RDBType.streamListpacks ? 1 : type == RDBType.streamListpacks2 ? 2 : 3) { node in
                try v?.streamNode(node)
            }
            try v?.streamEnd(meta)
        case 22 where dialect.family == .valkey:
            let n = try readCount("hash size", minBytes: 10)
            sink.header.count = n
            for _ in 0 ..< n {
                try readString(into: &a, "hash field")
                try readString(into: &b, "hash value")
                let e = try input.readLE(Int64.self, "field expiry")
                try sink.begin()
                try a.withUnsafeBytes { f in try b.withUnsafeBytes { try v?.hashField(f, value: $0, expiresAt: e < 0 ? 0 : e) } }
            }
        case RDBType.hashMetadataPreGA, RDBType.hashMetadata:
            let minExpire: Int64 = type == RDBType.hashMetadata ? try input.readLE(Int64.self, "hash minimum expiry") : 0
            let n = try readCount("hash size", minBytes: 3)
            sink.header.count = n
            for _ in 0 ..< n {
                let at = input.offset
                let ttl = try readLength("field TTL")
                try readString(into: &a, "hash field")
                try readString(into: &b, "hash value")
                var e: Int64 = 0
                if ttl != 0 {
                    guard let expiry = RDBType.hashFieldExpiry(ttl, minExpire: minExpire, preGA: type == RDBType.hashMetadataPreGA) else {
                        throw formatError(at, "a field expiry below 2^48 ms", "TTL \(ttl) with minimum \(minExpire)")
                    }
                    e = expiry
                }
                try sink.begin()
                try a.withUnsafeBytes { f in try b.withUnsafeBytes { try v?.hashField(f, value: $0, expiresAt: e) } }
            }
        default:
            throw formatError(input.offset, "an object type known to \(dialect)", "type \(type)")
        }
    }

    /// A ziplist or listpack zset: checked whole (scores, pairing), then handed out pair by pair.
    func walkScoredPairs(_ blob: [UInt8], at: Int, ziplist: Bool, _ sink: RDBWalkSink) throws {
        func score(_ e: CompactElement) -> Double? {
            switch e {
            case .int(let x): return Double(x)
            case .bytes(let b): return parseDouble(b)
            }
        }
        try blob.withUnsafeBytes { bp in
            let each: ((CompactElement) throws -> Void) throws -> Int = ziplist
                ? { try Ziplist.forEach(bp, baseOffset: at, $0) } : { try Listpack.forEach(bp, baseOffset: at, $0) }
            var bad: String? = nil
            var odd = false
            var pairs = 0
            _ = try each { e in
                if odd {
                    if let s = score(e), !s.isNaN { pairs += 1 } else if bad == nil { bad = ByteText.quoted(e.materialized) }
                }
                odd.toggle()
            }
            if let bad { throw formatError(at, "a sorted-set score", bad) }
            if odd { throw formatError(at, "an even number of sorted set elements", "an odd number") }
            sink.header.count = pairs
            var member: UnsafeRawBufferPointer? = nil
            _ = try each { e in
                if let m = member {
                    try sink.begin()
                    try sink.visitor?.sortedSetMember(m, score: score(e)!)
                    member = nil
                } else {
                    member = sink.bytes(e, slot: 0)
                }
            }
        }
    }

    /// A ziplist or listpack hash (field, value) or listpack-ex hash (field, value, TTL): checked whole,
    /// then handed out field by field.
    func walkHashBlob(_ blob: [UInt8], at: Int, ziplist: Bool, withTTL: Bool, _ sink: RDBWalkSink) throws {
        try blob.withUnsafeBytes { bp in
            let each: ((CompactElement) throws -> Void) throws -> Int = ziplist
                ? { try Ziplist.forEach(bp, baseOffset: at, $0) } : { try Listpack.forEach(bp, baseOffset: at, $0) }
            func ttl(_ e: CompactElement) -> Int64? {
                let t: Int64?
                switch e {
                case .int(let x): t = x
                case .bytes(let b): t = StrictInteger.parse(b)
                }
                guard let t, t >= 0, t < Int64(1) << 48 else { return nil }
                return t
            }
            let per = withTTL ? 3 : 2
            var i = 0
            var badTTL: String? = nil
            let n = try each { e in
                if withTTL && i % 3 == 2 && badTTL == nil && ttl(e) == nil { badTTL = ByteText.quoted(e.materialized) }
                i += 1
            }
            if withTTL {
                guard n % 3 == 0 else { throw formatError(at, "hash field/value/ttl triplets", "\(n) elements") }
                if let badTTL { throw formatError(at, "a field TTL in ms", badTTL) }
            } else {
                guard n % 2 == 0 else { throw formatError(at, "an even number of hash elements", "\(n)") }
            }
            sink.header.count = n / per
            var field: UnsafeRawBufferPointer? = nil
            var value: UnsafeRawBufferPointer? = nil
            i = 0
            _ = try each { e in
                switch i % per {
                case 0: field = sink.bytes(e, slot: 0)
                case 1:
                    if withTTL {
                        value = sink.bytes(e, slot: 1)
                    } else {
                        try sink.begin()
                        try sink.visitor?.hashField(field!, value: sink.bytes(e, slot: 1), expiresAt: 0)
                    }
                default:
                    try sink.begin()
                    try sink.visitor?.hashField(field!, value: value!, expiresAt: ttl(e)!)
                }
                i += 1
            }
        }
    }
}
