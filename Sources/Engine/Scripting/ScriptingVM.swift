// The Lua interpreter: one lua_State per engine, set up as Redis 7.0's scripting environment
// (libraries, the `redis` table, the sandbox of LuaSandbox.swift), the EVAL script cache keyed by
// SHA1, and the running of one script with its error handler, count hook and reply conversion.
// Lua reaches Swift only through the trampolines of Sources/CLua/shim.h: each redis.* function is a
// `LuaAPI` case dispatched by `luaBridge`, which returns a count of results or -1 for "raise the
// error value I pushed" (raised by C after this Swift frame returns). Swift enters Lua only through
// lua_pcall.
import CLua
import CLuaLibs
import StorageFormat
#if canImport(Glibc)
import Glibc
#endif

/// The Lua functions implemented in Swift, by the `which` number their trampoline carries.
enum LuaAPI: Int32 {
    case call, pcall, sha1hex, errorReply, statusReply, log, setresp, setRepl, replicateCommands
    case breakpoint, debug, random, randomseed, aclCheckCmd, registerFunction
}

/// An EVAL script in the cache. Its body is not kept: the compiled function is all a run needs (the
/// body's size still counts in used_memory_scripts_eval, as Redis reports it).
struct CachedScript {
    var flags: ScriptFlags
    /// The compiled function's reference in the registry.
    var ref: Int32
    var sha: ScriptSHA
}

/// Called by every redis.* trampoline.
let luaBridge: cairn_lua_callback = { L, which, context in
    guard let L, let context, let api = LuaAPI(rawValue: which) else { return 0 }
    return Unmanaged<ScriptingVM>.fromOpaque(context)._withUnsafeGuaranteedRef { $0.callback(L, api) }
}

/// The count hook's Swift side: 1 when the running script must stop.
let luaCountHook: cairn_lua_hook_callback = { L in
    guard let L else { return 0 }
    return ScriptingVM.from(L).countHook()
}

public final class ScriptingVM {
    /// EVAL's interpreter, or the one function libraries load into (FUNCTION LOAD, FCALL).
    enum Kind { case eval, functions }
    let kind: Kind
    unowned(unsafe) let engine: Engine
    private(set) var L: OpaquePointer
    /// Registry references of the error handler and of the real globals table.
    var handlerRef: Int32 = 0
    var globalsRef: Int32 = 0
    /// The last script EVALSHA/EVAL looked up, by the bytes it was named with: a client repeating
    /// a script skips the hashing.
    var lastName: [UInt8] = []
    var lastScript: CachedScript?
    /// EVAL scripts by lower-case hex SHA1.
    var scripts: [ScriptSHA: CachedScript] = [:]
    /// Bytes the cached scripts take (bodies and names), INFO used_memory_scripts_eval.
    public private(set) var scriptsMemory = 0
    var random = ScriptRandom()
    /// The script being run, if any (not retained: the command running it holds it).
    public internal(set) unowned(unsafe) var current: ScriptRun?
    /// The client the scripts' redis.call commands run as.
    let scriptSession: Session
    var gcCounter = 0
    /// The Lua function whose argument errors are being reported (luaL_argerror names it).
    var argumentFunction = "?"
    /// Per-run redis.call nesting guard.
    var inCall = false
    /// The arguments of the current redis.call, and byte arrays kept for longer ones (see
    /// loadCommandArguments).
    var callArgs: [[UInt8]] = []
    var spareArgs: [[UInt8]] = []
    /// The command the last redis.call named (lookupCallCommand), and the command table it came from.
    var lastCallName = CommandNameCache()
    /// Held strongly, so the spec a redis.call runs stays alive even if the command it runs replaces
    /// the table; used through lastCallSpecRef, without retaining it per call.
    var lastCallSpec: CommandSpec?
    var lastCallSpecRef: Unmanaged<CommandSpec>?
    var lastCallTable = -1
    /// The object runs are described by, reused while nothing else holds it (see makeRun).
    private var spareRun: ScriptRun?

    /// While FUNCTION LOAD runs a library's code: the library that redis.register_function adds to.
    var loading: LibraryUnderLoad?

    init(engine: Engine, kind: Kind = .eval) {
        self.engine = engine
        self.kind = kind
        scriptSession = Session(id: 0)
        scriptSession.authenticated = true
        scriptSession.isScript = true
        L = ScriptingVM.makeState()
        setUp()
    }

    deinit { lua_close(L) }

    public var cachedScriptCount: Int { scripts.count }
    /// Memory of the Lua heap (INFO used_memory_lua).
    public var luaMemory: Int { Int(cairn_lua_memory(L)) }

    static func makeState() -> OpaquePointer {
        guard let L = luaL_newstate() else { fatalError("Lua: cannot create a state") }
        return L
    }

    static func from(_ L: OpaquePointer) -> ScriptingVM {
        cairn_lua_getregistry(L, "cairn_vm")
        let p = lua_touserdata(L, -1)
        cairn_lua_pop(L, 1)
        return Unmanaged<ScriptingVM>.fromOpaque(p!).takeUnretainedValue()
    }

    /// SCRIPT FLUSH: a new interpreter (scripts' globals go too) and an empty cache.
    func reset() {
        lua_close(L)
        L = ScriptingVM.makeState()
        scripts.removeAll()
        scriptsMemory = 0
        setUp()
    }

    var selfPointer: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    private func setUp() {
        lastName = []
        lastScript = nil
        lua_pushlightuserdata(L, Unmanaged.passUnretained(self).toOpaque())
        cairn_lua_setregistry(L, "cairn_vm")
        // The libraries Redis opens, in its order.
        _ = cairn_lua_open_base(L)
        _ = cairn_lua_open_table(L)
        _ = cairn_lua_open_string(L)
        _ = cairn_lua_open_math(L)
        _ = cairn_lua_open_debug(L)
        // cjson, struct, cmsgpack and bit, in Redis's order, with Cairn's corrections (Sources/CLuaLibs).
        _ = cairn_lua_load_script_libraries(L)

        cairn_lua_push_pcall_builtin(L)
        cairn_lua_setglobal(L, "pcall")
        buildRedisTable()
        // math.random and math.randomseed: Redis's generator.
        cairn_lua_getglobal(L, "math")
        cairn_lua_push_callback(L, luaBridge, LuaAPI.random.rawValue, selfPointer)
        lua_setfield(L, -2, "random")
        cairn_lua_push_callback(L, luaBridge, LuaAPI.randomseed.rawValue, selfPointer)
        lua_setfield(L, -2, "randomseed")
        cairn_lua_pop(L, 1)

        cairn_lua_install_readonly_iteration(L)
        let prelude = Array(LuaSandbox.prelude.utf8)
        let loaded = prelude.withUnsafeBytes { b in
            luaL_loadbuffer(L, b.baseAddress!.assumingMemoryBound(to: CChar.self), b.count, "@cairn_sandbox")
        }
        precondition(loaded == 0, "Lua sandbox prelude: \(LuaReplies.string(L, -1) ?? "?")")
        cairn_lua_push_sandbox_helpers(L)
        lua_pushboolean(L, kind == .functions ? 1 : 0)
        cairn_lua_push_callback(L, luaBridge, LuaAPI.registerFunction.rawValue, selfPointer)
        let ran = lua_pcall(L, 5, 3, 0)
        precondition(ran == 0, "Lua sandbox prelude: \(LuaReplies.string(L, -1) ?? "?")")
        // Returned: the globals' read-only view, the real table, and (functions) the switch between
        // the load-time environment and the run-time one.
        cairn_lua_setregistry(L, "cairn_load_switch")
        cairn_lua_setregistry(L, "cairn_globals")
        cairn_lua_replace_globals(L)
        cairn_lua_getregistry(L, "cairn_globals")
        LuaReplies.pushString(L, "__redis__err__handler")
        lua_rawget(L, -2)
        lua_pushvalue(L, -1)
        handlerRef = luaL_ref(L, cairn_lua_registryindex())
        cairn_lua_setregistry(L, "cairn_err_handler")
        globalsRef = luaL_ref(L, cairn_lua_registryindex())
    }

    private func buildRedisTable() {
        cairn_lua_newtable(L)
        func fn(_ name: String, _ api: LuaAPI) {
            cairn_lua_push_callback(L, luaBridge, api.rawValue, selfPointer)
            lua_setfield(L, -2, name)
        }
        func num(_ name: String, _ v: Double) {
            lua_pushnumber(L, v)
            lua_setfield(L, -2, name)
        }
        fn("call", .call)
        fn("pcall", .pcall)
        fn("log", .log)
        num("LOG_DEBUG", 0); num("LOG_VERBOSE", 1); num("LOG_NOTICE", 2); num("LOG_WARNING", 3)
        num("REDIS_VERSION_NUM", Double(0x07_00_0f))
        LuaReplies.pushString(L, "7.0.15")
        lua_setfield(L, -2, "REDIS_VERSION")
        fn("setresp", .setresp)
        fn("sha1hex", .sha1hex)
        fn("error_reply", .errorReply)
        fn("status_reply", .statusReply)
        fn("set_repl", .setRepl)
        num("REPL_NONE", 0); num("REPL_AOF", 1); num("REPL_SLAVE", 2); num("REPL_REPLICA", 2); num("REPL_ALL", 3)
        fn("acl_check_cmd", .aclCheckCmd)
        if kind == .eval {
            fn("breakpoint", .breakpoint)
            fn("debug", .debug)
            fn("replicate_commands", .replicateCommands)
        }
        cairn_lua_setglobal(L, "redis")
    }

    /// Whether two byte strings are equal, compared with memcmp (names a script or command was last
    /// found by are compared on every run).
    @inline(__always)
    static func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }

    // MARK: - The script cache

    /// Lower-case hex SHA1 of `body`.
    static func sha1hex(_ body: [UInt8]) -> String {
        body.withUnsafeBytes { SHA1.hash($0) }.hex
    }

    /// Compiles `body` into the cache (if not there yet) and returns its SHA1, or the error text.
    func createScript(_ body: [UInt8]) -> Result<ScriptSHA, ScriptError> {
        let sha = ScriptSHA(of: body)
        if scripts[sha] != nil { return .success(sha) }
        let flags: ScriptFlags, start: Int
        switch ScriptFlags.parseShebang(body) {
        case .failure(let e): return .failure(e)
        case .success(let r): (flags, start) = r
        }
        let code = Array(body[start...]) + [0]
        let status = code.withUnsafeBytes { b in
            luaL_loadbuffer(L, b.baseAddress!.assumingMemoryBound(to: CChar.self), b.count - 1, "@user_script")
        }
        if status != 0 {
            let msg = LuaReplies.string(L, -1) ?? ""
            cairn_lua_pop(L, 1)
            return .failure(ScriptError("ERR Error compiling script (new function): \(msg)"))
        }
        let ref = luaL_ref(L, cairn_lua_registryindex())
        scripts[sha] = CachedScript(flags: flags, ref: ref, sha: sha)
        scriptsMemory += body.count + 40 + 16
        return .success(sha)
    }

    // MARK: - Running

    /// The description of a new run: the object of the previous run when nothing else holds it any
    /// more (no allocation), a new one otherwise.
    /// The run starts at the engine's command clock (the end of the previous command, or the clock
    /// read after this command's input arrived): within this command's own parsing of now, without
    /// reading the clock again.
    func makeRun(caller: Session, script: ScriptSHA? = nil, function: String = "", flags: ScriptFlags, readOnly: Bool,
                 startedOOM: Bool, command: [[UInt8]]) -> ScriptRun {
        let startUS = engine.callStartNS / 1000
        if spareRun != nil && isKnownUniquelyReferenced(&spareRun) {
            let run = spareRun.unsafelyUnwrapped
            run.restart(caller: caller, script: script, function: function, flags: flags, readOnly: readOnly,
                        startedOOM: startedOOM, command: command, startUS: startUS)
            return run
        }
        let run = ScriptRun(caller: caller, script: script, function: function, flags: flags, readOnly: readOnly,
                            startedOOM: startedOOM, command: command, startUS: startUS)
        spareRun = run
        return run
    }

    /// Runs a compiled script or library function (its registry reference `ref`) for `run`, writing its
    /// result (or error) as `run.caller`'s reply. EVAL passes KEYS and ARGV as globals, FCALL as
    /// the function's two arguments.
    /// `keys` and `args` are the ranges of `command` (the calling command's arguments) holding them.
    func execute(_ run: ScriptRun, function ref: Int32, command: [[UInt8]], keys: Range<Int>, args: Range<Int>) {
        // The caller is used unretained: its command is running.
        Unmanaged.passUnretained(run.caller)._withUnsafeGuaranteedRef {
            execute(run, $0, function: ref, command: command, keys: keys, args: args)
        }
    }

    /// A Lua array of `command[items]`, pushed.
    private func pushArray(_ command: [[UInt8]], _ items: Range<Int>) {
        lua_createtable(L, Int32(items.count), 0)
        var i: Int32 = 1
        // Through the buffer, so an element is read without retaining it.
        command.withUnsafeBufferPointer { buffer in
            for k in items {
                buffer[k].withUnsafeBytes { LuaReplies.pushBytes(L, $0) }
                lua_rawseti(L, -2, i)
                i += 1
            }
        }
    }

    private func execute(_ run: ScriptRun, _ caller: Session, function ref: Int32, command: [[UInt8]], keys: Range<Int>,
                         args: Range<Int>) {
        // The script's client starts in the caller's database, speaking RESP2, as the caller's user.
        scriptSession.db = caller.db
        if scriptSession.user !== caller.user { scriptSession.user = caller.user }
        scriptSession.resp = 2
        let registry = cairn_lua_registryindex()
        lua_rawgeti(L, registry, handlerRef)
        lua_rawgeti(L, registry, ref)
        var nargs: Int32 = 0
        if run.isEval {
            lua_rawgeti(L, registry, globalsRef)
            pushArray(command, keys)
            lua_setfield(L, -2, "KEYS")
            pushArray(command, args)
            lua_setfield(L, -2, "ARGV")
            cairn_lua_pop(L, 1)
        } else {
            pushArray(command, keys)
            pushArray(command, args)
            nargs = 2
        }
        current = run
        engine.currentScript = run
        engine.runningScript = true
        if engine.busyReplyThreshold > 0 { cairn_lua_set_count_hook(L, luaCountHook, 100_000) }
        let status = lua_pcall(L, nargs, 1, -2 - nargs)
        cairn_lua_set_count_hook(L, nil, 0)
        gcCounter += 1
        if gcCounter == 50 {
            lua_gc(L, LUA_GCSTEP, 50)
            gcCounter = 0
        }
        var errors: [String] = []
        if status != 0 {
            if lua_type(L, -1) != LUA_TTABLE {
                let msg = LuaReplies.string(L, -1) ?? "execution failure"
                let text = LuaReplies.sanitizedError("ERR Error running script \(run.name), \(msg.prefix(100))")
                RESPEncoder.error(text, to: &caller.out)
                errors.append(text)
            } else {
                let info = LuaReplies.errorInfo(L)
                var text = info.message
                if let line = info.line, let source = info.source {
                    text += " script: \(run.name), on \(source):\(line)."
                }
                RESPEncoder.error(text, to: &caller.out)
                errors.append(info.ignoreStats ? "" : text)
            }
            cairn_lua_pop(L, 1)
        } else {
            LuaReplies.writeReply(L, to: &caller.out, resp: caller.resp, scriptResp: run.resp, errors: &errors)
        }
        cairn_lua_pop(L, 1)  // the error handler
        for e in errors {
            if e.isEmpty { engine.markCommandFailed() } else { engine.recordError(e) }
        }
        current = nil
        engine.currentScript = nil
        engine.runningScript = false
        if run.timedOut {
            run.timedOut = false
            engine.scriptTimedOut = false
        }
        run.finish()
    }

    /// Every 100,000 instructions of a script: past busy-reply-threshold, the server serves other
    /// clients (they get -BUSY) between slices of the script, and SCRIPT KILL can stop it.
    func countHook() -> Int32 {
        if let load = loading {
            // FUNCTION LOAD gives a library's code 500 ms to register its functions.
            if load.timeout > 0 && ScriptRun.monotonicUS() - load.startUS > load.timeout * 1000 { return 2 }
            return 0
        }
        guard let run = current else { return 0 }
        if !run.timedOut {
            let elapsed = (ScriptRun.monotonicUS() - run.startUS) / 1000
            if elapsed < engine.busyReplyThreshold { return 0 }
            engine.hooks.warning?("Slow script detected: still in execution after \(elapsed) milliseconds. You can try killing the script using the \(run.isEval ? "SCRIPT KILL" : "FUNCTION KILL") command. Script name is: \(run.name).")
            run.timedOut = true
            engine.scriptTimedOut = true
        }
        engine.hooks.whileScriptBusy?()
        return run.killed ? 1 : 0
    }
}
