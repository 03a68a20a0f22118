// Set commands (Redis 7.0): SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SRANDMEMBER SPOP SMOVE
// SINTER SINTERCARD SUNION SDIFF and their STORE forms, SSCAN. Replies follow Redis's types: set
// replies (`~` in RESP3) for SMEMBERS/SINTER/SUNION/SDIFF/SPOP with a count, arrays for
// SRANDMEMBER. Results of set algebra are built by adding members one by one, so they take the
// encoding Redis gives them (an intset while every member is an integer).
import StorageFormat

public enum SetCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("sadd", arity: -3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1, handler: sadd),
            CommandSpec("srem", arity: -3, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1, handler: srem),
            CommandSpec("scard", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: scard),
            CommandSpec("sismember", arity: 3, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: sismember),
            CommandSpec("smismember", arity: -3, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: smismember),
            CommandSpec("smembers", arity: 2, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) { ctx in
                sinterGeneric(ctx, keys: [ctx.key(1)], dst: nil, cardinalityOnly: false, limit: 0)
            },
            CommandSpec("srandmember", arity: -2, flags: [.readonly, .random], firstKey: 1, lastKey: 1, step: 1, handler: srandmember),
            CommandSpec("spop", arity: -2, flags: [.write, .fast, .random], firstKey: 1, lastKey: 1, step: 1, handler: spop),
            CommandSpec("smove", arity: 4, flags: [.write, .fast], firstKey: 1, lastKey: 2, step: 1, handler: smove),
            CommandSpec("sinter", arity: -2, flags: [.readonly], firstKey: 1, lastKey: -1, step: 1) { ctx in
                sinterGeneric(ctx, keys: (1 ..< ctx.argc).map(ctx.key), dst: nil, cardinalityOnly: false, limit: 0)
            },
            CommandSpec("sintercard", arity: -3, flags: [.readonly], handler: sintercard),
            CommandSpec("sinterstore", arity: -3, flags: [.write, .denyOOM], firstKey: 1, lastKey: -1, step: 1) { ctx in
                sinterGeneric(ctx, keys: (2 ..< ctx.argc).map(ctx.key), dst: ctx.key(1), cardinalityOnly: false, limit: 0)
            },
            CommandSpec("sunion", arity: -2, flags: [.readonly], firstKey: 1, lastKey: -1, step: 1) { ctx in
                sunionDiffGeneric(ctx, keys: (1 ..< ctx.argc).map(ctx.key), dst: nil, diff: false)
            },
            CommandSpec("sunionstore", arity: -3, flags: [.write, .denyOOM], firstKey: 1, lastKey: -1, step: 1) { ctx in
                sunionDiffGeneric(ctx, keys: (2 ..< ctx.argc).map(ctx.key), dst: ctx.key(1), diff: false)
            },
            CommandSpec("sdiff", arity: -2, flags: [.readonly], firstKey: 1, lastKey: -1, step: 1) { ctx in
                sunionDiffGeneric(ctx, keys: (1 ..< ctx.argc).map(ctx.key), dst: nil, diff: true)
            },
            CommandSpec("sdiffstore", arity: -3, flags: [.write, .denyOOM], firstKey: 1, lastKey: -1, step: 1) { ctx in
                sunionDiffGeneric(ctx, keys: (2 ..< ctx.argc).map(ctx.key), dst: ctx.key(1), diff: true)
            },
            CommandSpec("sscan", arity: -3, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: sscan),
        ]
    }

    // MARK: - Lookup

    /// The set at `key`: `.some(nil)` when there is none, nil after replying WRONGTYPE.
    static func fetch(_ ctx: CommandContext, _ key: ByteString, write: Bool = false) -> SetValue?? {
        switch write ? ctx.lookupWrite(key) : ctx.lookupRead(key) {
        case nil: return .some(nil)
        case .set(let s)?: return .some(s)
        default:
            ctx.wrongType()
            return nil
        }
    }

    // MARK: - Single-key commands

    static func sadd(_ ctx: CommandContext) {
        let key = ctx.key(1)
        guard let found = fetch(ctx, key, write: true) else { return }
        let set: SetValue
        if let f = found {
            set = f
        } else {
            set = SetValue()
            ctx.db.set(key, .set(set))
        }
        var added = 0
        for i in 2 ..< ctx.argc where set.add(ctx.key(i), config: ctx.config) { added += 1 }
        if added > 0 {
            ctx.modified(key, changes: added)
            ctx.notify(KeyspaceEventClass.set, "sadd", key)
        }
        ctx.replyInteger(added)
    }

    static func srem(_ ctx: CommandContext) {
        let key = ctx.key(1)
        guard let found = fetch(ctx, key, write: true) else { return }
        guard let set = found else { ctx.replyInteger(0); return }
        var removed = 0
        for i in 2 ..< ctx.argc {
            if set.remove(ctx.key(i)) {
                removed += 1
                if set.count == 0 { break }
            }
        }
        if removed > 0 {
            ctx.notify(KeyspaceEventClass.set, "srem", key)
            if set.count == 0 {
                ctx.db.remove(key)
                ctx.notify(KeyspaceEventClass.generic, "del", key)
            }
            ctx.modified(key, changes: removed)
        }
        ctx.replyInteger(removed)
    }

    static func scard(_ ctx: CommandContext) {
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        ctx.replyInteger(found?.count ?? 0)
    }

    static func sismember(_ ctx: CommandContext) {
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        ctx.replyInteger(found?.contains(ctx.key(2)) == true ? 1 : 0)
    }

    static func smismember(_ ctx: CommandContext) {
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        ctx.arrayHeader(ctx.argc - 2)
        for i in 2 ..< ctx.argc { ctx.replyInteger(found?.contains(ctx.key(i)) == true ? 1 : 0) }
    }

    static func srandmember(_ ctx: CommandContext) {
        if ctx.argc > 3 { ctx.syntaxError(); return }
        if ctx.argc == 3 {
            guard let l = longRange(ctx, 2) else { return }
            guard let found = fetch(ctx, ctx.key(1)) else { return }
            guard let set = found, l != 0 else { ctx.arrayHeader(0); return }
            let size = set.count
            if l < 0 || l == 1 {
                // Repetitions allowed: each pick independent.
                let n = l < 0 ? Int(-l) : 1
                ctx.arrayHeader(n)
                for i in 0 ..< n {
                    if i & 1023 == 0 && ctx.outputOverLimit { return }
                    ctx.bulk(set.randomMember()!)
                }
                return
            }
            if l >= size {
                let all = set.members()
                ctx.arrayHeader(all.count)
                for m in all { ctx.bulk(m) }
                return
            }
            let picked = distinctRandom(set, Int(l))
            ctx.arrayHeader(picked.count)
            for m in picked { ctx.bulk(m) }
            return
        }
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        guard let set = found else { ctx.null(); return }
        ctx.bulk(set.randomMember()!)
    }

    /// `n` distinct random members of `set` (n < count).
    static func distinctRandom(_ set: SetValue, _ n: Int) -> [ByteString] {
        if n * 3 > set.count {
            // Many of them: shuffle a copy and take a prefix.
            var all = set.members()
            for i in 0 ..< n { all.swapAt(i, EngineRandom.int(in: i ..< all.count)) }
            return Array(all[0 ..< n])
        }
        var seen = Set<ByteString>()
        var out: [ByteString] = []
        out.reserveCapacity(n)
        while out.count < n {
            let m = set.randomMember()!
            if seen.insert(m).inserted { out.append(m) }
        }
        return out
    }

    static let sremName = Array("SREM".utf8)

    static func spop(_ ctx: CommandContext) {
        let key = ctx.key(1)
        if ctx.argc > 3 { ctx.syntaxError(); return }
        if ctx.argc == 3 {
            guard let v = StrictInteger.parse(ctx.args[2]), v >= 0 else {
                ctx.error("ERR value is out of range, must be positive")
                return
            }
            guard let found = fetch(ctx, key, write: true) else { return }
            guard let set = found, v > 0 else { ctx.setHeader(0); return }
            if v >= set.count {
                // The whole set, in the order a copy of it iterates (ascending for an intset).
                let copy = SetValue()
                set.forEach { copy.add($0, config: ctx.config) }
                let all = copy.members()
                ctx.setHeader(all.count)
                for m in all { ctx.bulk(m) }
                ctx.notify(KeyspaceEventClass.set, "spop", key)
                ctx.db.remove(key)
                ctx.notify(KeyspaceEventClass.generic, "del", key)
                ctx.modified(key, changes: all.count)
                ctx.propagate([Engine.delName, ctx.args[1]])
                return
            }
            // The random choice is logged as what it removed: SREM in batches of 1024 members.
            let n = Int(v)
            ctx.setHeader(n)
            var batch: [[UInt8]] = []
            for _ in 0 ..< n {
                let m = set.popRandom()!
                ctx.bulk(m)
                if ctx.propagating {
                    if batch.isEmpty { batch = [sremName, ctx.args[1]] }
                    batch.append(m.bytes)
                    if batch.count == 1026 { ctx.propagate(batch); batch = [] }
                }
            }
            if !batch.isEmpty { ctx.propagate(batch) }
            ctx.modified(key, changes: n)
            ctx.notify(KeyspaceEventClass.set, "spop", key)
            return
        }
        guard let found = fetch(ctx, key, write: true) else { return }
        guard let set = found else { ctx.null(); return }
        let m = set.popRandom()!
        ctx.bulk(m)
        ctx.notify(KeyspaceEventClass.set, "spop", key)
        if set.count == 0 {
            ctx.db.remove(key)
            ctx.notify(KeyspaceEventClass.generic, "del", key)
        }
        ctx.modified(key)
        ctx.propagate([sremName, ctx.args[1], m.bytes])
    }

    static func smove(_ ctx: CommandContext) {
        let srcKey = ctx.key(1), dstKey = ctx.key(2), member = ctx.key(3)
        let srcValue = ctx.lookupWrite(srcKey)
        let dstValue = ctx.lookupWrite(dstKey)
        guard let srcV = srcValue else { ctx.replyInteger(0); return }
        guard case .set(let src) = srcV else { ctx.wrongType(); return }
        var dst: SetValue? = nil
        if let d = dstValue {
            guard case .set(let ds) = d else { ctx.wrongType(); return }
            dst = ds
        }
        if let d = dst, d === src {
            ctx.replyInteger(src.contains(member) ? 1 : 0)
            return
        }
        guard src.remove(member) else { ctx.replyInteger(0); return }
        ctx.notify(KeyspaceEventClass.set, "srem", srcKey)
        if src.count == 0 {
            ctx.db.remove(srcKey)
            ctx.notify(KeyspaceEventClass.generic, "del", srcKey)
        }
        let target: SetValue
        if let d = dst {
            target = d
        } else {
            target = SetValue()
            ctx.db.set(dstKey, .set(target))
        }
        ctx.modified(srcKey)
        if target.add(member, config: ctx.config) {
            ctx.modified(dstKey)
            ctx.notify(KeyspaceEventClass.set, "sadd", dstKey)
        }
        ctx.replyInteger(1)
    }

    // MARK: - Set algebra

    /// Looks up `keys` as sets (missing ones are nil); nil after replying WRONGTYPE.
    static func loadSets(_ ctx: CommandContext, _ keys: [ByteString]) -> [SetValue?]? {
        var sets: [SetValue?] = []
        sets.reserveCapacity(keys.count)
        for k in keys {
            guard let found = fetch(ctx, k) else { return nil }
            sets.append(found)
        }
        return sets
    }

    /// Replies with `members` as a set, or stores them at `dst` and replies with the count.
    static func replyOrStore(_ ctx: CommandContext, _ result: SetValue, dst: ByteString?, event: StaticString) {
        if let dst {
            if result.count > 0 {
                ctx.db.set(dst, .set(result))
                ctx.replyInteger(result.count)
                ctx.notify(KeyspaceEventClass.set, event, dst)
            } else {
                ctx.replyInteger(0)
                if ctx.db.remove(dst) { ctx.notify(KeyspaceEventClass.generic, "del", dst) }
            }
            ctx.modified(dst)
            return
        }
        ctx.setHeader(result.count)
        result.forEach { ctx.bulk($0) }
    }

    static func sinterGeneric(_ ctx: CommandContext, keys: [ByteString], dst: ByteString?, cardinalityOnly: Bool, limit: Int) {
        guard let loaded = loadSets(ctx, keys) else { return }
        if loaded.contains(where: { $0 == nil }) {
            if let dst {
                if ctx.db.remove(dst) {
                    ctx.modified(dst)
                    ctx.notify(KeyspaceEventClass.generic, "del", dst)
                }
                ctx.replyInteger(0)
            } else if cardinalityOnly {
                ctx.replyInteger(0)
            } else {
                ctx.setHeader(0)
            }
            return
        }
        // Walk the smallest set, probing the others.
        let sets = loaded.map { $0! }.enumerated().sorted { a, b in
            a.element.count != b.element.count ? a.element.count < b.element.count : a.offset < b.offset
        }.map { $0.element }
        var matches: [ByteString] = []
        var cardinality = 0
        sets[0].forEach { m in
            if cardinalityOnly && limit > 0 && cardinality >= limit { return }
            for other in sets.dropFirst() where other !== sets[0] {
                if !other.contains(m) { return }
            }
            cardinality += 1
            if !cardinalityOnly { matches.append(m) }
        }
        if cardinalityOnly {
            ctx.replyInteger(cardinality)
            return
        }
        if let dst {
            let result = SetValue()
            for m in matches { result.add(m, config: ctx.config) }
            replyOrStore(ctx, result, dst: dst, event: "sinterstore")
            return
        }
        // SINTER replies in the order the smallest set iterates, as Redis does.
        ctx.setHeader(matches.count)
        for m in matches { ctx.bulk(m) }
    }

    static func sintercard(_ ctx: CommandContext) {
        guard let numkeys = StrictInteger.parse(ctx.args[1]), numkeys >= 1 else {
            ctx.error("ERR numkeys should be greater than 0")
            return
        }
        if numkeys > Int64(ctx.argc - 2) {
            ctx.error("ERR Number of keys can't be greater than number of args")
            return
        }
        let n = Int(numkeys)
        var limit = 0
        var j = 2 + n
        while j < ctx.argc {
            if ctx.option(j) == "LIMIT" && j + 1 < ctx.argc {
                j += 1
                guard let l = StrictInteger.parse(ctx.args[j]), l >= 0 else {
                    ctx.error("ERR LIMIT can't be negative")
                    return
                }
                limit = Int(l)
            } else {
                ctx.syntaxError()
                return
            }
            j += 1
        }
        sinterGeneric(ctx, keys: (2 ..< 2 + n).map(ctx.key), dst: nil, cardinalityOnly: true, limit: limit)
    }

    static func sunionDiffGeneric(_ ctx: CommandContext, keys: [ByteString], dst: ByteString?, diff: Bool) {
        guard let sets = loadSets(ctx, keys) else { return }
        let config = ctx.config
        let result = SetValue()
        if !diff {
            for case let s? in sets { s.forEach { result.add($0, config: config) } }
        } else if let first = sets[0], !sets.dropFirst().contains(where: { $0 === first }) {
            first.forEach { m in
                for case let other? in sets.dropFirst() where other.contains(m) { return }
                result.add(m, config: config)
            }
        }
        replyOrStore(ctx, result, dst: dst, event: diff ? "sdiffstore" : "sunionstore")
    }

    // MARK: - SSCAN

    static func sscan(_ ctx: CommandContext) {
        guard let cursor = parseScanCursor(ctx.args[2]) else { ctx.error("ERR invalid cursor"); return }
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        guard let set = found else { replyEmptyScan(ctx); return }
        guard let (count, pattern) = parseScanOptions(ctx, from: 3) else { return }
        var items: [ByteString] = []
        let next = set.scan(cursor: cursor, count: count) { m in
            if let p = pattern, !globMatch(pattern: p, string: m.bytes, noCase: false) { return }
            items.append(m)
        }
        ctx.arrayHeader(2)
        ctx.bulk(Array(String(next).utf8))
        ctx.bulkArray(items)
    }

    /// `*2 "0" *0`: the SCAN reply for a missing key.
    static func replyEmptyScan(_ ctx: CommandContext) {
        ctx.arrayHeader(2)
        ctx.bulk(Array("0".utf8))
        ctx.arrayHeader(0)
    }

    /// A SCAN cursor as Redis reads it (strtoul over the text: an optional sign, digits; no leading
    /// space; overflow refused; a negative value wraps). Nil when invalid.
    static func parseScanCursor(_ raw: [UInt8]) -> UInt64? {
        let b = raw.prefix { $0 != 0 } // C string: the text ends at the first NUL
        if let f = b.first, f == 32 || (f >= 9 && f <= 13) { return nil }
        var i = b.startIndex
        var negative = false
        if i < b.endIndex && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        let digitsStart = i
        var v: UInt64 = 0
        while i < b.endIndex, b[i] >= 48, b[i] <= 57 {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b[i] - 48))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        if i == digitsStart { return b.isEmpty ? 0 : nil }
        if i != b.endIndex { return nil }
        return negative ? 0 &- v : v
    }

    /// SSCAN/ZSCAN options after the cursor: COUNT n (n >= 1) and MATCH pattern. Nil after replying.
    static func parseScanOptions(_ ctx: CommandContext, from start: Int) -> (count: Int, pattern: [UInt8]?)? {
        var count = 10
        var pattern: [UInt8]? = nil
        var i = start
        while i < ctx.argc {
            let left = ctx.argc - i
            let opt = ctx.option(i)
            if opt == "COUNT" && left >= 2 {
                guard let c = ctx.integerArgument(i + 1) else { return nil }
                if c < 1 { ctx.syntaxError(); return nil }
                count = Int(c)
                i += 2
            } else if opt == "MATCH" && left >= 2 {
                let p = ctx.args[i + 1]
                pattern = p == [UInt8(ascii: "*")] ? nil : p
                i += 2
            } else {
                ctx.syntaxError()
                return nil
            }
        }
        return (count, pattern)
    }

    /// A count in -LONG_MAX ... LONG_MAX (SRANDMEMBER, ZRANDMEMBER), or nil after replying.
    static func longRange(_ ctx: CommandContext, _ i: Int) -> Int64? {
        guard let v = ctx.integerArgument(i) else { return nil }
        if v == Int64.min {
            ctx.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
            return nil
        }
        return v
    }
}

fileprivate extension CommandContext {
    /// An integer reply (`integer(_:)` alone is ambiguous with the argument parser of the same name).
    func replyInteger(_ v: Int) { let _: Void = integer(v) }
}
