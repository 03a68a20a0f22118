// XPENDING, XCLAIM, XAUTOCLAIM and XINFO. XCLAIM and XAUTOCLAIM propagate each claim (and each
// pending entry they drop because the entry is gone) as XCLAIM … TIME … RETRYCOUNT … FORCE JUSTID
// LASTID, as Redis does, and nothing else.
import StorageFormat

enum StreamPendingCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("xpending", arity: -3, flags: [.readonly], firstKey: 1, lastKey: 1, step: 1, handler: xpending),
            CommandSpec("xclaim", arity: -6, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1, handler: xclaim),
            CommandSpec("xautoclaim", arity: -6, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1, handler: xautoclaim),
            CommandSpec("xinfo", arity: -2, flags: [], firstKey: 2, lastKey: 2, step: 1, handler: xinfo),
        ]
    }

    static func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    /// The stream and group a PEL command works on, or nil after the NOGROUP (or WRONGTYPE) reply.
    static func streamAndGroup(_ ctx: CommandContext) -> (StreamValue, StreamGroup)? {
        guard let found = StreamCommands.stream(ctx, ctx.key(1), write: false) else { return nil }
        guard let s = found, let g = s.group(ctx.key(2)) else {
            ctx.error("NOGROUP No such key '\(text(ctx.args[1]))' or consumer group '\(text(ctx.args[2]))'")
            return nil
        }
        return (s, g)
    }

    static func xpending(_ ctx: CommandContext) {
        let summary = ctx.argc == 3
        if ctx.argc != 3 && (ctx.argc < 6 || ctx.argc > 9) { return ctx.syntaxError() }
        var start = StreamID.zero, end = StreamCommands.maxID
        var count: Int64 = 0
        var minIdle: Int64 = 0
        var consumerName: ByteString?
        if ctx.argc >= 6 {
            var at = 3
            if ctx.option(3) == "IDLE" {
                guard let v = ctx.integerArgument(4) else { return }
                minIdle = v
                if ctx.argc < 8 { return ctx.syntaxError() }
                at += 2
            }
            guard let c = ctx.integerArgument(at + 2) else { return }
            count = max(c, 0)
            guard let ps = StreamCommands.parseInterval(ctx, ctx.args[at], missingSeq: 0) else { return }
            start = ps.0
            if ps.1 {
                guard let s = StreamCommands.incr(start) else { return ctx.error("ERR invalid start ID for the interval") }
                start = s
            }
            guard let pe = StreamCommands.parseInterval(ctx, ctx.args[at + 1], missingSeq: .max) else { return }
            end = pe.0
            if pe.1 {
                guard let e = StreamCommands.decr(end) else { return ctx.error("ERR invalid end ID for the interval") }
                end = e
            }
            if at + 3 < ctx.argc { consumerName = ctx.key(at + 3) }
        }
        guard let (_, g) = streamAndGroup(ctx) else { return }
        if summary {
            ctx.arrayHeader(4)
            ctx.integer(g.pel.count)
            if g.pel.isEmpty {
                ctx.null(); ctx.null(); ctx.nullArray()
                return
            }
            ctx.bulk(StreamCommands.idText(g.pel.first!.id))
            ctx.bulk(StreamCommands.idText(g.pel.last!.id))
            let owners = g.consumers.filter { !$0.pel.isEmpty }
            ctx.arrayHeader(owners.count)
            for c in owners {
                ctx.arrayHeader(2)
                ctx.bulk(c.name)
                ctx.bulk(StrictInteger.format(Int64(c.pel.count)))
            }
            return
        }
        var pel = g.pel
        if let name = consumerName {
            guard let c = g.consumer(name) else { return ctx.arrayHeader(0) }
            pel = c.pel
        }
        let now = ctx.now
        var rows: [(StreamID, StreamNACK)] = []
        for (id, nack) in pel.entries(from: start) {
            if count <= 0 || id > end { break }
            if minIdle != 0 && now - nack.deliveryTime < minIdle { continue }
            rows.append((id, nack))
            count -= 1
        }
        ctx.arrayHeader(rows.count)
        for (id, nack) in rows {
            ctx.arrayHeader(4)
            ctx.bulk(StreamCommands.idText(id))
            ctx.bulk(nack.consumer.name)
            ctx.integer(Int(max(now - nack.deliveryTime, 0)))
            ctx.integer(Int(truncatingIfNeeded: nack.deliveryCount))
        }
    }

    /// The consumer `name` of `g`, created (with its keyspace event) when missing; seen now.
    static func claimingConsumer(_ ctx: CommandContext, _ g: StreamGroup, _ name: ByteString) -> StreamConsumer {
        if let c = g.consumer(name) {
            c.seenTime = ctx.now
            return c
        }
        let c = g.createConsumer(name, now: ctx.now)!
        ctx.engine.dirty += 1
        ctx.notify(KeyspaceEventClass.stream, "xgroup-createconsumer", ctx.key(1))
        return c
    }

    /// Moves `nack` (pending as `id`) to `consumer`.
    static func reassign(_ g: StreamGroup, _ id: StreamID, _ nack: StreamNACK, to consumer: StreamConsumer) {
        if nack.consumer !== consumer {
            nack.consumer.pel.remove(id)
            consumer.pel.insert(id, nack)
            nack.consumer = consumer
        }
    }

    /// One claimed entry in the reply: its ID (JUSTID) or the entry.
    static func replyClaimed(_ ctx: CommandContext, _ s: StreamValue, _ id: StreamID, justID: Bool) {
        if justID {
            ctx.bulk(StreamCommands.idText(id))
            return
        }
        s.forEach(from: id, to: id, rev: false) { ref, b in
            StreamCommands.replyEntry(ctx, ref, b)
            return false
        }
    }

    static func xclaim(_ ctx: CommandContext) {
        guard let (s, g) = streamAndGroup(ctx) else { return }
        guard var minIdle = StrictInteger.parse(ctx.args[4]) else {
            return ctx.error("ERR Invalid min-idle-time argument for XCLAIM")
        }
        if minIdle < 0 { minIdle = 0 }
        var ids: [StreamID] = []
        var j = 5
        while j < ctx.argc {
            guard let (id, _) = StreamCommands.parseID(nil, ctx.args[j], missingSeq: 0, strict: true) else { break }
            ids.append(id)
            j += 1
        }
        let now = ctx.now
        var retryCount: Int64 = -1
        var deliveryTime: Int64 = -1
        var force = false, justID = false
        var lastID = StreamID.zero
        while j < ctx.argc {
            let more = ctx.argc - 1 - j
            let opt = ctx.option(j)
            if opt == "FORCE" {
                force = true
            } else if opt == "JUSTID" {
                justID = true
            } else if opt == "IDLE" && more > 0 {
                j += 1
                guard let v = StrictInteger.parse(ctx.args[j]) else { return ctx.error("ERR Invalid IDLE option argument for XCLAIM") }
                deliveryTime = now &- v
            } else if opt == "TIME" && more > 0 {
                j += 1
                guard let v = StrictInteger.parse(ctx.args[j]) else { return ctx.error("ERR Invalid TIME option argument for XCLAIM") }
                deliveryTime = v
            } else if opt == "RETRYCOUNT" && more > 0 {
                j += 1
                guard let v = StrictInteger.parse(ctx.args[j]) else { return ctx.error("ERR Invalid RETRYCOUNT option argument for XCLAIM") }
                retryCount = v
            } else if opt == "LASTID" && more > 0 {
                j += 1
                guard let (id, _) = StreamCommands.parseID(ctx, ctx.args[j], missingSeq: 0, strict: true) else { return }
                lastID = id
            } else {
                return ctx.error("ERR Unrecognized XCLAIM option '\(text(ctx.args[j]))'")
            }
            j += 1
        }
        var propagateLastID = false
        if lastID > g.lastID {
            g.lastID = lastID
            propagateLastID = true
        }
        if deliveryTime != -1 {
            if deliveryTime < 0 || deliveryTime > now { deliveryTime = now }
        } else {
            deliveryTime = now
        }
        let key = ctx.args[1], groupName = ctx.args[2]
        let name = ctx.key(3)
        var consumer: StreamConsumer?
        let mark = ctx.session.out.count
        var n = 0
        var propagated: [[[UInt8]]] = []
        for id in ids {
            var nack = g.pel[id]
            if !s.contains(id) {
                if let existing = nack {
                    propagated.append(StreamCommands.xclaimPropagation(key, groupName, g, id, existing))
                    propagateLastID = false
                    ctx.engine.dirty += 1
                    g.pel.remove(id)
                    existing.consumer.pel.remove(id)
                }
                continue
            }
            var fresh = false
            if force && nack == nil {
                fresh = true
            }
            guard nack != nil || fresh else { continue }
            if !fresh && minIdle != 0 && now - nack!.deliveryTime < minIdle { continue }
            if consumer == nil { consumer = claimingConsumer(ctx, g, name) }
            if fresh {
                let created = StreamNACK(deliveryTime: now, deliveryCount: 1, consumer: consumer!)
                g.pel.insert(id, created)
                consumer!.pel.insert(id, created)
                nack = created
            } else {
                reassign(g, id, nack!, to: consumer!)
            }
            nack!.deliveryTime = deliveryTime
            if retryCount >= 0 {
                nack!.deliveryCount = UInt64(bitPattern: retryCount)
            } else if !justID {
                nack!.deliveryCount += 1
            }
            replyClaimed(ctx, s, id, justID: justID)
            n += 1
            propagated.append(StreamCommands.xclaimPropagation(key, groupName, g, id, nack!))
            propagateLastID = false
            ctx.engine.dirty += 1
        }
        if propagateLastID {
            propagated.append([Array("XGROUP".utf8), Array("SETID".utf8), key, groupName, StreamCommands.idText(g.lastID),
                               Array("ENTRIESREAD".utf8), StrictInteger.format(g.entriesRead)])
            ctx.engine.dirty += 1
        }
        var header: [UInt8] = []
        RESPEncoder.arrayHeader(n, to: &header)
        ctx.session.out.insert(contentsOf: header, at: mark)
        ctx.propagateOps(propagated)
    }

    static func xautoclaim(_ ctx: CommandContext) {
        guard var minIdle = StrictInteger.parse(ctx.args[4]) else {
            return ctx.error("ERR Invalid min-idle-time argument for XAUTOCLAIM")
        }
        if minIdle < 0 { minIdle = 0 }
        guard let ps = StreamCommands.parseInterval(ctx, ctx.args[5], missingSeq: 0) else { return }
        var start = ps.0
        if ps.1 {
            guard let s = StreamCommands.incr(start) else { return ctx.error("ERR invalid start ID for the interval") }
            start = s
        }
        var count: Int64 = 100
        var justID = false
        var j = 6
        while j < ctx.argc {
            let more = ctx.argc - 1 - j
            let opt = ctx.option(j)
            if opt == "COUNT" && more > 0 {
                let maxCount = Int64.max / 16
                guard let v = StrictInteger.parse(ctx.args[j + 1]), v >= 1, v <= maxCount else {
                    return ctx.error("ERR COUNT must be > 0")
                }
                count = v
                j += 1
            } else if opt == "JUSTID" {
                justID = true
            } else {
                return ctx.syntaxError()
            }
            j += 1
        }
        guard let (s, g) = streamAndGroup(ctx) else { return }
        let key = ctx.args[1], groupName = ctx.args[2]
        let name = ctx.key(3)
        var attempts = count * 10
        var consumer: StreamConsumer?
        let now = ctx.now
        var deleted: [StreamID] = []
        var propagated: [[[UInt8]]] = []
        var i = g.pel.lowerBound(start)
        ctx.arrayHeader(3)
        var body: [UInt8] = []
        swap(&body, &ctx.session.out)
        var n = 0
        while attempts > 0 && count > 0 && i < g.pel.endIndex {
            attempts -= 1
            let (id, nack) = g.pel[i]
            if !s.contains(id) {
                propagated.append(StreamCommands.xclaimPropagation(key, groupName, g, id, nack))
                ctx.engine.dirty += 1
                g.pel.remove(at: i)
                i = g.pel.lowerBound(id)
                nack.consumer.pel.remove(id)
                deleted.append(id)
                count -= 1
                continue
            }
            i = g.pel.index(after: i)
            if minIdle != 0 && now - nack.deliveryTime < minIdle { continue }
            if consumer == nil { consumer = claimingConsumer(ctx, g, name) }
            reassign(g, id, nack, to: consumer!)
            nack.deliveryTime = now
            if !justID { nack.deliveryCount += 1 }
            replyClaimed(ctx, s, id, justID: justID)
            n += 1
            count -= 1
            propagated.append(StreamCommands.xclaimPropagation(key, groupName, g, id, nack))
            ctx.engine.dirty += 1
        }
        swap(&body, &ctx.session.out)
        let endID = i < g.pel.endIndex ? g.pel[i].id : .zero
        ctx.bulk(StreamCommands.idText(endID))
        ctx.arrayHeader(n)
        ctx.session.out.append(contentsOf: body)
        ctx.arrayHeader(deleted.count)
        for id in deleted { ctx.bulk(StreamCommands.idText(id)) }
        ctx.propagateOps(propagated)
    }

    static let xinfoHelp = [
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
    ]

    static func lag(_ ctx: CommandContext, _ s: StreamValue, _ g: StreamGroup) {
        if s.entriesAdded == 0 { return ctx.integer(0) }
        if g.entriesRead != -1 && !s.rangeHasTombstones(from: g.lastID) {
            return ctx.integer(Int(Int64(bitPattern: s.entriesAdded) - g.entriesRead))
        }
        let read = s.estimateDistanceFromFirstEverEntry(g.lastID)
        if read != -1 { return ctx.integer(Int(Int64(bitPattern: s.entriesAdded) - read)) }
        ctx.null()
    }

    static func xinfo(_ ctx: CommandContext) {
        guard StreamGroupCommands.checkSubcommand(ctx, "XINFO", ["CONSUMERS": 4, "GROUPS": 3, "HELP": 2, "STREAM": -3]) else { return }
        let opt = ctx.option(1)
        if opt == "HELP" {
            if ctx.argc != 2 { return StreamGroupCommands.subcommandError(ctx, "XINFO") }
            ctx.arrayHeader(xinfoHelp.count)
            for l in xinfoHelp { ctx.simple(l) }
            return
        }
        if ctx.argc < 3 { return StreamGroupCommands.subcommandError(ctx, "XINFO") }
        guard let found = StreamCommands.stream(ctx, ctx.key(2), write: false) else { return }
        guard let s = found else { return ctx.error(RedisError.noSuchKey) }
        if opt == "CONSUMERS" && ctx.argc == 4 {
            guard let g = s.group(ctx.key(3)) else {
                return ctx.error("NOGROUP No such consumer group '\(text(ctx.args[3]))' for key name '\(text(ctx.args[2]))'")
            }
            ctx.arrayHeader(g.consumers.count)
            for c in g.consumers {
                ctx.mapHeader(3)
                ctx.bulk("name"); ctx.bulk(c.name)
                ctx.bulk("pending"); ctx.integer(c.pel.count)
                ctx.bulk("idle"); ctx.integer(Int(max(ctx.now - c.seenTime, 0)))
            }
        } else if opt == "GROUPS" && ctx.argc == 3 {
            ctx.arrayHeader(s.groups.count)
            for g in s.groups {
                ctx.mapHeader(6)
                ctx.bulk("name"); ctx.bulk(g.name)
                ctx.bulk("consumers"); ctx.integer(g.consumers.count)
                ctx.bulk("pending"); ctx.integer(g.pel.count)
                ctx.bulk("last-delivered-id"); ctx.bulk(StreamCommands.idText(g.lastID))
                ctx.bulk("entries-read")
                if g.entriesRead != -1 { ctx.integer(Int(g.entriesRead)) } else { ctx.null() }
                ctx.bulk("lag"); lag(ctx, s, g)
            }
        } else if opt == "STREAM" {
            xinfoStream(ctx, s)
        } else {
            StreamGroupCommands.subcommandError(ctx, "XINFO")
        }
    }

    static func xinfoStream(_ ctx: CommandContext, _ s: StreamValue) {
        var full = false
        var count: Int64 = 10
        let optc = ctx.argc - 3
        if optc > 0 {
            if optc != 1 && optc != 3 { return StreamGroupCommands.subcommandError(ctx, "XINFO") }
            if ctx.option(3) != "FULL" { return StreamGroupCommands.subcommandError(ctx, "XINFO") }
            full = true
            if optc == 3 {
                if ctx.option(4) != "COUNT" { return StreamGroupCommands.subcommandError(ctx, "XINFO") }
                guard let c = ctx.integerArgument(5) else { return }
                count = c < 0 ? 10 : c
            }
        }
        let idText = StreamCommands.idText
        ctx.mapHeader(full ? 9 : 10)
        ctx.bulk("length"); ctx.integer(s.length)
        ctx.bulk("radix-tree-keys"); ctx.integer(s.nodes.count)
        ctx.bulk("radix-tree-nodes"); ctx.integer(s.radixTreeNodes)
        ctx.bulk("last-generated-id"); ctx.bulk(idText(s.lastID))
        ctx.bulk("max-deleted-entry-id"); ctx.bulk(idText(s.maxDeletedID))
        ctx.bulk("entries-added"); ctx.integer(Int(truncatingIfNeeded: s.entriesAdded))
        ctx.bulk("recorded-first-entry-id"); ctx.bulk(idText(s.firstID))
        if !full {
            ctx.bulk("groups"); ctx.integer(s.groups.count)
            for (label, rev) in [("first-entry", false), ("last-entry", true)] {
                ctx.bulk(label)
                var emitted = false
                s.forEach(from: .zero, to: StreamCommands.maxID, rev: rev) { ref, b in
                    StreamCommands.replyEntry(ctx, ref, b)
                    emitted = true
                    return false
                }
                if !emitted { ctx.null() }
            }
            return
        }
        let limit = Int(clamping: count)
        ctx.bulk("entries")
        StreamCommands.replyRange(ctx, s, .zero, StreamCommands.maxID, count: limit, rev: false)
        ctx.bulk("groups")
        ctx.arrayHeader(s.groups.count)
        for g in s.groups {
            ctx.mapHeader(7)
            ctx.bulk("name"); ctx.bulk(g.name)
            ctx.bulk("last-delivered-id"); ctx.bulk(idText(g.lastID))
            ctx.bulk("entries-read")
            if g.entriesRead != -1 { ctx.integer(Int(g.entriesRead)) } else { ctx.null() }
            ctx.bulk("lag"); lag(ctx, s, g)
            ctx.bulk("pel-count"); ctx.integer(g.pel.count)
            ctx.bulk("pending")
            let np = limit == 0 ? g.pel.count : min(limit, g.pel.count)
            ctx.arrayHeader(np)
            for (id, nack) in g.pel.prefix(np) {
                ctx.arrayHeader(4)
                ctx.bulk(idText(id))
                ctx.bulk(nack.consumer.name)
                ctx.integer(Int(nack.deliveryTime))
                ctx.integer(Int(truncatingIfNeeded: nack.deliveryCount))
            }
            ctx.bulk("consumers")
            ctx.arrayHeader(g.consumers.count)
            for c in g.consumers {
                ctx.mapHeader(4)
                ctx.bulk("name"); ctx.bulk(c.name)
                ctx.bulk("seen-time"); ctx.integer(Int(c.seenTime))
                ctx.bulk("pel-count"); ctx.integer(c.pel.count)
                ctx.bulk("pending")
                let nc = limit == 0 ? c.pel.count : min(limit, c.pel.count)
                ctx.arrayHeader(nc)
                for (id, nack) in c.pel.prefix(nc) {
                    ctx.arrayHeader(3)
                    ctx.bulk(idText(id))
                    ctx.integer(Int(nack.deliveryTime))
                    ctx.integer(Int(truncatingIfNeeded: nack.deliveryCount))
                }
            }
        }
    }
}

extension StreamValue {
    /// The node count Redis's radix tree would have for these node keys (16-byte big-endian master
    /// IDs): a compressed node per run of single-child bytes, a branch node where keys part, a leaf
    /// per key; an empty tree is its root alone.
    var radixTreeNodes: Int {
        if nodes.isEmpty { return 1 }
        func byte(_ i: Int, _ d: Int) -> UInt8 {
            let id = nodes[i].master
            return d < 8 ? UInt8(truncatingIfNeeded: id.ms >> (8 * (7 - d))) : UInt8(truncatingIfNeeded: id.seq >> (8 * (15 - d)))
        }
        // Keys lo..<hi share their first d bytes.
        func count(_ lo: Int, _ hi: Int, _ d: Int) -> Int {
            if d == 16 { return 1 }
            // Bytes where the group still agrees become one compressed node.
            var e = d
            while e < 16 && byte(lo, e) == byte(hi - 1, e) { e += 1 }
            if e > d { return 1 + count(lo, hi, e) }
            // A branch: one child per distinct byte (keys are sorted, so groups are runs).
            var total = 1
            var i = lo
            while i < hi {
                var k = i + 1
                while k < hi && byte(k, d) == byte(i, d) { k += 1 }
                total += count(i, k, d + 1)
                i = k
            }
            return total
        }
        return count(0, nodes.count, 0)
    }
}
