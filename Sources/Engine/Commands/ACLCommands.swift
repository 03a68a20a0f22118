// ACL: SETUSER GETUSER DELUSER LIST USERS WHOAMI CAT GENPASS LOG DRYRUN LOAD SAVE HELP, with
// Redis 7.0's replies and error texts. The rules themselves live in AccessControl.swift; LOAD and
// SAVE call the server's file hooks.
import StorageFormat

public enum ACLCommands {
    public static var all: [CommandSpec] {
        [CommandSpec("acl", arity: -2, flags: [.loading, .stale]) { ctx in acl(ctx) }]
    }

    static let help = [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
    ]

    static let noFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."

    static func acl(_ ctx: CommandContext) {
        guard checkSubcommand(ctx, ["SETUSER": -3, "GETUSER": 3, "DELUSER": -3, "LIST": 2, "USERS": 2, "WHOAMI": 2,
                                    "CAT": -2, "GENPASS": -2, "LOG": -2, "DRYRUN": -4, "LOAD": 2, "SAVE": 2, "HELP": 2]) else { return }
        let e = ctx.engine, a = e.acl
        switch ctx.option(1) {
        case "SETUSER":
            let name = ctx.args[2]
            if AccessControl.hasSpaces(name) {
                ctx.error("ERR Usernames can't contain spaces or null characters")
                return
            }
            let err = a.setUser(name, Array(ctx.args[3...])) { user, old in
                e.disconnectPubsubClientsIfNeeded(user, old: old)
            }
            if let err { ctx.error("ERR " + err) } else { ctx.ok() }
        case "GETUSER":
            guard let u = a.user(named: ctx.args[2]) else { ctx.null(); return }
            ctx.mapHeader(6)
            ctx.bulk("flags")
            let flags = u.flagNames
            ctx.setHeader(flags.count)
            for f in flags { ctx.bulk(f) }
            ctx.bulk("passwords")
            ctx.arrayHeader(u.state.passwords.count)
            for p in u.state.passwords { ctx.bulk(p) }
            describeSelector(ctx, u.state.selectors[0])
            ctx.bulk("selectors")
            ctx.arrayHeader(u.state.selectors.count - 1)
            for s in u.state.selectors.dropFirst() {
                ctx.mapHeader(3)
                describeSelector(ctx, s)
            }
        case "DELUSER":
            for n in ctx.args[2...] where n == Array("default".utf8) {
                ctx.error("ERR The 'default' user cannot be removed")
                return
            }
            var removed: [ACLUser] = []
            for n in ctx.args[2...] { if let u = a.deleteUser(n) { removed.append(u) } }
            e.disconnectClients(of: removed)
            ctx.integer(removed.count)
        case "LIST":
            let users = a.sortedUsers
            ctx.arrayHeader(users.count)
            for u in users { ctx.bulk(Array("user ".utf8) + u.name + [32] + u.describe()) }
        case "USERS":
            let users = a.sortedUsers
            ctx.arrayHeader(users.count)
            for u in users { ctx.bulk(u.name) }
        case "WHOAMI":
            ctx.bulk(a.userOf(ctx.session).name)
        case "CAT":
            cat(ctx)
        case "GENPASS":
            var bits = 256
            if ctx.argc > 3 { return subcommandSyntaxError(ctx) }
            if ctx.argc > 2 {
                guard let b = ctx.integerArgument(2) else { return }
                guard b > 0 && b <= 4096 else {
                    ctx.error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
                    return
                }
                bits = Int(b)
            }
            let chars = (bits + 3) / 4
            let hex = Array("0123456789abcdef".utf8)
            var rng = SystemRandomNumberGenerator()
            ctx.bulk((0 ..< chars).map { _ in hex[Int(rng.next() & 15)] })
        case "LOG":
            log(ctx)
        case "DRYRUN":
            dryRun(ctx)
        case "LOAD":
            guard let load = a.loadFile else { ctx.error(noFile); return }
            if let err = load() { ctx.error("ERR " + err) } else { ctx.ok() }
        case "SAVE":
            guard let save = a.saveFile else { ctx.error(noFile); return }
            if save() != nil {
                ctx.error("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
            } else {
                ctx.ok()
            }
        default:
            helpReply(ctx, help)
        }
    }

    static func describeSelector(_ ctx: CommandContext, _ s: ACLSelector) {
        ctx.bulk("commands")
        ctx.bulk(s.describeCommands())
        ctx.bulk("keys")
        ctx.bulk(s.describeKeys())
        ctx.bulk("channels")
        ctx.bulk(s.describeChannels())
    }

    /// Redis's reply when a subcommand's own argument count is wrong (the subcommand as typed).
    static func subcommandSyntaxError(_ ctx: CommandContext) {
        ctx.error("ERR unknown subcommand or wrong number of arguments for '\(String(decoding: ctx.args[1], as: UTF8.self))'. Try ACL HELP.")
    }

    static func cat(_ ctx: CommandContext) {
        if ctx.argc == 2 {
            ctx.arrayHeader(ACLCommandTable.categoryNames.count)
            for c in ACLCommandTable.categoryNames { ctx.bulk(c) }
            return
        }
        guard ctx.argc == 3 else { return subcommandSyntaxError(ctx) }
        let name = String(decoding: ctx.args[2], as: UTF8.self)
        guard let bit = ACLCommandTable.categoryBit(name) else {
            ctx.error("ERR Unknown category '\(name)'")
            return
        }
        let t = ACLCommandTable.shared
        var names: [String] = []
        func visit(_ id: Int) {
            if t.categories[id] & bit != 0 { names.append(t.names[id]) }
            for c in t.children[id] { visit(c) }
        }
        for id in t.topLevel { visit(id) }
        ctx.arrayHeader(names.count)
        for n in names { ctx.bulk(n) }
    }

    static func log(_ ctx: CommandContext) {
        let a = ctx.engine.acl
        var count = 10
        if ctx.argc == 3 {
            if ctx.option(2) == "RESET" {
                a.log.removeAll()
                ctx.ok()
                return
            }
            guard let c = ctx.integerArgument(2) else { return }
            count = Int(max(0, min(c, Int64(Int.max))))
        } else if ctx.argc > 3 {
            return subcommandSyntaxError(ctx)
        }
        let entries = a.log.prefix(count)
        ctx.arrayHeader(entries.count)
        for e in entries {
            ctx.mapHeader(7)
            ctx.bulk("count"); ctx.integer(e.count)
            ctx.bulk("reason"); ctx.bulk(e.reason)
            ctx.bulk("context"); ctx.bulk(e.context)
            ctx.bulk("object"); ctx.bulk(e.object)
            ctx.bulk("username"); ctx.bulk(e.username)
            ctx.bulk("age-seconds"); ctx.double(Double(ctx.now - e.ctime) / 1000)
            ctx.bulk("client-info"); ctx.bulk(e.clientInfo)
        }
    }

    static func dryRun(_ ctx: CommandContext) {
        let e = ctx.engine, t = ACLCommandTable.shared
        guard let u = e.acl.user(named: ctx.args[2]) else {
            ctx.error("ERR User '\(String(decoding: ctx.args[2], as: UTF8.self))' not found")
            return
        }
        let args = Array(ctx.args[3...])
        let lower = { (b: [UInt8]) in String(decoding: b.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self) }
        var id = t.byName[lower(args[0])]
        if let c = id, t.isContainer(c), args.count >= 2 { id = t.byName[t.names[c] + "|" + lower(args[1])] }
        guard let id, !lower(args[0]).contains("|") else {
            ctx.error("ERR Command '\(String(decoding: args[0], as: UTF8.self))' not found")
            return
        }
        let arity = t.arity[id]
        if (arity > 0 && arity != args.count) || args.count < -arity {
            ctx.error("ERR wrong number of arguments for '\(t.names[id])' command")
            return
        }
        guard let (denial, index) = e.acl.check(u, commandID: id, args: args) else { ctx.ok(); return }
        switch denial {
        case .command: ctx.bulk("This user has no permissions to run the '\(t.names[id])' command")
        case .key: ctx.bulk(Array("This user has no permissions to access the '".utf8) + args[index] + Array("' key".utf8))
        case .channel: ctx.bulk(Array("This user has no permissions to access the '".utf8) + args[index] + Array("' channel".utf8))
        case .auth: ctx.bulk("no permission")
        }
    }
}
