// AOFCommands: the bytes an AOF holds — commands as RESP arrays of bulk strings, `#TS:` annotations —
// and the commands that recreate a key the way Redis 7.0's AOF rewrite writes them with
// `aof-use-rdb-preamble no` (FORMATS.md §13.4):
//   string  SET key value
//   list    RPUSH key item...            up to 64 items per command
//   set     SADD key member...           up to 64 members per command
//   zset    ZADD key score member...     up to 64 pairs per command, scores as %.17g ("inf", "-inf")
//   hash    HMSET key field value...     up to 64 pairs per command
//   then    PEXPIREAT key <unix ms>      when the key has a TTL
// Elements come in the order the value holds them. Streams, module values and function libraries
// are not written here.

public enum AOFCommands {
    /// Items (or pairs) per variadic command in a rewrite: Redis's AOF_REWRITE_ITEMS_PER_CMD.
    public static let itemsPerCommand = 64

    /// Appends `args` as a RESP array of bulk strings. The hot path of every logged write: the exact
    /// size is computed first, the buffer grows once, and the bytes are stored through a pointer.
    /// A command's header, `*<count>\r\n`, for a command written argument by argument.
    public static func appendArrayHeader(_ count: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "*"))
        RESPEncoder.appendDecimal(count, to: &out)
        out.append(13)
        out.append(10)
    }

    /// The start of a command of `argc` arguments written argument by argument: its header, its
    /// name and its key; the other arguments follow through `appendBulk`.
    public static func appendCommandHead(_ name: StaticString, key: UnsafeRawBufferPointer, argc: Int, to out: inout [UInt8]) {
        appendArrayHeader(argc, to: &out)
        name.withUTF8Buffer { appendBulk(UnsafeRawBufferPointer($0), to: &out) }
        appendBulk(key, to: &out)
    }

    /// One argument, `$<len>\r\n<bytes>\r\n`.
    public static func appendBulk(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "$"))
        RESPEncoder.appendDecimal(bytes.count, to: &out)
        out.append(13)
        out.append(10)
        out.append(contentsOf: bytes)
        out.append(13)
        out.append(10)
    }

    public static func append(_ args: [[UInt8]], to out: inout [UInt8]) {
        var size = 1 + decimalDigits(args.count) + 2
        for a in args { size += 1 + decimalDigits(a.count) + 2 + a.count + 2 }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: size))
        out.withUnsafeMutableBytes { raw in
            var p = raw.baseAddress! + start
            p.storeBytes(of: UInt8(ascii: "*"), as: UInt8.self)
            p = storeDecimal(args.count, at: p + 1)
            for a in args {
                p.storeBytes(of: 13, as: UInt8.self)
                (p + 1).storeBytes(of: 10, as: UInt8.self)
                (p + 2).storeBytes(of: UInt8(ascii: "$"), as: UInt8.self)
                p = storeDecimal(a.count, at: p + 3)
                p.storeBytes(of: 13, as: UInt8.self)
                (p + 1).storeBytes(of: 10, as: UInt8.self)
                p += 2
                a.withUnsafeBytes { b in
                    if b.count > 0 { p.copyMemory(from: b.baseAddress!, byteCount: b.count) }
                }
                p += a.count
            }
            p.storeBytes(of: 13, as: UInt8.self)
            (p + 1).storeBytes(of: 10, as: UInt8.self)
        }
    }

    /// True when `raw` (a request exactly as a client sent it) is byte for byte the record `append(args)`
    /// would write: a multibulk with no sign or leading zero in any length and CRLF after every
    /// argument. Then the request's own bytes can go into the AOF without encoding it again.
    public static func isCanonicalRecord(_ raw: UnsafeRawBufferPointer, _ args: [[UInt8]]) -> Bool {
        guard raw.count > 0, raw[0] == UInt8(ascii: "*") else { return false }
        let header = 1 + decimalDigits(args.count) + 2
        var size = header
        for a in args { size += 1 + decimalDigits(a.count) + 2 + a.count + 2 }
        guard size == raw.count else { return false }
        var pos = header
        for a in args {
            pos += 1 + decimalDigits(a.count) + 2 + a.count
            guard raw[pos] == 13, raw[pos + 1] == 10 else { return false }
            pos += 2
        }
        return true
    }

    /// Number of decimal digits of a non-negative `v`.
    @inline(__always)
    static func decimalDigits(_ v: Int) -> Int {
        var n = 1
        var x = v
        while x >= 10 { x /= 10; n += 1 }
        return n
    }

    /// Stores the decimal digits of a non-negative `v` at `p`; returns the position after them.
    @inline(__always)
    static func storeDecimal(_ v: Int, at p: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        let n = decimalDigits(v)
        var x = v
        var i = n - 1
        while i >= 0 {
            (p + i).storeBytes(of: UInt8(x % 10) + 48, as: UInt8.self)
            x /= 10
            i -= 1
        }
        return p + n
    }

    /// Appends `#TS:<unixSeconds>\r\n`.
    public static func appendTimestamp(_ unixSeconds: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: "#TS:".utf8)
        RESPEncoder.appendDecimal(Int(unixSeconds), to: &out)
        out.append(13); out.append(10)
    }

    /// The commands that recreate one key as Redis 7.0's AOF rewrite (aof-use-rdb-preamble no) writes
    /// them, each passed to `emit`. An empty aggregate emits nothing. Streams, module values, hash
    /// field TTLs and NaN scores throw a FormatError naming the key.
    public static func rewrite(key: [UInt8], value: RDBValue, expiresAt: Int64?, emit: ([[UInt8]]) throws -> Void) throws {
        func unsupported(_ what: String) -> FormatError {
            FormatError(offset: 0, key: key, context: "AOF rewrite",
                        expected: "a string, list, set, sorted set or hash", found: "\(what), which the AOF rewrite does not support")
        }
        var emitted = false
        func batches(_ command: String, _ items: [[UInt8]], perItem: Int) throws {
            let name = Array(command.utf8)
            let step = itemsPerCommand * perItem
            var i = 0
            while i < items.count {
                let j = min(items.count, i + step)
                var args: [[UInt8]] = [name, key]
                args.reserveCapacity(2 + j - i)
                args.append(contentsOf: items[i ..< j])
                try emit(args)
                emitted = true
                i = j
            }
        }
        switch value {
        case .string(let s):
            try emit([Array("SET".utf8), key, s])
            emitted = true
        case .list(let items):
            try batches("RPUSH", items, perItem: 1)
        case .set(let members):
            try batches("SADD", members, perItem: 1)
        case .sortedSet(let members):
            var flat: [[UInt8]] = []
            flat.reserveCapacity(members.count * 2)
            for m in members {
                guard !m.score.isNaN else { throw unsupported("a sorted set with a NaN score") }
                flat.append(formatScore17g(m.score))
                flat.append(m.member)
            }
            try batches("ZADD", flat, perItem: 2)
        case .hash(let fields):
            var flat: [[UInt8]] = []
            flat.reserveCapacity(fields.count * 2)
            for f in fields {
                guard f.expiresAt == 0 else { throw unsupported("a hash with field TTLs (Redis 7.4+)") }
                flat.append(f.field)
                flat.append(f.value)
            }
            try batches("HMSET", flat, perItem: 2)
        case .stream(let s):
            var live = 0
            for n in s.nodes {
                for e in try StreamNodes.entries(n) where !e.deleted {
                    var args: [[UInt8]] = [Array("XADD".utf8), key, Array(e.id.description.utf8)]
                    args.append(contentsOf: e.fieldsAndValues)
                    try emit(args)
                    live += 1
                }
            }
            try rewriteStreamTail(key: key, s, hadEntries: live > 0, emit: emit)
            emitted = true
        case .module(let m):
            throw unsupported("a module value (\(m.name))")
        }
        if emitted, let expiresAt {
            var ms: [UInt8] = []
            RESPEncoder.appendDecimal(Int(expiresAt), to: &ms)
            try emit([Array("PEXPIREAT".utf8), key, ms])
        }
    }

    /// What follows a stream's XADDs in a rewrite, as Redis 7.0's rewriteStreamObject has it: for a
    /// stream without entries an XADD MAXLEN 0 that leaves it empty, then XSETID with ENTRIESADDED and
    /// MAXDELETEDID, and each group (XGROUP CREATE … ENTRIESREAD) with its consumers' pending entries
    /// as XCLAIM … JUSTID FORCE, a consumer with none as XGROUP CREATECONSUMER.
    public static func rewriteStreamTail(key: [UInt8], _ s: RDBStream, hadEntries: Bool, emit: ([[UInt8]]) throws -> Void) throws {
        func idText(_ id: StreamID) -> [UInt8] { Array(id.description.utf8) }
        if !hadEntries {
            try emit([Array("XADD".utf8), key, Array("MAXLEN".utf8), Array("0".utf8), Array("0-1".utf8), Array("x".utf8), Array("y".utf8)])
        }
        try emit([Array("XSETID".utf8), key, idText(s.lastID), Array("ENTRIESADDED".utf8),
                  Array(String(s.entriesAdded ?? s.length).utf8), Array("MAXDELETEDID".utf8), idText(s.maxDeletedID ?? .zero)])
        for g in s.groups {
            try emit([Array("XGROUP".utf8), Array("CREATE".utf8), key, g.name, idText(g.lastDelivered),
                      Array("ENTRIESREAD".utf8), Array(String(g.entriesRead ?? -1).utf8)])
            var byID: [StreamID: RDBStreamPending] = [:]
            for p in g.pending { byID[p.id] = p }
            for c in g.consumers {
                if c.pending.isEmpty {
                    try emit([Array("XGROUP".utf8), Array("CREATECONSUMER".utf8), key, g.name, c.name])
                    continue
                }
                for id in c.pending {
                    let p = byID[id]
                    try emit([Array("XCLAIM".utf8), key, g.name, c.name, Array("0".utf8), idText(id), Array("TIME".utf8),
                              Array(String(p?.deliveryTime ?? 0).utf8), Array("RETRYCOUNT".utf8),
                              Array(String(p?.deliveryCount ?? 0).utf8), Array("JUSTID".utf8), Array("FORCE".utf8)])
                }
            }
        }
    }
}
