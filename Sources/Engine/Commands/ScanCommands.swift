// Walking the keyspace: KEYS pattern (all at once, skipping expired keys) and
// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] over the key table's own cursor.
#if canImport(Glibc)
import Glibc
#endif

public enum ScanCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("keys", arity: 2, flags: [.readonly], handler: keys),
            CommandSpec("scan", arity: -2, flags: [.readonly], handler: scan),
        ]
    }

    static func keys(_ ctx: CommandContext) {
        let pattern = ctx.args[1]
        let all = pattern.count == 1 && pattern[0] == UInt8(ascii: "*")
        let db = ctx.db
        let now = ctx.now
        var found: [ByteString] = []
        db.keys.forEach { k, _ in
            if (all || globMatch(pattern: pattern, string: k.bytes, noCase: false)) && !db.isExpired(k, now: now) {
                found.append(k)
            }
        }
        ctx.bulkArray(found)
    }

    /// A SCAN cursor as Redis reads it (strtoul over the whole text, no leading space), or nil.
    static func parseCursor(_ b: [UInt8]) -> UInt64? {
        if let first = b.first, first == 32 || (first >= 9 && first <= 13) { return nil }
        if b.contains(0) { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: b.count + 1) { tmp -> UInt64? in
            for i in 0 ..< b.count { tmp[i] = CChar(bitPattern: b[i]) }
            tmp[b.count] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let v = strtoul(tmp.baseAddress!, &end, 10)
            guard let e = end, e - tmp.baseAddress! == b.count, errno != ERANGE else { return nil }
            return UInt64(v)
        }
    }

    static func scan(_ ctx: CommandContext) {
        guard var cursor = parseCursor(ctx.args[1]) else { return ctx.error("ERR invalid cursor") }
        var count = 10
        var pattern: [UInt8]? = nil
        var typeFilter: String? = nil
        var i = 2
        while i < ctx.argc {
            let opt = ctx.option(i)
            let more = ctx.argc - i >= 2
            if opt == "COUNT" && more {
                guard let c = ctx.integerArgument(i + 1) else { return }
                if c < 1 { return ctx.syntaxError() }
                count = Int(c)
            } else if opt == "MATCH" && more {
                pattern = ctx.args[i + 1]
                if pattern!.count == 1 && pattern![0] == UInt8(ascii: "*") { pattern = nil }
            } else if opt == "TYPE" && more {
                typeFilter = String(decoding: ctx.args[i + 1], as: UTF8.self).lowercased()
            } else {
                return ctx.syntaxError()
            }
            i += 2
        }
        let db = ctx.db
        var found: [ByteString] = []
        var iterations = count.multipliedReportingOverflow(by: 10).overflow ? Int.max : count * 10
        repeat {
            cursor = db.keys.scan(cursor: cursor, count: count - found.count) { k, _ in found.append(k) }
            iterations -= 1
        } while cursor != 0 && iterations > 0 && found.count < count
        let now = ctx.now
        found.removeAll { k in
            if let p = pattern, !globMatch(pattern: p, string: k.bytes, noCase: false) { return true }
            if db.expireIfNeeded(k, now: now) { return true }
            if let t = typeFilter {
                guard let v = db.keys[k] else { return true }
                return v.typeName != t
            }
            return false
        }
        ctx.arrayHeader(2)
        ctx.bulk(Array(String(cursor).utf8))
        ctx.bulkArray(found)
    }
}
