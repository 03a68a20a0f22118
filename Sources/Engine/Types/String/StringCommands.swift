// String commands: GET/SET and their variants, counters, ranges. Values that spell a canonical integer
// are stored as integers (Redis's `int` encoding) when Redis would; APPEND and SETRANGE leave `raw`
// strings, INCRBYFLOAT an `embstr`. Bit commands and LCS live in their own files.
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

public enum StringCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("get", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: get),
            CommandSpec("set", arity: -3, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1, handler: set),
            CommandSpec("setnx", arity: 3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1, handler: setnx),
            CommandSpec("setex", arity: 4, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1) { setex($0, unitSeconds: true) },
            CommandSpec("psetex", arity: 4, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1) { setex($0, unitSeconds: false) },
            CommandSpec("mget", arity: -2, flags: [.readonly, .fast], firstKey: 1, lastKey: -1, step: 1, handler: mget),
            CommandSpec("mset", arity: -3, flags: [.write, .denyOOM], firstKey: 1, lastKey: -1, step: 2) { mset($0, nx: false) },
            CommandSpec("msetnx", arity: -3, flags: [.write, .denyOOM], firstKey: 1, lastKey: -1, step: 2) { mset($0, nx: true) },
            CommandSpec("getset", arity: 3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1, handler: getset),
            CommandSpec("getdel", arity: 2, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1, handler: getdel),
            CommandSpec("getex", arity: -2, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1, handler: getex),
            CommandSpec("append", arity: 3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1, handler: append),
            CommandSpec("strlen", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: strlen),
            CommandSpec("incr", arity: 2, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) { incrBy($0, 1) },
            CommandSpec("decr", arity: 2, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) { incrBy($0, -1) },
            CommandSpec("incrby", arity: 3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) { ctx in
                guard let by = ctx.integerArgument(2) else { return }
                incrBy(ctx, by)
            },
            CommandSpec("decrby", arity: 3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) { ctx in
                guard let by = ctx.integerArgument(2) else { return }
                if by == Int64.min { return ctx.error("ERR decrement would overflow") }
                incrBy(ctx, -by)
            },
            CommandSpec("incrbyfloat", arity: 3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1, handler: incrByFloat),
            CommandSpec("getrange", arity: 4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: getrange),
            CommandSpec("substr", arity: 4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: getrange),
            CommandSpec("setrange", arity: 4, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1, handler: setrange),
        ] + BitCommands.all + BitfieldCommand.all + LCSCommand.all + HyperLogLogCommands.all
    }

    static let tooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

    /// The string under `key` for reading: `.some(nil)` when missing, nil after replying WRONGTYPE.
    static func readString(_ ctx: CommandContext, _ key: ByteString) -> StringValue?? {
        switch ctx.lookupRead(key) {
        case nil: return .some(nil)
        case .string(let s)?: return .some(s)
        default:
            ctx.wrongType()
            return nil
        }
    }

    static func get(_ ctx: CommandContext) {
        guard let found = readString(ctx, ctx.key(1)) else { return }
        if let s = found { ctx.bulk(s) } else { ctx.null() }
    }

    /// Redis's checkStringLength: would `size + append` bytes exceed proto-max-bulk-len? Replies if so.
    static func exceedsMaxLength(_ ctx: CommandContext, _ size: Int, _ append: Int) -> Bool {
        let (total, overflow) = size.addingReportingOverflow(append)
        if overflow || total > ctx.config.protoMaxBulkLen {
            ctx.error(tooLong)
            return true
        }
        return false
    }

    // MARK: - SET and its options

    struct SetFlags: OptionSet {
        let rawValue: Int
        static let nx = SetFlags(rawValue: 1 << 0)
        static let xx = SetFlags(rawValue: 1 << 1)
        static let ex = SetFlags(rawValue: 1 << 2)
        static let px = SetFlags(rawValue: 1 << 3)
        static let keepTTL = SetFlags(rawValue: 1 << 4)
        static let get = SetFlags(rawValue: 1 << 5)
        static let exat = SetFlags(rawValue: 1 << 6)
        static let pxat = SetFlags(rawValue: 1 << 7)
        static let persist = SetFlags(rawValue: 1 << 8)
        static let anyExpire: SetFlags = [.ex, .px, .exat, .pxat]
    }

    /// Parses SET's (forSet) or GETEX's options from argument 3 (SET) or 2 (GETEX), with Redis's
    /// rules for which may combine. Returns the flags and the index of the expire argument, or nil
    /// after replying a syntax error.
    static func parseSetOptions(_ ctx: CommandContext, from: Int, forSet: Bool) -> (SetFlags, Int?)? {
        var flags: SetFlags = []
        var expireIndex: Int? = nil
        var j = from
        while j < ctx.argc {
            let opt = ctx.option(j)
            let hasNext = j + 1 < ctx.argc
            if opt == "NX" && !flags.contains(.xx) && forSet {
                flags.insert(.nx)
            } else if opt == "XX" && !flags.contains(.nx) && forSet {
                flags.insert(.xx)
            } else if opt == "GET" && forSet {
                flags.insert(.get)
            } else if opt == "KEEPTTL" && forSet && flags.isDisjoint(with: [.persist, .ex, .exat, .px, .pxat]) {
                flags.insert(.keepTTL)
            } else if opt == "PERSIST" && !forSet && flags.isDisjoint(with: [.ex, .exat, .px, .pxat, .keepTTL]) {
                flags.insert(.persist)
            } else if opt == "EX" && hasNext && flags.isDisjoint(with: [.keepTTL, .persist, .exat, .px, .pxat]) {
                flags.insert(.ex)
                expireIndex = j + 1
                j += 1
            } else if opt == "PX" && hasNext && flags.isDisjoint(with: [.keepTTL, .persist, .ex, .exat, .pxat]) {
                flags.insert(.px)
                expireIndex = j + 1
                j += 1
            } else if opt == "EXAT" && hasNext && flags.isDisjoint(with: [.keepTTL, .persist, .ex, .px, .pxat]) {
                flags.insert(.exat)
                expireIndex = j + 1
                j += 1
            } else if opt == "PXAT" && hasNext && flags.isDisjoint(with: [.keepTTL, .persist, .ex, .exat, .px]) {
                flags.insert(.pxat)
                expireIndex = j + 1
                j += 1
            } else {
                ctx.syntaxError()
                return nil
            }
            j += 1
        }
        return (flags, expireIndex)
    }

    /// The absolute expiry in ms an EX/PX/EXAT/PXAT argument gives, or nil after replying an error.
    static func expireMilliseconds(_ ctx: CommandContext, _ index: Int, _ flags: SetFlags) -> Int64? {
        guard var ms = ctx.integerArgument(index) else { return nil }
        let seconds = flags.contains(.ex) || flags.contains(.exat)
        if ms <= 0 || (seconds && ms > Int64.max / 1000) {
            ExpireCommands.invalidExpireTime(ctx)
            return nil
        }
        if seconds { ms *= 1000 }
        if flags.contains(.ex) || flags.contains(.px) {
            let (sum, overflow) = ms.addingReportingOverflow(ctx.now)
            if overflow || sum <= 0 {
                ExpireCommands.invalidExpireTime(ctx)
                return nil
            }
            ms = sum
        }
        return ms
    }

    /// Stores a string the way SET does: removes the old TTL unless `keepTTL`, then sets `expireAt`.
    static func store(_ ctx: CommandContext, _ key: ByteString, _ value: StringValue, keepTTL: Bool = false,
                      expireAt: Int64? = nil, event: StaticString = "set") {
        ctx.withDB { db in
            db.set(key, .string(value), keepTTL: keepTTL)
            if let at = expireAt { db.setExpire(key, at: at) }
        }
        ctx.modified(key)
        ctx.notify(KeyspaceEventClass.string, event, key)
        if expireAt != nil { ctx.notify(KeyspaceEventClass.generic, "expire", key) }
    }

    static let setName = Array("SET".utf8)
    static let pxatName = Array("PXAT".utf8)
    static let keepTTLName = Array("KEEPTTL".utf8)

    static func set(_ ctx: CommandContext) {
        guard let (flags, expireIndex) = parseSetOptions(ctx, from: 3, forSet: true) else { return }
        var expireAt: Int64? = nil
        if let e = expireIndex {
            guard let ms = expireMilliseconds(ctx, e, flags) else { return }
            expireAt = ms
        }
        let key = ctx.key(1)
        if flags.contains(.get) {
            guard let old = readString(ctx, key) else { return }
            if let s = old { ctx.bulk(s) } else { ctx.null() }
        }
        let found = ctx.existsForWrite(key)
        if (flags.contains(.nx) && found) || (flags.contains(.xx) && !found) {
            if !flags.contains(.get) { ctx.null() }
            return
        }
        store(ctx, key, StringValue(ctx.args[2]), keepTTL: flags.contains(.keepTTL), expireAt: expireAt)
        if !flags.contains(.get) { ctx.ok() }
        // Any expiry is logged as Redis logs it: SET key value PXAT ms (the GET/NX/XX flags, already
        // applied, are dropped, and a given PXAT is written in Redis's upper case).
        if let at = expireAt, ctx.propagating {
            ctx.propagate([StringCommands.setName, ctx.args[1], ctx.args[2], StringCommands.pxatName, StrictInteger.format(at)])
        } else if flags.contains(.get) && ctx.propagating {
            // Without GET (Redis 7.0 drops it: the replica has no reply to give), the other flags kept.
            ctx.propagate(ctx.args.enumerated().filter { i, a in i < 3 || a.map({ $0 | 0x20 }) != Array("get".utf8) }.map(\.1))
        }
    }

    static func setnx(_ ctx: CommandContext) {
        let key = ctx.key(1)
        if ctx.lookupWrite(key) != nil { return ctx.integer(0) }
        store(ctx, key, StringValue(ctx.args[2]))
        ctx.integer(1)
    }

    static func setex(_ ctx: CommandContext, unitSeconds: Bool) {
        guard let at = expireMilliseconds(ctx, 2, unitSeconds ? .ex : .px) else { return }
        store(ctx, ctx.key(1), StringValue(ctx.args[3]), expireAt: at)
        ctx.ok()
        ctx.propagate([StringCommands.setName, ctx.args[1], ctx.args[3], StringCommands.pxatName, StrictInteger.format(at)])
    }

    static func mget(_ ctx: CommandContext) {
        ctx.arrayHeader(ctx.argc - 1)
        for i in 1 ..< ctx.argc {
            if case .string(let s)? = ctx.lookupRead(ctx.key(i)) { ctx.bulk(s) } else { ctx.null() }
        }
    }

    static func mset(_ ctx: CommandContext, nx: Bool) {
        if ctx.argc % 2 == 0 { return ctx.error(RedisError.wrongArity(ctx.spec.name)) }
        if nx {
            for i in stride(from: 1, to: ctx.argc, by: 2) where ctx.lookupWrite(ctx.key(i)) != nil {
                return ctx.integer(0)
            }
        }
        for i in stride(from: 1, to: ctx.argc, by: 2) {
            store(ctx, ctx.key(i), StringValue(ctx.args[i + 1]))
        }
        nx ? ctx.integer(1) : ctx.ok()
    }

    static func getset(_ ctx: CommandContext) {
        let key = ctx.key(1)
        guard let old = readString(ctx, key) else { return }
        if let s = old { ctx.bulk(s) } else { ctx.null() }
        store(ctx, key, StringValue(ctx.args[2]))
        // Logged as SET key value, as Redis 7.0 does.
        if ctx.propagating { ctx.propagate([StringCommands.setName, ctx.args[1], ctx.args[2]]) }
    }

    static func getdel(_ ctx: CommandContext) {
        let key = ctx.key(1)
        guard let old = readString(ctx, key) else { return }
        guard let s = old else { return ctx.null() }
        ctx.bulk(s)
        ctx.db.remove(key)
        ctx.modified(key)
        ctx.notify(KeyspaceEventClass.generic, "del", key)
        ctx.propagate([Engine.delName, ctx.args[1]])
    }

    /// GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]
    static func getex(_ ctx: CommandContext) {
        guard let (flags, expireIndex) = parseSetOptions(ctx, from: 2, forSet: false) else { return }
        let key = ctx.key(1)
        guard let found = readString(ctx, key) else { return }
        guard let s = found else { return ctx.null() }
        var expireAt: Int64? = nil
        if let e = expireIndex {
            guard let ms = expireMilliseconds(ctx, e, flags) else { return }
            expireAt = ms
        }
        ctx.bulk(s)
        if let at = expireAt {
            if (flags.contains(.exat) || flags.contains(.pxat)) && at <= ctx.now {
                ctx.db.remove(key)
                ctx.notify(KeyspaceEventClass.generic, "del", key)
                ctx.propagate([Engine.delName, ctx.args[1]])
            } else {
                ctx.db.setExpire(key, at: at)
                ctx.notify(KeyspaceEventClass.generic, "expire", key)
                ctx.propagate([ExpireCommands.pexpireatName, ctx.args[1], StrictInteger.format(at)])
            }
            ctx.modified(key)
        } else if flags.contains(.persist) {
            if ctx.db.persist(key) {
                ctx.modified(key)
                ctx.notify(KeyspaceEventClass.generic, "persist", key)
                ctx.propagate([ExpireCommands.persistName, ctx.args[1]])
            }
        }
    }

    // MARK: - Editing in place

    /// Room for `extra` more bytes, grown as Redis grows an sds string: double the needed length
    /// below 1 MiB, 1 MiB more above it (so repeated appends copy rarely).
    static func makeRoom(_ bytes: inout [UInt8], _ extra: Int) {
        let need = bytes.count + extra
        if bytes.capacity >= need { return }
        bytes.reserveCapacity(need < 1 << 20 ? need * 2 : need + (1 << 20))
    }

    /// Replaces the string under an existing `key` with the `raw` result of `edit` on its bytes,
    /// editing the buffer in place when it is not shared. Keeps the TTL. Returns the new length.
    @discardableResult
    static func editRaw(_ db: Database, _ key: ByteString, _ edit: (inout [UInt8]) -> Void) -> Int {
        var length = 0
        db.keys.modify(key) { v in
            var bytes: [UInt8]
            switch v {
            case .string(.raw(let b)), .string(.bytes(let b)): bytes = b.bytes
            case .string(.int(let i)): bytes = StrictIntegerText.format(i)
            default: return
            }
            v = .string(.int(0)) // drop the table's reference so `bytes` is uniquely owned
            edit(&bytes)
            length = bytes.count
            v = .string(.raw(ByteString(keepingCapacity: bytes)))
        }
        return length
    }

    static func append(_ ctx: CommandContext) {
        let key = ctx.key(1)
        let tail = ctx.args[2]
        // Only the length is taken from the lookup: its copy of the value must be gone before the edit,
        // which then grows the table's bytes in place instead of copying the whole string.
        let length: Int?
        switch ctx.lookupWrite(key) {
        case nil: length = nil
        case .string(let s)?: length = s.count
        default: return ctx.wrongType()
        }
        guard let length else {
            store(ctx, key, StringValue(tail), event: "append")
            return ctx.integer(tail.count)
        }
        if exceedsMaxLength(ctx, length, tail.count) { return }
        let n = editRaw(ctx.db, key) { bytes in
            StringCommands.makeRoom(&bytes, tail.count)
            bytes.append(contentsOf: tail)
        }
        ctx.modified(key)
        ctx.notify(KeyspaceEventClass.string, "append", key)
        ctx.integer(n)
    }

    static func strlen(_ ctx: CommandContext) {
        guard let found = readString(ctx, ctx.key(1)) else { return }
        ctx.integer(found?.count ?? 0)
    }

    // MARK: - Counters

    static func incrBy(_ ctx: CommandContext, _ by: Int64) {
        let key = ctx.key(1)
        let current: Int64
        let exists: Bool
        switch ctx.lookupWrite(key) {
        case nil:
            current = 0
            exists = false
        case .string(let s)?:
            switch s {
            case .int(let v): current = v
            case .bytes(let b), .raw(let b):
                guard let v = b.integerValue else { return ctx.error(RedisError.notInteger) }
                current = v
            }
            exists = true
        default:
            return ctx.wrongType()
        }
        let (result, overflow) = current.addingReportingOverflow(by)
        if overflow { return ctx.error(RedisError.overflow) }
        if exists { ctx.db.overwrite(key, .string(.int(result))) } else { ctx.db.set(key, .string(.int(result))) }
        ctx.modified(key)
        ctx.notify(KeyspaceEventClass.string, "incrby", key)
        ctx.integer(Int(result)) as Void
    }

    static func incrByFloat(_ ctx: CommandContext) {
        let key = ctx.key(1)
        var current: Float80 = 0
        let exists: Bool
        switch ctx.lookupWrite(key) {
        case nil:
            exists = false
        case .string(let s)?:
            switch s {
            case .int(let v): current = Float80(v)
            case .bytes(let b), .raw(let b):
                guard let v = parseLongDouble(b.bytes) else { return ctx.error(RedisError.notFloat) }
                current = v
            }
            exists = true
        default:
            return ctx.wrongType()
        }
        guard let by = parseLongDouble(ctx.args[2]) else { return ctx.error(RedisError.notFloat) }
        let result = current + by
        if result.isNaN || result.isInfinite { return ctx.error("ERR increment would produce NaN or Infinity") }
        // Redis stores the printed text as a plain (embstr/raw) string, never as an int.
        let printed = formatLongDouble(result)
        let text = ByteString(printed)
        if exists { ctx.db.overwrite(key, .string(.bytes(text))) } else { ctx.db.set(key, .string(.bytes(text))) }
        ctx.modified(key)
        ctx.notify(KeyspaceEventClass.string, "incrbyfloat", key)
        // Float arithmetic is not replayed: the AOF gets the result.
        ctx.propagate([StringCommands.setName, ctx.args[1], printed, StringCommands.keepTTLName])
        ctx.bulk(text)
    }

    // MARK: - Ranges

    static func getrange(_ ctx: CommandContext) {
        guard var start = ctx.integerArgument(2), var end = ctx.integerArgument(3) else { return }
        guard let found = readString(ctx, ctx.key(1)) else { return }
        guard let s = found else { return ctx.bulk([UInt8]()) }
        let bytes = s.byteString
        let len = Int64(bytes.count)
        if start < 0 && end < 0 && start > end { return ctx.bulk([UInt8]()) }
        if start < 0 { start += len }
        if end < 0 { end += len }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= len { end = len - 1 }
        if start > end || len == 0 { return ctx.bulk([UInt8]()) }
        bytes.withUnsafeBytes { raw in
            RESPEncoder.bulk(UnsafeRawBufferPointer(rebasing: raw[Int(start) ... Int(end)]), to: &ctx.session.out)
        }
    }

    static func setrange(_ ctx: CommandContext) {
        guard let offset64 = ctx.integerArgument(2) else { return }
        if offset64 < 0 { return ctx.error("ERR offset is out of range") }
        let offset = Int(offset64)
        let key = ctx.key(1)
        let value = ctx.args[3]
        // As APPEND: only the length comes out of the lookup, so the edit works in place.
        let length: Int?
        switch ctx.lookupWrite(key) {
        case nil: length = nil
        case .string(let s)?: length = s.count
        default: return ctx.wrongType()
        }
        switch length {
        case nil:
            if value.isEmpty { return ctx.integer(0) }
            if exceedsMaxLength(ctx, offset, value.count) { return }
            var bytes = [UInt8](repeating: 0, count: offset + value.count)
            bytes.replaceSubrange(offset ..< offset + value.count, with: value)
            ctx.db.set(key, .string(.raw(ByteString(bytes))))
            ctx.modified(key)
            ctx.notify(KeyspaceEventClass.string, "setrange", key)
            ctx.integer(bytes.count)
        case let count?:
            if value.isEmpty { return ctx.integer(count) }
            if exceedsMaxLength(ctx, offset, value.count) { return }
            let n = editRaw(ctx.db, key) { bytes in
                if bytes.count < offset + value.count {
                    StringCommands.makeRoom(&bytes, offset + value.count - bytes.count)
                    bytes.append(contentsOf: repeatElement(0, count: offset + value.count - bytes.count))
                }
                bytes.replaceSubrange(offset ..< offset + value.count, with: value)
            }
            ctx.modified(key)
            ctx.notify(KeyspaceEventClass.string, "setrange", key)
            ctx.integer(n)
        }
    }
}

