// ConfigCommand: CONFIG GET / SET / RESETSTAT / REWRITE / HELP over a ServerConfig, registered as one
// container command ("config", arity -2) whose subcommands check their own arity as Redis reports
// them: config|get -3, config|set -4, config|resetstat 2, config|rewrite 2, config|help 2.
import Engine
import StorageFormat

/// The CONFIG command for `config`; the server registers it with `engine.register(...)`.
public func configCommands(_ config: ServerConfig) -> [CommandSpec] {
    [CommandSpec("config", arity: -2, flags: [.admin, .noScript, .loading, .stale]) { ctx in
        configCommand(ctx, config)
    }]
}

private let configHelp = [
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
]

private func configCommand(_ ctx: CommandContext, _ config: ServerConfig) {
    let sub = String(decoding: ctx.args[1], as: UTF8.self).lowercased()
    let arity: Int
    switch sub {
    case "get": arity = -3
    case "set": arity = -4
    case "resetstat", "rewrite", "help": arity = 2
    default:
        let given = String(decoding: ctx.args[1].prefix(128), as: UTF8.self)
        ctx.error("ERR unknown subcommand '\(given)'. Try CONFIG HELP.")
        return
    }
    if (arity > 0 && ctx.argc != arity) || (arity < 0 && ctx.argc < -arity) {
        ctx.error(RedisError.wrongArity("config|" + sub))
        return
    }
    switch sub {
    case "get": configGet(ctx, config)
    case "set":
        if ctx.argc % 2 != 0 {
            ctx.syntaxError()
            return
        }
        var pairs: [(name: [UInt8], value: [UInt8])] = []
        var i = 2
        while i < ctx.argc {
            pairs.append((ctx.args[i], ctx.args[i + 1]))
            i += 2
        }
        if let e = config.set(pairs, local: isLocal(ctx.session), loading: ctx.engine.isLoading || ctx.engine.isAsyncLoading) {
            ctx.error(e)
        } else {
            config.apply(to: ctx.engine)
            ctx.ok()
        }
    case "resetstat":
        ctx.engine.stats = EngineStats()
        config.onResetStat?()
        ctx.ok()
    case "rewrite":
        if let e = config.rewriteConfigFile() { ctx.error(e) } else { ctx.ok() }
    default:
        ctx.arrayHeader(configHelp.count)
        for line in configHelp { ctx.simple(line) }
    }
}

/// A client on loopback or a Unix socket (or in-process, with no address) counts as local.
private func isLocal(_ s: Session) -> Bool {
    let a = s.address
    return a.isEmpty || a.hasPrefix("127.") || a.hasPrefix("[::1]") || a.hasPrefix("::1") || a.hasPrefix("/")
        || a.hasPrefix("unixsocket")
}

/// CONFIG GET pattern [pattern ...]: a map of every matching parameter, each once (names compared
/// without case). A pattern without glob characters names one parameter (or alias) and is echoed as
/// given; a pattern matches primary names and aliases.
private func configGet(_ ctx: CommandContext, _ config: ServerConfig) {
    var seen = Set<String>()
    var out: [(name: [UInt8], value: [UInt8])] = []
    for pattern in ctx.args[2...] {
        let hasGlob = pattern.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }
        if !hasGlob {
            let name = String(decoding: pattern, as: UTF8.self)
            let key = name.lowercased()
            if seen.contains(key) { continue }
            guard let i = ConfigTable.index[key] else { continue }
            seen.insert(key)
            out.append((pattern, ConfigTable.parameters[i].format(config.value(at: i))))
            continue
        }
        for (name, i) in ConfigTable.allNames where !seen.contains(name) && !ConfigTable.parameters[i].flags.contains(.hidden) {
            if globMatch(pattern: pattern, string: Array(name.utf8), noCase: true) {
                seen.insert(name)
                out.append((Array(name.utf8), ConfigTable.parameters[i].format(config.value(at: i))))
            }
        }
    }
    ctx.mapHeader(out.count)
    for (n, v) in out {
        ctx.bulk(n)
        ctx.bulk(v)
    }
}
