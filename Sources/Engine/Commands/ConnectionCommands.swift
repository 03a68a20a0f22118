// Connection and server commands the engine can answer by itself: PING ECHO QUIT RESET HELLO AUTH
// TIME LASTSAVE COMMAND CLIENT MEMORY SLOWLOG LATENCY DEBUG MONITOR.
#if canImport(Glibc)
import Glibc
#endif
import StorageFormat

public enum ConnectionCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec("ping", arity: -1, flags: [.fast, .subscribeContext]) { ctx in
                if ctx.argc > 2 { ctx.error(RedisError.wrongArity("ping")); return }
                if ctx.session.inSubscribeMode {
                    ctx.arrayHeader(2)
                    ctx.bulk(Array("pong".utf8))
                    ctx.bulk(ctx.argc == 2 ? ctx.args[1] : [])
                } else if ctx.argc == 2 {
                    ctx.bulk(ctx.args[1])
                } else {
                    ctx.simple("PONG")
                }
            },
            CommandSpec("echo", arity: 2, flags: [.fast, .loading, .stale]) { ctx in ctx.bulk(ctx.args[1]) },
            CommandSpec("quit", arity: -1, flags: [.noAuth, .noMulti, .loading, .stale, .fast, .subscribeContext]) { ctx in
                ctx.ok()
                ctx.session.closeAfterReply = true
            },
            CommandSpec("reset", arity: 1, flags: [.noScript, .loading, .stale, .fast, .noAuth, .noMulti, .subscribeContext]) { ctx in
                let s = ctx.session, e = ctx.engine
                s.multi = nil
                s.multiFailed = false
                e.unwatchAll(s)
                e.unsubscribeAll(s)
                s.db = 0
                s.resp = 2
                s.name = nil
                s.replyMode = .on
                s.isMonitor = false
                e.disableTracking(s)
                s.user = nil
                s.authenticated = e.acl.defaultAutoAuth
                ctx.simple("RESET")
            },
            CommandSpec("hello", arity: -1, flags: [.noScript, .loading, .stale, .fast, .noAuth, .subscribeContext]) { ctx in
                hello(ctx)
            },
            CommandSpec("auth", arity: -2, flags: [.noScript, .loading, .stale, .fast, .noAuth]) { ctx in
                guard ctx.argc <= 3 else { ctx.syntaxError(); return }
                if ctx.argc == 2 && ctx.engine.acl.defaultUser.hasNoPass {
                    ctx.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
                    return
                }
                let user = ctx.argc == 3 ? ctx.args[1] : Array("default".utf8)
                if ctx.engine.authenticate(ctx.session, user: user, password: ctx.args[ctx.argc - 1], command: ctx.args[0]) {
                    ctx.ok()
                } else {
                    ctx.error("WRONGPASS invalid username-password pair or user is disabled.")
                }
            },
            CommandSpec("time", arity: 1, flags: [.loading, .stale, .fast, .random]) { ctx in
                var ts = timespec()
                clock_gettime(CLOCK_REALTIME, &ts)
                ctx.arrayHeader(2)
                ctx.bulk(StrictInteger.format(Int64(ts.tv_sec)))
                ctx.bulk(StrictInteger.format(Int64(ts.tv_nsec / 1000)))
            },
            CommandSpec("lastsave", arity: 1, flags: [.loading, .stale, .fast, .random]) { ctx in
                ctx.integer(ctx.engine.hooks.lastSave?() ?? Int(ctx.now / 1000))
            },
            CommandSpec("command", arity: -1, flags: [.loading, .stale]) { ctx in command(ctx) },
            CommandSpec("client", arity: -2, flags: [.noScript, .loading, .stale]) { ctx in client(ctx) },
            CommandSpec("memory", arity: -2, flags: []) { ctx in
                guard checkSubcommand(ctx, ["USAGE": -3, "DOCTOR": 2, "STATS": 2, "MALLOC-STATS": 2, "PURGE": 2, "HELP": 2]) else { return }
                switch ctx.option(1) {
                case "USAGE":
                    guard let v = ctx.db.lookup(ctx.key(2), now: ctx.now) else { ctx.null(); return }
                    ctx.integer(estimateMemory(ctx.key(2), v))
                case "DOCTOR": ctx.verbatim(Array("Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.".utf8))
                case "PURGE": ctx.ok()
                case "MALLOC-STATS": ctx.verbatim(Array("Stats not supported for the current allocator".utf8))
                case "STATS": ctx.mapHeader(0)
                default: helpReply(ctx, ["MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "USAGE <key> [SAMPLES <count>]",
                                         "    Return memory in bytes used by <key> and its value. Nested values are", "    sampled up to <count> times (default: 5, 0 means sample all).",
                                         "HELP", "    Prints this help."])
                }
            },
            CommandSpec("slowlog", arity: -2, flags: [.admin, .loading, .stale]) { ctx in
                guard checkSubcommand(ctx, ["GET": -2, "LEN": 2, "RESET": 2, "HELP": 2]) else { return }
                let e = ctx.engine
                switch ctx.option(1) {
                case "GET":
                    var count = 10
                    if ctx.argc == 3 {
                        guard let n = StrictInteger.parse(ctx.args[2]), n >= -1 else {
                            ctx.error("ERR count should be greater than or equal to -1")
                            return
                        }
                        count = n == -1 ? e.slowlog.count : Int(n)
                    } else if ctx.argc > 3 {
                        wrongSubcommandArity(ctx)
                        return
                    }
                    let entries = e.slowlog.prefix(count)
                    ctx.arrayHeader(entries.count)
                    for x in entries {
                        ctx.arrayHeader(6)
                        ctx.integer(x.id)
                        ctx.integer(x.time)
                        ctx.integer(x.usec)
                        ctx.arrayHeader(x.args.count)
                        for a in x.args { ctx.bulk(a) }
                        ctx.bulk(x.address)
                        ctx.bulk(x.name)
                    }
                case "LEN": ctx.integer(e.slowlog.count)
                case "RESET":
                    e.slowlog.removeAll()
                    ctx.ok()
                default: helpReply(ctx, ["SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "GET [<count>]",
                                         "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                                         "    Entries are made of:", "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                                         "    client name", "LEN", "    Return the length of the slowlog.", "RESET", "    Reset the slowlog.",
                                         "HELP", "    Prints this help."])
                }
            },
            LatencyCommand.spec,
            CommandSpec("debug", arity: -2, flags: [.admin, .noScript, .loading, .stale]) { ctx in debugCommand(ctx) },
            CommandSpec("monitor", arity: 1, flags: [.admin, .noScript, .loading, .stale]) { ctx in
                ctx.session.isMonitor = true
                ctx.engine.monitors.append(ctx.session)
                ctx.ok()
            },
        ]
    }

    static func hello(_ ctx: CommandContext) {
        let s = ctx.session, e = ctx.engine
        var proto = s.resp
        var i = 1
        if ctx.argc >= 2 {
            guard let v = StrictInteger.parse(ctx.args[1]) else {
                ctx.error("ERR Protocol version is not an integer or out of range")
                return
            }
            guard v == 2 || v == 3 else {
                ctx.error("NOPROTO unsupported protocol version")
                return
            }
            proto = Int(v)
            i = 2
        }
        var newName: [UInt8]? = nil
        var credentials: (user: [UInt8], password: [UInt8])? = nil
        while i < ctx.argc {
            let opt = ctx.option(i)
            if opt == "AUTH" && i + 2 < ctx.argc {
                credentials = (ctx.args[i + 1], ctx.args[i + 2])
                i += 3
            } else if opt == "SETNAME" && i + 1 < ctx.argc {
                guard validClientName(ctx.args[i + 1]) else {
                    ctx.error("ERR Client names cannot contain spaces, newlines or special characters.")
                    return
                }
                newName = ctx.args[i + 1]
                i += 2
            } else {
                ctx.error("ERR Syntax error in HELLO option '\(String(decoding: ctx.args[i], as: UTF8.self))'")
                return
            }
        }
        if let (user, password) = credentials, !e.authenticate(s, user: user, password: password, command: ctx.args[0]) {
            ctx.error("WRONGPASS invalid username-password pair or user is disabled.")
            return
        }
        if !s.authenticated && !e.acl.defaultAutoAuth {
            ctx.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
            return
        }
        if let newName { s.name = newName.isEmpty ? nil : newName }
        s.resp = proto
        ctx.mapHeader(7)
        ctx.bulk("server"); ctx.bulk("redis")
        ctx.bulk("version"); ctx.bulk("7.0.15")
        ctx.bulk("proto"); ctx.integer(proto)
        ctx.bulk("id"); ctx.integer(s.id)
        ctx.bulk("mode"); ctx.bulk("standalone")
        ctx.bulk("role"); ctx.bulk(e.isReplica ? "replica" : "master")
        ctx.bulk("modules"); ctx.arrayHeader(0)
    }

    static func validClientName(_ n: [UInt8]) -> Bool {
        n.allSatisfy { $0 > 32 && $0 < 127 }
    }

    static func command(_ ctx: CommandContext) {
        let e = ctx.engine
        if ctx.argc == 1 {
            let specs = e.commands.values.sorted { $0.name < $1.name }
            ctx.arrayHeader(specs.count)
            for s in specs { commandInfo(ctx, s) }
            return
        }
        // Subcommand arities from the metadata (COMMAND GETKEYS needs at least the command's name).
        var arity: [String: Int] = [:]
        for sub in CommandMetadata.lookup("command")?.subcommands ?? [] {
            arity[String(sub.name.dropFirst("command|".count)).uppercased()] = sub.arity
        }
        guard checkSubcommand(ctx, arity) else { return }
        switch ctx.option(1) {
        case "COUNT": ctx.integer(e.commands.count)
        case "LIST":
            var filter: CommandIntrospection.ListFilter? = nil
            if ctx.argc > 2 {
                guard ctx.argc == 5, ctx.option(2) == "FILTERBY" else { ctx.syntaxError(); return }
                let value = ctx.args[4]
                switch ctx.option(3) {
                case "MODULE": filter = .module(String(decoding: value, as: UTF8.self))
                case "ACLCAT": filter = .aclCategory(String(decoding: value, as: UTF8.self))
                case "PATTERN": filter = .pattern(value)
                default: ctx.syntaxError(); return
                }
            }
            let metas = e.commands.keys.sorted().compactMap { CommandMetadata.table[$0] }
            var names = CommandIntrospection.listNames(metas, filter: filter)
            // Commands without metadata are listed by name (they have no categories to filter by).
            for n in e.commands.keys.sorted() where CommandMetadata.table[n] == nil && (filter?.matches(name: n) ?? true) {
                names.append(n)
            }
            ctx.arrayHeader(names.count)
            for n in names { ctx.bulk(n) }
        case "INFO":
            let names = ctx.argc > 2 ? (2 ..< ctx.argc).map { String(decoding: ctx.args[$0], as: UTF8.self).lowercased() } : e.commands.keys.sorted()
            ctx.arrayHeader(names.count)
            for n in names {
                if let s = implementedCommand(e, n) { commandInfo(ctx, s.spec, s.meta) } else { ctx.null() }
            }
        case "DOCS":
            let names = ctx.argc > 2 ? (2 ..< ctx.argc).map { String(decoding: ctx.args[$0], as: UTF8.self).lowercased() } : e.commands.keys.sorted()
            let known = names.compactMap { n in implementedCommand(e, n).map { (n, $0) } }
            ctx.mapHeader(known.count)
            for (n, s) in known {
                ctx.bulk(s.meta?.name ?? n)
                if let m = s.meta { CommandIntrospection.writeDocs(ctx, m) } else { ctx.mapHeader(0) }
            }
        case "GETKEYS", "GETKEYSANDFLAGS":
            getKeys(ctx, Array(ctx.args[2...]), withFlags: ctx.option(1) == "GETKEYSANDFLAGS")
        default:
            helpReply(ctx, ["COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "(no subcommand)",
                            "    Return details about all Redis commands.", "COUNT", "    Return the total number of commands in this Redis server.",
                            "LIST", "    Return a list of all commands in this Redis server.", "INFO [<command-name> ...]",
                            "    Return details about multiple Redis commands.", "    If no command names are given, documentation details for all",
                            "    commands are returned.", "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
                            "    If no command names are given, documentation details for all", "    commands are returned.",
                            "GETKEYS <full-command>", "    Return the keys from a full Redis command.", "GETKEYSANDFLAGS <full-command>",
                            "    Return the keys and the access flags from a full Redis command.", "HELP", "    Prints this help."])
        }
    }

    /// A command Cairn dispatches, by "name" or "container|sub" (lower-case), with its metadata; nil
    /// when Cairn has no such command or the container has no such subcommand.
    static func implementedCommand(_ e: Engine, _ name: String) -> (spec: CommandSpec, meta: CommandMetadata?)? {
        if let bar = name.firstIndex(of: "|") {
            guard let spec = e.commands[String(name[..<bar])], let sub = CommandMetadata.lookup(name) else { return nil }
            return (spec, sub)
        }
        guard let spec = e.commands[name] else { return nil }
        return (spec, CommandMetadata.table[name])
    }

    /// COMMAND GETKEYS / GETKEYSANDFLAGS over the full command line `args`.
    static func getKeys(_ ctx: CommandContext, _ args: [[UInt8]], withFlags: Bool) {
        let name = String(decoding: args[0], as: UTF8.self).lowercased()
        guard let spec = ctx.engine.commands[name] else { ctx.error("ERR Invalid command specified"); return }
        guard var meta = CommandMetadata.table[name] else {
            // A command without metadata: its legacy key positions.
            if (spec.arity > 0 && args.count != spec.arity) || (spec.arity < 0 && args.count < -spec.arity) {
                ctx.error("ERR Invalid number of arguments specified for command")
                return
            }
            let idx = spec.keyIndices(argc: args.count)
            if idx.isEmpty { ctx.error("ERR The command has no key arguments"); return }
            ctx.arrayHeader(idx.count)
            for i in idx {
                if withFlags { ctx.arrayHeader(2); ctx.bulk(args[i]); ctx.setHeader(0) } else { ctx.bulk(args[i]) }
            }
            return
        }
        if args.count >= 2, !meta.subcommands.isEmpty {
            guard let sub = meta.subcommand(String(decoding: args[1], as: UTF8.self)) else {
                ctx.error("ERR Invalid command specified")
                return
            }
            meta = sub
        }
        guard CommandIntrospection.hasKeys(meta) else { ctx.error("ERR The command has no key arguments"); return }
        if (meta.arity > 0 && args.count != meta.arity) || (meta.arity < 0 && args.count < -meta.arity) {
            ctx.error("ERR Invalid number of arguments specified for command")
            return
        }
        let keys = CommandIntrospection.keys(meta, args)
        if keys.isEmpty && !meta.hasFlag("no_mandatory_keys") {
            ctx.error("ERR Invalid arguments specified for command")
            return
        }
        ctx.arrayHeader(keys.count)
        for k in keys {
            if withFlags {
                ctx.arrayHeader(2)
                ctx.bulk(args[k.index])
                ctx.setHeader(k.flags.count)
                for f in k.flags { ctx.simple(f) }
            } else {
                ctx.bulk(args[k.index])
            }
        }
    }

    /// One COMMAND INFO entry: from the metadata when there is some, else what the spec knows.
    static func commandInfo(_ ctx: CommandContext, _ s: CommandSpec, _ meta: CommandMetadata? = nil) {
        if let m = meta ?? CommandMetadata.table[s.name] {
            CommandIntrospection.writeInfo(ctx, m)
            return
        }
        ctx.arrayHeader(10)
        ctx.bulk(s.name)
        ctx.integer(s.arity)
        let flags = s.flags.names
        ctx.setHeader(flags.count)
        for f in flags { ctx.simple(f) }
        ctx.integer(s.firstKey)
        ctx.integer(s.lastKey)
        ctx.integer(s.step)
        ctx.setHeader(0)
        ctx.setHeader(0)
        ctx.setHeader(0)
        ctx.setHeader(0)
    }

    /// One CLIENT LIST line.
    public static func clientLine(_ e: Engine, _ s: Session) -> String {
        let age = (e.now - s.createdAt) / 1000
        let idle = (e.now - s.lastInteraction) / 1000
        // Redis's order: S|O, M, P, x, b, t, R, B, U, e.
        var flags = ""
        if s.isReplica { flags += "S" } else if s.isMonitor { flags += "O" }
        if s.isMaster { flags += "M" }
        if s.subscriptionCount > 0 { flags += "P" }
        if s.multi != nil { flags += "x" }
        if s.blocked != nil || s.postponed { flags += "b" }
        if s.tracking.on { flags += "t" }
        if s.tracking.brokenRedirect { flags += "R" }
        if s.tracking.bcast { flags += "B" }
        if s.isUnixSocket { flags += "U" }
        if s.noEvict { flags += "e" }
        if flags.isEmpty { flags = "N" }
        let name = s.name.map { String(decoding: $0, as: UTF8.self) } ?? ""
        // Output waiting for the socket, in Redis's terms: what fits the reply buffer (obl), and the
        // memory beyond it (omem), counted as a list of 16 KB blocks (oll).
        let obl = min(s.pendingOutput, s.replyBufferSize), omem = s.outputListBytes, oll = (omem + 16383) / 16384
        return "id=\(s.id) addr=\(s.address) laddr=\(s.localAddress) fd=\(s.id + 7) name=\(name) age=\(age) idle=\(idle) flags=\(flags) db=\(s.db) sub=\(s.channels.count) psub=\(s.patterns.count) ssub=\(s.shardChannels.count) multi=\(s.multi.map { $0.count } ?? -1) qbuf=\(s.queryBufferBytes) qbuf-free=\(s.queryBufferFree) argv-mem=\(s.argvBytes) multi-mem=\(s.multiBytes) rbs=\(s.replyBufferSize) rbp=\(s.replyBufferPeak) obl=\(obl) oll=\(oll) omem=\(omem) tot-mem=\(s.memoryUsage) events=r cmd=\(s.lastCommand) user=\(String(decoding: e.acl.userOf(s).name, as: UTF8.self)) redir=\(s.tracking.on ? s.tracking.redirect : -1) resp=\(s.resp)"
    }

    static func client(_ ctx: CommandContext) {
        let e = ctx.engine, s = ctx.session
        guard checkSubcommand(ctx, ["ID": 2, "SETNAME": 3, "GETNAME": 2, "LIST": -2, "INFO": 2, "KILL": -3, "NO-EVICT": 3, "NO-TOUCH": 3,
                                    "REPLY": 3, "PAUSE": -3, "UNPAUSE": 2, "HELP": 2, "TRACKING": -3, "CACHING": 3, "GETREDIR": 2,
                                    "TRACKINGINFO": 2, "UNBLOCK": -3]) else { return }
        switch ctx.option(1) {
        case "ID": ctx.integer(s.id)
        case "SETNAME":
            guard validClientName(ctx.args[2]) else {
                ctx.error("ERR Client names cannot contain spaces, newlines or special characters.")
                return
            }
            s.name = ctx.args[2].isEmpty ? nil : ctx.args[2]
            ctx.ok()
        case "GETNAME":
            if let n = s.name { ctx.bulk(n) } else { ctx.null() }
        case "INFO":
            ctx.verbatim(Array((clientLine(e, s) + "\n").utf8))
        case "LIST":
            var ids: Set<Int>? = nil
            if ctx.argc > 2 {
                if ctx.option(2) == "ID" && ctx.argc > 3 {
                    var set = Set<Int>()
                    for i in 3 ..< ctx.argc {
                        guard let v = StrictInteger.parse(ctx.args[i]), v > 0 else { ctx.error("ERR Invalid client ID"); return }
                        set.insert(Int(v))
                    }
                    ids = set
                } else if ctx.option(2) == "TYPE" && ctx.argc == 4 {
                    let t = ctx.option(3)
                    guard ["NORMAL", "MASTER", "REPLICA", "SLAVE", "PUBSUB"].contains(t) else {
                        ctx.error("ERR Unknown client type '\(String(decoding: ctx.args[3], as: UTF8.self))'")
                        return
                    }
                    if t != "NORMAL" && t != "PUBSUB" { ids = [] }
                    if t == "PUBSUB" { ids = Set(e.sessions.values.filter { $0.subscriptionCount > 0 && !$0.isReplica && !$0.isMaster }.map(\.id)) }
                    if t == "NORMAL" { ids = Set(e.sessions.values.filter { $0.subscriptionCount == 0 && !$0.isReplica && !$0.isMaster }.map(\.id)) }
                    if t == "MASTER" { ids = Set(e.sessions.values.filter(\.isMaster).map(\.id)) }
                    if t == "REPLICA" || t == "SLAVE" { ids = Set(e.sessions.values.filter(\.isReplica).map(\.id)) }
                } else {
                    ctx.syntaxError()
                    return
                }
            }
            var text = ""
            // A client killed by another (CLIENT KILL, ACL changes) is gone at once for Redis: it is not
            // listed even though its connection closes only when the loop next runs.
            for x in e.sessions.values.sorted(by: { $0.id < $1.id })
            where (ids == nil || ids!.contains(x.id)) && (!x.closeAfterReply || x === ctx.session) {
                text += clientLine(e, x) + "\n"
            }
            ctx.verbatim(Array(text.utf8))
        case "KILL":
            clientKill(ctx)
        case "NO-EVICT", "NO-TOUCH":
            let v = ctx.option(2)
            guard v == "ON" || v == "OFF" else { ctx.syntaxError(); return }
            if ctx.option(1) == "NO-EVICT" && s.noEvict != (v == "ON") {
                s.noEvict = v == "ON"
                e.hooks.clientEvictionChanged?(s)
            }
            ctx.ok()
        case "REPLY":
            switch ctx.option(2) {
            case "ON": s.replyMode = .on; ctx.ok()
            case "OFF": s.replyMode = .off
            case "SKIP": if s.replyMode == .on { s.replyMode = .skip }
            default: ctx.syntaxError()
            }
        case "PAUSE":
            // Redis's order: the mode first, then the timeout (ms from now; 0 ends the pause at once).
            guard ctx.argc <= 4 else {
                ctx.error("ERR unknown subcommand or wrong number of arguments for '\(String(decoding: ctx.args[1].prefix(128), as: UTF8.self))'. Try CLIENT HELP.")
                return
            }
            var type = ClientPauseType.all
            if ctx.argc == 4 {
                switch ctx.option(3) {
                case "WRITE": type = .write
                case "ALL": type = .all
                default:
                    ctx.error("ERR CLIENT PAUSE mode must be WRITE or ALL")
                    return
                }
            }
            guard let ms = StrictInteger.parse(ctx.args[2]) else {
                ctx.error("ERR timeout is not an integer or out of range")
                return
            }
            guard ms >= 0 else { ctx.error("ERR timeout is negative"); return }
            e.pauseClients(until: ms > 0 ? ctx.now + ms : 0, type: type)
            ctx.ok()
        case "UNPAUSE":
            e.unpauseClients()
            ctx.ok()
        case "UNBLOCK":
            guard let id = StrictInteger.parse(ctx.args[2]) else { ctx.error(RedisError.notInteger); return }
            var withError = false
            if ctx.argc == 4 {
                switch ctx.option(3) {
                case "ERROR": withError = true
                case "TIMEOUT": withError = false
                default: ctx.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"); return
                }
            }
            guard let target = e.sessions[Int(id)], let b = target.blocked else { ctx.integer(0); return }
            e.unblock(target)
            b.spec.stat.calls += 1  // a blocked command is counted when its wait ends
            if withError {
                let text = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
                RESPEncoder.error(text, to: &target.out)
                // The blocked command ends with this error: counted as its failure (INFO errorstats).
                e.recordError(text)
                b.spec.stat.failedCalls += 1
            } else {
                switch b.timeoutReply {
                case .nullArray: RESPEncoder.nullArray(resp: target.resp, to: &target.out)
                case .nullBulk: RESPEncoder.null(resp: target.resp, to: &target.out)
                }
            }
            target.wakeup?()
            ctx.integer(1)
        case "TRACKING": TrackingCommands.tracking(ctx)
        case "CACHING": TrackingCommands.caching(ctx)
        case "GETREDIR": ctx.integer(s.tracking.on ? s.tracking.redirect : -1)
        case "TRACKINGINFO": TrackingCommands.trackingInfo(ctx)
        default:
            helpReply(ctx, ["CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "CACHING (YES|NO)",
                            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.", "GETREDIR",
                            "    Return the client ID we are redirecting to when tracking is enabled.", "GETNAME",
                            "    Return the name of the current connection.", "ID", "    Return the ID of the current connection.",
                            "INFO", "    Return information about the current client connection.", "KILL <ip:port>",
                            "    Kill connection made from <ip:port>.", "KILL <option> <value> [<option> <value> [...]]",
                            "    Kill connections. Options are:", "LIST [options ...]", "    Return information about client connections.",
                            "UNPAUSE", "    Stop the current client pause, resuming traffic.", "PAUSE <timeout> [WRITE|ALL]",
                            "    Suspend all, or just write, clients for <timeout> milliseconds.", "REPLY (ON|OFF|SKIP)",
                            "    Control the replies sent to the current connection.", "SETNAME <name>",
                            "    Assign the name <name> to the current connection.", "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                            "    Unblock the specified blocked client.", "HELP", "    Prints this help."])
        }
    }

    static func clientKill(_ ctx: CommandContext) {
        let e = ctx.engine, s = ctx.session
        if ctx.argc == 3 {
            let addr = String(decoding: ctx.args[2], as: UTF8.self)
            guard let target = e.sessions.values.first(where: { $0.address == addr }) else {
                ctx.error("ERR No such client")
                return
            }
            target.closeAfterReply = true
            target.wakeup?()
            ctx.ok()
            return
        }
        var filters: [(String, String)] = []
        var skipMe = true
        var i = 2
        while i < ctx.argc {
            guard i + 1 < ctx.argc else { ctx.syntaxError(); return }
            let opt = ctx.option(i), val = String(decoding: ctx.args[i + 1], as: UTF8.self)
            switch opt {
            case "ID":
                guard let v = Int(val), v > 0 else { ctx.error("ERR client-id should be greater than 0"); return }
                filters.append(("ID", String(v)))
            case "ADDR", "LADDR": filters.append((opt, val))
            case "USER":
                guard e.acl.user(named: ctx.args[i + 1]) != nil else { ctx.error("ERR No such user '\(val)'"); return }
                filters.append((opt, val))
            case "TYPE":
                guard ["normal", "master", "replica", "slave", "pubsub"].contains(val.lowercased()) else {
                    ctx.error("ERR Unknown client type '\(val)'")
                    return
                }
                filters.append((opt, val.lowercased()))
            case "SKIPME":
                switch val.lowercased() {
                case "yes": skipMe = true
                case "no": skipMe = false
                default: ctx.syntaxError(); return
                }
            default:
                ctx.syntaxError()
                return
            }
            i += 2
        }
        var killed = 0
        for t in e.sessions.values {
            if skipMe && t === s { continue }
            var match = true
            for (k, v) in filters {
                switch k {
                case "ID": match = match && String(t.id) == v
                case "ADDR": match = match && t.address == v
                case "LADDR": match = match && t.localAddress == v
                case "USER": match = match && v == String(decoding: e.acl.userOf(t).name, as: UTF8.self)
                case "TYPE":
                    let kind = t.isMaster ? "master" : t.isReplica ? "replica" : t.subscriptionCount > 0 ? "pubsub" : "normal"
                    match = match && (v.lowercased() == "slave" ? "replica" : v.lowercased()) == kind
                default: break
                }
            }
            if match {
                t.closeAfterReply = true
                t.wakeup?()
                killed += 1
            }
        }
        ctx.integer(killed)
    }

    static func debug(_ ctx: CommandContext) {
        switch ctx.option(1) {
        case "SLEEP":
            guard ctx.argc == 3, let secs = parseRedisDouble(ctx.args[2]) else { ctx.syntaxError(); return }
            // The whole time even when a signal (the watchdog's SIGALRM) interrupts the sleep.
            let total = max(0, secs)
            var want = timespec(tv_sec: Int(total), tv_nsec: Int((total - total.rounded(.down)) * 1e9))
            var left = timespec()
            while nanosleep(&want, &left) != 0 && errno == EINTR { want = left }
            ctx.ok()
        case "OBJECT":
            guard ctx.argc == 3 else { wrongSubcommandArity(ctx); return }
            // The key as stored, even when logically expired (Redis 7.0 looks it up in the dict directly).
            guard let v = ctx.db.keys[ctx.key(2)] else { ctx.error(RedisError.noSuchKey); return }
            let bits = ctx.db.accessBits(ctx.key(2)) ?? 0
            let idle = ctx.engine.keyAccess.idleSeconds(bits)
            ctx.simple("Value at:0x7f0000000000 refcount:1 encoding:\(v.encodingName) serializedlength:\(estimateMemory(ctx.key(2), v)) lru:\(bits) lru_seconds_idle:\(idle)")
        case "DIGEST":
            // The whole dataset's digest, as Redis computes it (DatasetDigest.swift).
            guard ctx.argc == 2 else {
                let sub = String(decoding: ctx.args[1], as: UTF8.self)
                ctx.error("ERR unknown subcommand or wrong number of arguments for '\(sub)'. Try DEBUG HELP.")
                return
            }
            ctx.simple(datasetSHA1Digest(ctx.engine).hex)
        case "DIGEST-VALUE":
            // One digest per key, zeros for a missing one; no lazy expiry, as in Redis.
            ctx.arrayHeader(ctx.argc - 2)
            for j in 2 ..< ctx.argc {
                let k = ctx.key(j)
                ctx.simple(valueSHA1Digest(ctx.db.keys[k], expiresAt: ctx.db.expireTime(k)).hex)
            }
        case "POPULATE":
            // DEBUG POPULATE count [prefix] [size]: string keys prefix:0 ... (default prefix "key") holding
            // "value:N", zero-padded or cut to `size` bytes when a size is given; existing keys are left
            // alone. As in Redis, nothing is propagated (no AOF record) and no event is published.
            guard ctx.argc >= 3 && ctx.argc <= 5 else {
                let sub = String(decoding: ctx.args[1], as: UTF8.self)
                ctx.error("ERR unknown subcommand or wrong number of arguments for '\(sub)'. Try DEBUG HELP.")
                return
            }
            func positive(_ i: Int) -> Int64? {
                // Redis answers the same for a negative number and for no number at all.
                guard let n = StrictInteger.parse(ctx.args[i]), n >= 0 else {
                    ctx.error("ERR value is out of range, must be positive")
                    return nil
                }
                return n
            }
            guard let count = positive(2) else { return }
            var size = 0
            if ctx.argc == 5 {
                guard let n = positive(4) else { return }
                size = Int(n)
            }
            let prefix = ctx.argc >= 4 ? ctx.args[3] : Array("key".utf8)
            var key = prefix + [UInt8(ascii: ":")]
            let keyStart = key.count
            for i in 0 ..< count {
                let digits = StrictInteger.format(i)
                key.removeSubrange(keyStart...)
                key += digits
                let k = ByteString(key)
                if ctx.db.lookupNoTouch(k, now: ctx.now) != nil { continue }
                var value = Array("value:".utf8) + digits
                if size > 0 {
                    if value.count > size { value.removeSubrange(size...) } else { value += [UInt8](repeating: 0, count: size - value.count) }
                }
                ctx.db.set(k, .string(.bytes(ByteString(value))))
            }
            ctx.ok()
        case "SET-ACTIVE-EXPIRE":
            guard ctx.argc == 3 else { wrongSubcommandArity(ctx); return }
            ctx.engine.config.activeExpireEnabled = ctx.args[2] != Array("0".utf8)
            ctx.ok()
        case "HELP":
            helpReply(ctx, ["DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                            "DIGEST", "    Output a hex signature representing the current DB content.",
                            "DIGEST-VALUE <key> [<key> ...]", "    Output a hex signature of the values of all the specified keys.",
                            "HTSTATS <dbid>", "    Return hash table statistics of the specified Redis database.",
                            "HTSTATS-KEY <key>", "    Like HTSTATS but for the hash table stored at <key>'s value.",
                            "OBJECT <key>",
                            "    Show low level info about the `key` and associated value.",
                            "POPULATE <count> [<prefix>] [<size>]",
                            "    Add <count> string keys <prefix>:0, <prefix>:1... (prefix \"key\" by default) holding",
                            "    value:<n>, padded with zero bytes or cut to <size> when given. Existing keys stay.",
                            "SET-ACTIVE-EXPIRE <0|1>",
                            "    Setting it to 0 disables expiring keys in background when they are not", "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the", "    default.",
                            "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.", "HELP", "    Prints this help."])
        default:
            if debugTesting(ctx) { return }
            if let hook = ctx.engine.hooks.debug, hook(ctx) { return }
            let sub = String(decoding: ctx.args[1].prefix(128), as: UTF8.self)
            ctx.error("ERR unknown subcommand or wrong number of arguments for '\(sub)'. Try DEBUG HELP.")
        }
    }

    /// An estimate of the bytes a key and its value use (MEMORY USAGE): the key's entry, plus the
    /// value's own estimate (StoredType.memoryEstimate, in its type's <Type>Persistence.swift).
    public static func estimateMemory(_ key: ByteString, _ v: RedisValue) -> Int {
        16 + key.count + 24 + v.stored.memoryEstimate
    }
}

func estimateMemory(_ key: ByteString, _ v: RedisValue) -> Int { ConnectionCommands.estimateMemory(key, v) }
