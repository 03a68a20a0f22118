// XREAD and XREADGROUP (served at once, or blocking: a blocked call is re-run with `$` and `>`
// resolved, as the engine re-runs blocked commands), XGROUP and XACK. XREADGROUP propagates what it
// did as Redis does: an XCLAIM … FORCE JUSTID LASTID per delivered entry, XGROUP SETID … ENTRIESREAD
// with NOACK, and XGROUP CREATECONSUMER for a consumer it created under NOACK.
import StorageFormat

enum StreamGroupCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("xreadgroup", arity: -7, flags: [.write, .blocking], firstKey: 0, lastKey: 0, step: 0) { StreamCommands.xread($0, group: true) },
            CommandSpec("xgroup", arity: -2, flags: [], firstKey: 2, lastKey: 2, step: 1, handler: xgroup),
            CommandSpec("xack", arity: -4, flags: [.write, .fast], firstKey: 1, lastKey: 1, step: 1, handler: xack),
        ] + StreamPendingCommands.all
    }

    static func noGroupError(_ key: [UInt8], _ group: [UInt8], _ cmd: String) -> String {
        "NOGROUP No such key '\(String(decoding: key, as: UTF8.self))' or consumer group '\(String(decoding: group, as: UTF8.self))'\(cmd)"
    }

    static let xgroupHelp = [
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
    ]

    static func subcommandError(_ ctx: CommandContext, _ name: String) {
        ctx.error("ERR unknown subcommand or wrong number of arguments for '\(String(decoding: ctx.args[1], as: UTF8.self))'. Try \(name) HELP.")
    }

    /// The container's checks before a subcommand runs: known name, and its arity (Redis's subcommand table).
    static func checkSubcommand(_ ctx: CommandContext, _ container: String, _ arities: [String: Int]) -> Bool {
        let sub = ctx.option(1)
        guard let arity = arities[sub] else {
            ctx.error("ERR unknown subcommand '\(String(decoding: ctx.args[1].prefix(128), as: UTF8.self))'. Try \(container) HELP.")
            return false
        }
        if arity >= 0 ? ctx.argc != arity : ctx.argc < -arity {
            ctx.error(RedisError.wrongArity(container.lowercased() + "|" + sub.lowercased()))
            return false
        }
        return true
    }

    static func xgroup(_ ctx: CommandContext) {
        guard checkSubcommand(ctx, "XGROUP", ["CREATE": -5, "CREATECONSUMER": 5, "DELCONSUMER": 5, "DESTROY": 4, "HELP": 2, "SETID": -5]) else { return }
        let opt = ctx.option(1)
        var s: StreamValue?
        var mkstream = false
        var entriesRead: Int64 = -1
        var g: StreamGroup?
        if ctx.argc >= 4 {
            var i = 5
            while i < ctx.argc {
                if opt == "CREATE" && ctx.option(i) == "MKSTREAM" {
                    mkstream = true
                    i += 1
                } else if (opt == "CREATE" || opt == "SETID") && ctx.option(i) == "ENTRIESREAD" && i + 1 < ctx.argc {
                    guard let v = ctx.integerArgument(i + 1) else { return }
                    if v < 0 && v != -1 {
                        ctx.error("ERR value for ENTRIESREAD must be positive or -1")
                        return
                    }
                    entriesRead = v
                    i += 2
                } else {
                    return subcommandError(ctx, "XGROUP")
                }
            }
            guard let found = StreamCommands.stream(ctx, ctx.key(2), write: true) else { return }
            s = found
            if !mkstream {
                guard let st = s else {
                    ctx.error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
                    return
                }
                g = st.group(ctx.key(3))
                if g == nil && (opt == "SETID" || opt == "CREATECONSUMER" || opt == "DELCONSUMER") {
                    ctx.error("NOGROUP No such consumer group '\(String(decoding: ctx.args[3], as: UTF8.self))' for key name '\(String(decoding: ctx.args[2], as: UTF8.self))'")
                    return
                }
            }
        }
        let key = ctx.argc > 2 ? ctx.key(2) : ByteString()
        if ctx.argc == 2 && opt == "HELP" {
            ctx.arrayHeader(xgroupHelp.count)
            for l in xgroupHelp { ctx.simple(l) }
        } else if opt == "CREATE" && ctx.argc >= 5 && ctx.argc <= 8 {
            var id = StreamID.zero
            if ctx.args[4] == [UInt8(ascii: "$")] {
                id = s?.lastID ?? .zero
            } else {
                guard let (p, _) = StreamCommands.parseID(ctx, ctx.args[4], missingSeq: 0, strict: true) else { return }
                id = p
            }
            let st: StreamValue
            if let e = s {
                st = e
            } else {
                st = StreamValue()
                ctx.db.set(key, .stream(st))
                ctx.modified(key, changes: 0)
            }
            if st.createGroup(ctx.key(3), lastID: id, entriesRead: entriesRead) != nil {
                ctx.ok()
                ctx.engine.dirty += 1  // Redis signals no key change for group metadata (WATCH stays clean)
                ctx.propagate(ctx.args)
                ctx.notify(KeyspaceEventClass.stream, "xgroup-create", key)
            } else {
                ctx.error("BUSYGROUP Consumer Group name already exists")
            }
        } else if opt == "SETID" && (ctx.argc == 5 || ctx.argc == 7), let st = s, let g {
            var id: StreamID
            if ctx.args[4] == [UInt8(ascii: "$")] {
                id = st.lastID
            } else {
                guard let (p, _) = StreamCommands.parseID(ctx, ctx.args[4], missingSeq: 0, strict: false) else { return }
                id = p
            }
            g.lastID = id
            g.entriesRead = entriesRead
            ctx.ok()
            ctx.engine.dirty += 1
            ctx.propagate(ctx.args)
            ctx.notify(KeyspaceEventClass.stream, "xgroup-setid", key)
        } else if opt == "DESTROY" && ctx.argc == 4, let st = s {
            if let g {
                let (i, _) = st.groupIndex(g.name)
                st.groups.remove(at: i)
                ctx.integer(1)
                ctx.engine.dirty += 1  // Redis signals no key change for group metadata (WATCH stays clean)
                ctx.propagate(ctx.args)
                ctx.notify(KeyspaceEventClass.stream, "xgroup-destroy", key)
                ctx.signalReady(key)
            } else {
                ctx.integer(0)
            }
        } else if opt == "CREATECONSUMER" && ctx.argc == 5, let g {
            if g.createConsumer(ctx.key(4), now: ctx.now) != nil {
                ctx.engine.dirty += 1
                ctx.propagate(ctx.args)
                ctx.notify(KeyspaceEventClass.stream, "xgroup-createconsumer", key)
                ctx.integer(1)
            } else {
                ctx.integer(0)
            }
        } else if opt == "DELCONSUMER" && ctx.argc == 5, let g {
            if let pending = g.deleteConsumer(ctx.key(4)) {
                ctx.engine.dirty += 1
                ctx.propagate(ctx.args)
                ctx.notify(KeyspaceEventClass.stream, "xgroup-delconsumer", key)
                ctx.integer(pending)
            } else {
                ctx.integer(0)
            }
        } else {
            subcommandError(ctx, "XGROUP")
        }
    }

    static func xack(_ ctx: CommandContext) {
        guard let found = StreamCommands.stream(ctx, ctx.key(1), write: false) else { return }
        guard let s = found, let g = s.group(ctx.key(2)) else {
            ctx.integer(0)
            return
        }
        // Every ID is checked before any is acknowledged; then parsed again (cheaper than collecting them).
        if ctx.argc > 4 {
            for j in 3 ..< ctx.argc {
                guard StreamCommands.parseID(ctx, ctx.args[j], missingSeq: 0, strict: true) != nil else { return }
            }
        }
        var acked = 0
        for j in 3 ..< ctx.argc {
            guard let (id, _) = StreamCommands.parseID(ctx, ctx.args[j], missingSeq: 0, strict: true) else { return }
            if let nack = g.pel.remove(id) {
                nack.consumer.pel.remove(id)
                acked += 1
            }
        }
        ctx.engine.dirty += acked
        ctx.integer(acked)
    }
}

extension StreamCommands {
    static let readBlockedDefaultCount: Int64 = 1000

    /// XREAD [COUNT n] [BLOCK ms] STREAMS key… id…; XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS key… id….
    static func xread(_ ctx: CommandContext, group isGroup: Bool) {
        var timeout: Int64 = -1
        var count: Int64 = 0
        var countGiven = false
        var streamsAt = 0
        var nStreams = 0
        var noack = false
        var groupName: [UInt8]?
        var consumerName: [UInt8] = []
        var i = 1
        while i < ctx.argc {
            let more = ctx.argc - i - 1
            let o = ctx.option(i)
            if o == "BLOCK" && more > 0 {
                if ctx.session.isScript {
                    ctx.error("ERR \(ctx.spec.name) command is not allowed with BLOCK option from scripts")
                    return
                }
                i += 1
                guard let t = StrictInteger.parse(ctx.args[i]) else {
                    ctx.error("ERR timeout is not an integer or out of range")
                    return
                }
                if t < 0 {
                    ctx.error("ERR timeout is negative")
                    return
                }
                timeout = t
            } else if o == "COUNT" && more > 0 {
                i += 1
                guard let c = ctx.integerArgument(i) else { return }
                count = max(c, 0)
                countGiven = true
            } else if o == "STREAMS" && more > 0 {
                streamsAt = i + 1
                nStreams = ctx.argc - streamsAt
                if nStreams % 2 != 0 {
                    ctx.error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
                    return
                }
                nStreams /= 2
                break
            } else if o == "GROUP" && more >= 2 {
                if !isGroup {
                    ctx.error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
                    return
                }
                groupName = ctx.args[i + 1]
                consumerName = ctx.args[i + 2]
                i += 2
            } else if o == "NOACK" {
                if !isGroup {
                    ctx.error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
                    return
                }
                noack = true
            } else {
                ctx.syntaxError()
                return
            }
            i += 1
        }
        if streamsAt == 0 {
            ctx.syntaxError()
            return
        }
        if isGroup && groupName == nil {
            ctx.error("ERR Missing GROUP option for XREADGROUP")
            return
        }
        var ids: [StreamID] = []
        var groups: [StreamGroup?] = []
        ids.reserveCapacity(nStreams)
        for j in 0 ..< nStreams {
            let keyArg = ctx.args[streamsAt + j]
            let idArg = ctx.args[streamsAt + nStreams + j]
            let v = ctx.lookupRead(ByteString(keyArg))
            var s: StreamValue?
            switch v {
            case nil: s = nil
            case .stream(let st)?: s = st
            default: return ctx.wrongType()
            }
            if let gn = groupName {
                guard let st = s, let g = st.group(ByteString(gn)) else {
                    if ctx.engine.servingReadyKey == ByteString(keyArg) {
                        ctx.error("NOGROUP the consumer group this client was blocked on no longer exists")
                    } else {
                        ctx.error(StreamGroupCommands.noGroupError(keyArg, gn, " in XREADGROUP with GROUP option"))
                    }
                    return
                }
                groups.append(g)
            }
            if idArg == [UInt8(ascii: "$")] {
                if isGroup {
                    ctx.error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
                    return
                }
                ids.append(s?.lastID ?? .zero)
                continue
            } else if idArg == [UInt8(ascii: ">")] {
                if !isGroup {
                    ctx.error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
                    return
                }
                ids.append(maxID)
                continue
            }
            guard let (id, _) = parseID(ctx, idArg, missingSeq: 0, strict: true) else { return }
            ids.append(id)
        }

        var ops: [[[UInt8]]] = []
        // Serve synchronously what can be served; a blocked call woken by a key serves that key alone,
        // when its last ID passed the one waited for (for a group: the group's last delivered ID).
        let woken = ctx.engine.servingReadyKey
        let mark = ctx.session.out.count
        var served = 0
        for j in 0 ..< nStreams {
            let keyArg = ctx.args[streamsAt + j]
            if let w = woken, w != ByteString(keyArg) { continue }
            guard case .stream(let s)? = ctx.lookupRead(ByteString(keyArg)) else { continue }
            var gt = ids[j]
            var serve = false
            var history = false
            if woken != nil {
                if isGroup { gt = groups[j]!.lastID }
                serve = s.lastID > gt
            } else if isGroup {
                if gt != maxID {
                    serve = true
                    history = true
                } else if s.length > 0 {
                    let top = s.edgeID(first: false) ?? .zero
                    if top > groups[j]!.lastID {
                        serve = true
                        gt = groups[j]!.lastID
                    }
                }
            } else if s.length > 0 {
                let top = s.edgeID(first: false) ?? .zero
                if top > gt { serve = true }
            }
            guard serve else { continue }
            served += 1
            let start = incr(gt) ?? .zero
            if ctx.resp == 2 { ctx.arrayHeader(2) }
            ctx.bulk(keyArg)
            if let g = groups.isEmpty ? nil : groups[j] {
                let cname = ByteString(consumerName)
                var consumer = g.consumer(cname)
                if consumer == nil {
                    consumer = g.createConsumer(cname, now: ctx.now)
                    ctx.engine.dirty += 1
                    ctx.notify(KeyspaceEventClass.stream, "xgroup-createconsumer", ByteString(keyArg))
                    if noack { ops.append([Array("XGROUP".utf8), Array("CREATECONSUMER".utf8), keyArg, groupName!, consumerName]) }
                } else {
                    consumer!.seenTime = ctx.now
                }
                if history {
                    replyFromConsumerPEL(ctx, s, start, count: Int(clamping: count), consumer!)
                } else {
                    replyGroupRange(ctx, s, start, count: Int(clamping: count), g, consumer!, noack: noack,
                                    key: keyArg, groupName: groupName!, ops: &ops)
                }
                ctx.engine.dirty += 1
            } else {
                replyRange(ctx, s, start, maxID, count: Int(clamping: count), rev: false)
            }
        }
        if served > 0 {
            var header: [UInt8] = []
            if ctx.resp == 2 { RESPEncoder.arrayHeader(served, to: &header) } else { RESPEncoder.mapHeader(served, resp: 3, to: &header) }
            ctx.session.out.insert(contentsOf: header, at: mark)
            if isGroup { ctx.propagateOps(ops) } else { ctx.propagateNothing() }
            return
        }
        if isGroup { ctx.propagateOps(ops) }
        if timeout != -1 {
            if ctx.inTransaction {
                ctx.nullArray()
                return
            }
            // Block: the re-run sees `$` resolved and the default count of a blocked read.
            var args = ctx.args
            for j in 0 ..< nStreams where args[streamsAt + nStreams + j] == [UInt8(ascii: "$")] {
                args[streamsAt + nStreams + j] = idText(ids[j])
            }
            if !countGiven || count == 0 {
                args.insert(contentsOf: [Array("COUNT".utf8), StrictInteger.format(readBlockedDefaultCount)], at: 1)
            }
            let deadline: Int64 = timeout == 0 ? 0 : ctx.now + timeout
            let keys = (0 ..< nStreams).map { ByteString(ctx.args[streamsAt + $0]) }
            ctx.engine.block(session: ctx.session, state: BlockState(db: ctx.session.db, keys: keys, deadline: deadline, spec: ctx.spec,
                                                                      args: args, timeoutReply: .nullArray))
            return
        }
        ctx.nullArray()
    }

    /// XREADGROUP with `>`: new entries after the group's last ID, added to the PELs (unless NOACK).
    static func replyGroupRange(_ ctx: CommandContext, _ s: StreamValue, _ start: StreamID, count: Int, _ g: StreamGroup,
                                _ consumer: StreamConsumer, noack: Bool, key: [UInt8], groupName: [UInt8], ops: inout [[[UInt8]]]) {
        // Each delivered ID with the group's last ID at its delivery (what its XCLAIM carries as LASTID).
        var delivered: [(StreamID, StreamID)] = []
        var propagateLastID = false
        replyRange(ctx, s, start, maxID, count: count, rev: false) { id in
            if id > g.lastID {
                if g.entriesRead != -1 && !s.rangeHasTombstones(from: id) {
                    g.entriesRead += 1
                } else if s.entriesAdded != 0 {
                    g.entriesRead = s.estimateDistanceFromFirstEverEntry(id)
                }
                g.lastID = id
                if noack { propagateLastID = true }
            }
            delivered.append((id, g.lastID))
        }
        if !noack {
            for (id, lastID) in delivered {
                let nack: StreamNACK
                if let existing = g.pel[id] {
                    existing.consumer.pel.remove(id)
                    existing.consumer = consumer
                    existing.deliveryTime = ctx.now
                    existing.deliveryCount = 1
                    consumer.pel.insert(id, existing)
                    nack = existing
                } else {
                    nack = StreamNACK(deliveryTime: ctx.now, deliveryCount: 1, consumer: consumer)
                    g.pel.insert(id, nack)
                    consumer.pel.insert(id, nack)
                }
                if ctx.propagating { ops.append(xclaimPropagation(key, groupName, lastID, id, nack)) }
            }
        }
        if propagateLastID && ctx.propagating {
            ops.append([Array("XGROUP".utf8), Array("SETID".utf8), key, groupName, idText(g.lastID),
                           Array("ENTRIESREAD".utf8), StrictInteger.format(g.entriesRead)])
        }
    }

    static func xclaimPropagation(_ key: [UInt8], _ groupName: [UInt8], _ g: StreamGroup, _ id: StreamID, _ nack: StreamNACK) -> [[UInt8]] {
        xclaimPropagation(key, groupName, g.lastID, id, nack)
    }

    static func xclaimPropagation(_ key: [UInt8], _ groupName: [UInt8], _ lastID: StreamID, _ id: StreamID, _ nack: StreamNACK) -> [[UInt8]] {
        [Array("XCLAIM".utf8), key, groupName, nack.consumer.name.bytes, [UInt8(ascii: "0")], idText(id),
         Array("TIME".utf8), StrictInteger.format(nack.deliveryTime), Array("RETRYCOUNT".utf8),
         StrictInteger.format(Int64(bitPattern: nack.deliveryCount)), Array("FORCE".utf8), Array("JUSTID".utf8),
         Array("LASTID".utf8), idText(lastID)]
    }

    /// XREADGROUP with an ID: the consumer's own pending entries from `start`.
    static func replyFromConsumerPEL(_ ctx: CommandContext, _ s: StreamValue, _ start: StreamID, count: Int, _ consumer: StreamConsumer) {
        var i = consumer.pel.lowerBound(start)
        var n = 0
        let mark = ctx.session.out.count
        while i < consumer.pel.endIndex && (count == 0 || n < count) {
            let (id, nack) = consumer.pel[i]
            var found = false
            s.forEach(from: id, to: id, rev: false) { ref, b in
                replyEntry(ctx, ref, b)
                found = true
                return false
            }
            if !found {
                ctx.arrayHeader(2)
                ctx.bulk(idText(id))
                ctx.nullArray()
            } else {
                nack.deliveryTime = ctx.now
                nack.deliveryCount += 1
            }
            n += 1
            i = consumer.pel.index(after: i)
        }
        var header: [UInt8] = []
        RESPEncoder.arrayHeader(n, to: &header)
        ctx.session.out.insert(contentsOf: header, at: mark)
    }
}

extension CommandContext {
    /// XREADGROUP propagates only the commands it asked for (none when it asked for none).
    func propagateNothingUnlessSet() {
        guard engine.isPropagating else { return }
        if engine.propagateOverride == nil { engine.propagateOverride = [] }
    }

    /// Propagates exactly `ops` instead of the command; several are wrapped in MULTI/EXEC as Redis 7.0
    /// wraps a command's several propagated writes (not inside a transaction, which already is one).
    func propagateOps(_ ops: [[[UInt8]]]) {
        guard engine.isPropagating else { return }
        propagateNothingUnlessSet()
        let wrap = ops.count > 1 && !inTransaction
        if wrap { propagate([Array("MULTI".utf8)]) }
        for op in ops { propagate(op) }
        if wrap { propagate([Array("EXEC".utf8)]) }
    }
}

extension StreamValue {
    /// streamRangeHasTombstones from `start` to the end.
    func rangeHasTombstones(from start: StreamID) -> Bool {
        if length == 0 || maxDeletedID == .zero { return false }
        if firstID > maxDeletedID { return false }
        return start <= maxDeletedID
    }

    /// streamEstimateDistanceFromFirstEverEntry: entries read up to `id`, or -1 when not known.
    func estimateDistanceFromFirstEverEntry(_ id: StreamID) -> Int64 {
        if entriesAdded == 0 { return 0 }
        if length == 0 && id <= lastID { return Int64(bitPattern: entriesAdded) }
        if id == lastID { return Int64(bitPattern: entriesAdded) }
        if id > lastID { return -1 }
        if maxDeletedID == .zero || maxDeletedID < firstID {
            if id < firstID { return Int64(bitPattern: entriesAdded) - Int64(length) }
            if id == firstID { return Int64(bitPattern: entriesAdded) - Int64(length) + 1 }
        }
        return -1
    }
}
