// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (LOAD, EXISTS, FLUSH, KILL, DEBUG, HELP), and what
// dispatch asks of scripting: the flags an EVAL runs with (from its script's shebang) and the
// -BUSY refusal while a script runs past busy-reply-threshold.
import StorageFormat

public enum ScriptCommands {
    public static var all: [CommandSpec] {
        let eval = CommandSpec("eval", arity: -3, flags: [.noScript, .skipMonitor, .mayReplicate, .stale], firstKey: 0, lastKey: 0, step: 0) { ctx in
            evalCommand(ctx, sha: false, readOnly: false)
        }
        let evalsha = CommandSpec("evalsha", arity: -3, flags: [.noScript, .skipMonitor, .mayReplicate, .stale]) { ctx in
            evalCommand(ctx, sha: true, readOnly: false)
        }
        let evalRO = CommandSpec("eval_ro", arity: -3, flags: [.noScript, .skipMonitor, .readonly, .stale]) { ctx in
            evalCommand(ctx, sha: false, readOnly: true)
        }
        let evalshaRO = CommandSpec("evalsha_ro", arity: -3, flags: [.noScript, .skipMonitor, .readonly, .stale]) { ctx in
            evalCommand(ctx, sha: true, readOnly: true)
        }
        for s in [eval, evalsha, evalRO, evalshaRO] {
            let isSha = s.name.hasPrefix("evalsha")
            s.dynamicFlags = { e, args in evalFlags(e, args, base: s.flags, sha: isSha) }
        }
        let script = CommandSpec("script", arity: -2, flags: [.noScript]) { ctx in scriptCommand(ctx) }
        // SCRIPT LOAD and SCRIPT HELP may run on a stale replica (their own flags in Redis 7.0).
        script.dynamicFlags = { e, args in
            guard args.count >= 2 else { return script.flags }
            switch e.lowercasedName(args[1]) {
            case "load", "help": return script.flags.union(.stale)
            default: return script.flags
            }
        }
        return [eval, evalsha, evalRO, evalshaRO, script]
    }

    /// The flags an EVAL runs with: its script's shebang flags replace write/denyoom/stale (Redis's
    /// evalGetCommandFlags); a script without a shebang (or not known yet for EVALSHA) keeps the
    /// command's own.
    static func evalFlags(_ e: Engine, _ args: [[UInt8]], base: CommandFlags, sha: Bool) -> CommandFlags {
        guard args.count >= 2 else { return base }
        let vm = e.scripting
        // The script EVAL/EVALSHA ran last, by the bytes it was named with: no hashing of the body.
        if let last = vm.lastScript, sha ? ScriptSHA(hex: args[1]) == last.sha : ScriptingVM.sameBytes(vm.lastName, args[1]) {
            return commandFlags(base, last.flags)
        }
        let flags: ScriptFlags
        if sha {
            guard let name = ScriptSHA(hex: args[1]), let s = vm.scripts[name] else { return base }
            flags = s.flags
        } else if let s = vm.scripts[ScriptSHA(of: args[1])] {
            flags = s.flags
        } else {
            guard case .success(let r) = ScriptFlags.parseShebang(args[1]) else { return base }
            flags = r.0
        }
        return commandFlags(base, flags)
    }

    /// Redis's scriptFlagsToCmdFlags.
    static func commandFlags(_ base: CommandFlags, _ flags: ScriptFlags) -> CommandFlags {
        if flags.contains(.evalCompat) { return base }
        var f = base
        f.remove([.stale, .denyOOM, .write, .mayReplicate])
        if !flags.contains(.allowOOM) && !flags.contains(.noWrites) { f.insert(.denyOOM) }
        if !flags.contains(.noWrites) { f.insert(.write) }
        if flags.contains(.allowStale) { f.insert(.stale) }
        return f
    }

    /// Whether EVAL's or FCALL's key count fits its arguments (after replying Redis's error if not).
    static func numkeysFit(_ ctx: CommandContext, _ numkeys: Int64) -> Bool {
        if numkeys > Int64(ctx.argc - 3) {
            ctx.error("ERR Number of keys can't be greater than number of args")
            return false
        } else if numkeys < 0 {
            ctx.error("ERR Number of keys can't be negative")
            return false
        }
        return true
    }

    static func evalCommand(_ ctx: CommandContext, sha: Bool, readOnly: Bool) {
        // The engine, the caller and the interpreter are used unretained: the command running holds
        // the first two, the engine the third (an EVAL costs no reference counting for them).
        ctx.withEngine { e in
            ctx.withSession { caller in
                Unmanaged.passUnretained(e.scripting)._withUnsafeGuaranteedRef { vm in
                    evalCommand(ctx, e, caller, vm, sha: sha, readOnly: readOnly)
                }
            }
        }
    }

    private static func evalCommand(_ ctx: CommandContext, _ e: Engine, _ caller: Session, _ vm: ScriptingVM,
                                    sha: Bool, readOnly: Bool) {
        if !e.monitors.isEmpty { e.feedMonitors(caller, ctx.args) }
        guard let numkeys = ctx.integerArgument(2), numkeysFit(ctx, numkeys) else { return }
        let script: CachedScript
        // EVALSHA of the script run last: its digest compared inline (no hashing, no lookup); EVAL of the
        // last short body: its bytes compared.
        let shaName = sha ? ScriptSHA(hex: ctx.args[1]) : nil
        if let last = vm.lastScript, sha ? shaName == last.sha : ScriptingVM.sameBytes(vm.lastName, ctx.args[1]) {
            script = last
        } else {
            if sha {
                guard let name = shaName, let found = vm.scripts[name] else {
                    ctx.error("NOSCRIPT No matching script. Please use EVAL.")
                    return
                }
                script = found
            } else {
                switch vm.createScript(ctx.args[1]) {
                case .failure(let err):
                    ctx.error(err.message)
                    return
                case .success(let h): script = vm.scripts[h]!
                }
            }
            // EVAL bodies are remembered only when short (the name compared is the whole body).
            if sha {
                vm.lastName = []
                vm.lastScript = script
            } else if ctx.args[1].count <= 256 {
                vm.lastName = ctx.args[1]
                vm.lastScript = script
            }
        }
        if let refusal = prepareRefusal(e, caller: caller, flags: script.flags, readOnly: readOnly) {
            ctx.error(refusal)
            return
        }
        let run = vm.makeRun(caller: caller, script: script.sha, flags: script.flags, readOnly: readOnly,
                             startedOOM: e.preCommandOOM, command: ctx.args)
        let n = Int(numkeys)
        let outer = e.beginScriptPropagation()
        vm.execute(run, function: script.ref, command: ctx.args, keys: 3 ..< 3 + n, args: 3 + n ..< ctx.args.count)
        e.endScriptPropagation(outer)
    }

    /// Redis's scriptPrepareForRun checks, for `caller` running a script with `flags`: the refusal
    /// text, or nil. A script without a shebang is refused only on a stale replica; one with a shebang
    /// by its flags: stale, read-only replica, MISCONF, *_RO, too few replicas, OOM.
    static func prepareRefusal(_ e: Engine, caller: Session, flags: ScriptFlags, readOnly: Bool) -> String? {
        let gate = e.roleGate
        if flags.contains(.evalCompat) {
            if let gate, gate(caller, []) == .masterDown { return RoleRefusal.masterDown.message }
            return nil
        }
        if !flags.contains(.allowStale), let gate, gate(caller, []) == .masterDown {
            return "MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script."
        }
        if !flags.contains(.noWrites) {
            if let gate, gate(caller, [.write, .stale]) == .readOnly {
                return "READONLY Can not run script with write flag on readonly replica"
            }
            if e.persistenceFailing.snapshot || e.persistenceFailing.aof, let refuse = e.hooks.writeRefusal, let text = refuse() {
                if text.contains("AOF") {
                    return "MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: \(text)"
                }
                return "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts."
            }
            if readOnly { return "ERR Can not execute a script with write flag using *_ro command." }
            if let gate, gate(caller, [.write, .stale]) == .noReplicas { return RoleRefusal.noReplicas.message }
        }
        if e.preCommandOOM && e.eviction.maxmemory > 0 && !flags.contains(.allowOOM) && !flags.contains(.noWrites) {
            return "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"
        }
        return nil
    }

    static func scriptCommand(_ ctx: CommandContext) {
        let e = ctx.engine
        guard checkSubcommand(ctx, ["HELP": 2, "FLUSH": -2, "EXISTS": -3, "LOAD": 3, "KILL": 2, "DEBUG": 3]) else { return }
        let sub = ctx.option(1)
        switch (sub, ctx.argc) {
        case ("HELP", 2):
            helpReply(ctx, [
                "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DEBUG (YES|SYNC|NO)", "    Set the debug mode for subsequent scripts executed.",
                "EXISTS <sha1> [<sha1> ...]", "    Return information about the existence of the scripts in the script cache.",
                "FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache. Very dangerous on replicas.",
                "    When called without the optional mode argument, the behavior is determined by the",
                "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
                "    * ASYNC: Asynchronously flush the scripts cache.", "    * SYNC: Synchronously flush the scripts cache.",
                "KILL", "    Kill the currently executing Lua script.",
                "LOAD <script>", "    Load a script into the scripts cache without executing it.",
                "HELP", "    Prints this help.",
            ])
        case ("FLUSH", _):
            if ctx.argc > 3 || (ctx.argc == 3 && ctx.option(2) != "SYNC" && ctx.option(2) != "ASYNC") {
                ctx.error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
                return
            }
            e.scripting.reset()
            ctx.ok()
        case ("EXISTS", 3...):
            ctx.arrayHeader(ctx.argc - 2)
            for i in 2 ..< ctx.argc { ctx.integer(ScriptSHA(hex: ctx.args[i]).map { e.scripting.scripts[$0] != nil } ?? false ? 1 : 0) }
        case ("LOAD", 3):
            switch e.scripting.createScript(ctx.args[2]) {
            case .failure(let err): ctx.error(err.message)
            case .success(let sha): ctx.bulk(sha.string)
            }
        case ("KILL", 2):
            killScript(ctx, eval: true)
        case ("DEBUG", 3):
            switch ctx.option(2) {
            case "NO": ctx.ok()
            // Accepted, but Cairn has no Lua debugger (LDB): scripts then run as usual.
            case "YES", "SYNC": ctx.ok()
            default: ctx.error("ERR Use SCRIPT DEBUG YES/SYNC/NO")
            }
        default:
            ctx.error("ERR unknown subcommand or wrong number of arguments for '\(String(decoding: ctx.args[1].prefix(128), as: UTF8.self))'. Try SCRIPT HELP.")
        }
    }

    static let busyEval = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    static let busyFunction = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."

    /// SCRIPT KILL / FUNCTION KILL.
    static func killScript(_ ctx: CommandContext, eval: Bool) {
        guard let run = ctx.engine.currentScript else {
            ctx.error("NOTBUSY No scripts in execution right now.")
            return
        }
        if run.dirty {
            ctx.error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
            return
        }
        if eval && !run.isEval { ctx.error(busyFunction); return }
        if !eval && run.isEval { ctx.error(busyEval); return }
        run.killed = true
        ctx.ok()
    }
}

extension Engine {
    /// Runs a script's body as one atomic command: blocking commands inside do not block, and its
    /// writes are propagated as one MULTI/EXEC (a single write alone), unless a transaction already
    /// collects them.
    func runScript(_ run: ScriptRun, _ body: () -> Void) {
        let outer = beginScriptPropagation()
        body()
        endScriptPropagation(outer)
    }

    /// The two halves of runScript, for a caller that runs the body itself: returns whether a
    /// transaction already collects the writes.
    @inline(__always) func beginScriptPropagation() -> Bool {
        let outer = transactionOps != nil
        if !outer { beginPropagatedTransaction() }
        return outer
    }

    @inline(__always) func endScriptPropagation(_ outer: Bool) {
        if !outer { endPropagatedTransaction() }
    }

    /// While a script runs past busy-reply-threshold: the refusal for `spec`, or nil for the
    /// commands Redis allows then (allow-busy: AUTH, HELLO, MULTI, DISCARD, WATCH, UNWATCH, QUIT,
    /// RESET, SHUTDOWN NOSAVE, SCRIPT KILL, FUNCTION KILL and FUNCTION STATS).
    func busyRefusal(_ spec: CommandSpec, _ args: [[UInt8]]) -> String? {
        let isEval = currentScript?.isEval ?? true
        let refusal = isEval ? ScriptCommands.busyEval : ScriptCommands.busyFunction
        switch spec.name {
        case "auth", "hello", "multi", "discard", "watch", "unwatch", "quit", "reset":
            return nil
        case "shutdown":
            let nosave = args.dropFirst().contains { lowercasedName($0) == "nosave" }
            return nosave ? nil : refusal
        case "script":
            return args.count == 2 && lowercasedName(args[1]) == "kill" ? nil : refusal
        case "function":
            return args.count == 2 && ["kill", "stats"].contains(lowercasedName(args[1])) ? nil : refusal
        default:
            return refusal
        }
    }

    /// The running command failed without counting an error reply (its error was counted when it
    /// happened, inside a script).
    func markCommandFailed() { currentFailed = true }

    /// Counts an error reply in the stats without failing the running command (a refusal inside a
    /// script that the script may catch).
    func recordErrorStatsOnly(_ message: String) {
        let failed = currentFailed
        recordError(message)
        currentFailed = failed
    }
}
