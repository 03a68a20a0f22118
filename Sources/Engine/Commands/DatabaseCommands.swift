// Whole-database commands: SELECT, SWAPDB, MOVE, FLUSHDB, FLUSHALL, DBSIZE.

public enum DatabaseCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("select", arity: 2, flags: [.loading, .stale, .fast], handler: select),
            CommandSpec("swapdb", arity: 3, flags: [.write, .fast], handler: swapdb),
            CommandSpec("move", arity: 3, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1, handler: move),
            CommandSpec("flushdb", arity: -1, flags: [.write], handler: flushdb),
            CommandSpec("flushall", arity: -1, flags: [.write], handler: flushall),
            CommandSpec("dbsize", arity: 1, flags: [.readonly, .fast]) { $0.integer($0.db.count) },
        ]
    }

    static let outOfRange = "ERR DB index is out of range"

    static func validDB(_ ctx: CommandContext, _ id: Int) -> Bool { id >= 0 && id < ctx.engine.databases.count }

    static func select(_ ctx: CommandContext) {
        guard let id = KeyCommands.int32Argument(ctx, 1) else { return }
        guard validDB(ctx, id) else { return ctx.error(outOfRange) }
        ctx.session.db = id
        ctx.ok()
    }

    static func swapdb(_ ctx: CommandContext) {
        guard let a = KeyCommands.int32Argument(ctx, 1, error: "ERR invalid first DB index"),
              let b = KeyCommands.int32Argument(ctx, 2, error: "ERR invalid second DB index") else { return }
        guard validDB(ctx, a) && validDB(ctx, b) else { return ctx.error(outOfRange) }
        if a != b { ctx.engine.swapDatabases(a, b) }
        ctx.engine.dirty += 1
        ctx.ok()
    }

    /// MOVE key db: moves the value and its TTL; 0 when the key is missing or the target has it.
    static func move(_ ctx: CommandContext) {
        guard let id = KeyCommands.int32Argument(ctx, 2) else { return }
        guard validDB(ctx, id) else { return ctx.error(outOfRange) }
        if id == ctx.session.db { return ctx.error("ERR source and destination objects are the same") }
        let key = ctx.key(1)
        guard let value = ctx.lookupWrite(key) else { return ctx.integer(0) }
        let expire = ctx.db.expireTime(key)
        let target = ctx.engine.databases[id]
        if target.lookup(key, now: ctx.now) != nil { return ctx.integer(0) }
        target.set(key, value)
        if let e = expire { target.setExpire(key, at: e) }
        ctx.db.remove(key)
        ctx.modified(key)
        ctx.engine.signalModifiedKey(db: id, key: key)
        ctx.notify(KeyspaceEventClass.generic, "move_from", key)
        ctx.engine.notify(KeyspaceEventClass.generic, "move_to", key, db: id)
        KeyCommands.signalReadyIfBlockable(ctx.engine, db: id, key: key, value: value)
        ctx.integer(1)
    }

    /// [ASYNC|SYNC]: both empty at once here; anything else is a syntax error.
    static func flushOptionValid(_ ctx: CommandContext) -> Bool {
        if ctx.argc > 2 { return false }
        if ctx.argc == 2 {
            let o = ctx.option(1)
            return o == "SYNC" || o == "ASYNC"
        }
        return true
    }

    static func flushdb(_ ctx: CommandContext) {
        guard flushOptionValid(ctx) else { return ctx.syntaxError() }
        let db = ctx.db
        let removed = db.count
        ctx.engine.signalFlushedDB(db.id)
        db.removeAll()
        ctx.engine.trackingInvalidateOnFlush()
        ctx.engine.dirty += removed
        // Like Redis, FLUSHDB reaches the AOF even when the database was already empty.
        ctx.propagate(ctx.args)
        ctx.ok()
    }

    static func flushall(_ ctx: CommandContext) {
        guard flushOptionValid(ctx) else { return ctx.syntaxError() }
        var removed = 0
        for db in ctx.engine.databases { removed += db.count }
        ctx.engine.flushAll()
        // Redis counts every removed key and one more, so that FLUSHALL always propagates.
        ctx.engine.dirty += removed + 1
        // With save points configured, Redis writes the (now empty) dataset at once.
        ctx.engine.hooks.afterFlushAll?()
        // Always reaches the AOF, even on empty databases and after that save reset `dirty`.
        ctx.propagate(ctx.args)
        ctx.ok()
    }
}
