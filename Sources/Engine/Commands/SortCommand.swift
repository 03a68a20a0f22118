// SORT and SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
// [STORE destination] over lists, sets and sorted sets. Patterns substitute the first `*` with the
// element; `key->field` reads a hash field; `GET #` is the element itself; a BY pattern without `*`
// means "don't sort" (keep the list's or sorted set's own order).
#if canImport(Glibc)
import Glibc
#endif

public enum SortCommand {
    public static var all: [CommandSpec] {
        [
            CommandSpec("sort", arity: -2, flags: [.write, .denyOOM], firstKey: 1, lastKey: 1, step: 1) { sort($0, readonly: false) },
            CommandSpec("sort_ro", arity: -2, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1) { sort($0, readonly: true) },
        ]
    }

    struct Item {
        var element: ByteString
        var score: Double = 0
        var compareWith: ByteString? = nil
    }

    static func fullKeyAccess(_ ctx: CommandContext) -> Bool {
        ctx.engine.hasUnrestrictedKeyAccess(ctx.session, ctx.spec, ctx.args, flags: ACLKeyPattern.read)
    }

    static func sort(_ ctx: CommandContext, readonly: Bool) {
        var desc = false, alpha = false
        var limitStart = 0, limitCount = -1
        var storeKey: ByteString? = nil
        var sortBy: [UInt8]? = nil
        var dontSort = false
        var getPatterns: [[UInt8]] = []
        var j = 2
        while j < ctx.argc {
            let left = ctx.argc - j - 1
            let opt = ctx.option(j)
            if opt == "ASC" {
                desc = false
            } else if opt == "DESC" {
                desc = true
            } else if opt == "ALPHA" {
                alpha = true
            } else if opt == "LIMIT" && left >= 2 {
                guard let s = ctx.integerArgument(j + 1), let c = ctx.integerArgument(j + 2) else { return }
                limitStart = Int(s)
                limitCount = Int(c)
                j += 2
            } else if !readonly && opt == "STORE" && left >= 1 {
                storeKey = ctx.key(j + 1)
                j += 1
            } else if opt == "BY" && left >= 1 {
                sortBy = ctx.args[j + 1]
                if !sortBy!.contains(UInt8(ascii: "*")) {
                    dontSort = true
                } else if !fullKeyAccess(ctx) {
                    // A pattern reads keys no ACL check saw: only for users who may read every key.
                    return ctx.error("ERR BY option of SORT denied due to insufficient ACL permissions.")
                }
                j += 1
            } else if opt == "GET" && left >= 1 {
                if !fullKeyAccess(ctx) { return ctx.error("ERR GET option of SORT denied due to insufficient ACL permissions.") }
                getPatterns.append(ctx.args[j + 1])
                j += 1
            } else {
                return ctx.syntaxError()
            }
            j += 1
        }

        let value = ctx.lookupRead(ctx.key(1))
        var ordered = true  // the source has an order of its own (list, sorted set)
        var source: [ByteString] = []
        switch value {
        case nil: break
        case .list(let l)?: source = l.elements()
        case .zset(let z)?: source = z.membersInOrder()
        case .set(let s)?:
            source = s.members()
            ordered = false
        default: return ctx.wrongType()
        }
        // A set has no order: with STORE, or from a script, sort it by its elements so the result is deterministic.
        if dontSort && !ordered && (storeKey != nil || ctx.session.isScript) {
            dontSort = false
            alpha = true
            sortBy = nil
        }

        let n = source.count
        var start = max(limitStart, 0)
        var end = limitCount < 0 ? n - 1 : start.addingReportingOverflow(limitCount - 1).partialValue
        if start >= n {
            start = n - 1
            end = n - 2
        }
        if end >= n { end = n - 1 }

        var items: [Item]
        if dontSort && ordered {
            // Take just the range, in the source's order or reversed for DESC.
            if end >= start {
                let slice = desc ? Array(source.reversed()[start ... end]) : Array(source[start ... end])
                items = slice.map { Item(element: $0) }
                end -= start
                start = 0
            } else {
                items = []
            }
        } else {
            items = source.map { Item(element: $0) }
        }

        let db = ctx.db
        let now = ctx.now
        if !dontSort {
            var conversionError = false
            for i in items.indices {
                let by: StringValue
                if let pattern = sortBy {
                    guard let v = lookupByPattern(db, now: now, pattern: pattern, element: items[i].element) else { continue }
                    by = v
                } else {
                    by = .bytes(items[i].element)
                }
                if alpha {
                    if sortBy != nil { items[i].compareWith = by.byteString }
                } else {
                    switch by {
                    case .int(let v): items[i].score = Double(v)
                    case .bytes(let b), .raw(let b):
                        if let d = strtodWhole(b.bytes) { items[i].score = d } else { conversionError = true }
                    }
                }
            }
            if conversionError { return ctx.error("ERR One or more scores can't be converted into double") }
            let byPattern = sortBy != nil
            items.sort { a, b in
                let c = compare(a, b, alpha: alpha, byPattern: byPattern)
                return desc ? c > 0 : c < 0
            }
        }

        let count = end >= start ? end - start + 1 : 0
        let outputLength = getPatterns.isEmpty ? count : getPatterns.count * count
        if let dst = storeKey {
            var out: [ByteString] = []
            out.reserveCapacity(outputLength)
            if count > 0 {
                for item in items[start ... end] {
                    if getPatterns.isEmpty {
                        out.append(item.element)
                    } else {
                        for p in getPatterns {
                            out.append(lookupByPattern(db, now: now, pattern: p, element: item.element)?.byteString ?? ByteString())
                        }
                    }
                }
            }
            if outputLength > 0 {
                let list = RedisValue.list(ListValue(elements: out, config: ctx.config))
                db.set(dst, list)
                ctx.modified(dst, changes: outputLength)
                ctx.notify(KeyspaceEventClass.list, "sortstore", dst)
                ctx.signalReady(dst)
            } else if ctx.lookupWrite(dst) != nil, db.remove(dst) {
                ctx.modified(dst)
                ctx.notify(KeyspaceEventClass.generic, "del", dst)
            }
            ctx.integer(outputLength)
        } else {
            ctx.arrayHeader(outputLength)
            if count > 0 {
                for item in items[start ... end] {
                    if getPatterns.isEmpty { ctx.bulk(item.element) }
                    for p in getPatterns {
                        if let v = lookupByPattern(db, now: now, pattern: p, element: item.element) { ctx.bulk(v) } else { ctx.null() }
                    }
                }
            }
        }
    }

    /// Redis's sortCompare (before DESC is applied): numbers then bytes, or bytes; missing BY values first.
    static func compare(_ a: Item, _ b: Item, alpha: Bool, byPattern: Bool) -> Int {
        if !alpha {
            if a.score > b.score { return 1 }
            if a.score < b.score { return -1 }
            return bytesCompare(a.element, b.element)
        }
        if byPattern {
            switch (a.compareWith, b.compareWith) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case let (x?, y?): return bytesCompare(x, y)
            }
        }
        return bytesCompare(a.element, b.element)
    }

    static func bytesCompare(_ a: ByteString, _ b: ByteString) -> Int {
        a == b ? 0 : (a < b ? -1 : 1)
    }

    /// strtod over the text up to its first NUL, which must be consumed entirely; NaN and ERANGE refused.
    static func strtodWhole(_ b: [UInt8]) -> Double? {
        let len = b.firstIndex(of: 0) ?? b.count
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: len + 1) { tmp -> Double? in
            for i in 0 ..< len { tmp[i] = CChar(bitPattern: b[i]) }
            tmp[len] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let d = strtod(tmp.baseAddress!, &end)
            guard let e = end, e.pointee == 0, errno != ERANGE, !d.isNaN else { return nil }
            return d
        }
    }

    /// The value a GET/BY pattern names for `element`: `#` is the element; otherwise the first `*` is
    /// replaced by it and the key read as a string, or as a hash field after `->`. nil when absent.
    static func lookupByPattern(_ db: Database, now: Int64, pattern: [UInt8], element: ByteString) -> StringValue? {
        if pattern.count == 1 && pattern[0] == UInt8(ascii: "#") { return .bytes(element) }
        // Redis works on C strings here: the pattern ends at its first NUL.
        let plen = pattern.firstIndex(of: 0) ?? pattern.count
        guard let star = pattern[..<plen].firstIndex(of: UInt8(ascii: "*")) else { return nil }
        var fieldStart: Int? = nil
        var k = star + 1
        while k + 1 < plen {
            if pattern[k] == UInt8(ascii: "-") && pattern[k + 1] == UInt8(ascii: ">") {
                if k + 2 < plen { fieldStart = k + 2 }
                break
            }
            k += 1
        }
        let keyEnd = fieldStart.map { $0 - 2 } ?? pattern.count
        var keyBytes: [UInt8] = []
        keyBytes.reserveCapacity(keyEnd + element.count)
        keyBytes.append(contentsOf: pattern[..<star])
        keyBytes.append(contentsOf: element.bytes)
        keyBytes.append(contentsOf: pattern[(star + 1) ..< keyEnd])
        guard let v = db.lookup(ByteString(keyBytes), now: now) else { return nil }
        if let f = fieldStart {
            guard case .hash(let h) = v else { return nil }
            return h.get(ByteString(pattern[f...])).map { .bytes($0) }
        }
        guard case .string(let s) = v else { return nil }
        return s
    }
}
