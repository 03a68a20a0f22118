// SUBSCRIBE / UNSUBSCRIBE / PSUBSCRIBE / PUNSUBSCRIBE / PUBLISH / PUBSUB. Messages are RESP3 push
// frames (arrays in RESP2); a RESP2 client with subscriptions may only run the subscribe family,
// PING, QUIT and RESET.
import StorageFormat

public enum PubSubCommands {
    static let subFlags: CommandFlags = [.pubsub, .noScript, .loading, .stale, .subscribeContext]

    static func confirm(_ ctx: CommandContext, _ kind: StaticString, _ name: ByteString?, _ count: Int) {
        let s = ctx.session
        // Like messages, these are pushed (arrays in RESP2): CLIENT REPLY OFF|SKIP does not silence them.
        s.repliedWithPush = true
        RESPEncoder.pushHeader(3, resp: s.resp, to: &s.out)
        kind.withUTF8Buffer { RESPEncoder.bulk(UnsafeRawBufferPointer($0), to: &s.out) }
        if let name { ctx.bulk(name) } else { ctx.null() }
        ctx.integer(count)
    }

    public static var all: [CommandSpec] {
        [
            CommandSpec("subscribe", arity: -2, flags: subFlags) { ctx in
                let e = ctx.engine, s = ctx.session
                for i in 1 ..< ctx.argc {
                    let ch = ctx.key(i)
                    if s.channels.insert(ch).inserted { e.channels[ch, default: []].append(s) }
                    confirm(ctx, "subscribe", ch, s.globalSubscriptionCount)
                }
            },
            CommandSpec("unsubscribe", arity: -1, flags: subFlags) { ctx in
                let e = ctx.engine, s = ctx.session
                let targets = ctx.argc > 1 ? (1 ..< ctx.argc).map { ctx.key($0) } : Array(s.channels)
                if targets.isEmpty { confirm(ctx, "unsubscribe", nil, s.globalSubscriptionCount) }
                for ch in targets {
                    if s.channels.remove(ch) != nil {
                        e.channels[ch]?.removeAll { $0 === s }
                        if e.channels[ch]?.isEmpty == true { e.channels[ch] = nil }
                    }
                    confirm(ctx, "unsubscribe", ch, s.globalSubscriptionCount)
                }
            },
            CommandSpec("psubscribe", arity: -2, flags: subFlags) { ctx in
                let e = ctx.engine, s = ctx.session
                for i in 1 ..< ctx.argc {
                    let p = ctx.key(i)
                    if s.patterns.insert(p).inserted { e.patterns.append((p, s)) }
                    confirm(ctx, "psubscribe", p, s.globalSubscriptionCount)
                }
            },
            CommandSpec("punsubscribe", arity: -1, flags: subFlags) { ctx in
                let e = ctx.engine, s = ctx.session
                let targets = ctx.argc > 1 ? (1 ..< ctx.argc).map { ctx.key($0) } : Array(s.patterns)
                if targets.isEmpty { confirm(ctx, "punsubscribe", nil, s.globalSubscriptionCount) }
                for p in targets {
                    if s.patterns.remove(p) != nil { e.patterns.removeAll { $0.session === s && $0.pattern == p } }
                    confirm(ctx, "punsubscribe", p, s.globalSubscriptionCount)
                }
            },
            CommandSpec("publish", arity: 3, flags: [.pubsub, .loading, .stale, .fast, .mayReplicate]) { ctx in
                ctx.integer(ctx.engine.publish(channel: ctx.key(1), message: ctx.key(2)))
                ctx.engine.propagateToReplicas(ctx.session.db, ctx.args)
            },
            CommandSpec("pubsub", arity: -2, flags: [.pubsub, .loading, .stale]) { ctx in
                let e = ctx.engine
                let arity = ["CHANNELS": -2, "NUMSUB": -2, "NUMPAT": 2, "SHARDCHANNELS": -2, "SHARDNUMSUB": -2, "HELP": 2]
                guard checkSubcommand(ctx, arity) else { return }
                switch ctx.option(1) {
                case "CHANNELS" where ctx.argc <= 3:
                    let pattern = ctx.argc == 3 ? ctx.args[2] : nil
                    let names = e.channels.keys.filter { pattern == nil || globMatch(pattern: pattern!, string: $0.bytes, noCase: false) }
                    ctx.bulkArray(names.sorted())
                case "NUMSUB":
                    ctx.mapHeader(ctx.argc - 2)
                    for i in 2 ..< ctx.argc {
                        ctx.bulk(ctx.args[i])
                        ctx.integer(e.channels[ctx.key(i)]?.count ?? 0)
                    }
                case "NUMPAT" where ctx.argc == 2:
                    ctx.integer(Set(e.patterns.map(\.pattern)).count)
                case "SHARDCHANNELS" where ctx.argc <= 3:
                    let pattern = ctx.argc == 3 ? ctx.args[2] : nil
                    let names = e.shardChannels.keys.filter { pattern == nil || globMatch(pattern: pattern!, string: $0.bytes, noCase: false) }
                    ctx.bulkArray(names.sorted())
                case "SHARDNUMSUB":
                    ctx.mapHeader(ctx.argc - 2)
                    for i in 2 ..< ctx.argc {
                        ctx.bulk(ctx.args[i])
                        ctx.integer(e.shardChannels[ctx.key(i)]?.count ?? 0)
                    }
                case "HELP" where ctx.argc == 2:
                    let lines = ["PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                                 "CHANNELS [<pattern>]", "    Return the currently active channels matching a <pattern> (default: '*').",
                                 "NUMPAT", "    Return number of subscriptions to patterns.",
                                 "NUMSUB [<channel> ...]", "    Return the number of subscribers for the specified channels, excluding",
                                 "    pattern subscriptions(default: no channels).",
                                 "SHARDCHANNELS [<pattern>]", "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                                 "SHARDNUMSUB [<shardchannel> ...]", "    Return the number of subscribers for the specified shard level channel(s)",
                                 "HELP", "    Prints this help."]
                    ctx.arrayHeader(lines.count)
                    for l in lines { ctx.simple(l) }
                default:
                    wrongSubcommandArity(ctx)
                }
            },
        ]
    }
}

/// Checks a container command's subcommand against `arity` (Redis's convention, counting the
/// command and subcommand); replies with Redis's error and returns false when it does not fit.
public func checkSubcommand(_ ctx: CommandContext, _ arity: [String: Int]) -> Bool {
    guard let a = arity[ctx.option(1)] else {
        let sub = String(decoding: ctx.args[1], as: UTF8.self)
        ctx.error("ERR unknown subcommand '\(sub.prefix(128))'. Try \(ctx.spec.name.uppercased()) HELP.")
        return false
    }
    if (a > 0 && ctx.argc != a) || (a < 0 && ctx.argc < -a) {
        wrongSubcommandArity(ctx)
        return false
    }
    return true
}

public func wrongSubcommandArity(_ ctx: CommandContext) {
    ctx.error("ERR wrong number of arguments for '\(ctx.spec.name)|\(ctx.option(1).lowercased())' command")
}

/// HELP output: the lines as simple strings.
public func helpReply(_ ctx: CommandContext, _ lines: [String]) {
    ctx.arrayHeader(lines.count)
    for l in lines { ctx.simple(l) }
}
