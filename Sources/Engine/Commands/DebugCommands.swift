// DebugCommands: the DEBUG subcommands Redis's own test suite drives that concern the engine —
// PROTOCOL (one reply of each RESP type), SET-SKIP-CHECKSUM-VALIDATION, QUICKLIST-PACKED-THRESHOLD,
// LISTPACK / QUICKLIST (structure dumps), STRUCTSIZE, REPLYBUFFER, LOG, CHANGE-REPL-ID,
// SET-DISABLE-DENY-SCRIPTS, and HTSTATS / HTSTATS-KEY (KeyTable's bucket chains in the text of Redis's
// dictGetStats). Replies and error texts are Redis 7.0's. The server adds the ones that
// touch persistence and the event loop (RELOAD, LOADAOF, PAUSE-CRON, AOF-FLUSH-SLEEP).
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

extension ConnectionCommands {
    /// Handles a testing subcommand of DEBUG; returns false when `ctx` names another one.
    static func debugTesting(_ ctx: CommandContext) -> Bool {
        let argc = ctx.argc
        switch (ctx.option(1), argc) {
        case ("PROTOCOL", 3):
            debugProtocol(ctx)
        case ("SET-SKIP-CHECKSUM-VALIDATION", 3):
            ctx.engine.config.skipChecksumValidation = (StrictInteger.parse(ctx.args[2]) ?? 0) != 0
            ctx.ok()
        case ("QUICKLIST-PACKED-THRESHOLD", 3):
            guard let size = parseMemoryValue(ctx.args[2]), size < (1 << 32) else {
                ctx.error("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
                return true
            }
            ctx.engine.config.quicklistPackedThreshold = size == 0 ? 1 << 30 : Int(size)
            ctx.ok()
        case ("LISTPACK", 3), ("QUICKLIST", 3), ("QUICKLIST", 4):
            // Cairn keeps no byte image of these structures to print; it checks the encoding as Redis
            // does and prints a summary on standard output.
            guard let v = ctx.db.lookupNoTouch(ctx.key(2), now: ctx.now) else {
                ctx.error(RedisError.noSuchKey)
                return true
            }
            let wanted = ctx.option(1) == "LISTPACK" ? "listpack" : "quicklist"
            guard v.encodingName == wanted else {
                ctx.error("ERR Not a \(wanted) encoded object.")
                return true
            }
            var line = Array("{\(wanted) key: \(String(decoding: ctx.args[2], as: UTF8.self)) encoding: \(v.encodingName)}\n".utf8)
            _ = line.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
            ctx.simple(wanted == "listpack" ? "Listpack structure printed on stdout" : "Quicklist structure printed on stdout")
        case ("STRUCTSIZE", 2):
            // Redis reports its C struct sizes; these are Cairn's equivalents of the same roles.
            ctx.bulk("bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 ")
        case ("REPLYBUFFER", 4):
            switch ctx.option(2) {
            case "PEAK-RESET-TIME":
                let arg = ctx.option(3)
                if arg == "NEVER" {
                    ctx.engine.replyBufferPeakResetTime = -1
                } else if arg == "RESET" {
                    ctx.engine.replyBufferPeakResetTime = Engine.defaultReplyBufferPeakResetTime
                } else if let ms = StrictInteger.parse(ctx.args[3]) {
                    ctx.engine.replyBufferPeakResetTime = ms
                } else {
                    ctx.error(RedisError.notInteger)
                    return true
                }
                ctx.ok()
            case "RESIZING":
                // Redis reads it with atoi: anything not a number is 0.
                ctx.engine.replyBufferResizing = (Int(String(decoding: ctx.args[3], as: UTF8.self)) ?? 0) != 0
                ctx.ok()
            default:
                ctx.error("ERR unknown subcommand or wrong number of arguments for '\(String(decoding: ctx.args[1], as: UTF8.self))'. Try DEBUG HELP.")
            }
        case ("LOG", 3):
            ctx.engine.hooks.log?(String(decoding: ctx.args[2], as: UTF8.self))
            ctx.ok()
        case ("CHANGE-REPL-ID", 2):
            ctx.ok()
        case ("SET-DISABLE-DENY-SCRIPTS", 3):
            ctx.engine.scriptDenyDisabled = StrictInteger.parse(ctx.args[2]).map { $0 != 0 } ?? false
            ctx.ok()
        case ("HTSTATS", 3):
            debugHTStats(ctx)
        case ("HTSTATS", 4) where ctx.option(3) == "FULL":
            debugHTStats(ctx)
        case ("HTSTATS-KEY", 3):
            debugHTStatsKey(ctx)
        case ("HTSTATS-KEY", 4) where ctx.option(3) == "FULL":
            debugHTStatsKey(ctx)
        default:
            return false
        }
        return true
    }

    /// DEBUG PROTOCOL <type>: one reply of the named RESP type, with Redis's sample values.
    static func debugProtocol(_ ctx: CommandContext) {
        let resp = ctx.session.resp
        switch ctx.option(2) {
        case "STRING": ctx.bulk("Hello World")
        case "INTEGER": ctx.integer(12345)
        case "DOUBLE": RESPEncoder.double(text: Array("3.141".utf8), resp: resp, to: &ctx.session.out)
        case "BIGNUM":
            let digits = Array("1234567999999999999999999999999999999".utf8)
            if resp >= 3 { ctx.raw(Array("(".utf8) + digits + [13, 10]) } else { ctx.bulk(digits) }
        case "NULL": ctx.null()
        case "ARRAY", "SET":
            if ctx.option(2) == "ARRAY" { ctx.arrayHeader(3) } else { ctx.setHeader(3) }
            for j in 0 ..< 3 { ctx.integer(j) }
        case "MAP":
            ctx.mapHeader(3)
            for j in 0 ..< 3 {
                ctx.integer(j)
                ctx.boolean(j == 1)
            }
        case "ATTRIB":
            if resp >= 3 {
                ctx.raw(Array("|1\r\n".utf8))
                ctx.bulk("key-popularity")
                ctx.arrayHeader(2)
                ctx.bulk("key:123")
                ctx.integer(90)
            }
            ctx.bulk("Some real reply following the attribute")
        case "PUSH":
            guard resp >= 3 else { ctx.error("ERR RESP2 is not supported by this command"); return }
            RESPEncoder.pushHeader(2, resp: resp, to: &ctx.session.out)
            ctx.bulk("server-cpu-usage")
            ctx.integer(42)
            ctx.bulk("Some real reply following the push reply")
        case "TRUE": ctx.boolean(true)
        case "FALSE": ctx.boolean(false)
        case "VERBATIM": ctx.verbatim(Array("This is a verbatim\nstring".utf8))
        default:
            ctx.error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
        }
    }

    /// DEBUG HTSTATS <dbid> [FULL]: the keyspace's and the expiry table's chain statistics. Redis 7.0
    /// takes no FULL and always prints the chain length distribution; FULL (7.2's) is accepted and
    /// prints the same.
    static func debugHTStats(_ ctx: CommandContext) {
        guard let id = StrictInteger.parse(ctx.args[2]) else { ctx.error(RedisError.notInteger); return }
        guard id >= 0 && id < ctx.engine.databases.count else { ctx.error("ERR Out of range database"); return }
        let db = ctx.engine.databases[Int(id)]
        var text = Array("[Dictionary HT]\n".utf8)
        text += hashTableStatsText(db.keys.bucketStats(table: 0), db.keys.bucketStats(table: 1))
        text += Array("[Expires HT]\n".utf8)
        text += hashTableStatsText(db.expires.bucketStats(table: 0), db.expires.bucketStats(table: 1))
        ctx.verbatim(text)
    }

    /// DEBUG HTSTATS-KEY <key> [FULL]: the same for the hash table inside a value (a hashtable set or
    /// hash, a skiplist sorted set's member table).
    static func debugHTStatsKey(_ ctx: CommandContext) {
        guard let v = ctx.db.lookupNoTouch(ctx.key(2), now: ctx.now) else { ctx.error(RedisError.noSuchKey); return }
        guard let (main, target) = v.stored.hashTableStats else {
            ctx.error("ERR The value stored at the specified key is not represented using an hash table")
            return
        }
        ctx.verbatim(hashTableStatsText(main, target))
    }

    /// Redis's dictGetStats text for a table: its main bucket array, and the rehashing target while
    /// there is one, in a 4096-byte buffer (longer text is cut as Redis's snprintf cuts it).
    static func hashTableStatsText(_ main: KeyTableBucketStats?, _ target: KeyTableBucketStats?) -> [UInt8] {
        let limit = 4095
        var out = Array(bucketStatsText(main, table: 0).prefix(limit))
        if let target, out.count < limit {
            out += bucketStatsText(target, table: 1).prefix(limit - out.count)
        }
        return out
    }

    /// One bucket array's part of the text (Redis's _dictGetStatsHt; chains of 49 or more entries are
    /// counted but, as in Redis, not listed).
    static func bucketStatsText(_ stats: KeyTableBucketStats?, table: Int) -> [UInt8] {
        let title = "Hash table \(table) stats (\(table == 0 ? "main hash table" : "rehashing target")):\n"
        guard let st = stats, st.elements > 0, st.slots > 0 else {
            return Array((title + "No stats available for empty dictionaries\n").utf8)
        }
        var text = title
        text += " table size: \(st.size)\n"
        text += " number of elements: \(st.elements)\n"
        text += " different slots: \(st.slots)\n"
        text += " max chain length: \(st.maxChain)\n"
        text += " avg chain length (counted): \(fixed2(Float(st.totalChain) / Float(st.slots)))\n"
        text += " avg chain length (computed): \(fixed2(Float(st.elements) / Float(st.slots)))\n"
        text += " Chain length distribution:\n"
        for (length, buckets) in st.distribution.enumerated().dropLast() where buckets > 0 {
            text += "   \(length): \(buckets) (\(fixed2(Float(buckets) / Float(st.size) * 100))%)\n"
        }
        return Array(text.utf8)
    }

    /// printf's "%.02f" of a C float (promoted to double), as Redis prints its averages.
    static func fixed2(_ f: Float) -> String {
        var buf = [CChar](repeating: 0, count: 64)
        let n = buf.withUnsafeMutableBufferPointer { b in
            withVaList([Double(f)]) { vsnprintf(b.baseAddress!, 64, "%.2f", $0) }
        }
        return String(decoding: buf.prefix(Int(max(0, n))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A memory value as redis.conf writes it (`1b`, `5k`, `1mb`, `2gb`, or plain bytes).
    static func parseMemoryValue(_ arg: [UInt8]) -> Int64? {
        var text = String(decoding: arg, as: UTF8.self).lowercased()
        var unit: Int64 = 1
        for (suffix, mul) in [("kb", Int64(1024)), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1000), ("m", 1_000_000),
                              ("g", 1_000_000_000), ("b", 1)] where text.hasSuffix(suffix) {
            unit = mul
            text.removeLast(suffix.count)
            break
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(text) else { return nil }
        let (r, o) = n.multipliedReportingOverflow(by: unit)
        return o ? nil : r
    }
}

/// DEBUG's entry point: public and never inlined, so the dynamic symbol table names it and a
/// watchdog or crash stack trace shows a `debugCommand` frame, as Redis's does (not optimised, so
/// the call below stays a call with this frame on the stack, not a jump).
@inline(never) @_optimize(none)
public func debugCommand(_ ctx: CommandContext) {
    ConnectionCommands.debug(ctx)
}
