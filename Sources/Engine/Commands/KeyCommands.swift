// Key commands: the generic keyspace family (DEL, EXISTS, TYPE, RENAME, COPY, TOUCH, OBJECT,
// RANDOMKEY). Expiry, scanning, whole-database commands and SORT live in their own files and are
// gathered into `KeyCommands.all` here.

public enum KeyCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("del", arity: -2, flags: [.write], firstKey: 1, lastKey: -1, step: 1, handler: del),
            CommandSpec("unlink", arity: -2, flags: [.write, .fast], firstKey: 1, lastKey: -1, step: 1, handler: del),
            CommandSpec("exists", arity: -2, flags: [.readonly, .fast], firstKey: 1, lastKey: -1, step: 1, handler: exists),
            CommandSpec("touch", arity: -2, flags: [.readonly, .fast], firstKey: 1, lastKey: -1, step: 1, handler: touch),
            CommandSpec("type", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: type),
            CommandSpec("rename", arity: 3, flags: [.write], firstKey: 1, lastKey: 2, step: 1) { rename($0, nx: false) },
            CommandSpec("renamenx", arity: 3, flags: [.write, .fast], firstKey: 1, lastKey: 2, step: 1) { rename($0, nx: true) },
            CommandSpec("randomkey", arity: 1, flags: [.readonly, .random], handler: randomKey),
            CommandSpec("copy", arity: -3, flags: [.write, .denyOOM], firstKey: 1, lastKey: 2, step: 1, handler: copy),
            CommandSpec("object", arity: -2, flags: [], handler: object),
        ] + ExpireCommands.all + ScanCommands.all + DatabaseCommands.all + SortCommand.all
    }

    /// DEL / UNLINK key [key ...]: how many existed.
    static func del(_ ctx: CommandContext) {
        var n = 0
        for i in 1 ..< ctx.argc {
            let k = ctx.key(i)
            if ctx.lookupWrite(k) != nil, ctx.db.remove(k) {
                ctx.modified(k)
                ctx.notify(KeyspaceEventClass.generic, "del", k)
                n += 1
            }
        }
        ctx.integer(n)
    }

    /// EXISTS / TOUCH key [key ...]: how many exist (a key named twice counts twice).
    static func exists(_ ctx: CommandContext) {
        var n = 0
        for i in 1 ..< ctx.argc where ctx.lookupReadNoTouch(ctx.key(i)) != nil { n += 1 }
        ctx.integer(n)
    }

    /// TOUCH: like EXISTS, but each key found counts as accessed (its idle time restarts).
    static func touch(_ ctx: CommandContext) {
        var n = 0
        for i in 1 ..< ctx.argc where ctx.lookupRead(ctx.key(i)) != nil { n += 1 }
        ctx.integer(n)
    }

    static func type(_ ctx: CommandContext) {
        if let v = ctx.lookupReadNoTouch(ctx.key(1)) { ctx.simple(v.typeName) } else { ctx.simple("none") }
    }

    /// RENAME / RENAMENX: moves the value (and its TTL) to the new name; the destination's TTL goes.
    static func rename(_ ctx: CommandContext, nx: Bool) {
        let src = ctx.key(1), dst = ctx.key(2)
        guard let value = ctx.lookupWrite(src) else { return ctx.error(RedisError.noSuchKey) }
        if src == dst { return nx ? ctx.integer(0) : ctx.ok() }
        let expire = ctx.db.expireTime(src)
        if ctx.lookupWrite(dst) != nil {
            if nx { return ctx.integer(0) }
            ctx.db.remove(dst)
        }
        ctx.db.remove(src)
        ctx.db.set(dst, value)
        if let e = expire { ctx.db.setExpire(dst, at: e) }
        ctx.modified(src)
        ctx.modified(dst, changes: 0)
        ctx.notify(KeyspaceEventClass.generic, "rename_from", src)
        ctx.notify(KeyspaceEventClass.generic, "rename_to", dst)
        signalReadyIfBlockable(ctx.engine, db: ctx.session.db, key: dst, value: value)
        nx ? ctx.integer(1) : ctx.ok()
    }

    /// A key got a whole list or sorted set (RENAME, COPY, MOVE, SORT STORE): clients blocked on it may go.
    static func signalReadyIfBlockable(_ engine: Engine, db: Int, key: ByteString, value: RedisValue) {
        if !value.typeRow.blockingCommandPrefixes.isEmpty { engine.signalKeyAsReady(db: db, key: key) }
    }

    static func randomKey(_ ctx: CommandContext) {
        if let k = ctx.db.randomKey(now: ctx.now) { ctx.bulk(k) } else { ctx.null() }
    }

    /// COPY source destination [DB destination-db] [REPLACE]
    static func copy(_ ctx: CommandContext) {
        let src = ctx.key(1), dst = ctx.key(2)
        var replace = false
        var dbid = ctx.session.db
        var j = 3
        while j < ctx.argc {
            let opt = ctx.option(j)
            if opt == "REPLACE" {
                replace = true
            } else if opt == "DB" && j + 1 < ctx.argc {
                guard let v = int32Argument(ctx, j + 1) else { return }
                dbid = v
                j += 1
            } else {
                return ctx.syntaxError()
            }
            j += 1
        }
        guard dbid >= 0 && dbid < ctx.engine.databases.count else { return ctx.error("ERR DB index is out of range") }
        if dbid == ctx.session.db && src == dst { return ctx.error("ERR source and destination objects are the same") }
        guard let value = ctx.lookupRead(src) else { return ctx.integer(0) }
        let expire = ctx.db.expireTime(src)
        let target = ctx.engine.databases[dbid]
        if target.lookup(dst, now: ctx.now) != nil {
            if !replace { return ctx.integer(0) }
            target.remove(dst)
        }
        let copied = value.deepCopy()
        target.set(dst, copied)
        if let e = expire { target.setExpire(dst, at: e) }
        ctx.engine.dirty += 1
        ctx.engine.signalModifiedKey(db: dbid, key: dst)
        ctx.engine.notify(KeyspaceEventClass.generic, "copy_to", dst, db: dbid)
        signalReadyIfBlockable(ctx.engine, db: dbid, key: dst, value: copied)
        ctx.integer(1)
    }

    /// An argument as Redis's getIntFromObjectOrReply reads it (a 32-bit int), or replies `error` (or
    /// Redis's own texts when nil) and returns nil.
    static func int32Argument(_ ctx: CommandContext, _ i: Int, error: String? = nil) -> Int? {
        guard let v = StrictIntegerText.parse(ctx.args[i]) else {
            ctx.error(error ?? RedisError.notInteger)
            return nil
        }
        guard v >= Int64(Int32.min), v <= Int64(Int32.max) else {
            ctx.error(error ?? "ERR value is out of range, value must between -2147483648 and 2147483647")
            return nil
        }
        return Int(v)
    }

    // MARK: - OBJECT

    static let objectHelp: [String] = [
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ]

    /// OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ key, OBJECT HELP.
    static func object(_ ctx: CommandContext) {
        let sub = ctx.option(1)
        let arity: Int
        switch sub {
        case "HELP": arity = 2
        case "ENCODING", "REFCOUNT", "IDLETIME", "FREQ": arity = 3
        default:
            return ctx.error("ERR unknown subcommand '\(String(decoding: ctx.args[1].prefix(128), as: UTF8.self))'. Try OBJECT HELP.")
        }
        if ctx.argc != arity {
            return ctx.error(RedisError.wrongArity("object|" + sub.lowercased()))
        }
        if sub == "HELP" {
            ctx.arrayHeader(objectHelp.count)
            for line in objectHelp { ctx.simple(line) }
            return
        }
        guard let value = ctx.lookupReadNoTouch(ctx.key(2)) else { return ctx.null() }
        let access = ctx.engine.keyAccess
        let bits = ctx.db.accessBits(ctx.key(2)) ?? 0
        switch sub {
        case "ENCODING":
            ctx.bulk(value.encodingName)
        case "REFCOUNT":
            // Redis shares the integer objects 0...9999 (refcount INT_MAX); every other value has one
            // owner. Not while maxmemory evicts by LRU or LFU: each value then keeps its own access
            // clock, so Redis stops sharing them (the answer follows the configuration now in force).
            let e = ctx.engine.eviction
            let perValueClock = e.maxmemory > 0 && [.allkeysLRU, .allkeysLFU, .volatileLRU, .volatileLFU].contains(e.policy)
            if case .string(.int(let v)) = value, v >= 0 && v < 10000, !perValueClock {
                ctx.integer(Int(Int32.max)) as Void
            } else {
                ctx.integer(1)
            }
        case "IDLETIME":
            guard !access.lfuPolicy else {
                return ctx.error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
            }
            ctx.integer(access.idleSeconds(bits))
        default: // FREQ
            guard access.lfuPolicy else {
                return ctx.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
            }
            ctx.integer(Int(access.decayedCounter(bits)))
        }
    }
}
