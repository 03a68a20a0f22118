// KeyCommands: the commands that recreate one key on a server — the form `cairn-rdb resp` prints
// and `cairn-rdb restore` sends.
//   RESTORE form:  RESTORE key <abs expiry ms or 0> <DUMP payload> REPLACE [ABSTTL]
//   type commands: DEL key, then the AOF rewrite's commands (StorageFormat.AOFCommands.rewrite:
//                  SET / RPUSH / SADD / ZADD / HMSET, at most 64 items per command, PEXPIREAT), with
//                  what the rewrite leaves out done here:
//     string larger than `chunk` bytes   SET key <first chunk>, APPEND key <chunk>…
//     hash with field TTLs (7.4+)        HSET in batches, then HPEXPIREAT key ms FIELDS n f… per TTL
//     stream   XADD key id f v… per entry (an empty stream: XADD key MAXLEN 0 <last id> x y, which
//              leaves it empty), XSETID key <last id> [ENTRIESADDED n MAXDELETEDID id],
//              XGROUP CREATE key g <last delivered> [ENTRIESREAD n] (MKSTREAM when there is no entry
//              and no last id), XGROUP CREATECONSUMER per consumer, and per pending entry
//              XCLAIM key g consumer 0 id TIME <delivery ms> RETRYCOUNT <count> FORCE JUSTID
//     module   none: a module value can only travel as a RESTORE payload
import StorageFormat

public enum KeyCommands {
    /// Why a key cannot be written as type commands.
    public struct Unsupported: Error, CustomStringConvertible {
        public var message: String
        public init(message: String) { self.message = message }
        public var description: String { message }
    }

    /// `RESTORE key ttl payload REPLACE ABSTTL` (ttl 0 and no ABSTTL when the key has no expiry).
    public static func restore(key: [UInt8], payload: [UInt8], expiresAt: Int64?) -> [[UInt8]] {
        var ttl: [UInt8] = []
        RESPEncoder.appendDecimal(Int(expiresAt ?? 0), to: &ttl)
        var args: [[UInt8]] = [Array("RESTORE".utf8), key, ttl, payload, Array("REPLACE".utf8)]
        if expiresAt != nil { args.append(Array("ABSTTL".utf8)) }
        return args
    }

    static func decimal(_ v: Int64) -> [UInt8] {
        var out: [UInt8] = []
        RESPEncoder.appendDecimal(Int(v), to: &out)
        return out
    }

    static func decimal(_ v: UInt64) -> [UInt8] { Array(String(v).utf8) }

    static func id(_ id: StreamID) -> [UInt8] { Array(id.description.utf8) }

    /// Emits the type commands for one key, `DEL key` first when `deleteFirst` (so the result does
    /// not depend on what the server held). `chunk`: the largest string argument to send whole.
    public static func typeCommands(key: [UInt8], value: RDBValue, expiresAt: Int64?, deleteFirst: Bool = true,
                                    chunk: Int = 64 << 20, emit: ([[UInt8]]) throws -> Void) throws {
        if case .module(let m) = value {
            throw Unsupported(message: "a module value (\(m.name)) can only be restored from a DUMP payload")
        }
        if deleteFirst { try emit([Array("DEL".utf8), key]) }
        func pexpireat(_ at: Int64?) throws {
            if let at { try emit([Array("PEXPIREAT".utf8), key, decimal(at)]) }
        }
        switch value {
        case .string(let s) where s.count > chunk:
            var i = 0
            while i < s.count {
                let j = min(s.count, i + chunk)
                try emit([Array((i == 0 ? "SET" : "APPEND").utf8), key, Array(s[i ..< j])])
                i = j
            }
            try pexpireat(expiresAt)
        case .hash(let fields) where fields.contains(where: { $0.expiresAt != 0 }):
            var flat: [[UInt8]] = []
            for f in fields { flat.append(f.field); flat.append(f.value) }
            var i = 0
            let step = AOFCommands.itemsPerCommand * 2
            while i < flat.count {
                let j = min(flat.count, i + step)
                try emit([Array("HSET".utf8), key] + flat[i ..< j])
                i = j
            }
            var byTime: [Int64: [[UInt8]]] = [:]
            for f in fields where f.expiresAt != 0 { byTime[f.expiresAt, default: []].append(f.field) }
            for at in byTime.keys.sorted() {
                let names = byTime[at]!
                var k = 0
                while k < names.count {
                    let l = min(names.count, k + AOFCommands.itemsPerCommand)
                    try emit([Array("HPEXPIREAT".utf8), key, decimal(at), Array("FIELDS".utf8), decimal(Int64(l - k))] + names[k ..< l])
                    k = l
                }
            }
            try pexpireat(expiresAt)
        case .stream(let s):
            try streamCommands(key: key, stream: s, emit: emit)
            try pexpireat(expiresAt)
        default:
            try AOFCommands.rewrite(key: key, value: value, expiresAt: expiresAt, emit: emit)
        }
    }

    static func streamCommands(key: [UInt8], stream s: RDBStream, emit: ([[UInt8]]) throws -> Void) throws {
        var added = 0
        for node in s.nodes { added += try streamEntryCommands(key: key, node: node, emit: emit) }
        try streamTailCommands(key: key, stream: s, added: added, emit: emit)
    }

    /// XADD for each live entry of one stream node; returns how many.
    static func streamEntryCommands(key: [UInt8], node: RDBStreamNode, emit: ([[UInt8]]) throws -> Void) throws -> Int {
        let xadd = Array("XADD".utf8)
        var added = 0
        for e in try StreamNodes.entries(node) where !e.deleted {
            try emit([xadd, key, id(e.id)] + e.fieldsAndValues)
            added += 1
        }
        return added
    }

    /// What follows a stream's entries: XSETID, the groups, their consumers and pending entries.
    static func streamTailCommands(key: [UInt8], stream s: RDBStream, added: Int, emit: ([[UInt8]]) throws -> Void) throws {
        let xadd = Array("XADD".utf8)
        let hasLastID = s.lastID != .zero
        var exists = added > 0
        if !exists && hasLastID {
            // Creates the key with the right last ID, then trims the entry away.
            try emit([xadd, key, Array("MAXLEN".utf8), Array("0".utf8), id(s.lastID), Array("x".utf8), Array("y".utf8)])
            exists = true
        }
        if exists {
            var args: [[UInt8]] = [Array("XSETID".utf8), key, id(s.lastID)]
            if let n = s.entriesAdded, let md = s.maxDeletedID {
                args += [Array("ENTRIESADDED".utf8), decimal(n), Array("MAXDELETEDID".utf8), id(md)]
            }
            try emit(args)
        }
        for g in s.groups {
            var args: [[UInt8]] = [Array("XGROUP".utf8), Array("CREATE".utf8), key, g.name, id(g.lastDelivered)]
            if !exists {
                args.append(Array("MKSTREAM".utf8))
                exists = true
            }
            if let n = g.entriesRead, n >= 0 { args += [Array("ENTRIESREAD".utf8), decimal(n)] }
            try emit(args)
            var pel: [StreamID: RDBStreamPending] = [:]
            for p in g.pending { pel[p.id] = p }
            for c in g.consumers {
                try emit([Array("XGROUP".utf8), Array("CREATECONSUMER".utf8), key, g.name, c.name])
                for pid in c.pending {
                    let p = pel[pid]
                    try emit([Array("XCLAIM".utf8), key, g.name, c.name, Array("0".utf8), id(pid),
                              Array("TIME".utf8), decimal(p?.deliveryTime ?? 0),
                              Array("RETRYCOUNT".utf8), decimal(p?.deliveryCount ?? 1),
                              Array("FORCE".utf8), Array("JUSTID".utf8)])
                }
            }
        }
        if !exists {
            // A stream with no entry, no last ID and no group: create it through a throwaway group.
            try emit([Array("XGROUP".utf8), Array("CREATE".utf8), key, Array("cairn-rdb-tmp".utf8), Array("0".utf8), Array("MKSTREAM".utf8)])
            try emit([Array("XGROUP".utf8), Array("DESTROY".utf8), key, Array("cairn-rdb-tmp".utf8)])
        }
    }
}

/// KeyCommands' type commands written while a value is walked element by element (RDBReader.nextWalking),
/// for values too large to hold: DEL key, then RPUSH / SADD / ZADD / HMSET batches of 64 items as the
/// elements arrive, SET + APPEND chunks for a big string, XADD per stream entry then the stream's tail,
/// HPEXPIREAT for hash field TTLs (only the names of fields with a TTL are kept until the end), then
/// PEXPIREAT. Memory: one batch.
public final class TypeCommandWriter: RDBElementVisitor {
    let chunk: Int
    let deleteFirst: Bool
    let emit: ([[UInt8]]) throws -> Void
    var key: [UInt8] = []
    var expiresAt: Int64?
    var batch: [[UInt8]] = []
    var batchItems = 0
    var name: [UInt8] = []
    var byTime: [Int64: [[UInt8]]] = [:]
    var streamAdded = 0

    /// `chunk`: the largest string argument to send whole.
    public init(chunk: Int = 64 << 20, deleteFirst: Bool = true, emit: @escaping ([[UInt8]]) throws -> Void) {
        self.chunk = chunk
        self.deleteFirst = deleteFirst
        self.emit = emit
    }

    public func beginValue(_ h: RDBKeyHeader) throws {
        if h.typeCode == RDBType.module2 || h.typeCode == RDBType.modulePreGA {
            throw KeyCommands.Unsupported(message: "a module value can only be restored from a DUMP payload")
        }
        key = h.key
        expiresAt = h.expiresAt
        batch.removeAll(keepingCapacity: true)
        batchItems = 0
        byTime = [:]
        streamAdded = 0
        switch RDBType.typeName(h.typeCode) {
        case "list": name = Array("RPUSH".utf8)
        case "set": name = Array("SADD".utf8)
        case "zset": name = Array("ZADD".utf8)
        case "hash": name = Array("HMSET".utf8)
        default: name = []
        }
        if deleteFirst { try emit([Array("DEL".utf8), key]) }
    }

    func add(_ items: [UInt8]...) throws {
        if batch.isEmpty { batch = [name, key] }
        batch.append(contentsOf: items)
        batchItems += 1
        if batchItems == AOFCommands.itemsPerCommand { try flushBatch() }
    }

    func flushBatch() throws {
        guard !batch.isEmpty else { return }
        try emit(batch)
        batch.removeAll(keepingCapacity: true)
        batchItems = 0
    }

    public func string(_ s: UnsafeRawBufferPointer) throws {
        if s.count <= chunk {
            try emit([Array("SET".utf8), key, Array(s)])
            return
        }
        var i = 0
        while i < s.count {
            let j = min(s.count, i + chunk)
            try emit([Array((i == 0 ? "SET" : "APPEND").utf8), key, Array(s[i ..< j])])
            i = j
        }
    }

    public func listElement(_ e: UnsafeRawBufferPointer) throws { try add(Array(e)) }
    public func setMember(_ m: UnsafeRawBufferPointer) throws { try add(Array(m)) }
    public func sortedSetMember(_ m: UnsafeRawBufferPointer, score: Double) throws {
        try add(formatScore17g(score), Array(m))
    }
    public func hashField(_ f: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64) throws {
        try add(Array(f), Array(value))
        if expiresAt != 0 { byTime[expiresAt, default: []].append(Array(f)) }
    }
    public func streamNode(_ node: RDBStreamNode) throws {
        streamAdded += try KeyCommands.streamEntryCommands(key: key, node: node, emit: emit)
    }
    public func streamEnd(_ s: RDBStream) throws {
        try KeyCommands.streamTailCommands(key: key, stream: s, added: streamAdded, emit: emit)
    }

    public func endValue() throws {
        try flushBatch()
        for at in byTime.keys.sorted() {
            let names = byTime[at]!
            var k = 0
            while k < names.count {
                let l = min(names.count, k + AOFCommands.itemsPerCommand)
                try emit([Array("HPEXPIREAT".utf8), key, KeyCommands.decimal(at), Array("FIELDS".utf8), KeyCommands.decimal(Int64(l - k))] + names[k ..< l])
                k = l
            }
        }
        if let at = expiresAt { try emit([Array("PEXPIREAT".utf8), key, KeyCommands.decimal(at)]) }
    }
}
