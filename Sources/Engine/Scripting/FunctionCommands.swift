// FCALL, FCALL_RO and FUNCTION (LOAD, DELETE, FLUSH, LIST, DUMP, RESTORE, STATS, KILL, HELP), with
// Redis 7.0's replies and error texts.
import CLua
import StorageFormat

public enum FunctionCommands {
    public static var all: [CommandSpec] {
        let fcall = CommandSpec("fcall", arity: -3, flags: [.noScript, .skipMonitor, .mayReplicate, .stale]) { ctx in
            fcallCommand(ctx, readOnly: false)
        }
        let fcallRO = CommandSpec("fcall_ro", arity: -3, flags: [.noScript, .skipMonitor, .readonly, .stale]) { ctx in
            fcallCommand(ctx, readOnly: true)
        }
        for s in [fcall, fcallRO] {
            s.dynamicFlags = { e, args in
                guard args.count >= 2, let f = e.functions.function(named: String(decoding: args[1], as: UTF8.self)) else { return s.flags }
                return ScriptCommands.commandFlags(s.flags, f.flags)
            }
        }
        let function = CommandSpec("function", arity: -2, flags: [.noScript]) { ctx in functionCommand(ctx) }
        // FUNCTION LOAD and RESTORE write and may grow memory, DELETE and FLUSH write (MISCONF, OOM).
        function.dynamicFlags = { e, args in
            guard args.count >= 2 else { return function.flags }
            switch e.lowercasedName(args[1]) {
            case "load", "restore": return [.noScript, .write, .denyOOM]
            case "delete", "flush": return [.noScript, .write]
            default: return function.flags
            }
        }
        return [fcall, fcallRO, function]
    }

    static func fcallCommand(_ ctx: CommandContext, readOnly: Bool) {
        let e = ctx.engine
        if !e.monitors.isEmpty { e.feedMonitors(ctx.session, ctx.args) }
        guard let f = e.functions.function(named: String(decoding: ctx.args[1], as: UTF8.self)) else {
            ctx.error("ERR Function not found")
            return
        }
        guard let numkeys = StrictInteger.parse(ctx.args[2]) else {
            ctx.error("ERR Bad number of keys provided")
            return
        }
        guard ScriptCommands.numkeysFit(ctx, numkeys) else { return }
        if let refusal = ScriptCommands.prepareRefusal(e, caller: ctx.session, flags: f.flags, readOnly: readOnly) {
            ctx.error(refusal)
            return
        }
        let vm = e.functionsVM
        let run = vm.makeRun(caller: ctx.session, function: f.name, flags: f.flags, readOnly: readOnly,
                             startedOOM: e.preCommandOOM, command: ctx.args)
        let n = Int(numkeys)
        e.runScript(run) {
            vm.execute(run, function: f.ref, command: ctx.args, keys: 3 ..< 3 + n, args: 3 + n ..< ctx.args.count)
        }
    }

    static func functionCommand(_ ctx: CommandContext) {
        let e = ctx.engine
        guard checkSubcommand(ctx, ["LOAD": -3, "DELETE": 3, "FLUSH": -2, "LIST": -2, "DUMP": 2, "RESTORE": -3,
                                    "STATS": 2, "KILL": 2, "HELP": 2]) else { return }
        switch ctx.option(1) {
        case "LOAD":
            var replace = false
            var i = 2
            while i < ctx.argc - 1 {
                if ctx.option(i) == "REPLACE" {
                    replace = true
                    i += 1
                    continue
                }
                ctx.error("ERR Unknown option given: \(String(decoding: ctx.args[i], as: UTF8.self))")
                return
            }
            do {
                let name = try e.functions.load(code: ctx.args[ctx.argc - 1], replace: replace, timeoutMS: e.replaying ? 0 : 500)
                e.dirty += 1
                ctx.propagate(ctx.args)
                ctx.bulk(name)
            } catch {
                ctx.error(error.message)
            }
        case "DELETE":
            guard e.functions.delete(String(decoding: ctx.args[2], as: UTF8.self)) else {
                ctx.error("ERR Library not found")
                return
            }
            e.dirty += 1
            ctx.propagate(ctx.args)
            ctx.ok()
        case "FLUSH":
            if ctx.argc > 3 {
                subcommandSyntaxError(ctx)
                return
            }
            if ctx.argc == 3 && ctx.option(2) != "SYNC" && ctx.option(2) != "ASYNC" {
                ctx.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
                return
            }
            e.functions.flush()
            e.dirty += 1
            ctx.propagate(ctx.args)
            ctx.ok()
        case "LIST":
            list(ctx)
        case "DUMP":
            let payload = (try? FunctionDumpPayload.encode(e.functions.libraries.map(\.code))) ?? []
            ctx.bulk(payload)
        case "RESTORE":
            if ctx.argc > 4 {
                subcommandSyntaxError(ctx)
                return
            }
            var policy = FunctionLibraries.RestorePolicy.append
            if ctx.argc == 4 {
                switch ctx.option(3) {
                case "APPEND": policy = .append
                case "REPLACE": policy = .replace
                case "FLUSH": policy = .flush
                default:
                    ctx.error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
                    return
                }
            }
            switch FunctionDumpPayload.decode(ctx.args[2]) {
            case .failure(let r):
                ctx.error(r.message)
            case .success(let codes):
                do {
                    try e.functions.restore(codes, policy: policy)
                    e.dirty += 1
                    ctx.propagate(ctx.args)
                    ctx.ok()
                } catch {
                    ctx.error(error.message)
                }
            }
        case "STATS":
            stats(ctx)
        case "KILL":
            ScriptCommands.killScript(ctx, eval: false)
        default:
            helpReply(ctx, [
                "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "LOAD [REPLACE] <FUNCTION CODE>", "    Create a new library with the given library name and code.",
                "DELETE <LIBRARY NAME>", "    Delete the given library.",
                "LIST [LIBRARYNAME PATTERN] [WITHCODE]", "    Return general information on all the libraries:",
                "    * Library name", "    * The engine used to run the Library", "    * Library description", "    * Functions list",
                "    * Library code (if WITHCODE is given)",
                "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
                "STATS", "    Return information about the current function running:", "    * Function name",
                "    * Command used to run the function", "    * Duration in MS that the function is running",
                "    If no function is running, return nil", "    In addition, returns a list of available engines.",
                "KILL", "    Kill the current running function.",
                "FLUSH [ASYNC|SYNC]", "    Delete all the libraries.",
                "    When called without the optional mode argument, the behavior is determined by the",
                "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
                "    * ASYNC: Asynchronously flush the libraries.", "    * SYNC: Synchronously flush the libraries.",
                "DUMP", "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
                "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
                "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
                "    control how to handle existing libraries (default APPEND):", "    * FLUSH: delete all existing libraries.",
                "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
                "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
                "      libraries with the new libraries (notice that even on this option there is a chance of failure",
                "      in case of functions name collision with another library).",
                "HELP", "    Prints this help.",
            ])
        }
    }

    static func subcommandSyntaxError(_ ctx: CommandContext) {
        ctx.error("ERR unknown subcommand or wrong number of arguments for '\(String(decoding: ctx.args[1].prefix(128), as: UTF8.self))'. Try FUNCTION HELP.")
    }

    static func list(_ ctx: CommandContext) {
        var withCode = false
        var pattern: [UInt8]?
        var i = 2
        while i < ctx.argc {
            if !withCode && ctx.option(i) == "WITHCODE" {
                withCode = true
            } else if pattern == nil && ctx.option(i) == "LIBRARYNAME" {
                guard i < ctx.argc - 1 else {
                    ctx.error("ERR library name argument was not given")
                    return
                }
                i += 1
                pattern = ctx.args[i]
            } else {
                ctx.error("ERR Unknown argument \(String(decoding: ctx.args[i], as: UTF8.self))")
                return
            }
            i += 1
        }
        let libs = ctx.engine.functions.libraries.filter { lib in
            pattern.map { globMatch(pattern: $0, string: Array(lib.name.utf8), noCase: true) } ?? true
        }
        ctx.arrayHeader(libs.count)
        for lib in libs {
            ctx.mapHeader(withCode ? 4 : 3)
            ctx.bulk("library_name"); ctx.bulk(lib.name)
            ctx.bulk("engine"); ctx.bulk("LUA")
            ctx.bulk("functions")
            ctx.arrayHeader(lib.functions.count)
            for f in lib.functions {
                ctx.mapHeader(3)
                ctx.bulk("name"); ctx.bulk(f.name)
                ctx.bulk("description")
                if let d = f.description { ctx.bulk(d) } else { ctx.null() }
                ctx.bulk("flags")
                let names = f.flags.flagNames
                ctx.setHeader(names.count)
                for n in names { ctx.simple(n) }
            }
            if withCode { ctx.bulk("library_code"); ctx.bulk(lib.code) }
        }
    }

    static func stats(_ ctx: CommandContext) {
        let e = ctx.engine
        if let run = e.currentScript, run.isEval {
            ctx.error(ScriptCommands.busyEval)
            return
        }
        ctx.mapHeader(2)
        ctx.bulk("running_script")
        if let run = e.currentScript {
            ctx.mapHeader(3)
            ctx.bulk("name"); ctx.bulk(run.name)
            ctx.bulk("command")
            ctx.arrayHeader(run.command.count)
            for a in run.command { ctx.bulk(a) }
            ctx.bulk("duration_ms"); ctx.integer(run.durationMS)
        } else {
            ctx.null()
        }
        ctx.bulk("engines")
        ctx.mapHeader(1)
        ctx.bulk("LUA")
        ctx.mapHeader(2)
        ctx.bulk("libraries_count"); ctx.integer(e.functions.libraries.count)
        ctx.bulk("functions_count"); ctx.integer(e.functions.functions.count)
    }
}
