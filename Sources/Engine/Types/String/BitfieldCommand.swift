// BITFIELD and BITFIELD_RO: signed (i1..i64) and unsigned (u1..u63) integers at any bit offset of a
// string, most significant bit first as SETBIT numbers bits; `#N` offsets count in units of the
// type's width. Every operation is parsed (and every error found) before the key is touched; writes
// grow the string with zeros to the farthest bit written, and OVERFLOW WRAP|SAT|FAIL applies to the
// SET/INCRBY operations after it. A write that changed something publishes "setbit", as in Redis.
import StorageFormat

public enum BitfieldCommand {
    public static var all: [CommandSpec] {
        [
            CommandSpec("bitfield", arity: -2, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1) { run($0, readOnly: false) },
            CommandSpec("bitfield_ro", arity: -2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1) { run($0, readOnly: true) },
        ]
    }

    enum Opcode { case get, set, incrby }
    enum Overflow { case wrap, sat, fail }

    struct Op {
        var offset: UInt64
        var value: Int64
        var opcode: Opcode
        var overflow: Overflow
        var bits: Int
        var signed: Bool
    }

    static let badType = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."

    /// `i<bits>` or `u<bits>` (bits 1...64 signed, 1...63 unsigned), or nil after replying.
    static func type(_ ctx: CommandContext, _ a: [UInt8]) -> (signed: Bool, bits: Int)? {
        let signed: Bool
        switch a.first {
        case UInt8(ascii: "i")?: signed = true
        case UInt8(ascii: "u")?: signed = false
        default:
            ctx.error(badType)
            return nil
        }
        // Redis reads the digits as a C string: they stop at a NUL byte.
        let digits = a.dropFirst().prefix { $0 != 0 }
        guard let n = digits.withUnsafeBytes({ StrictInteger.parse($0) }), n >= 1, n <= (signed ? 64 : 63) else {
            ctx.error(badType)
            return nil
        }
        return (signed, Int(n))
    }

    /// A bit offset, `#N` meaning N * bits, limited as SETBIT's; nil after replying.
    static func offset(_ ctx: CommandContext, _ a: [UInt8], bits: Int) -> UInt64? {
        let useHash = a.first == UInt8(ascii: "#") && bits > 0
        guard var v = a.dropFirst(useHash ? 1 : 0).withUnsafeBytes({ StrictInteger.parse($0) }) else {
            ctx.error(BitCommands.badOffset)
            return nil
        }
        if useHash { v = v &* Int64(bits) }
        if v < 0 || (v >> 3) >= Int64(ctx.config.protoMaxBulkLen) {
            ctx.error(BitCommands.badOffset)
            return nil
        }
        return UInt64(v)
    }

    static func run(_ ctx: CommandContext, readOnly roCommand: Bool) {
        var ops: [Op] = []
        var overflow = Overflow.wrap
        var readonly = true
        var highestWrite: UInt64 = 0
        var j = 2
        while j < ctx.argc {
            let remaining = ctx.argc - j - 1
            let opcode: Opcode
            switch ctx.option(j) {
            case "GET" where remaining >= 2: opcode = .get
            case "SET" where remaining >= 3: opcode = .set
            case "INCRBY" where remaining >= 3: opcode = .incrby
            case "OVERFLOW" where remaining >= 1:
                switch ctx.option(j + 1) {
                case "WRAP": overflow = .wrap
                case "SAT": overflow = .sat
                case "FAIL": overflow = .fail
                default: return ctx.error("ERR Invalid OVERFLOW type specified")
                }
                j += 2
                continue
            default:
                return ctx.syntaxError()
            }
            guard let (signed, bits) = type(ctx, ctx.args[j + 1]) else { return }
            guard let off = offset(ctx, ctx.args[j + 2], bits: bits) else { return }
            var value: Int64 = 0
            if opcode != .get {
                readonly = false
                highestWrite = max(highestWrite, off + UInt64(bits) - 1)
                guard let v = ctx.integerArgument(j + 3) else { return }
                value = v
            }
            ops.append(Op(offset: off, value: value, opcode: opcode, overflow: overflow, bits: bits, signed: signed))
            j += opcode == .get ? 3 : 4
        }

        let key = ctx.key(1)
        if readonly {
            var bytes: ByteString? = nil
            switch ctx.lookupRead(key) {
            case nil: break
            case .string(let s)?: bytes = s.byteString
            default: return ctx.wrongType()
            }
            ctx.arrayHeader(ops.count)
            if let bytes {
                bytes.withUnsafeBytes { p in for op in ops { get(ctx, op, p) } }
            } else {
                for op in ops { get(ctx, op, nil) }
            }
            return
        }
        if roCommand { return ctx.error("ERR BITFIELD_RO only supports the GET subcommand") }

        // Redis's lookupStringForBitCommand: create or zero-pad the string to hold the highest bit.
        let size = Int(highestWrite >> 3) + 1
        var changes = 0
        func apply(_ bytes: inout [UInt8], grown: Bool) {
            ctx.arrayHeader(ops.count)
            bytes.withUnsafeMutableBytes { p in
                for op in ops {
                    if op.opcode == .get {
                        get(ctx, op, UnsafeRawBufferPointer(p))
                    } else if write(ctx, op, p, grown: grown) {
                        changes += 1
                    }
                }
            }
        }
        switch ctx.stringWriteTarget(key) {
        case .missing:
            var bytes = [UInt8](repeating: 0, count: size)
            apply(&bytes, grown: true)
            ctx.db.set(key, .string(.raw(ByteString(bytes))))
        case .string:
            StringCommands.editRaw(ctx.db, key) { bytes in
                var grown = false
                if bytes.count < size {
                    StringCommands.makeRoom(&bytes, size - bytes.count)
                    bytes.append(contentsOf: repeatElement(0, count: size - bytes.count))
                    grown = true
                }
                apply(&bytes, grown: grown)
            }
        case .other:
            return ctx.wrongType()
        }
        if changes > 0 {
            ctx.modified(key, changes: changes)
            ctx.notify(KeyspaceEventClass.string, "setbit", key)
        }
    }

    /// GET: reads from up to 9 bytes copied at the offset's byte, zero past the end of the string.
    static func get(_ ctx: CommandContext, _ op: Op, _ src: UnsafeRawBufferPointer?) {
        var buf: (UInt64, UInt64) = (0, 0)
        let byte = op.offset >> 3
        withUnsafeMutableBytes(of: &buf) { b in
            if let src {
                for i in 0 ..< 9 {
                    let at = UInt64(i) + byte
                    if at >= UInt64(src.count) { break }
                    b[i] = src[Int(at)]
                }
            }
            let bit = op.offset & 7
            if op.signed {
                ctx.integer(Int(getSigned(UnsafeRawBufferPointer(b), bit, op.bits)))
            } else {
                ctx.integer(Int(truncatingIfNeeded: getUnsigned(UnsafeRawBufferPointer(b), bit, op.bits)))
            }
        }
    }

    /// SET or INCRBY on the grown string; replies the old (SET) or new (INCRBY) value, or a null when
    /// OVERFLOW FAIL refused it. True when it counts as a change (it wrote something different, or
    /// the string was created or grown).
    static func write(_ ctx: CommandContext, _ op: Op, _ p: UnsafeMutableRawBufferPointer, grown: Bool) -> Bool {
        if op.signed {
            let old = getSigned(UnsafeRawBufferPointer(p), op.offset, op.bits)
            var new: Int64
            let reply: Int64
            let overflowed: Bool
            if op.opcode == .incrby {
                let (o, wrapped) = signedOverflow(old, op.value, op.bits, op.overflow)
                overflowed = o != 0
                new = overflowed ? wrapped : old &+ op.value
                reply = new
            } else {
                new = op.value
                let (o, wrapped) = signedOverflow(new, 0, op.bits, op.overflow)
                overflowed = o != 0
                if overflowed { new = wrapped }
                reply = old
            }
            if overflowed && op.overflow == .fail {
                ctx.null()
                return false
            }
            ctx.integer(Int(reply))
            setUnsigned(p, op.offset, op.bits, UInt64(bitPattern: new))
            return grown || old != new
        } else {
            let old = getUnsigned(UnsafeRawBufferPointer(p), op.offset, op.bits)
            var new: UInt64
            let reply: UInt64
            let overflowed: Bool
            if op.opcode == .incrby {
                new = old &+ UInt64(bitPattern: op.value)
                let (o, wrapped) = unsignedOverflow(old, op.value, op.bits, op.overflow)
                overflowed = o != 0
                if overflowed { new = wrapped }
                reply = new
            } else {
                new = UInt64(bitPattern: op.value)
                let (o, wrapped) = unsignedOverflow(new, 0, op.bits, op.overflow)
                overflowed = o != 0
                if overflowed { new = wrapped }
                reply = old
            }
            if overflowed && op.overflow == .fail {
                ctx.null()
                return false
            }
            ctx.integer(Int(truncatingIfNeeded: reply))
            setUnsigned(p, op.offset, op.bits, new)
            return grown || old != new
        }
    }

    // MARK: - Bits (Redis's get/setUnsignedBitfield, one bit at a time, most significant first)

    static func getUnsigned(_ p: UnsafeRawBufferPointer, _ offset: UInt64, _ bits: Int) -> UInt64 {
        var value: UInt64 = 0
        var off = offset
        for _ in 0 ..< bits {
            let byte = p[Int(off >> 3)]
            let bit = 7 - (off & 7)
            value = (value << 1) | UInt64((byte >> UInt8(bit)) & 1)
            off += 1
        }
        return value
    }

    static func getSigned(_ p: UnsafeRawBufferPointer, _ offset: UInt64, _ bits: Int) -> Int64 {
        var value = Int64(bitPattern: getUnsigned(p, offset, bits))
        if bits < 64 && value & (Int64(1) << Int64(bits - 1)) != 0 {
            value |= Int64(bitPattern: UInt64.max << UInt64(bits))
        }
        return value
    }

    static func setUnsigned(_ p: UnsafeMutableRawBufferPointer, _ offset: UInt64, _ bits: Int, _ value: UInt64) {
        var off = offset
        for j in 0 ..< bits {
            let bitval: UInt8 = value & (UInt64(1) << UInt64(bits - 1 - j)) != 0 ? 1 : 0
            let i = Int(off >> 3)
            let bit = UInt8(7 - (off & 7))
            p[i] = (p[i] & ~(1 << bit)) | (bitval << bit)
            off += 1
        }
    }

    // MARK: - Overflow (Redis's check*BitfieldOverflow: 1 over, -1 under, 0 fits; and the result to store)

    static func unsignedOverflow(_ value: UInt64, _ incr: Int64, _ bits: Int, _ type: Overflow) -> (Int, UInt64) {
        let maxValue: UInt64 = bits == 64 ? UInt64.max : (UInt64(1) << UInt64(bits)) - 1
        let maxIncr = Int64(bitPattern: maxValue &- value)
        let minIncr = Int64(bitPattern: 0 &- value)
        func wrap() -> UInt64 { (value &+ UInt64(bitPattern: incr)) & ~(UInt64.max << UInt64(bits)) }
        if value > maxValue || (incr > 0 && incr > maxIncr) {
            switch type {
            case .wrap: return (1, wrap())
            case .sat: return (1, maxValue)
            case .fail: return (1, 0)
            }
        } else if incr < 0 && incr < minIncr {
            switch type {
            case .wrap: return (1, wrap())
            case .sat: return (-1, 0)
            case .fail: return (-1, 0)
            }
        }
        return (0, 0)
    }

    static func signedOverflow(_ value: Int64, _ incr: Int64, _ bits: Int, _ type: Overflow) -> (Int, Int64) {
        let maxValue: Int64 = bits == 64 ? Int64.max : (Int64(1) << Int64(bits - 1)) - 1
        let minValue = -maxValue - 1
        let maxIncr = Int64(bitPattern: UInt64(bitPattern: maxValue) &- UInt64(bitPattern: value))
        let minIncr = minValue &- value
        func wrap() -> Int64 {
            let msb = UInt64(1) << UInt64(bits - 1)
            var c = UInt64(bitPattern: value) &+ UInt64(bitPattern: incr)
            if bits < 64 {
                let mask = UInt64.max << UInt64(bits)
                if c & msb != 0 { c |= mask } else { c &= ~mask }
            }
            return Int64(bitPattern: c)
        }
        if value > maxValue || (bits != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr) {
            switch type {
            case .wrap: return (1, wrap())
            case .sat: return (1, maxValue)
            case .fail: return (1, 0)
            }
        } else if value < minValue || (bits != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr) {
            switch type {
            case .wrap: return (1, wrap())
            case .sat: return (-1, minValue)
            case .fail: return (-1, 0)
            }
        }
        return (0, 0)
    }
}
