// Sorted set commands (Redis 7.0): ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZCOUNT
// ZLEXCOUNT, the ZRANGE family (rank, BYSCORE, BYLEX, REV, LIMIT, WITHSCORES, ZRANGESTORE and the
// old ZREVRANGE/Z[REV]RANGEBY{SCORE,LEX} forms), ZREMRANGEBY{RANK,SCORE,LEX}, the pops (ZPOPMIN
// ZPOPMAX ZMPOP and the blocking BZPOPMIN BZPOPMAX BZMPOP), ZRANDMEMBER, ZUNION ZINTER ZDIFF and
// their STORE forms, ZINTERCARD, ZSCAN. Every range reduces to a run of ranks (a start and a
// length, forwards or backwards), which the zset walks in O(log n + length).
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

/// A score interval as ZRANGEBYSCORE reads it: `(` makes an end exclusive.
struct ZScoreRange {
    var min: Double, max: Double
    var minExclusive = false, maxExclusive = false

    /// Parses both ends as Redis does (strtod over the text; NaN refused), nil when invalid.
    init?(_ a: [UInt8], _ b: [UInt8]) {
        guard let (lo, lx) = ZScoreRange.parseEnd(a), let (hi, hx) = ZScoreRange.parseEnd(b) else { return nil }
        min = lo; max = hi; minExclusive = lx; maxExclusive = hx
    }

    static func parseEnd(_ raw: [UInt8]) -> (Double, Bool)? {
        var b = raw.prefix { $0 != 0 }
        var exclusive = false
        if b.first == UInt8(ascii: "(") {
            exclusive = true
            b = b.dropFirst()
        }
        let v: Double? = b.withUnsafeBytes { raw -> Double? in
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: raw.count + 1) { tmp -> Double? in
                for i in 0 ..< raw.count { tmp[i] = CChar(bitPattern: raw[i]) }
                tmp[raw.count] = 0
                var end: UnsafeMutablePointer<CChar>? = nil
                let d = strtod(tmp.baseAddress!, &end)
                guard let e = end, e - tmp.baseAddress! == raw.count, !d.isNaN else { return nil }
                return d
            }
        }
        guard let v else { return nil }
        return (v, exclusive)
    }

    /// Elements below the interval.
    func below(_ z: ZSetValue) -> Int {
        minExclusive ? z.countScorePrefix { $0 <= min } : z.countScorePrefix { $0 < min }
    }

    /// Elements below or inside the interval.
    func upTo(_ z: ZSetValue) -> Int {
        maxExclusive ? z.countScorePrefix { $0 < max } : z.countScorePrefix { $0 <= max }
    }
}

/// A member interval as ZRANGEBYLEX reads it: `-`, `+`, `[inclusive`, `(exclusive`.
struct ZLexRange {
    enum Bound {
        case minusInfinity, plusInfinity
        case inclusive(ByteString), exclusive(ByteString)

        init?(_ b: [UInt8]) {
            guard let c = b.first else { return nil }
            switch c {
            case UInt8(ascii: "+"):
                guard b.count == 1 || b[1] == 0 else { return nil }
                self = .plusInfinity
            case UInt8(ascii: "-"):
                guard b.count == 1 || b[1] == 0 else { return nil }
                self = .minusInfinity
            case UInt8(ascii: "("): self = .exclusive(ByteString(b[1...]))
            case UInt8(ascii: "["): self = .inclusive(ByteString(b[1...]))
            default: return nil
            }
        }
    }

    var min: Bound, max: Bound

    init?(_ a: [UInt8], _ b: [UInt8]) {
        guard let lo = Bound(a), let hi = Bound(b) else { return nil }
        min = lo; max = hi
    }

    /// Elements below the interval (those not >= min).
    func below(_ z: ZSetValue) -> Int {
        switch min {
        case .minusInfinity: return 0
        case .plusInfinity: return z.count
        case .inclusive(let x): return z.countMemberPrefix { $0 < x }
        case .exclusive(let x): return z.countMemberPrefix { $0 <= x }
        }
    }

    /// Elements below or inside the interval (those <= max).
    func upTo(_ z: ZSetValue) -> Int {
        switch max {
        case .minusInfinity: return 0
        case .plusInfinity: return z.count
        case .inclusive(let x): return z.countMemberPrefix { $0 <= x }
        case .exclusive(let x): return z.countMemberPrefix { $0 < x }
        }
    }
}

/// An input of ZUNION/ZINTER/ZDIFF: a zset, a set (every member scores 1), or a missing key.
enum ZSetSource {
    case missing
    case zset(ZSetValue)
    case set(SetValue)

    var count: Int {
        switch self {
        case .missing: return 0
        case .zset(let z): return z.count
        case .set(let s): return s.count
        }
    }

    func score(_ m: ByteString) -> Double? {
        switch self {
        case .missing: return nil
        case .zset(let z): return z.score(m)
        case .set(let s): return s.contains(m) ? 1 : nil
        }
    }

    func forEach(_ body: (ByteString, Double) -> Void) {
        switch self {
        case .missing: return
        case .zset(let z): z.forEach(fromRank: 0, count: z.count, reverse: false, body)
        case .set(let s): s.forEach { body($0, 1) }
        }
    }

    func isSame(_ other: ZSetSource) -> Bool {
        switch (self, other) {
        case (.zset(let a), .zset(let b)): return a === b
        case (.set(let a), .set(let b)): return a === b
        default: return false
        }
    }
}

public enum ZSetCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("zadd", arity: -4, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) { zadd($0, incrCommand: false) },
            CommandSpec("zincrby", arity: 4, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1) { zadd($0, incrCommand: true) },
            CommandSpec("zrem", arity: -3, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1, handler: zrem),
            CommandSpec("zcard", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: zcard),
            CommandSpec("zscore", arity: 3, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: zscore),
            CommandSpec("zmscore", arity: -3, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: zmscore),
            CommandSpec("zrank", arity: 3, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1) { zrank($0, reverse: false) },
            CommandSpec("zrevrank", arity: 3, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1) { zrank($0, reverse: true) },
            CommandSpec("zcount", arity: 4, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: zcount),
            CommandSpec("zlexcount", arity: 4, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1, handler: zlexcount),
            CommandSpec("zrange", arity: -4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) {
                zrangeGeneric($0, argStart: 1, store: false, type: nil, reverse: nil)
            },
            CommandSpec("zrangestore", arity: -5, flags: [.write, .denyOOM], firstKey: 1, lastKey: 2, step: 1) {
                zrangeGeneric($0, argStart: 2, store: true, type: nil, reverse: nil)
            },
            CommandSpec("zrevrange", arity: -4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) {
                zrangeGeneric($0, argStart: 1, store: false, type: .rank, reverse: true)
            },
            CommandSpec("zrangebyscore", arity: -4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) {
                zrangeGeneric($0, argStart: 1, store: false, type: .score, reverse: false)
            },
            CommandSpec("zrevrangebyscore", arity: -4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) {
                zrangeGeneric($0, argStart: 1, store: false, type: .score, reverse: true)
            },
            CommandSpec("zrangebylex", arity: -4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) {
                zrangeGeneric($0, argStart: 1, store: false, type: .lex, reverse: false)
            },
            CommandSpec("zrevrangebylex", arity: -4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) {
                zrangeGeneric($0, argStart: 1, store: false, type: .lex, reverse: true)
            },
            CommandSpec("zremrangebyrank", arity: 4, flags: [.write], firstKey: 1, lastKey: 1, step: 1) { zremrange($0, .rank) },
            CommandSpec("zremrangebyscore", arity: 4, flags: [.write], firstKey: 1, lastKey: 1, step: 1) { zremrange($0, .score) },
            CommandSpec("zremrangebylex", arity: 4, flags: [.write], firstKey: 1, lastKey: 1, step: 1) { zremrange($0, .lex) },
            CommandSpec("zpopmin", arity: -2, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1) { zpop($0, max: false) },
            CommandSpec("zpopmax", arity: -2, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1) { zpop($0, max: true) },
            CommandSpec("bzpopmin", arity: -3, flags: [.write, .noScript, .blocking, .fast], firstKey: 1, lastKey: -2, step: 1) {
                bzpop($0, max: false)
            },
            CommandSpec("bzpopmax", arity: -3, flags: [.write, .noScript, .blocking, .fast], firstKey: 1, lastKey: -2, step: 1) {
                bzpop($0, max: true)
            },
            CommandSpec("zmpop", arity: -4, flags: [.write]) { zmpop($0, numkeysIndex: 1, blocking: false) },
            CommandSpec("bzmpop", arity: -5, flags: [.write, .blocking]) { zmpop($0, numkeysIndex: 2, blocking: true) },
            CommandSpec("zrandmember", arity: -2, flags: [.readonly, .random], firstKey: 1, lastKey: 1, step: 1, handler: zrandmember),
            CommandSpec("zunion", arity: -3, flags: [.readonly]) { zsetOp($0, dst: nil, numkeysIndex: 1, op: .union, cardinalityOnly: false) },
            CommandSpec("zinter", arity: -3, flags: [.readonly]) { zsetOp($0, dst: nil, numkeysIndex: 1, op: .inter, cardinalityOnly: false) },
            CommandSpec("zdiff", arity: -3, flags: [.readonly]) { zsetOp($0, dst: nil, numkeysIndex: 1, op: .diff, cardinalityOnly: false) },
            CommandSpec("zunionstore", arity: -4, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1) {
                zsetOp($0, dst: $0.key(1), numkeysIndex: 2, op: .union, cardinalityOnly: false)
            },
            CommandSpec("zinterstore", arity: -4, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1) {
                zsetOp($0, dst: $0.key(1), numkeysIndex: 2, op: .inter, cardinalityOnly: false)
            },
            CommandSpec("zdiffstore", arity: -4, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1) {
                zsetOp($0, dst: $0.key(1), numkeysIndex: 2, op: .diff, cardinalityOnly: false)
            },
            CommandSpec("zintercard", arity: -3, flags: [.readonly]) { zsetOp($0, dst: nil, numkeysIndex: 1, op: .inter, cardinalityOnly: true) },
            CommandSpec("zscan", arity: -3, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: zscan),
        ]
    }

    enum RangeType { case rank, score, lex }
    enum SetOp { case union, inter, diff }

    static let notFloatRange = "ERR min or max is not a float"
    static let notLexRange = "ERR min or max not valid string range item"

    // MARK: - Parsing

    /// The zset at `key`: `.some(nil)` when there is none, nil after replying WRONGTYPE.
    static func fetch(_ ctx: CommandContext, _ key: ByteString, write: Bool = false) -> ZSetValue?? {
        switch write ? ctx.lookupWrite(key) : ctx.lookupRead(key) {
        case nil: return .some(nil)
        case .zset(let z)?: return .some(z)
        default:
            ctx.wrongType()
            return nil
        }
    }

    /// A float argument as Redis's getDoubleFromObject reads it: the whole text, no leading space,
    /// no NaN, no overflow to infinity or underflow to zero (a literal "inf" is fine).
    static func parseScore(_ b: [UInt8]) -> Double? {
        guard let f = b.first, !(f == 32 || (f >= 9 && f <= 13)) else { return nil }
        return b.withUnsafeBytes { raw -> Double? in
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: raw.count + 1) { tmp -> Double? in
                for i in 0 ..< raw.count { tmp[i] = CChar(bitPattern: raw[i]) }
                tmp[raw.count] = 0
                var end: UnsafeMutablePointer<CChar>? = nil
                errno = 0
                let d = strtod(tmp.baseAddress!, &end)
                guard let e = end, e - tmp.baseAddress! == raw.count, !d.isNaN else { return nil }
                if errno == ERANGE && (d.isInfinite || d == 0) { return nil }
                return d
            }
        }
    }

    /// A blocking timeout in seconds, as an absolute deadline in ms (0 = forever); nil after replying.
    static func parseTimeout(_ ctx: CommandContext, _ i: Int) -> Int64? { ctx.blockingDeadline(i) }

    /// A count that must be >= 0; replies `msg` (for a non-integer too) and returns nil otherwise.
    static func nonNegative(_ ctx: CommandContext, _ i: Int, _ msg: String) -> Int? {
        guard let v = StrictInteger.parse(ctx.args[i]), v >= 0 else {
            ctx.error(msg)
            return nil
        }
        return Int(v)
    }

    // MARK: - ZADD, ZINCRBY

    static func zadd(_ ctx: CommandContext, incrCommand: Bool) {
        var nx = false, xx = false, gt = false, lt = false, ch = false, incr = incrCommand
        var idx = 2
        // Options are short words; anything longer is the first score (no String made for it).
        options: while idx < ctx.argc && ctx.args[idx].count <= 4, let first = ctx.args[idx].first, first | 0x20 >= 0x61 {
            switch ctx.option(idx) {
            case "NX": nx = true
            case "XX": xx = true
            case "GT": gt = true
            case "LT": lt = true
            case "CH": ch = true
            case "INCR": incr = true
            default: break options
            }
            idx += 1
        }
        let elements = ctx.argc - idx
        if elements % 2 != 0 || elements == 0 { ctx.syntaxError(); return }
        if nx && xx {
            ctx.error("ERR XX and NX options at the same time are not compatible")
            return
        }
        if (gt && nx) || (lt && nx) || (gt && lt) {
            ctx.error("ERR GT, LT, and/or NX options at the same time are not compatible")
            return
        }
        if incr && elements > 2 {
            ctx.error("ERR INCR option supports a single increment-element pair")
            return
        }
        var scores: [Double] = []
        scores.reserveCapacity(elements / 2)
        for j in stride(from: idx, to: ctx.argc, by: 2) {
            guard let s = parseScore(ctx.args[j]) else { ctx.error(RedisError.notFloat); return }
            scores.append(s)
        }
        _ = zaddApply(ctx, ZAddOptions(nx: nx, xx: xx, gt: gt, lt: lt, ch: ch, incr: incr),
                      scores: scores, firstMember: idx + 1, step: 2)
    }

    /// ZADD's options once parsed (GEOADD passes NX, XX and CH through).
    struct ZAddOptions {
        var nx = false, xx = false, gt = false, lt = false, ch = false, incr = false
    }

    /// ZADD's work once its arguments are parsed: `scores[n]` goes with the member at argument
    /// `firstMember + n * step`. Replies, notifies and signals as ZADD; returns the elements added or updated.
    static func zaddApply(_ ctx: CommandContext, _ o: ZAddOptions, scores: [Double], firstMember: Int, step: Int) -> Int {
        let key = ctx.key(1)
        guard let found = fetch(ctx, key, write: true) else { return 0 }
        var added = 0, updated = 0, processed = 0
        var newScore = 0.0
        defer {
            if added + updated > 0 {
                ctx.modified(key, changes: added + updated)
                ctx.notify(KeyspaceEventClass.zset, o.incr ? "zincr" : "zadd", key)
            }
            if added > 0 { ctx.signalReady(key) }
        }
        let zset: ZSetValue
        if let f = found {
            zset = f
        } else {
            if o.xx {
                if o.incr { ctx.null() } else { ctx.replyInteger(0) }
                return 0
            }
            zset = ZSetValue()
            ctx.db.set(key, .zset(zset))
        }
        let config = ctx.config
        for n in 0 ..< scores.count {
            var score = scores[n]
            let member = ctx.key(firstMember + n * step)
            if let cur = zset.score(member) {
                if o.nx { continue }
                if o.incr {
                    score += cur
                    if score.isNaN {
                        ctx.error("ERR resulting score is not a number (NaN)")
                        return added + updated
                    }
                }
                if (o.lt && score >= cur) || (o.gt && score <= cur) { continue }
                newScore = score
                if score != cur {
                    zset.set(member, score: score, config: config)
                    updated += 1
                }
                processed += 1
            } else if !o.xx {
                zset.set(member, score: score, config: config)
                newScore = score
                added += 1
                processed += 1
            }
        }
        if o.incr {
            if processed > 0 { ctx.double(newScore) } else { ctx.null() }
        } else {
            ctx.replyInteger(o.ch ? added + updated : added)
        }
        return added + updated
    }

    // MARK: - Single-key reads and ZREM

    static func zrem(_ ctx: CommandContext) {
        let key = ctx.key(1)
        guard let found = fetch(ctx, key, write: true) else { return }
        guard let zset = found else { ctx.replyInteger(0); return }
        var removed = 0
        for i in 2 ..< ctx.argc where zset.remove(ctx.key(i)) {
            removed += 1
            if zset.count == 0 { break }
        }
        if removed > 0 {
            ctx.notify(KeyspaceEventClass.zset, "zrem", key)
            if zset.count == 0 {
                ctx.db.remove(key)
                ctx.notify(KeyspaceEventClass.generic, "del", key)
            }
            ctx.modified(key, changes: removed)
        }
        ctx.replyInteger(removed)
    }

    static func zcard(_ ctx: CommandContext) {
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        ctx.replyInteger(found?.count ?? 0)
    }

    static func zscore(_ ctx: CommandContext) {
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        if let s = found?.score(ctx.key(2)) { ctx.double(s) } else { ctx.null() }
    }

    static func zmscore(_ ctx: CommandContext) {
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        ctx.arrayHeader(ctx.argc - 2)
        for i in 2 ..< ctx.argc {
            if let s = found?.score(ctx.key(i)) { ctx.double(s) } else { ctx.null() }
        }
    }

    static func zrank(_ ctx: CommandContext, reverse: Bool) {
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        guard let zset = found, let r = zset.rank(ctx.key(2)) else { ctx.null(); return }
        ctx.replyInteger(reverse ? zset.count - 1 - r : r)
    }

    static func zcount(_ ctx: CommandContext) {
        guard let range = ZScoreRange(ctx.args[2], ctx.args[3]) else { ctx.error(notFloatRange); return }
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        guard let zset = found else { ctx.replyInteger(0); return }
        ctx.replyInteger(Swift.max(0, range.upTo(zset) - range.below(zset)))
    }

    static func zlexcount(_ ctx: CommandContext) {
        guard let range = ZLexRange(ctx.args[2], ctx.args[3]) else { ctx.error(notLexRange); return }
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        guard let zset = found else { ctx.replyInteger(0); return }
        ctx.replyInteger(Swift.max(0, range.upTo(zset) - range.below(zset)))
    }

    // MARK: - ZRANGE and friends

    /// ZRANGE's parser and every older form of it. `type`/`reverse` nil mean "as the options say".
    static func zrangeGeneric(_ ctx: CommandContext, argStart: Int, store: Bool, type fixedType: RangeType?, reverse fixedReverse: Bool?) {
        var withScores = false
        var offset = 0, limit = -1
        var type = fixedType
        var reverse = fixedReverse
        var j = argStart + 3
        while j < ctx.argc {
            let left = ctx.argc - j - 1
            let opt = ctx.option(j)
            if !store && opt == "WITHSCORES" {
                withScores = true
            } else if opt == "LIMIT" && left >= 2 {
                guard let o = ctx.integerArgument(j + 1), let l = ctx.integerArgument(j + 2) else { return }
                offset = Int(o)
                limit = Int(l)
                j += 2
            } else if fixedReverse == nil && reverse == nil && opt == "REV" {
                reverse = true
            } else if fixedType == nil && type == nil && opt == "BYLEX" {
                type = .lex
            } else if fixedType == nil && type == nil && opt == "BYSCORE" {
                type = .score
            } else {
                ctx.syntaxError()
                return
            }
            j += 1
        }
        let rev = reverse ?? false
        let rangeType = type ?? .rank
        if limit != -1 && rangeType == .rank {
            ctx.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
            return
        }
        if withScores && rangeType == .lex {
            ctx.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
            return
        }
        var minIdx = argStart + 1, maxIdx = argStart + 2
        if rev && rangeType != .rank { swap(&minIdx, &maxIdx) }

        var rankStart = 0, rankEnd = 0
        var scoreRange: ZScoreRange? = nil
        var lexRange: ZLexRange? = nil
        switch rangeType {
        case .rank:
            guard let s = ctx.integerArgument(minIdx), let e = ctx.integerArgument(maxIdx) else { return }
            rankStart = Int(s); rankEnd = Int(e)
        case .score:
            guard let r = ZScoreRange(ctx.args[minIdx], ctx.args[maxIdx]) else { ctx.error(notFloatRange); return }
            scoreRange = r
        case .lex:
            guard let r = ZLexRange(ctx.args[minIdx], ctx.args[maxIdx]) else { ctx.error(notLexRange); return }
            lexRange = r
        }

        let dst: ByteString? = store ? ctx.key(1) : nil
        guard let found = fetch(ctx, ctx.key(argStart)) else { return }
        guard let zset = found else {
            if let dst { finishStore(ctx, dst, nil, event: "zrangestore") } else { ctx.arrayHeader(0) }
            return
        }
        let length = zset.count
        var start = 0, n = 0
        switch rangeType {
        case .rank:
            var s = rankStart, e = rankEnd
            if s < 0 { s += length }
            if e < 0 { e += length }
            if s < 0 { s = 0 }
            if !(s > e || s >= length) {
                if e >= length { e = length - 1 }
                n = e - s + 1
                start = rev ? length - 1 - s : s
            }
        case .score, .lex:
            let lo: Int, hi: Int
            if let r = scoreRange { lo = r.below(zset); hi = r.upTo(zset) } else { lo = lexRange!.below(zset); hi = lexRange!.upTo(zset) }
            if hi > lo && offset >= 0 && !(offset > 0 && offset >= length) {
                n = hi - lo - offset
                if limit >= 0 { n = Swift.min(n, limit) }
                if n > 0 { start = rev ? hi - 1 - offset : lo + offset } else { n = 0 }
            }
        }
        emitRange(ctx, zset, start: start, count: n, reverse: rev, withScores: withScores, dst: dst)
    }

    /// Replies with (or stores at `dst`) `count` elements from rank `start`.
    static func emitRange(_ ctx: CommandContext, _ zset: ZSetValue, start: Int, count n: Int, reverse: Bool, withScores: Bool,
                          dst: ByteString?) {
        if let dst {
            var entries: [ZSetEntry] = []
            entries.reserveCapacity(n)
            zset.forEach(fromRank: start, count: n, reverse: reverse) { m, s in entries.append(ZSetEntry(member: m, score: s)) }
            finishStore(ctx, dst, entries.isEmpty ? nil : ZSetValue(entries: entries, config: ctx.config), event: "zrangestore")
            return
        }
        let resp3 = ctx.resp >= 3
        ctx.arrayHeader(withScores && !resp3 ? n * 2 : n)
        zset.forEach(fromRank: start, count: n, reverse: reverse) { m, s in
            if withScores && resp3 { ctx.arrayHeader(2) }
            ctx.bulk(m)
            if withScores { ctx.double(s) }
        }
    }

    /// Stores a result zset (or deletes `dst` for an empty one) and replies with its size.
    static func finishStore(_ ctx: CommandContext, _ dst: ByteString, _ result: ZSetValue?, event: StaticString) {
        if let result, result.count > 0 {
            ctx.db.set(dst, .zset(result))
            ctx.replyInteger(result.count)
            ctx.modified(dst)
            ctx.notify(KeyspaceEventClass.zset, event, dst)
            ctx.signalReady(dst)
        } else {
            ctx.replyInteger(0)
            if ctx.db.remove(dst) {
                ctx.modified(dst)
                ctx.notify(KeyspaceEventClass.generic, "del", dst)
            }
        }
    }

    // MARK: - ZREMRANGEBY*

    static func zremrange(_ ctx: CommandContext, _ type: RangeType) {
        var rs = 0, re = 0
        var scoreRange: ZScoreRange? = nil
        var lexRange: ZLexRange? = nil
        switch type {
        case .rank:
            guard let s = ctx.integerArgument(2), let e = ctx.integerArgument(3) else { return }
            rs = Int(s); re = Int(e)
        case .score:
            guard let r = ZScoreRange(ctx.args[2], ctx.args[3]) else { ctx.error(notFloatRange); return }
            scoreRange = r
        case .lex:
            guard let r = ZLexRange(ctx.args[2], ctx.args[3]) else { ctx.error(notLexRange); return }
            lexRange = r
        }
        let key = ctx.key(1)
        guard let found = fetch(ctx, key, write: true) else { return }
        guard let zset = found else { ctx.replyInteger(0); return }
        let length = zset.count
        var lo = 0, hi = 0
        switch type {
        case .rank:
            if rs < 0 { rs += length }
            if re < 0 { re += length }
            if rs < 0 { rs = 0 }
            if rs > re || rs >= length { ctx.replyInteger(0); return }
            if re >= length { re = length - 1 }
            lo = rs; hi = re + 1
        case .score:
            lo = scoreRange!.below(zset); hi = scoreRange!.upTo(zset)
        case .lex:
            lo = lexRange!.below(zset); hi = lexRange!.upTo(zset)
        }
        let removed = zset.removeRanks(lo, hi)
        if removed > 0 {
            let event: StaticString = type == .rank ? "zremrangebyrank" : type == .score ? "zremrangebyscore" : "zremrangebylex"
            ctx.notify(KeyspaceEventClass.zset, event, key)
            if zset.count == 0 {
                ctx.db.remove(key)
                ctx.notify(KeyspaceEventClass.generic, "del", key)
            }
            ctx.modified(key, changes: removed)
        }
        ctx.replyInteger(removed)
    }

    // MARK: - Pops

    /// Pops from the first of `keys` holding a zset. `count` -1 means a single pop without COUNT.
    static func genericPop(_ ctx: CommandContext, keys: [ByteString], max: Bool, emitKey: Bool, count: Int,
                           nested: Bool, nilWhenEmpty: Bool) {
        var key = ByteString()
        var zset: ZSetValue? = nil
        for k in keys {
            guard let found = fetch(ctx, k, write: true) else { return }
            if let z = found {
                key = k
                zset = z
                break
            }
        }
        guard let zset else {
            if nilWhenEmpty { ctx.nullArray() } else { ctx.arrayHeader(0) }
            return
        }
        if count == 0 { ctx.arrayHeader(0); return }
        let n = Swift.min(count == -1 ? 1 : count, zset.count)
        switch (nested, emitKey) {
        case (false, false): ctx.arrayHeader(n * 2)
        case (true, false): ctx.arrayHeader(n)
        case (false, true):
            ctx.arrayHeader(n * 2 + 1)
            ctx.bulk(key)
        case (true, true):
            ctx.arrayHeader(2)
            ctx.bulk(key)
            ctx.arrayHeader(n)
        }
        for _ in 0 ..< n {
            let e = zset.popFirst(max: max)!
            if nested { ctx.arrayHeader(2) }
            ctx.bulk(e.member)
            ctx.double(e.score)
        }
        ctx.notify(KeyspaceEventClass.zset, max ? "zpopmax" : "zpopmin", key)
        if zset.count == 0 {
            ctx.db.remove(key)
            ctx.notify(KeyspaceEventClass.generic, "del", key)
        }
        ctx.modified(key, changes: n)
        // BZPOPMIN / ZMPOP / BZMPOP are logged as the plain pop on the key they served.
        if emitKey && ctx.propagating {
            var op = [Array((max ? "ZPOPMAX" : "ZPOPMIN").utf8), key.bytes]
            if count != -1 { op.append(StrictInteger.format(Int64(n))) }
            ctx.propagate(op)
        }
    }

    static func zpop(_ ctx: CommandContext, max: Bool) {
        if ctx.argc > 3 { ctx.syntaxError(); return }
        var count = -1
        if ctx.argc == 3 {
            guard let c = nonNegative(ctx, 2, "ERR value is out of range, must be positive") else { return }
            count = c
        }
        genericPop(ctx, keys: [ctx.key(1)], max: max, emitKey: false, count: count, nested: ctx.resp > 2 && count != -1,
                   nilWhenEmpty: false)
    }

    /// The blocking half shared by BZPOPMIN/BZPOPMAX/BZMPOP: pop from the first non-empty key or block.
    static func blockingPop(_ ctx: CommandContext, keys: [ByteString], max: Bool, timeoutIndex: Int, count: Int,
                            nested: Bool, nilWhenEmpty: Bool) {
        guard let deadline = parseTimeout(ctx, timeoutIndex) else { return }
        for k in keys {
            guard let found = fetch(ctx, k, write: true) else { return }
            guard let z = found, z.count > 0 else { continue }
            genericPop(ctx, keys: [k], max: max, emitKey: true, count: count, nested: nested, nilWhenEmpty: nilWhenEmpty)
            return
        }
        if ctx.inTransaction {
            ctx.nullArray()
            return
        }
        ctx.block(keys: keys, deadline: deadline, onTimeout: .nullArray)
    }

    static func bzpop(_ ctx: CommandContext, max: Bool) {
        blockingPop(ctx, keys: (1 ..< ctx.argc - 1).map(ctx.key), max: max, timeoutIndex: ctx.argc - 1, count: -1,
                    nested: false, nilWhenEmpty: false)
    }

    static func zmpop(_ ctx: CommandContext, numkeysIndex: Int, blocking: Bool) {
        guard let numkeys = StrictInteger.parse(ctx.args[numkeysIndex]), numkeys >= 1 else {
            ctx.error("ERR numkeys should be greater than 0")
            return
        }
        let whereIdx = Int64(numkeysIndex) + numkeys + 1
        if whereIdx >= Int64(ctx.argc) { ctx.syntaxError(); return }
        let w = Int(whereIdx)
        let max: Bool
        switch ctx.option(w) {
        case "MIN": max = false
        case "MAX": max = true
        default: ctx.syntaxError(); return
        }
        guard let count = ctx.mpopCount(from: w + 1) else { return }
        let keys = (numkeysIndex + 1 ..< w).map(ctx.key)
        if blocking {
            blockingPop(ctx, keys: keys, max: max, timeoutIndex: 1, count: count, nested: true, nilWhenEmpty: true)
        } else {
            genericPop(ctx, keys: keys, max: max, emitKey: true, count: count, nested: true, nilWhenEmpty: true)
        }
    }

    // MARK: - ZRANDMEMBER

    static func zrandmember(_ ctx: CommandContext) {
        if ctx.argc >= 3 {
            guard let l = SetCommands.longRange(ctx, 2) else { return }
            var withScores = false
            if ctx.argc > 4 || (ctx.argc == 4 && ctx.option(3) != "WITHSCORES") {
                ctx.syntaxError()
                return
            }
            if ctx.argc == 4 {
                withScores = true
                if l < -(Int64.max / 2) || l > Int64.max / 2 {
                    ctx.error("ERR value is out of range")
                    return
                }
            }
            zrandmemberWithCount(ctx, l, withScores: withScores)
            return
        }
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        guard let zset = found else { ctx.null(); return }
        ctx.bulk(zset.entry(atRank: EngineRandom.int(in: 0 ..< zset.count)).member)
    }

    static func zrandmemberWithCount(_ ctx: CommandContext, _ l: Int64, withScores: Bool) {
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        guard let zset = found, l != 0 else { ctx.arrayHeader(0); return }
        let resp3 = ctx.resp >= 3
        func emit(_ e: ZSetEntry) {
            if withScores && resp3 { ctx.arrayHeader(2) }
            ctx.bulk(e.member)
            if withScores { ctx.double(e.score) }
        }
        let size = zset.count
        if l < 0 || l == 1 {
            let n = l < 0 ? Int(-l) : 1
            ctx.arrayHeader(withScores && !resp3 ? n * 2 : n)
            for i in 0 ..< n {
                if i & 1023 == 0 && ctx.outputOverLimit { return }
                emit(zset.entry(atRank: EngineRandom.int(in: 0 ..< size)))
            }
            return
        }
        if l >= size {
            // The whole zset, highest first (Redis iterates it from the tail).
            ctx.arrayHeader(withScores && !resp3 ? size * 2 : size)
            zset.forEach(fromRank: size - 1, count: size, reverse: true) { m, s in emit(ZSetEntry(member: m, score: s)) }
            return
        }
        let n = Int(l)
        var ranks = Array(0 ..< size)
        if n * 3 <= size {
            var seen = Set<Int>()
            ranks.removeAll(keepingCapacity: true)
            while ranks.count < n {
                let r = EngineRandom.int(in: 0 ..< size)
                if seen.insert(r).inserted { ranks.append(r) }
            }
        } else {
            for i in 0 ..< n { ranks.swapAt(i, EngineRandom.int(in: i ..< size)) }
            ranks.removeLast(size - n)
        }
        ctx.arrayHeader(withScores && !resp3 ? n * 2 : n)
        for r in ranks { emit(zset.entry(atRank: r)) }
    }

    // MARK: - ZUNION, ZINTER, ZDIFF

    static func zsetOp(_ ctx: CommandContext, dst: ByteString?, numkeysIndex: Int, op: SetOp, cardinalityOnly: Bool) {
        guard let setnum = ctx.integerArgument(numkeysIndex) else { return }
        if setnum < 1 {
            ctx.error("ERR at least 1 input key is needed for '\(ctx.spec.name)' command")
            return
        }
        if setnum > Int64(ctx.argc - (numkeysIndex + 1)) { ctx.syntaxError(); return }
        let n = Int(setnum)
        var sources: [ZSetSource] = []
        sources.reserveCapacity(n)
        for i in 0 ..< n {
            switch ctx.lookupRead(ctx.key(numkeysIndex + 1 + i)) {
            case nil: sources.append(.missing)
            case .zset(let z)?: sources.append(.zset(z))
            case .set(let s)?: sources.append(.set(s))
            default: ctx.wrongType(); return
            }
        }
        var weights = [Double](repeating: 1, count: n)
        var aggregate = 0 // 0 sum, 1 min, 2 max
        var withScores = false
        var limit = 0
        var j = numkeysIndex + 1 + n
        while j < ctx.argc {
            let remaining = ctx.argc - j
            let opt = ctx.option(j)
            if op != .diff && !cardinalityOnly && remaining >= n + 1 && opt == "WEIGHTS" {
                j += 1
                for i in 0 ..< n {
                    guard let w = parseScore(ctx.args[j]) else { ctx.error("ERR weight value is not a float"); return }
                    weights[i] = w
                    j += 1
                }
            } else if op != .diff && !cardinalityOnly && remaining >= 2 && opt == "AGGREGATE" {
                switch ctx.option(j + 1) {
                case "SUM": aggregate = 0
                case "MIN": aggregate = 1
                case "MAX": aggregate = 2
                default: ctx.syntaxError(); return
                }
                j += 2
            } else if dst == nil && !cardinalityOnly && opt == "WITHSCORES" {
                withScores = true
                j += 1
            } else if cardinalityOnly && remaining >= 2 && opt == "LIMIT" {
                guard let l = nonNegative(ctx, j + 1, "ERR LIMIT can't be negative") else { return }
                limit = l
                j += 2
            } else {
                ctx.syntaxError()
                return
            }
        }

        func combine(_ target: inout Double, _ v: Double) {
            switch aggregate {
            case 0:
                target += v
                if target.isNaN { target = 0 }
            case 1: if v < target { target = v }
            default: if v > target { target = v }
            }
        }

        var inputs = Array(zip(sources, weights))
        if op != .diff {
            // Smallest first (stable, as glibc's qsort is for these sizes).
            inputs = inputs.enumerated().sorted { a, b in
                a.element.0.count != b.element.0.count ? a.element.0.count < b.element.0.count : a.offset < b.offset
            }.map { $0.element }
        }

        var result: [ZSetEntry] = []
        var cardinality = 0
        switch op {
        case .inter:
            let (first, w0) = inputs[0]
            guard first.count > 0 else { break }
            var done = false
            first.forEach { m, s in
                if done { return }
                var score = w0 * s
                if score.isNaN { score = 0 }
                for (src, w) in inputs.dropFirst() {
                    if src.isSame(first) {
                        combine(&score, s * w)
                    } else if let v = src.score(m) {
                        combine(&score, v * w)
                    } else {
                        return
                    }
                }
                if cardinalityOnly {
                    cardinality += 1
                    if limit > 0 && cardinality >= limit { done = true }
                } else {
                    result.append(ZSetEntry(member: m, score: score))
                }
            }
        case .union:
            var acc: [ByteString: Double] = [:]
            for (src, w) in inputs where src.count > 0 {
                src.forEach { m, s in
                    var score = w * s
                    if score.isNaN { score = 0 }
                    if let old = acc[m] {
                        var t = old
                        combine(&t, score)
                        acc[m] = t
                    } else {
                        acc[m] = score
                    }
                }
            }
            result = acc.map { ZSetEntry(member: $0.key, score: $0.value) }
        case .diff:
            let (first, _) = inputs[0]
            first.forEach { m, s in
                for (src, _) in inputs.dropFirst() where src.score(m) != nil { return }
                result.append(ZSetEntry(member: m, score: s))
            }
        }

        if let dst {
            let event: StaticString = op == .union ? "zunionstore" : op == .inter ? "zinterstore" : "zdiffstore"
            finishStore(ctx, dst, result.isEmpty ? nil : ZSetValue(entries: result, config: ctx.config), event: event)
            return
        }
        if cardinalityOnly {
            ctx.replyInteger(cardinality)
            return
        }
        result.sort(by: ZSetEntry.precedes)
        let resp3 = ctx.resp >= 3
        ctx.arrayHeader(withScores && !resp3 ? result.count * 2 : result.count)
        for e in result {
            if withScores && resp3 { ctx.arrayHeader(2) }
            ctx.bulk(e.member)
            if withScores { ctx.double(e.score) }
        }
    }

    // MARK: - ZSCAN

    static func zscan(_ ctx: CommandContext) {
        guard let cursor = SetCommands.parseScanCursor(ctx.args[2]) else { ctx.error("ERR invalid cursor"); return }
        guard let found = fetch(ctx, ctx.key(1)) else { return }
        guard let zset = found else { SetCommands.replyEmptyScan(ctx); return }
        guard let (count, pattern) = SetCommands.parseScanOptions(ctx, from: 3) else { return }
        var items: [ZSetEntry] = []
        let next = zset.scan(cursor: cursor, count: count) { m, s in
            if let p = pattern, !globMatch(pattern: p, string: m.bytes, noCase: false) { return }
            items.append(ZSetEntry(member: m, score: s))
        }
        ctx.arrayHeader(2)
        ctx.bulk(Array(String(next).utf8))
        ctx.arrayHeader(items.count * 2)
        for e in items {
            ctx.bulk(e.member)
            ctx.bulk(formatDouble17g(e.score))
        }
    }
}

fileprivate extension CommandContext {
    /// An integer reply (`integer(_:)` alone is ambiguous with the argument parser of the same name).
    func replyInteger(_ v: Int) { let _: Void = integer(v) }
}
