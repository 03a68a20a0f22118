// One run of a script (EVAL or FCALL): who called it, its flags, and what it has done so far
// (written, timed out, been killed), and redis.call: a command run through the engine's dispatch as
// the script's client, with Redis's refusals for scripts (unknown command, arity, no-script commands,
// ACL, writes in read-only scripts, MISCONF, OOM) in Redis's words.
#if canImport(Glibc)
import Glibc
#endif
import CLua
import StorageFormat

public final class ScriptRun {
    /// The client that called the script. Not retained: it outlives the run (its command is running),
    /// and nothing reads a run's fields once it is over (see ScriptingVM.makeRun).
    public private(set) unowned(unsafe) var caller: Session
    /// The script's SHA1 for EVAL, the function's name for FCALL (error messages, SCRIPT KILL, FUNCTION
    /// STATS), made only when asked for.
    var name: String { script?.string ?? functionName }
    private var script: ScriptSHA? = nil
    private var functionName = ""
    private(set) var isEval = false
    private(set) var flags: ScriptFlags = []
    /// EVAL_RO / FCALL_RO, or the no-writes flag.
    private(set) var readOnly = false
    /// allow-oom (not in compatibility mode).
    private(set) var allowOOM = false
    /// The server was over maxmemory when the script started.
    private(set) var startedOOM = false
    /// The arguments of the calling command (FUNCTION STATS).
    private(set) var command: [[UInt8]] = []
    private(set) var startUS = 0
    /// RESP version of the script's client (redis.setresp).
    var resp = 2
    /// redis.set_repl: where the script's writes go from now on (REPL_AOF, REPL_REPLICA, both, none).
    var replTargets = PropagationTargets.all
    /// A write command ran (SCRIPT KILL then refuses).
    var dirty = false
    var timedOut = false
    var killed = false

    init(caller: Session, script: ScriptSHA? = nil, function: String = "", flags: ScriptFlags, readOnly: Bool,
         startedOOM: Bool, command: [[UInt8]], startUS: Int) {
        self.caller = caller
        restart(caller: caller, script: script, function: function, flags: flags, readOnly: readOnly,
                startedOOM: startedOOM, command: command, startUS: startUS)
    }

    /// Makes this object describe a new run (ScriptingVM.makeRun reuses one object per interpreter, so a
    /// script's run costs no allocation). `startUS`: the monotonic clock at the start, in microseconds.
    func restart(caller: Session, script: ScriptSHA?, function: String, flags: ScriptFlags, readOnly: Bool,
                 startedOOM: Bool, command: [[UInt8]], startUS: Int) {
        self.caller = caller
        self.script = script
        if !functionName.isEmpty || !function.isEmpty { self.functionName = function }
        self.isEval = script != nil
        self.flags = flags
        let compat = flags.contains(.evalCompat)
        self.readOnly = readOnly || (!compat && flags.contains(.noWrites))
        self.allowOOM = !compat && flags.contains(.allowOOM)
        self.startedOOM = startedOOM
        self.command = command
        self.startUS = startUS
        resp = 2
        replTargets = .all
        dirty = false
        timedOut = false
        killed = false
    }

    /// Drops the arguments the run held once it is over, so the object can wait for its next run
    /// without keeping them alive.
    func finish() {
        command = []
    }

    static func monotonicUS() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int(ts.tv_sec) * 1_000_000 + Int(ts.tv_nsec) / 1000
    }

    /// Milliseconds since the script started.
    public var durationMS: Int { (ScriptRun.monotonicUS() - startUS) / 1000 }
}

extension ScriptingVM {
    /// Runs `args` for the current script; the reply is left in the script session's output.
    /// Returns the refusal text instead when the command may not run ("-CODE ..." keeps its code,
    /// other texts become "ERR ...").
    func runCommand(_ run: ScriptRun, _ args: [[UInt8]]) -> String? {
        // The engine and the spec are used unretained: the engine outlives its interpreter, and the
        // command table (with lastCallSpec) holds the spec.
        Unmanaged.passUnretained(engine)._withUnsafeGuaranteedRef { e in
            guard let spec = lookupCallCommand(args[0]) else { return "Unknown Redis command called from script" }
            return spec._withUnsafeGuaranteedRef { runCommand(run, args, e, $0) }
        }
    }

    private func runCommand(_ run: ScriptRun, _ args: [[UInt8]], _ e: Engine, _ spec: CommandSpec) -> String? {
        // A refused command counts as a rejected call of that command, as in Redis's scriptCall.
        func refuse(_ text: String) -> String {
            spec.stat.rejectedCalls += 1
            return text
        }
        if (spec.arity > 0 && args.count != spec.arity) || (spec.arity < 0 && args.count < -spec.arity) {
            return refuse("Wrong number of args calling Redis command from script")
        }
        if spec.flags.contains(.noScript) && !e.scriptDenyDisabled { return refuse("This Redis command is not allowed from script") }
        let s = scriptSession
        let gate = e.roleGate
        // A stale replica's refusal comes before the ACL's; READONLY and NOREPLICAS after it.
        if let gate, gate(s, spec.flags.subtracting(.write)) == .staleInScript {
            return refuse("-" + RoleRefusal.staleInScript.message)
        }
        if !e.acl.sessionUnrestricted(s), let (denial, index) = e.permissionDenial(e.acl.userOf(s), spec, args) {
            e.logDenial(s, denial, index: index, args: args, spec: spec, context: "lua")
            let why: String
            switch denial {
            case .command: why = "can't run this command or subcommand"
            case .key: why = "can't access at least one of the keys mentioned in the command"
            case .channel: why = "can't publish to the channel mentioned in the command"
            case .auth: why = "no permission"
            }
            return refuse("The user executing the script \(why)")
        }
        let isWrite = spec.flags.contains(.write)
        if run.readOnly && (isWrite || spec.flags.contains(.mayReplicate)) {
            return refuse("Write commands are not allowed from read-only scripts.")
        }
        // Before its first write a script may still be refused: READONLY on a read-only replica, MISCONF,
        // NOREPLICAS (for an EVAL without a shebang only: one with flags was checked before it started,
        // and Redis recounts good replicas in its cron, which a running script holds).
        if isWrite && !run.dirty {
            // Judged for the caller: a script the primary's stream runs on a replica may write (Redis's
            // mustObeyClient).
            let refusal = gate?(run.caller, spec.flags.union(.stale))
            if refusal == .readOnly { return refuse("-" + RoleRefusal.readOnly.message) }
            if e.persistenceFailing.snapshot || e.persistenceFailing.aof, let writeRefusal = e.hooks.writeRefusal,
               let text = writeRefusal() {
                return refuse("-" + text)
            }
            if refusal == .noReplicas && run.flags.contains(.evalCompat) { return refuse("-" + RoleRefusal.noReplicas.message) }
        }
        if !run.allowOOM && e.eviction.maxmemory > 0 && !run.dirty && run.startedOOM && spec.flags.contains(.denyOOM) {
            return refuse("-OOM command not allowed when used memory > 'maxmemory'.")
        }
        if isWrite { run.dirty = true }
        s.resp = run.resp
        let targets = e.propagationTargets
        e.propagationTargets = run.replTargets
        e.call(s, spec, args)
        e.propagationTargets = targets
        return nil
    }

    /// The command a redis.call names: the last one found when the name's bytes repeat (a script's
    /// calls usually name the same few commands), else the engine's lookup.
    /// The spec is returned unretained: the command table holds it (and lastCallSpec, strongly).
    @inline(__always)
    func lookupCallCommand(_ name: [UInt8]) -> Unmanaged<CommandSpec>? {
        // The table's version first: a spec from a replaced table may be gone.
        if lastCallTable == engine.commandTableVersion, lastCallName.matches(name), let spec = lastCallSpecRef { return spec }
        guard let spec = engine.lookupCommand(name) else { return nil }
        lastCallName = CommandNameCache(name)
        lastCallSpec = spec
        lastCallSpecRef = Unmanaged.passUnretained(spec)
        lastCallTable = engine.commandTableVersion
        return lastCallSpecRef
    }

    /// A redis.* function called from Lua. Returns the number of results pushed, or -1 after pushing
    /// the error value to raise.
    func callback(_ L: OpaquePointer, _ api: LuaAPI) -> Int32 {
        let argc = lua_gettop(L)
        switch api {
        case .call, .pcall:
            return redisCall(L, raise: api == .call)
        case .sha1hex:
            guard argc == 1 else { return raise(L, "wrong number of arguments") }
            let body = LuaReplies.bytes(L, 1) ?? []
            LuaReplies.pushString(L, ScriptingVM.sha1hex(body))
            return 1
        case .errorReply:
            guard argc == 1, lua_type(L, -1) == LUA_TSTRING else {
                LuaReplies.pushErrorTable(L, "wrong number or type of arguments")
                return 1
            }
            let text = LuaReplies.string(L, -1) ?? ""
            LuaReplies.pushErrorTable(L, text.hasPrefix("-") ? text : "-" + text)
            return 1
        case .statusReply:
            guard argc == 1, lua_type(L, -1) == LUA_TSTRING else {
                LuaReplies.pushErrorTable(L, "wrong number or type of arguments")
                return 1
            }
            cairn_lua_newtable(L)
            lua_pushvalue(L, -2)
            lua_setfield(L, -2, "ok")
            return 1
        case .log:
            if argc < 2 { return raise(L, "redis.log() requires two arguments or more.") }
            guard lua_isnumber(L, -argc) != 0 else { return raise(L, "First argument must be a number (log level).") }
            let level = Int(truncatingLikeC: lua_tonumber(L, -argc))
            guard level >= 0 && level <= 3 else { return raise(L, "Invalid debug level.") }
            var line: [UInt8] = []
            for j in 1 ..< argc {
                if let b = LuaReplies.bytes(L, -argc + j) {
                    if j != 1 { line.append(32) }
                    line.append(contentsOf: b)
                }
            }
            engine.hooks.scriptLog?(level, String(decoding: line, as: UTF8.self))
            return 0
        case .setresp:
            guard let run = current else { return raise(L, "redis.setresp can only be called inside a script invocation") }
            guard argc == 1 else { return raise(L, "redis.setresp() requires one argument.") }
            let v = Int(truncatingLikeC: lua_tonumber(L, -argc))
            guard v == 2 || v == 3 else { return raise(L, "RESP version must be 2 or 3.") }
            run.resp = v
            return 0
        case .setRepl:
            guard let run = current else { return raise(L, "redis.set_repl can only be called inside a script invocation") }
            guard argc == 1 else { return raise(L, "redis.set_repl() requires two arguments.") }
            let v = Int(truncatingLikeC: lua_tonumber(L, -1))
            guard v & ~3 == 0 else { return raise(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.") }
            run.replTargets = PropagationTargets(rawValue: UInt8(v))
            return 0
        case .replicateCommands:
            lua_pushboolean(L, 1)
            return 1
        case .breakpoint:
            lua_pushboolean(L, 0)
            return 1
        case .debug:
            return 0
        case .random:
            argumentFunction = "random"
            guard current != nil else { return raiseString(L, "math.random can only be called inside a script invocation") }
            let r = random.unit()
            switch argc {
            case 0:
                lua_pushnumber(L, r)
            case 1:
                guard let u = checkInt(L, 1) else { return raiseString(L, badArgument(L, 1, "number expected, got \(typeName(L, 1))")) }
                guard u >= 1 else { return raiseString(L, badArgument(L, 1, "interval is empty")) }
                lua_pushnumber(L, (r * Double(u)).rounded(.down) + 1)
            case 2:
                guard let l = checkInt(L, 1) else { return raiseString(L, badArgument(L, 1, "number expected, got \(typeName(L, 1))")) }
                guard let u = checkInt(L, 2) else { return raiseString(L, badArgument(L, 2, "number expected, got \(typeName(L, 2))")) }
                guard l <= u else { return raiseString(L, badArgument(L, 2, "interval is empty")) }
                lua_pushnumber(L, (r * Double(u - l + 1)).rounded(.down) + Double(l))
            default:
                return raiseString(L, "wrong number of arguments")
            }
            return 1
        case .randomseed:
            argumentFunction = "randomseed"
            guard current != nil else { return raiseString(L, "math.randomseed can only be called inside a script invocation") }
            guard let s = checkInt(L, 1) else { return raiseString(L, badArgument(L, 1, "number expected, got \(typeName(L, 1))")) }
            random.seed(Int32(truncatingIfNeeded: s))
            return 0
        case .aclCheckCmd:
            guard let run = current else { return raise(L, "redis.acl_check_cmd can only be called inside a script invocation") }
            guard loadCommandArguments(L) else { return -1 }
            let args = callArgs
            guard let spec = engine.lookupCommand(args[0]) else { return raise(L, "Invalid command passed to redis.acl_check_cmd()") }
            let user = engine.acl.userOf(run.caller)
            lua_pushboolean(L, engine.permissionDenial(user, spec, args) == nil ? 1 : 0)
            return 1
        case .registerFunction:
            return registerFunction(L)
        }
    }

    /// Pushes Redis's error table for `text` and asks the trampoline to raise it.
    func raise(_ L: OpaquePointer, _ text: String) -> Int32 {
        LuaReplies.pushErrorTable(L, text)
        return -1
    }

    /// Raises a plain string error with the position of the calling Lua code, as luaL_error does.
    func raiseString(_ L: OpaquePointer, _ text: String) -> Int32 {
        luaL_where(L, 1)
        LuaReplies.pushString(L, text)
        lua_concat(L, 2)
        return -1
    }

    func typeName(_ L: OpaquePointer, _ i: Int32) -> String {
        String(cString: lua_typename(L, lua_type(L, i)))
    }

    /// luaL_argerror's text.
    func badArgument(_ L: OpaquePointer, _ i: Int32, _ extra: String) -> String {
        "bad argument #\(i) to '\(argumentFunction)' (\(extra))"
    }

    /// luaL_checkint without raising: nil when the argument is not a number.
    func checkInt(_ L: OpaquePointer, _ i: Int32) -> Int? {
        let d = lua_tonumber(L, i)
        if d == 0 && lua_isnumber(L, i) == 0 { return nil }
        return Int(Int32(truncatingIfNeeded: Int(truncatingLikeC: d)))
    }

    /// Reads the arguments of a redis.call from the Lua stack (numbers as "%.17g") into `callArgs`
    /// and pops them; false after pushing the error table.
    /// `callArgs` and its byte arrays are reused from call to call: each is overwritten in place when
    /// nothing else holds it (a command that kept its arguments, the propagated writes of a
    /// transaction, makes the next call copy), so a script's redis.call usually allocates nothing here.
    func loadCommandArguments(_ L: OpaquePointer) -> Bool {
        let argc = Int(lua_gettop(L))
        if argc == 0 {
            LuaReplies.pushErrorTable(L, "Please specify at least one argument for this redis lib call")
            return false
        }
        while callArgs.count > argc { spareArgs.append(callArgs.removeLast()) }
        while callArgs.count < argc { callArgs.append(spareArgs.popLast() ?? []) }
        for i in 0 ..< argc {
            let index = Int32(i + 1)
            let t = lua_type(L, index)
            if t == LUA_TNUMBER {
                callArgs[i].removeAll(keepingCapacity: true)
                appendDouble17g(lua_tonumber(L, index), to: &callArgs[i])
            } else if t == LUA_TSTRING {
                var len = 0
                let p = cairn_lua_tolstring(L, index, &len)
                let bytes = UnsafeRawBufferPointer(start: p, count: len)
                if callArgs[i].count == len {
                    // The same length as last time (the same command, a key of the same shape): overwritten
                    // in place (copied first if something else holds the array).
                    if len > 0 { callArgs[i].withUnsafeMutableBytes { $0.copyMemory(from: bytes) } }
                    continue
                }
                // A large argument's buffer is not kept for the next call.
                if callArgs[i].capacity > 1 << 16 && len <= 1 << 16 { callArgs[i] = [] }
                callArgs[i].removeAll(keepingCapacity: true)
                callArgs[i].append(contentsOf: bytes)
            } else {
                lua_settop(L, 0)
                LuaReplies.pushErrorTable(L, "Lua redis lib command arguments must be strings or integers")
                return false
            }
        }
        lua_settop(L, 0)
        return true
    }

    private func redisCall(_ L: OpaquePointer, raise: Bool) -> Int32 {
        guard let run = current else {
            LuaReplies.pushErrorTable(L, "redis.call/pcall can only be called inside a script invocation")
            return -1
        }
        // The run is used unretained: the command running the script holds it.
        return Unmanaged.passUnretained(run)._withUnsafeGuaranteedRef { redisCall(L, raise: raise, $0) }
    }

    private func redisCall(_ L: OpaquePointer, raise: Bool, _ run: ScriptRun) -> Int32 {
        guard loadCommandArguments(L) else { return raise ? -1 : 1 }
        if inCall {
            let warning = "luaRedisGenericCommand() recursive call detected. Are you doing funny stuff with Lua debug hooks?"
            engine.hooks.warning?(warning)
            LuaReplies.pushErrorTable(L, warning)
            return 1
        }
        inCall = true
        defer { inCall = false }
        if let refusal = runCommand(run, callArgs) {
            engine.recordErrorStatsOnly(LuaReplies.errorTableText(refusal))
            LuaReplies.pushErrorTable(L, refusal)
            lua_pushboolean(L, 1)
            lua_setfield(L, -2, "ignore_error_stats_update")
            return raise ? -1 : 1
        }
        let s = scriptSession
        defer { s.out.removeAll(keepingCapacity: true) }
        guard !s.out.isEmpty else {
            lua_pushnil(L)
            return 1
        }
        let isError = s.out[0] == UInt8(ascii: "-")
        s.out.withUnsafeBytes { _ = LuaReplies.pushReply(L, $0, 0) }
        return raise && isError ? -1 : 1
    }
}
