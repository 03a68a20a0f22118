// Hash commands: HSET and friends, reads, HINCRBY/HINCRBYFLOAT, HRANDFIELD and HSCAN. A key never
// holds an empty hash: HDEL of the last field deletes the key. Encoding conversions (listpack to
// hashtable) happen inside HashValue.set at Redis 7.0's moments.
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

public enum HashCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("hset", arity: -4, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) { hset($0, replyOK: false) },
            CommandSpec("hmset", arity: -4, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) { hset($0, replyOK: true) },
            CommandSpec("hsetnx", arity: 4, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1, handler: hsetnx),
            CommandSpec("hget", arity: 3, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: hget),
            CommandSpec("hmget", arity: -3, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: hmget),
            CommandSpec("hdel", arity: -3, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1, handler: hdel),
            CommandSpec("hlen", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1) { ctx in
                guard let found = hash(ctx, ctx.key(1), write: false) else { return }
                ctx.int(found?.count ?? 0)
            },
            CommandSpec("hstrlen", arity: 3, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1) { ctx in
                guard let found = hash(ctx, ctx.key(1), write: false) else { return }
                ctx.int(found?.get(ctx.key(2))?.count ?? 0)
            },
            CommandSpec("hexists", arity: 3, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1) { ctx in
                guard let found = hash(ctx, ctx.key(1), write: false) else { return }
                ctx.int(found?.contains(ctx.key(2)) == true ? 1 : 0)
            },
            CommandSpec("hkeys", arity: 2, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) { getAll($0, fields: true, values: false) },
            CommandSpec("hvals", arity: 2, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) { getAll($0, fields: false, values: true) },
            CommandSpec("hgetall", arity: 2, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) { getAll($0, fields: true, values: true) },
            CommandSpec("hincrby", arity: 4, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1, handler: hincrby),
            CommandSpec("hincrbyfloat", arity: 4, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1, handler: hincrbyfloat),
            CommandSpec("hrandfield", arity: -2, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: hrandfield),
            CommandSpec("hscan", arity: -3, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: hscan),
        ]
    }

    // MARK: - Helpers

    /// The hash under `key`: `.some(nil)` when missing, nil (after a WRONGTYPE reply) when not a hash.
    static func hash(_ ctx: CommandContext, _ key: ByteString, write: Bool) -> HashValue?? {
        switch write ? ctx.lookupWrite(key) : ctx.lookupRead(key) {
        case nil: return .some(nil)
        case .hash(let h)?: return .some(h)
        default:
            ctx.wrongType()
            return nil
        }
    }

    /// The hash under `key`, created empty (and stored) when missing; nil after a WRONGTYPE reply.
    static func hashForWrite(_ ctx: CommandContext, _ key: ByteString) -> HashValue? {
        guard let found = hash(ctx, key, write: true) else { return nil }
        if let h = found { return h }
        let h = HashValue()
        ctx.db.set(key, .hash(h))
        return h
    }

    // MARK: - Commands

    static func hset(_ ctx: CommandContext, replyOK: Bool) {
        if ctx.argc % 2 == 1 {
            ctx.error(RedisError.wrongArity(ctx.spec.name))
            return
        }
        let key = ctx.key(1)
        guard let h = hashForWrite(ctx, key) else { return }
        let config = ctx.config
        // Redis checks every argument's length before setting any (hashTypeTryConversion).
        if h.isListpack {
            for i in 2 ..< ctx.argc where ctx.args[i].count > config.hashMaxListpackValue {
                h.convertToTable()
                break
            }
        }
        var created = 0
        var i = 2
        while i < ctx.argc {
            if h.set(ByteString(ctx.args[i]), ByteString(ctx.args[i + 1]), config: config) { created += 1 }
            i += 2
        }
        if replyOK { ctx.ok() } else { ctx.int(created) }
        ctx.modified(key, changes: (ctx.argc - 2) / 2)
        ctx.notify(KeyspaceEventClass.hash, "hset", key)
    }

    static func hsetnx(_ ctx: CommandContext) {
        let key = ctx.key(1)
        guard let h = hashForWrite(ctx, key) else { return }
        let field = ctx.key(2)
        if h.contains(field) {
            ctx.int(0)
            return
        }
        h.set(field, ByteString(ctx.args[3]), config: ctx.config)
        ctx.int(1)
        ctx.modified(key)
        ctx.notify(KeyspaceEventClass.hash, "hset", key)
    }

    static func hget(_ ctx: CommandContext) {
        guard let found = hash(ctx, ctx.key(1), write: false) else { return }
        if let v = found?.get(ctx.key(2)) { ctx.bulk(v) } else { ctx.null() }
    }

    static func hmget(_ ctx: CommandContext) {
        guard let found = hash(ctx, ctx.key(1), write: false) else { return }
        ctx.arrayHeader(ctx.argc - 2)
        for i in 2 ..< ctx.argc {
            if let v = found?.get(ctx.key(i)) { ctx.bulk(v) } else { ctx.null() }
        }
    }

    static func hdel(_ ctx: CommandContext) {
        let key = ctx.key(1)
        guard let found = hash(ctx, key, write: true) else { return }
        guard let h = found else {
            ctx.int(0)
            return
        }
        var deleted = 0
        for i in 2 ..< ctx.argc {
            if h.remove(ctx.key(i)) {
                deleted += 1
                if h.count == 0 { break }
            }
        }
        if deleted > 0 {
            ctx.notify(KeyspaceEventClass.hash, "hdel", key)
            if h.count == 0 {
                ctx.db.remove(key)
                ctx.notify(KeyspaceEventClass.generic, "del", key)
            }
            ctx.modified(key, changes: deleted)
        }
        ctx.int(deleted)
    }

    static func getAll(_ ctx: CommandContext, fields: Bool, values: Bool) {
        guard let found = hash(ctx, ctx.key(1), write: false) else { return }
        let n = found?.count ?? 0
        if fields && values { ctx.mapHeader(n) } else { ctx.arrayHeader(n) }
        found?.forEach { f, v in
            if fields { ctx.bulk(f) }
            if values { ctx.bulk(v) }
        }
    }

    static func hincrby(_ ctx: CommandContext) {
        guard let incr = ctx.integerArgument(3) else { return }
        let key = ctx.key(1)
        guard let h = hashForWrite(ctx, key) else { return }
        let field = ctx.key(2)
        var value: Int64 = 0
        if let old = h.get(field) {
            guard let v = old.integerValue else {
                ctx.error("ERR hash value is not an integer")
                return
            }
            value = v
        }
        let (sum, overflow) = value.addingReportingOverflow(incr)
        if overflow {
            ctx.error(RedisError.overflow)
            return
        }
        h.set(field, ByteString(integer: sum), config: ctx.config)
        ctx.int(Int(sum))
        ctx.modified(key)
        ctx.notify(KeyspaceEventClass.hash, "hincrby", key)
    }

    static func hincrbyfloat(_ ctx: CommandContext) {
        guard let incr = parseLongDouble(ctx.args[3]) else {
            ctx.error(RedisError.notFloat)
            return
        }
        if incr.isNaN || incr.isInfinite {
            ctx.error("ERR value is NaN or Infinity")
            return
        }
        let key = ctx.key(1)
        guard let h = hashForWrite(ctx, key) else { return }
        let field = ctx.key(2)
        var value: Float80 = 0
        if let old = h.get(field) {
            guard let v = parseLongDouble(old.bytes) else {
                ctx.error("ERR hash value is not a float")
                return
            }
            value = v
        }
        value += incr
        if value.isNaN || value.isInfinite {
            ctx.error("ERR increment would produce NaN or Infinity")
            return
        }
        let text = formatLongDouble(value)
        h.set(field, ByteString(text), config: ctx.config)
        ctx.bulk(text)
        ctx.modified(key)
        ctx.notify(KeyspaceEventClass.hash, "hincrbyfloat", key)
        ctx.propagate([Array("HSET".utf8), ctx.args[1], ctx.args[2], text])
    }

    static func hrandfield(_ ctx: CommandContext) {
        if ctx.argc == 2 {
            guard let found = hash(ctx, ctx.key(1), write: false) else { return }
            if let p = found?.randomPair() { ctx.bulk(p.field) } else { ctx.null() }
            return
        }
        guard let count = StrictInteger.parse(ctx.args[2]) else {
            ctx.error(RedisError.notInteger)
            return
        }
        if count == Int64.min {
            ctx.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
            return
        }
        var withValues = false
        if ctx.argc > 4 || (ctx.argc == 4 && ctx.option(3) != "WITHVALUES") {
            ctx.syntaxError()
            return
        } else if ctx.argc == 4 {
            withValues = true
            if count < -(Int64.max / 2) || count > Int64.max / 2 {
                ctx.error("ERR value is out of range")
                return
            }
        }
        guard let found = hash(ctx, ctx.key(1), write: false) else { return }
        guard let h = found, count != 0 else {
            ctx.arrayHeader(0)
            return
        }
        func emit(_ f: ByteString, _ v: ByteString) {
            if withValues && ctx.resp > 2 { ctx.arrayHeader(2) }
            ctx.bulk(f)
            if withValues { ctx.bulk(v) }
        }
        let size = h.count
        if count < 0 {
            // Repetitions allowed: |count| independent picks.
            let n = Int(count.magnitude)
            ctx.arrayHeader(withValues && ctx.resp == 2 ? n * 2 : n)
            if h.isListpack {
                for i in 0 ..< n {
                    if i & 1023 == 0 && ctx.outputOverLimit { return }
                    let p = h.pairs[EngineRandom.int(in: 0 ..< size)]
                    emit(p.field, p.value)
                }
            } else {
                for i in 0 ..< n {
                    if i & 1023 == 0 && ctx.outputOverLimit { return }
                    let p = h.randomPair()!
                    emit(p.field, p.value)
                }
            }
            return
        }
        let n = Int(min(count, Int64(size)))
        ctx.arrayHeader(withValues && ctx.resp == 2 ? n * 2 : n)
        if n == size {
            h.forEach { emit($0, $1) }
            return
        }
        if h.isListpack || n * 3 > size {
            // Distinct picks: a partial shuffle of every pair.
            var all: [(field: ByteString, value: ByteString)] = []
            all.reserveCapacity(size)
            h.forEach { all.append(($0, $1)) }
            for i in 0 ..< n {
                all.swapAt(i, EngineRandom.int(in: i ..< size))
                emit(all[i].field, all[i].value)
            }
            return
        }
        // Few picks from a big table: random picks, skipping repeats.
        var seen = Set<ByteString>()
        while seen.count < n {
            let p = h.randomPair()!
            if seen.insert(p.field).inserted { emit(p.field, p.value) }
        }
    }

    static func hscan(_ ctx: CommandContext) {
        guard let cursor = parseScanCursor(ctx.args[2]) else {
            ctx.error("ERR invalid cursor")
            return
        }
        guard let found = hash(ctx, ctx.key(1), write: false) else { return }
        guard let h = found else {
            ctx.arrayHeader(2)
            ctx.bulk(ByteString("0"))
            ctx.arrayHeader(0)
            return
        }
        var count = 10
        var pattern: [UInt8]? = nil
        var i = 3
        while i < ctx.argc {
            let more = i + 1 < ctx.argc
            let opt = ctx.option(i)
            if opt == "COUNT" && more {
                guard let c = ctx.integerArgument(i + 1) else { return }
                if c < 1 {
                    ctx.syntaxError()
                    return
                }
                count = Int(c)
            } else if opt == "MATCH" && more {
                let p = ctx.args[i + 1]
                pattern = (p.count == 1 && p[0] == UInt8(ascii: "*")) ? nil : p
            } else {
                ctx.syntaxError()
                return
            }
            i += 2
        }
        var items: [ByteString] = []
        var next: UInt64 = 0
        func visit(_ f: ByteString, _ v: ByteString) {
            if let p = pattern, !globMatch(pattern: p, string: f.bytes, noCase: false) { return }
            items.append(f)
            items.append(v)
        }
        if let t = h.table {
            next = t.scan(cursor: cursor, count: count, visit)
        } else {
            h.forEach(visit)
        }
        ctx.arrayHeader(2)
        ctx.bulk(Array(String(next).utf8))
        ctx.bulkArray(items)
    }
}

/// A SCAN cursor as Redis reads it (strtoul, base 10): optional sign, digits; empty text is 0;
/// negative values wrap; overflow, spaces and other characters are invalid.
func parseScanCursor(_ b: [UInt8]) -> UInt64? {
    if b.isEmpty { return 0 }
    var i = 0
    var negative = false
    if b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-") {
        negative = b[0] == UInt8(ascii: "-")
        i = 1
    }
    guard i < b.count else { return nil }
    var v: UInt64 = 0
    while i < b.count {
        let c = b[i]
        guard c >= 48 && c <= 57 else { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (s, o2) = m.addingReportingOverflow(UInt64(c - 48))
        if o1 || o2 { return nil }
        v = s
        i += 1
    }
    return negative ? 0 &- v : v
}

extension CommandContext {
    /// An integer reply (CommandContext.integer is overloaded with the argument parser; this is unambiguous).
    @inline(__always) fileprivate func int(_ v: Int) { RESPEncoder.integer(v, to: &session.out) }
}
