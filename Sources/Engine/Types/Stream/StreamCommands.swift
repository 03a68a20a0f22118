// Stream commands without consumer groups: XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XSETID and
// XREAD (with BLOCK), with Redis 7.0's argument rules and error texts. XADD propagates the ID it
// generated and an approximate trim (~) as the exact one it did (= and the resulting length or first ID).
import StorageFormat

public enum StreamCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("xadd", arity: -5, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1, handler: xadd),
            CommandSpec("xrange", arity: -4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) { xrange($0, rev: false) },
            CommandSpec("xrevrange", arity: -4, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) { xrange($0, rev: true) },
            CommandSpec("xlen", arity: 2, flags: [.readonly, .fast], firstKey: 1, lastKey: 1, step: 1) { ctx in
                guard let found = stream(ctx, ctx.key(1), write: false) else { return }
                ctx.integer(found?.length ?? 0)
            },
            CommandSpec("xdel", arity: -3, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1, handler: xdel),
            CommandSpec("xtrim", arity: -4, flags: [.write], firstKey: 1, lastKey: 1, step: 1, handler: xtrim),
            CommandSpec("xsetid", arity: -3, flags: [.write, .denyOOM, .fast], firstKey: 1, lastKey: 1, step: 1, handler: xsetid),
            CommandSpec("xread", arity: -4, flags: [.readonly, .blocking], firstKey: 0, lastKey: 0, step: 0) { xread($0, group: false) },
        ] + StreamGroupCommands.all
    }

    static let maxID = StreamID(ms: .max, seq: .max)
    static let invalidID = "ERR Invalid stream ID specified as stream command argument"

    // MARK: - Helpers

    /// The stream under `key`: `.some(nil)` when missing, nil (after a WRONGTYPE reply) when not a stream.
    static func stream(_ ctx: CommandContext, _ key: ByteString, write: Bool) -> StreamValue?? {
        switch write ? ctx.lookupWrite(key) : ctx.lookupRead(key) {
        case nil: return .some(nil)
        case .stream(let s)?: return .some(s)
        default:
            ctx.wrongType()
            return nil
        }
    }

    /// string2ull: a strict decimal first, else strtoull's rules (leading spaces, a sign), whole string.
    static func parseUInt64(_ b: ArraySlice<UInt8>) -> UInt64? {
        if let v = b.withUnsafeBytes({ StrictInteger.parse($0) }) { return v < 0 ? nil : UInt64(v) }
        var i = b.startIndex
        while i < b.endIndex, b[i] == 32 || (b[i] >= 9 && b[i] <= 13) { i += 1 }
        var negative = false
        if i < b.endIndex, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { negative = b[i] == UInt8(ascii: "-"); i += 1 }
        guard i < b.endIndex else { return nil }
        var v: UInt64 = 0
        while i < b.endIndex {
            let c = b[i]
            guard c >= 48 && c <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 48))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return negative ? 0 &- v : v
    }

    /// Parses a stream ID as Redis does: "-" and "+" (unless strict), "ms", "ms-seq", and with
    /// `allowSeqStar` "ms-*" (seqGiven false). Replies the error and returns nil when invalid.
    static func parseID(_ ctx: CommandContext?, _ arg: [UInt8], missingSeq: UInt64, strict: Bool,
                        allowSeqStar: Bool = false) -> (id: StreamID, seqGiven: Bool)? {
        func invalid() -> (id: StreamID, seqGiven: Bool)? {
            ctx?.error(invalidID)
            return nil
        }
        // Redis copies the argument into a C string: it stops at a NUL byte.
        var a = arg[...]
        if let z = a.firstIndex(of: 0) { a = a[..<z] }
        if arg.count > 127 { return invalid() }
        if a.count == 1 && (a.first == UInt8(ascii: "-") || a.first == UInt8(ascii: "+")) {
            if strict { return invalid() }
            return a.first == UInt8(ascii: "-") ? (.zero, true) : (maxID, true)
        }
        let dash = a.firstIndex(of: UInt8(ascii: "-"))
        guard let ms = parseUInt64(dash.map { a[a.startIndex ..< $0] } ?? a) else { return invalid() }
        guard let d = dash else { return (StreamID(ms: ms, seq: missingSeq), true) }
        let rest = a[(d + 1)...]
        if allowSeqStar && rest.count == 1 && rest.first == UInt8(ascii: "*") { return (StreamID(ms: ms, seq: 0), false) }
        guard let seq = parseUInt64(rest) else { return invalid() }
        return (StreamID(ms: ms, seq: seq), true)
    }

    /// `id`'s text, "ms-seq".
    static func idText(_ id: StreamID) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(41)
        appendID(id, to: &out)
        return out
    }

    /// `id`'s text, "ms-seq", on the stack.
    @inline(__always)
    static func withIDText<R>(_ id: StreamID, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var tmp: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        return try withUnsafeMutableBytes(of: &tmp) { buf in
            var i = 48
            var m = id.seq
            repeat { i -= 1; buf[i] = UInt8(truncatingIfNeeded: m % 10) + 48; m /= 10 } while m > 0
            i -= 1; buf[i] = UInt8(ascii: "-")
            m = id.ms
            repeat { i -= 1; buf[i] = UInt8(truncatingIfNeeded: m % 10) + 48; m /= 10 } while m > 0
            return try body(UnsafeRawBufferPointer(rebasing: buf[i ..< 48]))
        }
    }

    static func appendID(_ id: StreamID, to out: inout [UInt8]) {
        appendUInt(id.ms, to: &out)
        out.append(UInt8(ascii: "-"))
        appendUInt(id.seq, to: &out)
    }

    static func appendUInt(_ v: UInt64, to out: inout [UInt8]) {
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &tmp) { b in
            var i = 24
            var m = v
            if m == 0 { i -= 1; b[i] = 48 }
            while m > 0 { i -= 1; b[i] = UInt8(m % 10) + 48; m /= 10 }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i ..< 24]))
        }
    }

    static func incr(_ id: StreamID) -> StreamID? {
        if id.seq == .max {
            if id.ms == .max { return nil }
            return StreamID(ms: id.ms + 1, seq: 0)
        }
        return StreamID(ms: id.ms, seq: id.seq + 1)
    }

    static func decr(_ id: StreamID) -> StreamID? {
        if id.seq == 0 {
            if id.ms == 0 { return nil }
            return StreamID(ms: id.ms - 1, seq: .max)
        }
        return StreamID(ms: id.ms, seq: id.seq - 1)
    }

    /// One entry as a reply: [id, [field, value, ...]].
    @inline(__always)
    static func replyEntry(_ ctx: CommandContext, _ ref: StreamEntryRef, _ b: UnsafeRawPointer) {
        ctx.out { out in
            RESPEncoder.arrayHeader(2, to: &out)
            withIDText(ref.id) { RESPEncoder.bulk($0, to: &out) }
            RESPEncoder.arrayHeader(ref.numFields * 2, to: &out)
            StreamValue.forEachField(ref, b) { f, v in
                RESPEncoder.bulk(f, to: &out)
                RESPEncoder.bulk(v, to: &out)
            }
        }
    }

    /// Replies the entries from `start` to `end` (at most `count`, 0 = all) as an array; returns how many.
    @discardableResult
    static func replyRange(_ ctx: CommandContext, _ s: StreamValue, _ start: StreamID, _ end: StreamID, count: Int, rev: Bool,
                           onEntry: ((StreamID) -> Void)? = nil) -> Int {
        let mark = ctx.session.out.count
        var n = 0
        s.forEach(from: start, to: end, rev: rev) { ref, b in
            replyEntry(ctx, ref, b)
            onEntry?(ref.id)
            n += 1
            return count == 0 || n < count
        }
        insertArrayHeader(ctx, n, at: mark)
        return n
    }

    /// Inserts an array header for `n` items at `mark` of the output (the items already written after it).
    static func insertArrayHeader(_ ctx: CommandContext, _ n: Int, at mark: Int) {
        var tmp: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &tmp) { buf in
            var i = 32
            buf[i - 2] = 13; buf[i - 1] = 10; i -= 2
            var m = n
            repeat { i -= 1; buf[i] = UInt8(truncatingIfNeeded: m % 10) + 48; m /= 10 } while m > 0
            i -= 1; buf[i] = UInt8(ascii: "*")
            ctx.session.out.insert(contentsOf: UnsafeRawBufferPointer(rebasing: buf[i ..< 32]), at: mark)
        }
    }

    // MARK: - XADD / XTRIM argument parsing

    struct TrimArgs {
        var strategy: StreamValue.TrimStrategy?
        var approx = false
        var limit: Int64 = 0
        /// Index of the MAXLEN/MINID argument value (for the propagated rewrite).
        var argIndex = 0
        var noMkStream = false
        var id: StreamID?
        var seqGiven = true
        var idIndex = 0
    }

    /// streamParseAddOrTrimArgsOrReply: nil after replying an error.
    static func parseTrimArgs(_ ctx: CommandContext, xadd: Bool) -> TrimArgs? {
        var t = TrimArgs()
        var i = 2
        var limitGiven = false
        let argc = ctx.argc
        while i < argc {
            let more = argc - 1 - i
            let a = ctx.args[i]
            if xadd && a.count == 1 && a[0] == UInt8(ascii: "*") { break }
            let opt = ctx.option(i)
            if (opt == "MAXLEN" || opt == "MINID") && more > 0 {
                if t.strategy != nil {
                    ctx.error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
                    return nil
                }
                t.approx = false
                let next = ctx.args[i + 1]
                if more >= 2 && next == [UInt8(ascii: "~")] {
                    t.approx = true
                    i += 1
                } else if more >= 2 && next == [UInt8(ascii: "=")] {
                    i += 1
                }
                if opt == "MAXLEN" {
                    guard let v = ctx.integerArgument(i + 1) else { return nil }
                    if v < 0 {
                        ctx.error("ERR The MAXLEN argument must be >= 0.")
                        return nil
                    }
                    t.strategy = .maxLen(v)
                } else {
                    guard let (id, _) = parseID(ctx, ctx.args[i + 1], missingSeq: 0, strict: true) else { return nil }
                    t.strategy = .minID(id)
                }
                i += 1
                t.argIndex = i
            } else if opt == "LIMIT" && more > 0 {
                guard let v = ctx.integerArgument(i + 1) else { return nil }
                if v < 0 {
                    ctx.error("ERR The LIMIT argument must be >= 0.")
                    return nil
                }
                t.limit = v
                limitGiven = true
                i += 1
            } else if xadd && opt == "NOMKSTREAM" {
                t.noMkStream = true
            } else if xadd {
                guard let (id, seqGiven) = parseID(ctx, a, missingSeq: 0, strict: true, allowSeqStar: true) else { return nil }
                t.id = id
                t.seqGiven = seqGiven
                break
            } else {
                ctx.syntaxError()
                return nil
            }
            i += 1
        }
        t.idIndex = i
        if t.limit != 0 && t.strategy == nil {
            ctx.error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
            return nil
        }
        if !xadd && t.strategy == nil {
            ctx.error("ERR syntax error, XTRIM must be called with a trimming strategy")
            return nil
        }
        if ctx.engine.loadingAOF {
            t.limit = 0
        } else if limitGiven {
            if !t.approx {
                ctx.error("ERR syntax error, LIMIT cannot be used without the special ~ option")
                return nil
            }
        } else if t.approx {
            var l = 100 * Int64(clamping: ctx.config.streamNodeMaxEntries)
            if l <= 0 { l = 10000 }
            if l > 1_000_000 { l = 1_000_000 }
            t.limit = l
        } else {
            t.limit = 0
        }
        return t
    }

    /// The propagated form after an approximate trim: `~` becomes `=` and the argument the length
    /// (MAXLEN) or first ID (MINID) the stream was left with.
    static func rewriteTrim(_ args: inout [[UInt8]], _ t: TrimArgs, _ s: StreamValue) {
        guard t.approx, let strategy = t.strategy else { return }
        args[t.argIndex - 1] = [UInt8(ascii: "=")]
        switch strategy {
        case .maxLen: args[t.argIndex] = StrictInteger.format(Int64(s.length))
        case .minID: args[t.argIndex] = idText(s.edgeID(first: true) ?? maxID)
        }
    }

    // MARK: - Commands

    static func xadd(_ ctx: CommandContext) {
        guard let t = parseTrimArgs(ctx, xadd: true) else { return }
        let fieldsAt = t.idIndex + 1
        if ctx.argc - fieldsAt < 2 || (ctx.argc - fieldsAt) % 2 == 1 {
            ctx.error(RedisError.wrongArity(ctx.spec.name))
            return
        }
        if let id = t.id, t.seqGiven, id == .zero {
            ctx.error("ERR The ID specified in XADD must be greater than 0-0")
            return
        }
        let key = ctx.key(1)
        guard let found = stream(ctx, key, write: true) else { return }
        let s: StreamValue
        if let f = found {
            s = f
        } else {
            if t.noMkStream {
                ctx.nullNoStream()
                return
            }
            s = StreamValue()
        }
        if s.lastID == maxID {
            ctx.error("ERR The stream has exhausted the last possible ID, unable to add more items")
            return
        }
        // The new ID.
        var id: StreamID
        var overflow = false
        if let given = t.id {
            if t.seqGiven {
                id = given
            } else if s.lastID.ms == given.ms {
                if s.lastID.seq == .max { overflow = true; id = given } else { id = StreamID(ms: given.ms, seq: s.lastID.seq + 1) }
            } else {
                id = given
            }
        } else {
            let ms = UInt64(max(ctx.now, 0))
            if ms > s.lastID.ms { id = StreamID(ms: ms, seq: 0) } else { id = incr(s.lastID) ?? .zero }
        }
        if overflow {
            // Redis reports this case with the other error (its errno is not set to EDOM here).
            ctx.error("ERR Elements are too large to be stored")
            return
        }
        if id <= s.lastID {
            ctx.error("ERR The ID specified in XADD is equal or smaller than the target stream top item")
            return
        }
        var total = 0
        for i in fieldsAt ..< ctx.argc { total += ctx.args[i].count }
        if total > StreamValue.listpackMaxSize {
            ctx.error("ERR Elements are too large to be stored")
            return
        }
        if found == nil { ctx.db.set(key, .stream(s)) }
        let config = ctx.config
        s.append(id: id, args: ctx.args, from: fieldsAt, maxBytes: config.streamNodeMaxBytes, maxEntries: config.streamNodeMaxEntries)
        withIDText(id) { t in ctx.out { RESPEncoder.bulk(t, to: &$0) } }
        ctx.modified(key)
        ctx.notify(KeyspaceEventClass.stream, "xadd", key)
        if let strategy = t.strategy {
            if s.trim(strategy, approx: t.approx, limit: t.limit) > 0 {
                ctx.notify(KeyspaceEventClass.stream, "xtrim", key)
            }
        }
        if ctx.propagating && (t.approx || t.id == nil || !t.seqGiven) {
            var args = ctx.args
            rewriteTrim(&args, t, s)
            args[t.idIndex] = idText(id)
            ctx.propagate(args)
        }
        ctx.signalReady(key)
    }

    static func xrange(_ ctx: CommandContext, rev: Bool) {
        let startArg = rev ? ctx.args[3] : ctx.args[2]
        let endArg = rev ? ctx.args[2] : ctx.args[3]
        guard let parsedStart = parseInterval(ctx, startArg, missingSeq: 0) else { return }
        var start = parsedStart.0
        let startEx = parsedStart.1
        if startEx {
            guard let s = incr(start) else {
                ctx.error("ERR invalid start ID for the interval")
                return
            }
            start = s
        }
        guard let parsedEnd = parseInterval(ctx, endArg, missingSeq: .max) else { return }
        var end = parsedEnd.0
        let endEx = parsedEnd.1
        if endEx {
            guard let e = decr(end) else {
                ctx.error("ERR invalid end ID for the interval")
                return
            }
            end = e
        }
        var count: Int64 = -1
        var j = 4
        while j < ctx.argc {
            if ctx.option(j) == "COUNT" && j + 1 < ctx.argc {
                guard let c = ctx.integerArgument(j + 1) else { return }
                count = max(c, 0)
                j += 2
            } else {
                ctx.syntaxError()
                return
            }
        }
        guard let found = stream(ctx, ctx.key(1), write: false) else { return }
        guard let s = found else {
            ctx.arrayHeader(0)
            return
        }
        if count == 0 {
            ctx.nullArray()
            return
        }
        replyRange(ctx, s, start, end, count: count < 0 ? 0 : Int(clamping: count), rev: rev)
    }

    /// An interval bound: "(" makes it exclusive (and strict).
    static func parseInterval(_ ctx: CommandContext, _ arg: [UInt8], missingSeq: UInt64) -> (StreamID, Bool)? {
        if arg.count > 1 && arg[0] == UInt8(ascii: "(") {
            guard let (id, _) = parseID(ctx, Array(arg[1...]), missingSeq: missingSeq, strict: true) else { return nil }
            return (id, true)
        }
        guard let (id, _) = parseID(ctx, arg, missingSeq: missingSeq, strict: false) else { return nil }
        return (id, false)
    }

    static func xdel(_ ctx: CommandContext) {
        let key = ctx.key(1)
        guard let found = stream(ctx, key, write: true) else { return }
        guard let s = found else {
            ctx.integer(0)
            return
        }
        var ids: [StreamID] = []
        ids.reserveCapacity(ctx.argc - 2)
        for j in 2 ..< ctx.argc {
            guard let (id, _) = parseID(ctx, ctx.args[j], missingSeq: 0, strict: true) else { return }
            ids.append(id)
        }
        var deleted = 0
        var firstDeleted = false
        for id in ids where s.delete(id) {
            if id == s.firstID { firstDeleted = true }
            if id > s.maxDeletedID { s.maxDeletedID = id }
            deleted += 1
        }
        if deleted > 0 {
            if s.length == 0 {
                s.firstID = .zero
            } else if firstDeleted {
                s.firstID = s.edgeID(first: true) ?? maxID
            }
            ctx.modified(key, changes: deleted)
            ctx.notify(KeyspaceEventClass.stream, "xdel", key)
        }
        ctx.integer(deleted)
    }

    static func xtrim(_ ctx: CommandContext) {
        guard let t = parseTrimArgs(ctx, xadd: false) else { return }
        let key = ctx.key(1)
        guard let found = stream(ctx, key, write: true) else { return }
        guard let s = found, let strategy = t.strategy else {
            ctx.integer(0)
            return
        }
        let deleted = s.trim(strategy, approx: t.approx, limit: t.limit)
        if deleted > 0 {
            ctx.notify(KeyspaceEventClass.stream, "xtrim", key)
            if ctx.propagating && t.approx {
                var args = ctx.args
                rewriteTrim(&args, t, s)
                ctx.propagate(args)
            }
            ctx.modified(key, changes: Int(deleted))
        }
        ctx.integer(Int(deleted))
    }

    static func xsetid(_ ctx: CommandContext) {
        guard let (id, _) = parseID(ctx, ctx.args[2], missingSeq: 0, strict: true) else { return }
        var entriesAdded: Int64 = -1
        var maxDeleted = StreamID.zero
        var i = 3
        while i < ctx.argc {
            let more = ctx.argc - 1 - i
            let opt = ctx.option(i)
            if opt == "ENTRIESADDED" && more > 0 {
                guard let v = ctx.integerArgument(i + 1) else { return }
                if v < 0 {
                    ctx.error("ERR entries_added must be positive")
                    return
                }
                entriesAdded = v
                i += 2
            } else if opt == "MAXDELETEDID" && more > 0 {
                guard let (m, _) = parseID(ctx, ctx.args[i + 1], missingSeq: 0, strict: true) else { return }
                if id < m {
                    ctx.error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
                    return
                }
                maxDeleted = m
                i += 2
            } else {
                ctx.syntaxError()
                return
            }
        }
        let key = ctx.key(1)
        guard let found = stream(ctx, key, write: true) else { return }
        guard let s = found else {
            ctx.error(RedisError.noSuchKey)
            return
        }
        if s.length > 0 {
            let top = s.edgeID(first: false) ?? .zero
            if id < top {
                ctx.error("ERR The ID specified in XSETID is smaller than the target stream top item")
                return
            }
            if entriesAdded != -1 && Int64(s.length) > entriesAdded {
                ctx.error("ERR The entries_added specified in XSETID is smaller than the target stream length")
                return
            }
        }
        s.lastID = id
        if entriesAdded != -1 { s.entriesAdded = UInt64(entriesAdded) }
        if maxDeleted != .zero { s.maxDeletedID = maxDeleted }
        ctx.ok()
        ctx.engine.dirty += 1  // as Redis: no key-change signal (WATCH stays clean)
        ctx.notify(KeyspaceEventClass.stream, "xsetid", key)
    }
}

extension CommandContext {
    /// XADD NOMKSTREAM on a missing key: a null bulk.
    func nullNoStream() { null() }
}
