// MULTI / EXEC / DISCARD / WATCH / UNWATCH: queued commands run as one, WATCH as optimistic locking.
import StorageFormat

public enum TransactionCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("multi", arity: 1, flags: [.noScript, .loading, .stale, .fast, .noMulti]) { ctx in
                if ctx.session.multi != nil {
                    ctx.error("ERR MULTI calls can not be nested")
                    return
                }
                ctx.session.multi = []
                ctx.session.multiFailed = false
                ctx.ok()
            },
            CommandSpec("exec", arity: 1, flags: [.noScript, .loading, .stale, .noMulti]) { ctx in
                let s = ctx.session
                guard let queue = s.multi else {
                    ctx.error("ERR EXEC without MULTI")
                    return
                }
                s.multi = nil
                if s.multiFailed {
                    s.multiFailed = false
                    ctx.engine.unwatchAll(s)
                    ctx.error("EXECABORT Transaction discarded because of previous errors.")
                    return
                }
                if s.watchDirty || ctx.engine.watchedKeyExpired(s) {
                    ctx.engine.unwatchAll(s)
                    ctx.nullArray()
                    return
                }
                ctx.engine.unwatchAll(s)
                ctx.arrayHeader(queue.count)
                let e = ctx.engine
                e.executingTransaction = true
                e.beginPropagatedTransaction()
                for q in queue {
                    e.updateClockForTransaction()
                    // The user's rules may have changed since the command was queued.
                    if let refusal = e.transactionDenial(s, q.spec, q.args) {
                        ctx.error(refusal)
                        continue
                    }
                    e.call(s, q.spec, q.args)
                }
                e.endPropagatedTransaction()
                e.executingTransaction = false
            },
            CommandSpec("discard", arity: 1, flags: [.noScript, .loading, .stale, .fast, .noMulti]) { ctx in
                guard ctx.session.multi != nil else {
                    ctx.error("ERR DISCARD without MULTI")
                    return
                }
                ctx.session.multi = nil
                ctx.session.multiFailed = false
                ctx.engine.unwatchAll(ctx.session)
                ctx.ok()
            },
            CommandSpec("watch", arity: -2, flags: [.noScript, .loading, .stale, .fast, .noMulti], firstKey: 1, lastKey: -1, step: 1) { ctx in
                if ctx.session.multi != nil {
                    ctx.error("ERR WATCH inside MULTI is not allowed")
                    return
                }
                for i in 1 ..< ctx.argc { ctx.engine.watch(ctx.session, db: ctx.session.db, key: ctx.key(i)) }
                ctx.ok()
            },
            CommandSpec("unwatch", arity: 1, flags: [.noScript, .loading, .stale, .fast]) { ctx in
                ctx.engine.unwatchAll(ctx.session)
                ctx.ok()
            },
        ]
    }
}

extension Engine {
    /// Commands in a transaction see one clock, as Redis fixes it for the EXEC.
    func updateClockForTransaction() {}
}
