// HyperLogLog commands over string values: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST, with Redis 7.0's
// replies, errors and side effects. PFCOUNT of one key stores the cardinality it computed in the
// header (a write: the key is touched, `dirty` bumped and the command propagated, as in Redis);
// PFCOUNT of several keys merges them into byte registers and counts that. PFDEBUG GETREG/TODENSE
// convert a sparse HLL to dense and count as a write without touching the key, as Redis does.
// The representation is in HyperLogLog.swift.
import StorageFormat

public enum HyperLogLogCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("pfadd", arity: -2, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1, handler: pfadd),
            CommandSpec("pfcount", arity: -2, flags: [.readonly, .mayReplicate], firstKey: 1, lastKey: -1, step: 1, handler: pfcount),
            CommandSpec("pfmerge", arity: -2, flags: [.write, .denyOOM], firstKey: 1, lastKey: -1, step: 1, handler: pfmerge),
            CommandSpec("pfdebug", arity: 3, flags: [.write, .denyOOM, .admin], firstKey: 2, lastKey: 2, step: 1, handler: pfdebug),
            CommandSpec("pfselftest", arity: 1, flags: [.admin], handler: pfselftest),
        ]
    }

    /// Redis's isHLLObjectOrReply for a value already known to be a string: an int-encoded string,
    /// or bytes failing the header checks, get `-WRONGTYPE Key is not a valid HyperLogLog string value.`
    static func isHLL(_ ctx: CommandContext, _ v: StringValue) -> Bool {
        let ok: Bool
        switch v {
        case .int: ok = false
        case .bytes(let b), .raw(let b): ok = b.withUnsafeBytes(HyperLogLog.isValid)
        }
        if !ok { ctx.error(HyperLogLog.notHLL) }
        return ok
    }

    /// The value under `key` as an HLL for reading: `.some(nil)` when missing, nil after an error reply.
    static func readHLL(_ ctx: CommandContext, _ key: ByteString) -> ByteString?? {
        switch ctx.lookupRead(key) {
        case nil: return .some(nil)
        case .string(let v)?:
            guard isHLL(ctx, v) else { return nil }
            return .some(v.byteString)
        default:
            ctx.wrongType()
            return nil
        }
    }

    /// Redis's dbUnshareStringValue on an HLL: an embstr-sized value becomes `raw` (no byte changes).
    static func unshare(_ ctx: CommandContext, _ key: ByteString) {
        _ = ctx.db.keys.modify(key) { v in
            if case .string(.bytes(let b)) = v { v = .string(.raw(b)) }
        }
    }

    // MARK: - The table's own value, in place
    //
    // PFADD and PFCOUNT work on the keyspace entry itself (CommandContext.withWriteValue and
    // withReadValue): one key lookup, the bytes read where they lie (no copy of the value, so no
    // reference counting), and changed in place when the command writes.

    /// What a key's value is to an HLL command.
    enum Kind { case hll, notHLL, wrongType }

    /// Redis's isHLLObject on the table's value: a string that passes the header checks.
    @inline(__always)
    static func kind(_ v: inout RedisValue) -> Kind {
        switch v {
        case .string(.raw(let b)), .string(.bytes(let b)): return b.withUnsafeBytes(HyperLogLog.isValid) ? .hll : .notHLL
        case .string(.int): return .notHLL
        default: return .wrongType
        }
    }

    /// The error reply for a value that is not an HLL (`kind` was not `.hll`).
    static func refuse(_ ctx: CommandContext, _ k: Kind) {
        if k == .wrongType { ctx.wrongType() } else { ctx.error(HyperLogLog.notHLL) }
    }

    /// Runs `body` on the bytes of the HLL `v` where they lie.
    @inline(__always)
    static func withBytes<R>(_ v: inout RedisValue, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch v {
        case .string(.raw(let b)), .string(.bytes(let b)): return b.withUnsafeBytes(body)
        default: return body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    /// Redis's dbUnshareStringValue on the table's value: `bytes` becomes `raw` (no byte changes).
    @inline(__always)
    static func unshare(_ v: inout RedisValue) {
        if case .string(.bytes(let b)) = v { v = .string(.raw(b)) }
    }

    /// Runs `edit` on the bytes of the HLL `v` (an HLL is at least 16 bytes, so they are an array the
    /// table alone holds): taken out, the table's reference dropped so the array is uniquely held and
    /// changes without a copy, and put back as `raw`.
    @inline(__always)
    static func edit<R>(_ v: inout RedisValue, _ edit: (inout [UInt8]) -> R) -> R {
        var bytes: [UInt8]
        switch v {
        case .string(.raw(let b)), .string(.bytes(let b)): bytes = b.bytes
        default: bytes = []
        }
        v = .string(.int(0))
        let r = edit(&bytes)
        v = .string(.raw(ByteString(keepingCapacity: bytes)))
        return r
    }

    // MARK: - PFADD

    /// Adds the elements `args[2...]` to the HLL `s`: how many changed a register, and whether `s`
    /// turned out corrupt (the adding stops there).
    static func addElements(_ s: inout [UInt8], _ args: UnsafeBufferPointer<[UInt8]>, maxBytes: Int) -> (changed: Int, corrupt: Bool) {
        var changed = 0
        for j in 2 ..< args.count {
            // The hash first, then the update outside the closure: the element is then only borrowed.
            let (index, count) = args[j].withUnsafeBytes(HyperLogLog.patternLength)
            let r = HyperLogLog.set(&s, index, count, maxBytes: maxBytes)
            if r == 1 { changed += 1 } else if r == -1 { return (changed, true) }
        }
        if changed > 0 { HyperLogLog.invalidateCache(&s) }
        return (changed, false)
    }

    /// Whether adding the elements `args[2...]` to the dense HLL `s` would raise a register. Most
    /// PFADDs to a big HLL change nothing; they are answered from the bytes in place.
    static func denseWouldChange(_ s: UnsafeRawBufferPointer, _ args: UnsafeBufferPointer<[UInt8]>) -> Bool {
        for j in 2 ..< args.count {
            let (index, count) = args[j].withUnsafeBytes(HyperLogLog.patternLength)
            if count > HyperLogLog.denseGet(s, HyperLogLog.headerSize, index) { return true }
        }
        return false
    }

    enum AddOutcome { case missing, refused(Kind), updated(Int), corrupt }

    static func pfadd(_ ctx: CommandContext) {
        let key = ctx.key(1)
        let maxBytes = ctx.config.hllSparseMaxBytes
        let outcome = ctx.args.withUnsafeBufferPointer { args -> AddOutcome in
            ctx.withWriteValue(key) { v -> AddOutcome in
                let k = kind(&v)
                guard k == .hll else { return .refused(k) }
                unshare(&v)
                let unchanged = withBytes(&v) { s in s[4] == HyperLogLog.dense && !denseWouldChange(s, args) }
                if unchanged { return .updated(0) }
                let (changed, corrupt) = edit(&v) { addElements(&$0, args, maxBytes: maxBytes) }
                return corrupt ? .corrupt : .updated(changed)
            } ?? .missing
        }
        var updated: Int
        switch outcome {
        case .refused(let k): return refuse(ctx, k)
        case .corrupt: return ctx.error(HyperLogLog.invalidObject)
        case .updated(let n): updated = n
        case .missing:
            var s = HyperLogLog.makeEmpty()
            // Creating the key is an update even when no element is given.
            updated = 1 + ctx.args.withUnsafeBufferPointer { addElements(&s, $0, maxBytes: maxBytes).changed }
            HyperLogLog.invalidateCache(&s)
            ctx.withDB { $0.set(key, .string(.raw(ByteString(s)))) }
        }
        if updated > 0 {
            ctx.modified(key, changes: updated)
            ctx.notify(KeyspaceEventClass.string, "pfadd", key)
        }
        ctx.integer(updated > 0 ? 1 : 0)
    }

    // MARK: - PFCOUNT

    enum CountOutcome { case refused(Kind), cached(UInt64), computed(UInt64), corrupt }

    static func pfcount(_ ctx: CommandContext) {
        if ctx.argc > 2 { return pfcountUnion(ctx) }
        let key = ctx.key(1)
        let outcome = ctx.withReadValue(key) { v -> CountOutcome in
            let k = kind(&v)
            guard k == .hll else { return .refused(k) }
            unshare(&v)
            let (valid, cached) = withBytes(&v) { (HyperLogLog.cacheIsValid($0), HyperLogLog.cachedCardinality($0)) }
            if valid { return .cached(cached) }
            guard let card = withBytes(&v, HyperLogLog.count) else { return .corrupt }
            edit(&v) { HyperLogLog.setCachedCardinality(&$0, card) }
            return .computed(card)
        }
        switch outcome {
        case nil: ctx.integer(0)
        case .refused(let k)?: refuse(ctx, k)
        case .corrupt?: ctx.error(HyperLogLog.invalidObject)
        case .cached(let n)?: ctx.integer(Int(truncatingIfNeeded: n))
        case .computed(let n)?:
            // A read-only command that changed the value: propagated as it is, as Redis does.
            ctx.modified(key)
            ctx.propagate(ctx.args)
            ctx.integer(Int(truncatingIfNeeded: n))
        }
    }

    /// PFCOUNT of several keys: their registers merged into bytes, and those counted.
    static func pfcountUnion(_ ctx: CommandContext) {
        var max = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        let ok = max.withUnsafeMutableBufferPointer { m -> Bool in
            for j in 1 ..< ctx.argc {
                let merged = ctx.withReadValue(ctx.key(j)) { v -> Bool in
                    let k = kind(&v)
                    guard k == .hll else {
                        refuse(ctx, k)
                        return false
                    }
                    if withBytes(&v, { HyperLogLog.merge(into: m, $0) }) { return true }
                    ctx.error(HyperLogLog.invalidObject)
                    return false
                }
                if merged == false { return false }
            }
            return true
        }
        guard ok else { return }
        ctx.integer(Int(truncatingIfNeeded: max.withUnsafeBufferPointer(HyperLogLog.countRaw)))
    }

    static func pfmerge(_ ctx: CommandContext) {
        var max = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        var useDense = false
        for j in 1 ..< ctx.argc {
            guard let found = readHLL(ctx, ctx.key(j)) else { return }
            guard let s = found else { continue }
            if s[4] == HyperLogLog.dense { useDense = true }
            if !max.withUnsafeMutableBufferPointer({ m in s.withUnsafeBytes { HyperLogLog.merge(into: m, $0) } }) {
                return ctx.error(HyperLogLog.invalidObject)
            }
        }
        let key = ctx.key(1)
        var s: [UInt8]
        let existed: Bool
        if case .string(let v)? = ctx.lookupWrite(key) {
            s = v.byteString.bytes
            existed = true
        } else {
            s = HyperLogLog.makeEmpty()
            existed = false
        }
        if useDense && !HyperLogLog.sparseToDense(&s) {
            if !existed { ctx.db.set(key, .string(.raw(ByteString(s)))) }
            return ctx.error(HyperLogLog.invalidObject)
        }
        let maxBytes = ctx.config.hllSparseMaxBytes
        for j in 0 ..< HyperLogLog.registerCount where max[j] != 0 {
            _ = HyperLogLog.set(&s, j, max[j], maxBytes: maxBytes)
        }
        HyperLogLog.invalidateCache(&s)
        ctx.db.set(key, .string(.raw(ByteString(s))), keepTTL: true)
        ctx.modified(key)
        ctx.notify(KeyspaceEventClass.string, "pfadd", key)
        ctx.ok()
    }

    static func pfdebug(_ ctx: CommandContext) {
        let key = ctx.key(2)
        guard case let found? = ctx.lookupWrite(key) else { return ctx.error("ERR The specified key does not exist") }
        guard case .string(let v) = found else { return ctx.wrongType() }
        guard isHLL(ctx, v) else { return }
        unshare(ctx, key)
        let s = v.byteString
        let isSparse = s[4] == HyperLogLog.sparse
        /// Converts the stored value to dense; false (after replying) when its sparse form is corrupt.
        func toDense() -> Bool {
            var ok = true
            _ = StringCommands.editRaw(ctx.db, key) { ok = HyperLogLog.sparseToDense(&$0) }
            if !ok { ctx.error(HyperLogLog.invalidObject) }
            return ok
        }
        switch ctx.option(1) {
        case "GETREG":
            var bytes = s.bytes
            if isSparse {
                guard toDense() else { return }
                ctx.engine.dirty += 1
                HyperLogLog.sparseToDense(&bytes)
            }
            ctx.arrayHeader(HyperLogLog.registerCount)
            bytes.withUnsafeBytes { b in
                for j in 0 ..< HyperLogLog.registerCount {
                    ctx.integer(Int(HyperLogLog.denseGet(b, HyperLogLog.headerSize, j)))
                }
            }
        case "DECODE":
            guard isSparse else { return ctx.error("ERR HLL encoding is not sparse") }
            var out: [UInt8] = []
            s.withUnsafeBytes { b in
                var p = HyperLogLog.headerSize
                while p < b.count {
                    let op = b[p]
                    if HyperLogLog.isZero(op) {
                        out.append(contentsOf: "z:\(HyperLogLog.zeroLen(op)) ".utf8)
                        p += 1
                    } else if HyperLogLog.isXZero(op) {
                        out.append(contentsOf: "Z:\(HyperLogLog.xzeroLen(op, HyperLogLog.byteAfter(b, p))) ".utf8)
                        p += 2
                    } else {
                        out.append(contentsOf: "v:\(HyperLogLog.valValue(op)),\(HyperLogLog.valLen(op)) ".utf8)
                        p += 1
                    }
                }
            }
            while out.last == UInt8(ascii: " ") { out.removeLast() }
            ctx.bulk(out)
        case "ENCODING":
            ctx.simple(isSparse ? "sparse" : "dense")
        case "TODENSE":
            if isSparse {
                guard toDense() else { return }
                ctx.engine.dirty += 1
            }
            ctx.integer(isSparse ? 1 : 0)
        default:
            ctx.error("ERR Unknown PFDEBUG subcommand '\(String(decoding: ctx.args[1].prefix { $0 != 0 }, as: UTF8.self))'")
        }
    }

    /// PFSELFTEST: the dense register accessors against a byte array, then dense and sparse HLLs fed
    /// the same ten million elements, checked to agree and to stay within six standard errors.
    static func pfselftest(_ ctx: CommandContext) {
        var dense = [UInt8](repeating: 0, count: HyperLogLog.denseSize)
        dense[4] = HyperLogLog.dense
        var bytecounters = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        var rng = SystemRandomNumberGenerator()
        // Test 1: register access.
        for _ in 0 ..< 1000 {
            let failure: String? = dense.withUnsafeMutableBytes { r in
                for i in 0 ..< HyperLogLog.registerCount {
                    let v = UInt8.random(in: 0 ... 63, using: &rng)
                    bytecounters[i] = v
                    HyperLogLog.denseSet(r, HyperLogLog.headerSize, i, v)
                }
                for i in 0 ..< HyperLogLog.registerCount {
                    let v = HyperLogLog.denseGet(UnsafeRawBufferPointer(r), HyperLogLog.headerSize, i)
                    if v != bytecounters[i] {
                        return "TESTFAILED Register \(i) should be \(bytecounters[i]) but is \(v)"
                    }
                }
                return nil
            }
            if let failure { return ctx.error(failure) }
        }
        // Test 2: approximation error, dense and sparse side by side.
        for i in HyperLogLog.headerSize ..< dense.count { dense[i] = 0 }
        var sparse = HyperLogLog.makeEmpty()
        let maxBytes = ctx.config.hllSparseMaxBytes
        let relerr = 1.04 / Double(HyperLogLog.registerCount).squareRoot()
        var checkpoint: Int64 = 1
        let seed = UInt64.random(in: 0 ... UInt64.max, using: &rng)
        for j: UInt64 in 1 ... 10_000_000 {
            var ele = j ^ seed
            withUnsafeBytes(of: &ele) { e in
                let (index, count) = HyperLogLog.patternLength(e)
                _ = dense.withUnsafeMutableBytes { HyperLogLog.denseSetIfGreater($0, index, count) }
                _ = HyperLogLog.set(&sparse, index, count, maxBytes: maxBytes)
            }
            guard Int64(j) == checkpoint else { continue }
            if j < UInt64(max(0, maxBytes / 2)) && sparse[4] != HyperLogLog.sparse {
                return ctx.error("TESTFAILED sparse encoding not used")
            }
            let denseCount = dense.withUnsafeBytes { HyperLogLog.count($0) } ?? 0
            let sparseCount = sparse.withUnsafeBytes { HyperLogLog.count($0) } ?? 0
            if denseCount != sparseCount { return ctx.error("TESTFAILED dense/sparse disagree") }
            var abserr = checkpoint - Int64(bitPattern: denseCount)
            var maxerr = UInt64((relerr * 6 * Double(checkpoint)).rounded(.up))
            if j == 10 { maxerr = 1 }
            if abserr < 0 { abserr = -abserr }
            if abserr > Int64(maxerr) {
                return ctx.error("TESTFAILED Too big error. card:\(checkpoint) abserr:\(abserr)")
            }
            checkpoint *= 10
        }
        ctx.ok()
    }
}
