// Expiry commands: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (with NX|XX|GT|LT), TTL PTTL EXPIRETIME
// PEXPIRETIME, PERSIST. Times are absolute Unix milliseconds in the database's expires table; setting
// one at or before now deletes the key, as Redis does.

import StorageFormat

public enum ExpireCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("expire", arity: -3, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1) { expire($0, relative: true, seconds: true) },
            CommandSpec("pexpire", arity: -3, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1) { expire($0, relative: true, seconds: false) },
            CommandSpec("expireat", arity: -3, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1) { expire($0, relative: false, seconds: true) },
            CommandSpec("pexpireat", arity: -3, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1) { expire($0, relative: false, seconds: false) },
            CommandSpec("ttl", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1) { ttl($0, ms: false, absolute: false) },
            CommandSpec("pttl", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1) { ttl($0, ms: true, absolute: false) },
            CommandSpec("expiretime", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1) { ttl($0, ms: false, absolute: true) },
            CommandSpec("pexpiretime", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1) { ttl($0, ms: true, absolute: true) },
            CommandSpec("persist", arity: 2, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1, handler: persist),
        ]
    }

    static let pexpireatName = Array("PEXPIREAT".utf8)
    static let persistName = Array("PERSIST".utf8)

    /// "ERR invalid expire time in 'name' command".
    static func invalidExpireTime(_ ctx: CommandContext) {
        ctx.error("ERR invalid expire time in '\(ctx.spec.name)' command")
    }

    static func expire(_ ctx: CommandContext, relative: Bool, seconds: Bool) {
        var nx = false, xx = false, gt = false, lt = false
        for j in 3 ..< ctx.argc {
            switch ctx.option(j) {
            case "NX": nx = true
            case "XX": xx = true
            case "GT": gt = true
            case "LT": lt = true
            default: return ctx.error("ERR Unsupported option \(String(decoding: ctx.args[j], as: UTF8.self))")
            }
        }
        if nx && (xx || gt || lt) { return ctx.error("ERR NX and XX, GT or LT options at the same time are not compatible") }
        if gt && lt { return ctx.error("ERR GT and LT options at the same time are not compatible") }
        guard var when = ctx.integerArgument(2) else { return }
        if seconds {
            if when > Int64.max / 1000 || when < Int64.min / 1000 { return invalidExpireTime(ctx) }
            when *= 1000
        }
        let base = relative ? ctx.now : 0
        if when > Int64.max - base { return invalidExpireTime(ctx) }
        when += base
        let key = ctx.key(1)
        guard ctx.lookupWrite(key) != nil else { return ctx.integer(0) }
        if nx || xx || gt || lt {
            let current = ctx.db.expireTime(key)
            if nx && current != nil { return ctx.integer(0) }
            if xx && current == nil { return ctx.integer(0) }
            // No TTL counts as an infinite one: GT never beats it, LT always does.
            if gt { guard let c = current, when > c else { return ctx.integer(0) } }
            if lt, let c = current, when >= c { return ctx.integer(0) }
        }
        if when <= ctx.now && !ctx.engine.loadingAOF {
            ctx.db.remove(key)
            ctx.notify(KeyspaceEventClass.generic, "del", key)
            ctx.propagate([Engine.delName, ctx.args[1]])
        } else {
            ctx.db.setExpire(key, at: when)
            ctx.notify(KeyspaceEventClass.generic, "expire", key)
            // Logged as an absolute time without the condition flags, which were already applied.
            ctx.propagate([pexpireatName, ctx.args[1], StrictInteger.format(when)])
        }
        ctx.modified(key)
        ctx.integer(1)
    }

    /// TTL / PTTL / EXPIRETIME / PEXPIRETIME: -2 no key, -1 no expiry.
    static func ttl(_ ctx: CommandContext, ms: Bool, absolute: Bool) {
        let key = ctx.key(1)
        guard ctx.lookupReadNoTouch(key) != nil else { return ctx.integer(-2) }
        guard let at = ctx.db.expireTime(key) else { return ctx.integer(-1) }
        var t = absolute ? at : at - ctx.now
        if t < 0 { t = 0 }
        ctx.integer(Int(ms ? t : (t + 500) / 1000)) as Void
    }

    static func persist(_ ctx: CommandContext) {
        let key = ctx.key(1)
        guard ctx.lookupWrite(key) != nil else { return ctx.integer(0) }
        if ctx.db.persist(key) {
            ctx.modified(key)
            ctx.notify(KeyspaceEventClass.generic, "persist", key)
            ctx.integer(1)
        } else {
            ctx.integer(0)
        }
    }
}
