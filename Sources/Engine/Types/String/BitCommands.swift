// Bitmap commands over string values: SETBIT GETBIT BITCOUNT BITPOS BITOP. Bit 0 is the most
// significant bit of the first byte; ranges are in bytes, or in bits with the BIT option.

public enum BitCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("setbit", arity: 4, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1, handler: setbit),
            CommandSpec("getbit", arity: 3, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: getbit),
            CommandSpec("bitcount", arity: -2, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: bitcount),
            CommandSpec("bitpos", arity: -3, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: bitpos),
            CommandSpec("bitop", arity: -4, flags: [.write, .denyOOM], firstKey: 2, lastKey: -1, step: 1, handler: bitop),
        ]
    }

    static let badOffset = "ERR bit offset is not an integer or out of range"

    /// A bit offset argument (0 ..< proto-max-bulk-len * 8), or nil after replying.
    static func bitOffset(_ ctx: CommandContext, _ i: Int) -> Int? {
        guard let v = StrictIntegerText.parse(ctx.args[i]), v >= 0, (v >> 3) < Int64(ctx.config.protoMaxBulkLen) else {
            ctx.error(badOffset)
            return nil
        }
        return Int(v)
    }

    static func setbit(_ ctx: CommandContext) {
        guard let offset = bitOffset(ctx, 2) else { return }
        guard let on = StrictIntegerText.parse(ctx.args[3]), on == 0 || on == 1 else {
            return ctx.error("ERR bit is not an integer or out of range")
        }
        let key = ctx.key(1)
        let byte = offset >> 3
        let mask = UInt8(1 << (7 - (offset & 7)))
        var old = false
        var changed = false
        switch ctx.stringWriteTarget(key) {
        case .missing:
            var bytes = [UInt8](repeating: 0, count: byte + 1)
            if on == 1 { bytes[byte] |= mask }
            ctx.db.set(key, .string(.raw(ByteString(bytes))))
            changed = true
        case .string:
            StringCommands.editRaw(ctx.db, key) { bytes in
                if bytes.count <= byte {
                    StringCommands.makeRoom(&bytes, byte + 1 - bytes.count)
                    bytes.append(contentsOf: repeatElement(0, count: byte + 1 - bytes.count))
                    changed = true
                }
                old = bytes[byte] & mask != 0
                if old != (on == 1) {
                    changed = true
                    if on == 1 { bytes[byte] |= mask } else { bytes[byte] &= ~mask }
                }
            }
        case .other:
            return ctx.wrongType()
        }
        if changed {
            ctx.modified(key)
            ctx.notify(KeyspaceEventClass.string, "setbit", key)
        }
        ctx.integer(old ? 1 : 0)
    }

    static func getbit(_ ctx: CommandContext) {
        guard let offset = bitOffset(ctx, 2) else { return }
        guard let found = StringCommands.readString(ctx, ctx.key(1)) else { return }
        guard let s = found else { return ctx.integer(0) }
        let bytes = s.byteString
        let byte = offset >> 3
        guard byte < bytes.count else { return ctx.integer(0) }
        ctx.integer(bytes[byte] & UInt8(1 << (7 - (offset & 7))) != 0 ? 1 : 0) as Void
    }

    /// Resolves a start/end range Redis's way into an inclusive bit range over `length` bytes,
    /// or nil when it is empty. `endGiven` false means "to the end".
    static func bitRange(start: Int64, end: Int64, length: Int, isBit: Bool) -> (Int, Int)? {
        let total = isBit ? Int64(length) * 8 : Int64(length)
        var s = start, e = end
        if s < 0 { s = total + s }
        if e < 0 { e = total + e }
        if s < 0 { s = 0 }
        if e < 0 { e = 0 }
        if e >= total { e = total - 1 }
        if s > e { return nil }
        return isBit ? (Int(s), Int(e)) : (Int(s) * 8, Int(e) * 8 + 7)
    }

    /// BYTE or BIT at argument `i`, or nil after a syntax error.
    static func unitIsBit(_ ctx: CommandContext, _ i: Int) -> Bool? {
        switch ctx.option(i) {
        case "BIT": return true
        case "BYTE": return false
        default:
            ctx.syntaxError()
            return nil
        }
    }

    static func bitcount(_ ctx: CommandContext) {
        guard let found = StringCommands.readString(ctx, ctx.key(1)) else { return }
        guard let s = found else { return ctx.integer(0) }
        let bytes = s.byteString
        var range: (Int, Int)?
        if ctx.argc == 4 || ctx.argc == 5 {
            guard let start = ctx.integerArgument(2), let end = ctx.integerArgument(3) else { return }
            var isBit = false
            if ctx.argc == 5 {
                guard let b = unitIsBit(ctx, 4) else { return }
                isBit = b
            }
            if start < 0 && end < 0 && start > end { return ctx.integer(0) }
            range = bitRange(start: start, end: end, length: bytes.count, isBit: isBit)
        } else if ctx.argc == 2 {
            range = bytes.count > 0 ? (0, bytes.count * 8 - 1) : nil
        } else {
            return ctx.syntaxError()
        }
        guard let (first, last) = range else { return ctx.integer(0) }
        var n = 0
        bytes.withUnsafeBytes { p in
            let firstByte = first >> 3, lastByte = last >> 3
            for i in firstByte ... lastByte {
                var b = p[i]
                if i == firstByte { b &= UInt8(0xFF >> (first & 7)) }
                if i == lastByte { b &= UInt8(truncatingIfNeeded: 0xFF << (7 - (last & 7))) }
                n += b.nonzeroBitCount
            }
        }
        ctx.integer(n)
    }

    static func bitpos(_ ctx: CommandContext) {
        guard let bit = ctx.integerArgument(2) else { return }
        if bit != 0 && bit != 1 { return ctx.error("ERR The bit argument must be 1 or 0.") }
        let value: StringValue
        switch ctx.lookupRead(ctx.key(1)) {
        case nil: return ctx.integer(bit == 1 ? -1 : 0)
        case .string(let s)?: value = s
        default: return ctx.wrongType()
        }
        let bytes = value.byteString
        var range: (Int, Int)?
        var endGiven = false
        if ctx.argc >= 4 && ctx.argc <= 6 {
            guard let start = ctx.integerArgument(3) else { return }
            var isBit = false
            if ctx.argc == 6 {
                guard let b = unitIsBit(ctx, 5) else { return }
                isBit = b
            }
            var end: Int64
            if ctx.argc >= 5 {
                guard let e = ctx.integerArgument(4) else { return }
                end = e
                endGiven = true
            } else {
                end = isBit ? Int64(bytes.count) * 8 + 7 : Int64(bytes.count) - 1
            }
            range = bitRange(start: start, end: end, length: bytes.count, isBit: isBit)
        } else if ctx.argc == 3 {
            range = bytes.count > 0 ? (0, bytes.count * 8 - 1) : nil
        } else {
            return ctx.syntaxError()
        }
        guard let (first, last) = range else { return ctx.integer(-1) }
        let want: UInt8 = bit == 1 ? 1 : 0
        var pos = -1
        bytes.withUnsafeBytes { p in
            var i = first
            while i <= last {
                if i & 7 == 0 && i + 7 <= last {
                    // A whole byte: skip it when it cannot hold the bit we want.
                    let b = p[i >> 3]
                    if (want == 1 && b == 0) || (want == 0 && b == 0xFF) {
                        i += 8
                        continue
                    }
                }
                if (p[i >> 3] >> (7 - (i & 7))) & 1 == want {
                    pos = i
                    return
                }
                i += 1
            }
        }
        if pos == -1 && bit == 0 && !endGiven { pos = last + 1 }
        ctx.integer(pos)
    }

    static func bitop(_ ctx: CommandContext) {
        enum Op { case and, or, xor, not }
        let op: Op
        switch ctx.option(1) {
        case "AND": op = .and
        case "OR": op = .or
        case "XOR": op = .xor
        case "NOT": op = .not
        default: return ctx.syntaxError()
        }
        if op == .not && ctx.argc != 4 { return ctx.error("ERR BITOP NOT must be called with a single source key.") }
        var sources: [ByteString] = []
        for i in 3 ..< ctx.argc {
            switch ctx.lookupRead(ctx.key(i)) {
            case nil: sources.append(ByteString())
            case .string(let s)?: sources.append(s.byteString)
            default: return ctx.wrongType()
            }
        }
        let maxLength = sources.map(\.count).max() ?? 0
        let dst = ctx.key(2)
        if maxLength == 0 {
            if ctx.lookupWrite(dst) != nil, ctx.db.remove(dst) {
                ctx.modified(dst)
                ctx.notify(KeyspaceEventClass.generic, "del", dst)
            }
            return ctx.integer(0)
        }
        var out = [UInt8](repeating: 0, count: maxLength)
        for j in 0 ..< maxLength {
            var b: UInt8 = j < sources[0].count ? sources[0][j] : 0
            if op == .not { b = ~b }
            for s in sources.dropFirst() {
                let x: UInt8 = j < s.count ? s[j] : 0
                switch op {
                case .and: b &= x
                case .or: b |= x
                case .xor: b ^= x
                case .not: break
                }
            }
            out[j] = b
        }
        ctx.db.set(dst, .string(.raw(ByteString(out))))
        ctx.modified(dst)
        ctx.notify(KeyspaceEventClass.string, "set", dst)
        ctx.integer(maxLength)
    }
}
