// List commands: pushes and pops at both ends, ranges, LPOS, moves between lists, LMPOP, and the
// blocking forms (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP). A key never holds an empty list: the
// command that takes the last element deletes the key. Blocking commands that find nothing call
// ctx.block; the engine runs them again when a key they wait on gets elements.
import StorageFormat

public enum ListCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("lpush", arity: -3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) {
                push($0, left: true, onlyIfExists: false)
            },
            CommandSpec("rpush", arity: -3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) {
                push($0, left: false, onlyIfExists: false)
            },
            CommandSpec("lpushx", arity: -3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) {
                push($0, left: true, onlyIfExists: true)
            },
            CommandSpec("rpushx", arity: -3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) {
                push($0, left: false, onlyIfExists: true)
            },
            CommandSpec("lpop", arity: -2, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1) { pop($0, left: true) },
            CommandSpec("rpop", arity: -2, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1) { pop($0, left: false) },
            CommandSpec("llen", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: llen),
            CommandSpec("lrange", arity: 4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: lrange),
            CommandSpec("lindex", arity: 3, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: lindex),
            CommandSpec("lset", arity: 4, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1, handler: lset),
            CommandSpec("linsert", arity: 5, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1, handler: linsert),
            CommandSpec("lrem", arity: 4, flags: [.write], firstKey: 1, lastKey: 1, step: 1, handler: lrem),
            CommandSpec("ltrim", arity: 4, flags: [.write], firstKey: 1, lastKey: 1, step: 1, handler: ltrim),
            CommandSpec("lpos", arity: -3, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: lpos),
            CommandSpec("lmove", arity: 5, flags: [.write, .denyOOM], firstKey: 1, lastKey: 2, step: 1) { ctx in
                guard let from = side(ctx, 3), let to = side(ctx, 4) else { return }
                move(ctx, fromLeft: from, toLeft: to)
            },
            CommandSpec("rpoplpush", arity: 3, flags: [.write, .denyOOM], firstKey: 1, lastKey: 2, step: 1) {
                move($0, fromLeft: false, toLeft: true)
            },
            CommandSpec("lmpop", arity: -4, flags: [.write], handler: { lmpop($0, blocking: false) }),
            CommandSpec("blpop", arity: -3, flags: [.write, .noScript, .blocking], firstKey: 1, lastKey: -2, step: 1) {
                bpop($0, left: true)
            },
            CommandSpec("brpop", arity: -3, flags: [.write, .noScript, .blocking], firstKey: 1, lastKey: -2, step: 1) {
                bpop($0, left: false)
            },
            CommandSpec("blmove", arity: 6, flags: [.write, .denyOOM, .noScript, .blocking], firstKey: 1, lastKey: 2, step: 1) { ctx in
                guard let from = side(ctx, 3), let to = side(ctx, 4), let deadline = timeout(ctx, 5) else { return }
                blockingMove(ctx, fromLeft: from, toLeft: to, deadline: deadline)
            },
            CommandSpec("brpoplpush", arity: 4, flags: [.write, .denyOOM, .noScript, .blocking], firstKey: 1, lastKey: 2, step: 1) { ctx in
                guard let deadline = timeout(ctx, 3) else { return }
                blockingMove(ctx, fromLeft: false, toLeft: true, deadline: deadline)
            },
            CommandSpec("blmpop", arity: -5, flags: [.write, .blocking], handler: { lmpop($0, blocking: true) }),
        ]
    }

    static let positiveError = "ERR value is out of range, must be positive"

    // MARK: - Helpers

    /// The list under `key`: `.some(nil)` when missing, nil (after a WRONGTYPE reply) when not a list.
    static func list(_ ctx: CommandContext, _ key: ByteString, write: Bool) -> ListValue?? {
        switch write ? ctx.lookupWrite(key) : ctx.lookupRead(key) {
        case nil: return .some(nil)
        case .list(let l)?: return .some(l)
        default:
            ctx.wrongType()
            return nil
        }
    }

    /// LEFT or RIGHT at argument `i` (true for LEFT), or a syntax error.
    static func side(_ ctx: CommandContext, _ i: Int) -> Bool? {
        switch ctx.option(i) {
        case "LEFT": return true
        case "RIGHT": return false
        default:
            ctx.syntaxError()
            return nil
        }
    }

    /// A blocking timeout in seconds (a float) at argument `i`, as an absolute deadline in ms (0 = forever).
    static func timeout(_ ctx: CommandContext, _ i: Int) -> Int64? { ctx.blockingDeadline(i) }

    /// Publishes `event`, deletes `key` when its list became empty ("del"), records the write.
    static func finishPop(_ ctx: CommandContext, _ key: ByteString, _ l: ListValue, changes: Int = 1, event: StaticString) {
        ctx.notify(KeyspaceEventClass.list, event, key)
        if l.count == 0 {
            ctx.db.remove(key)
            ctx.notify(KeyspaceEventClass.generic, "del", key)
        }
        ctx.modified(key, changes: changes)
    }

    static func popEvent(_ left: Bool) -> StaticString { left ? "lpop" : "rpop" }

    /// Pops up to `count` elements and replies `[key, [elements]]` (LMPOP, BLMPOP).
    static func popWithKey(_ ctx: CommandContext, _ key: ByteString, _ l: ListValue, left: Bool, count: Int) {
        let n = min(count, l.count)
        ctx.arrayHeader(2)
        ctx.bulk(key)
        ctx.arrayHeader(n)
        for _ in 0 ..< n { ctx.bulk(l.pop(left: left)!) }
        finishPop(ctx, key, l, changes: n, event: popEvent(left))
    }

    // MARK: - Pushes and pops

    static func push(_ ctx: CommandContext, left: Bool, onlyIfExists: Bool) {
        let key = ctx.key(1)
        guard let found = list(ctx, key, write: true) else { return }
        let l: ListValue
        if let existing = found {
            l = existing
        } else {
            if onlyIfExists {
                ctx.int(0)
                return
            }
            l = ListValue()
            ctx.db.set(key, .list(l))
        }
        for i in 2 ..< ctx.argc { l.push(ByteString(ctx.args[i]), left: left) }
        ctx.int(l.count)
        ctx.modified(key, changes: ctx.argc - 2)
        ctx.notify(KeyspaceEventClass.list, left ? "lpush" : "rpush", key)
        ctx.signalReady(key)
    }

    static func pop(_ ctx: CommandContext, left: Bool) {
        if ctx.argc > 3 {
            ctx.error(RedisError.wrongArity(ctx.spec.name))
            return
        }
        var count: Int64? = nil
        if ctx.argc == 3 {
            guard let c = StrictInteger.parse(ctx.args[2]), c >= 0 else {
                ctx.error(positiveError)
                return
            }
            count = c
        }
        let key = ctx.key(1)
        guard let found = list(ctx, key, write: true) else { return }
        guard let l = found else {
            if count == nil { ctx.null() } else { ctx.nullArray() }
            return
        }
        guard let c = count else {
            ctx.bulk(l.pop(left: left)!)
            finishPop(ctx, key, l, event: popEvent(left))
            return
        }
        if c == 0 {
            ctx.arrayHeader(0)
            return
        }
        let n = Int(min(c, Int64(l.count)))
        ctx.arrayHeader(n)
        for _ in 0 ..< n { ctx.bulk(l.pop(left: left)!) }
        finishPop(ctx, key, l, changes: n, event: popEvent(left))
    }

    static func llen(_ ctx: CommandContext) {
        guard let found = list(ctx, ctx.key(1), write: false) else { return }
        ctx.int(found?.count ?? 0)
    }

    static func lrange(_ ctx: CommandContext) {
        guard let start = ctx.integerArgument(2), let end = ctx.integerArgument(3) else { return }
        guard let found = list(ctx, ctx.key(1), write: false) else { return }
        guard let l = found, let r = l.normalizedRange(start, end) else {
            ctx.arrayHeader(0)
            return
        }
        ctx.arrayHeader(r.count)
        for i in r { ctx.bulk(l.items[i]) }
    }

    static func lindex(_ ctx: CommandContext) {
        guard let found = list(ctx, ctx.key(1), write: false) else { return }
        guard let l = found else {
            ctx.null()
            return
        }
        guard let index = ctx.integerArgument(2) else { return }
        if let e = l.element(at: index) { ctx.bulk(e) } else { ctx.null() }
    }

    static func lset(_ ctx: CommandContext) {
        let key = ctx.key(1)
        guard let found = list(ctx, key, write: true) else { return }
        guard let l = found else {
            ctx.error(RedisError.noSuchKey)
            return
        }
        guard let index = ctx.integerArgument(2) else { return }
        if l.set(at: index, ByteString(ctx.args[3])) {
            ctx.ok()
            ctx.modified(key)
            ctx.notify(KeyspaceEventClass.list, "lset", key)
        } else {
            ctx.error(RedisError.outOfRange)
        }
    }

    static func linsert(_ ctx: CommandContext) {
        let after: Bool
        switch ctx.option(2) {
        case "AFTER": after = true
        case "BEFORE": after = false
        default:
            ctx.syntaxError()
            return
        }
        let key = ctx.key(1)
        guard let found = list(ctx, key, write: true) else { return }
        guard let l = found else {
            ctx.int(0)
            return
        }
        if l.insert(ByteString(ctx.args[4]), pivot: ByteString(ctx.args[3]), after: after) {
            ctx.int(l.count)
            ctx.modified(key)
            ctx.notify(KeyspaceEventClass.list, "linsert", key)
        } else {
            ctx.int(-1)
        }
    }

    static func lrem(_ ctx: CommandContext) {
        guard let count = ctx.integerArgument(2) else { return }
        let key = ctx.key(1)
        guard let found = list(ctx, key, write: true) else { return }
        guard let l = found else {
            ctx.int(0)
            return
        }
        let removed = l.remove(ByteString(ctx.args[3]), count: count)
        ctx.int(removed)
        if removed > 0 { finishPop(ctx, key, l, changes: removed, event: "lrem") }
    }

    static func ltrim(_ ctx: CommandContext) {
        guard let start = ctx.integerArgument(2), let end = ctx.integerArgument(3) else { return }
        let key = ctx.key(1)
        guard let found = list(ctx, key, write: true) else { return }
        guard let l = found else {
            ctx.ok()
            return
        }
        let before = l.count
        l.trim(to: l.normalizedRange(start, end))
        ctx.ok()
        // Redis publishes "ltrim" even when nothing was cut.
        if l.count != before {
            finishPop(ctx, key, l, changes: before - l.count, event: "ltrim")
        } else {
            ctx.notify(KeyspaceEventClass.list, "ltrim", key)
        }
    }

    static func lpos(_ ctx: CommandContext) {
        var rank: Int64 = 1
        var count: Int64 = -1
        var maxlen: Int64 = 0
        var j = 3
        while j < ctx.argc {
            let opt = ctx.option(j)
            let more = j + 1 < ctx.argc
            if opt == "RANK" && more {
                j += 1
                guard let r = ctx.integerArgument(j) else { return }
                if r == 0 {
                    ctx.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
                    return
                }
                rank = r
            } else if opt == "COUNT" && more {
                j += 1
                guard let c = StrictInteger.parse(ctx.args[j]), c >= 0 else {
                    ctx.error("ERR COUNT can't be negative")
                    return
                }
                count = c
            } else if opt == "MAXLEN" && more {
                j += 1
                guard let m = StrictInteger.parse(ctx.args[j]), m >= 0 else {
                    ctx.error("ERR MAXLEN can't be negative")
                    return
                }
                maxlen = m
            } else {
                ctx.syntaxError()
                return
            }
            j += 1
        }
        guard let found = list(ctx, ctx.key(1), write: false) else { return }
        guard let l = found else {
            if count != -1 { ctx.arrayHeader(0) } else { ctx.null() }
            return
        }
        // A negative rank searches from the tail. Redis negates with C's wrapping arithmetic, so
        // LONG_MIN stays negative and matches from the first hit; the same here.
        let fromTail = rank < 0
        if fromTail { rank = 0 &- rank }
        let element = ByteString(ctx.args[2])
        let n = l.items.count
        var matches: Int64 = 0
        var found_: [Int] = []
        var index = 0
        while index < n && (maxlen == 0 || Int64(index) < maxlen) {
            let pos = fromTail ? n - 1 - index : index
            if l.items[pos] == element {
                matches += 1
                if matches >= rank {
                    found_.append(pos)
                    if count == -1 { break }
                    if count != 0 && (matches &- rank &+ 1) >= count { break }
                }
            }
            index += 1
        }
        if count != -1 {
            ctx.arrayHeader(found_.count)
            for p in found_ { ctx.int(p) }
        } else if let p = found_.first {
            ctx.int(p)
        } else {
            ctx.null()
        }
    }

    // MARK: - Moves

    /// LMOVE: pops from the source's `fromLeft` end and pushes at the destination's `toLeft` end.
    static func move(_ ctx: CommandContext, fromLeft: Bool, toLeft: Bool) {
        let src = ctx.key(1), dst = ctx.key(2)
        guard let found = list(ctx, src, write: true) else { return }
        guard let sl = found else {
            ctx.null()
            return
        }
        guard let dfound = list(ctx, dst, write: true) else { return }
        let e = sl.pop(left: fromLeft)!
        let dl: ListValue
        if let existing = dfound {
            dl = existing
        } else {
            dl = ListValue()
            ctx.db.set(dst, .list(dl))
        }
        dl.push(e, left: toLeft)
        ctx.notify(KeyspaceEventClass.list, toLeft ? "lpush" : "rpush", dst)
        ctx.notify(KeyspaceEventClass.list, popEvent(fromLeft), src)
        if sl.count == 0 {
            ctx.db.remove(src)
            ctx.notify(KeyspaceEventClass.generic, "del", src)
        }
        ctx.modified(src)
        ctx.modified(dst)
        ctx.signalReady(dst)
        ctx.bulk(e)
        // BLMOVE / BRPOPLPUSH are logged as the move they did, which never blocks on replay.
        // (BRPOPLPUSH as RPOPLPUSH, as Redis 7.0 logs it.)
        if ctx.spec.flags.contains(.blocking) && ctx.propagating {
            if ctx.spec.name == "brpoplpush" {
                ctx.propagate([Array("RPOPLPUSH".utf8), ctx.args[1], ctx.args[2]])
            } else {
                ctx.propagate([Array("LMOVE".utf8), ctx.args[1], ctx.args[2], sideName(fromLeft), sideName(toLeft)])
            }
        }
    }

    static func sideName(_ left: Bool) -> [UInt8] { left ? Array("LEFT".utf8) : Array("RIGHT".utf8) }
    static func popName(_ left: Bool) -> [UInt8] { left ? Array("LPOP".utf8) : Array("RPOP".utf8) }

    static func blockingMove(_ ctx: CommandContext, fromLeft: Bool, toLeft: Bool, deadline: Int64) {
        let src = ctx.key(1)
        guard let found = list(ctx, src, write: true) else { return }
        if found == nil {
            if ctx.inTransaction {
                ctx.null()
            } else {
                ctx.block(keys: [src], deadline: deadline, onTimeout: .nullBulk)
            }
            return
        }
        move(ctx, fromLeft: fromLeft, toLeft: toLeft)
    }

    // MARK: - Blocking pops and LMPOP

    /// BLPOP / BRPOP key [key ...] timeout.
    static func bpop(_ ctx: CommandContext, left: Bool) {
        guard let deadline = timeout(ctx, ctx.argc - 1) else { return }
        let keys = (1 ..< ctx.argc - 1).map { ctx.key($0) }
        popFirstNonEmpty(ctx, keys: keys, left: left, count: nil, deadline: deadline)
    }

    /// Serves the first non-empty list of `keys` (count nil: BLPOP's `[key, element]`; else LMPOP's
    /// `[key, [elements]]`), or blocks (or replies a null array inside MULTI, or when not `blocking`).
    static func popFirstNonEmpty(_ ctx: CommandContext, keys: [ByteString], left: Bool, count: Int?, deadline: Int64?) {
        for key in keys {
            guard let found = list(ctx, key, write: true) else { return }
            guard let l = found, l.count > 0 else { continue }
            if let c = count {
                // Logged with the number of elements actually taken, as Redis does.
                let taken = Swift.min(c, l.count)
                popWithKey(ctx, key, l, left: left, count: c)
                ctx.propagate([popName(left), key.bytes, StrictInteger.format(Int64(taken))])
            } else {
                ctx.arrayHeader(2)
                ctx.bulk(key)
                ctx.bulk(l.pop(left: left)!)
                finishPop(ctx, key, l, event: popEvent(left))
                ctx.propagate([popName(left), key.bytes])
            }
            return
        }
        guard let deadline, !ctx.inTransaction else {
            ctx.nullArray()
            return
        }
        ctx.block(keys: keys, deadline: deadline, onTimeout: .nullArray)
    }

    /// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]; BLMPOP timeout numkeys ...
    static func lmpop(_ ctx: CommandContext, blocking: Bool) {
        let numkeysIndex = blocking ? 2 : 1
        guard let numkeys = StrictInteger.parse(ctx.args[numkeysIndex]), numkeys >= 1 else {
            ctx.error("ERR numkeys should be greater than 0")
            return
        }
        guard numkeys < Int64(ctx.argc - numkeysIndex - 1) else {
            ctx.syntaxError()
            return
        }
        let whereIndex = numkeysIndex + Int(numkeys) + 1
        guard let left = side(ctx, whereIndex) else { return }
        guard let n = ctx.mpopCount(from: whereIndex + 1) else { return }
        let keys = (numkeysIndex + 1 ..< whereIndex).map { ctx.key($0) }
        if blocking {
            guard let deadline = timeout(ctx, 1) else { return }
            popFirstNonEmpty(ctx, keys: keys, left: left, count: n, deadline: deadline)
        } else {
            popFirstNonEmpty(ctx, keys: keys, left: left, count: n, deadline: nil)
        }
    }
}

extension CommandContext {
    /// An integer reply (CommandContext.integer is overloaded with the argument parser; this is unambiguous).
    @inline(__always) fileprivate func int(_ v: Int) { RESPEncoder.integer(v, to: &session.out) }
}
