// The function libraries (FUNCTION LOAD): each library's name, full code and registered functions,
// compiled into their own interpreter (Engine.functionsVM). The persistence code uses `libraryCodes`
// (every library as (name, code), in load order) and `load(code:replace:)`, which throws Redis's
// error text. Loading a library runs its code with only redis.register_function, redis.log and the
// constants reachable, for at most 500 ms (no limit when loading from disk).
import CLua

/// A function a library registered.
public struct LibraryFunction {
    public let name: String
    public let description: [UInt8]?
    public let flags: ScriptFlags
    public let library: String
    /// The callback's reference in the functions interpreter's registry.
    let ref: Int32
}

/// A loaded library.
public struct FunctionLibrary {
    public let name: String
    public let code: [UInt8]
    public internal(set) var functions: [LibraryFunction]
}

/// The library whose code is running under FUNCTION LOAD: what redis.register_function adds to.
final class LibraryUnderLoad {
    var functions: [LibraryFunction] = []
    let name: String
    let startUS = ScriptRun.monotonicUS()
    /// Milliseconds allowed; 0 = no limit.
    let timeout: Int
    init(name: String, timeout: Int) {
        self.name = name
        self.timeout = timeout
    }
}

extension Engine {
    /// Every function library's code, in load order (RDB FUNCTION2 records, the AOF rewrite); empty
    /// without creating anything when no library was ever loaded (safe in a snapshot child).
    public var functionLibraryCodes: [[UInt8]] { functionsVMCreated ? functions.libraries.map(\.code) : [] }

    /// Bytes the Lua interpreters' heaps take. Redis's Lua allocates outside its used_memory, so the
    /// server leaves these bytes out of used_memory (and of eviction) too, and reports them apart.
    public var luaHeapBytes: Int {
        (scriptingCreated ? scripting.luaMemory : 0) + (functionsVMCreated ? functionsVM.luaMemory : 0)
    }

    /// Removes every library (a reload that empties the dataset empties them too, as Redis's emptyData).
    public func flushFunctionLibraries() { if functionsVMCreated { functions.flush() } }
}

public final class FunctionLibraries {
    unowned(unsafe) let engine: Engine
    /// Libraries in load order.
    public private(set) var libraries: [FunctionLibrary] = []
    /// Every library's functions by lower-cased name (function names are case-insensitive).
    var functions: [String: LibraryFunction] = [:]

    init(engine: Engine) { self.engine = engine }

    var vm: ScriptingVM { engine.functionsVM }

    /// Every library as (name, code), in load order: what RDB FUNCTION2 records and the AOF hold.
    public var libraryCodes: [(name: String, code: [UInt8])] { libraries.map { ($0.name, $0.code) } }

    public func function(named name: String) -> LibraryFunction? { functions[name.lowercased()] }

    /// INFO's figures: function and library counts, the functions' Lua heap and their bookkeeping.
    public var stats: (functions: Int, libraries: Int, vmMemory: Int, memory: Int) {
        var memory = 0
        for l in libraries { memory += l.code.count + l.name.utf8.count + 64 + l.functions.count * 96 }
        return (functions.count, libraries.count, engine.functionsVMCreated ? vm.luaMemory : 32768, memory + 184)
    }

    /// FUNCTION LOAD: compiles `code` and adds (or with `replace`, replaces) its library. Returns the
    /// library's name; throws Redis's error text ("ERR Library 'x' already exists"...).
    @discardableResult
    public func load(code: [UInt8], replace: Bool, timeoutMS: Int = 0) throws(ScriptError) -> String {
        let name = try FunctionLibraries.libraryName(code)
        let old = libraries.firstIndex { $0.name == name }
        if old != nil && !replace { throw ScriptError("ERR Library '\(name)' already exists") }
        let lib = try compile(code, name: name, timeoutMS: timeoutMS)
        for f in lib.functions {
            if let existing = functions[f.name.lowercased()], existing.library != name {
                release(lib)
                throw ScriptError("ERR Function \(f.name) already exists")
            }
        }
        if let old {
            unlink(libraries[old])
            release(libraries[old])
            libraries[old] = lib
        } else {
            libraries.append(lib)
        }
        for f in lib.functions { functions[f.name.lowercased()] = f }
        return name
    }

    /// FUNCTION DELETE: false when there is no such library.
    public func delete(_ name: String) -> Bool {
        guard let i = libraries.firstIndex(where: { $0.name == name }) else { return false }
        unlink(libraries[i])
        release(libraries[i])
        libraries.remove(at: i)
        return true
    }

    /// FUNCTION FLUSH.
    public func flush() {
        for l in libraries { release(l) }
        libraries.removeAll()
        functions.removeAll()
    }

    public enum RestorePolicy { case append, replace, flush }

    /// FUNCTION RESTORE (and loading an RDB's FUNCTION2 records): adds the libraries of `codes` as
    /// `policy` says, all or none. Throws Redis's error text.
    public func restore(_ codes: [[UInt8]], policy: RestorePolicy) throws(ScriptError) {
        var staged: [FunctionLibrary] = []
        func abandon() { for l in staged { release(l) } }
        for code in codes {
            do throws(ScriptError) {
                let name = try FunctionLibraries.libraryName(code)
                if staged.contains(where: { $0.name == name }) { throw ScriptError("ERR Library '\(name)' already exists") }
                let lib = try compile(code, name: name, timeoutMS: 0)
                for f in lib.functions where staged.contains(where: { $0.functions.contains { $0.name.lowercased() == f.name.lowercased() } }) {
                    release(lib)
                    throw ScriptError("ERR Function \(f.name) already exists")
                }
                staged.append(lib)
            } catch {
                abandon()
                throw error
            }
        }
        if policy == .flush {
            flush()
        } else {
            let replacing = Set(staged.map(\.name)).intersection(libraries.map(\.name))
            if policy == .append, let first = staged.first(where: { replacing.contains($0.name) }) {
                abandon()
                throw ScriptError("ERR Library \(first.name) already exists")
            }
            for lib in staged {
                for f in lib.functions {
                    if let existing = functions[f.name.lowercased()], !replacing.contains(existing.library) {
                        abandon()
                        throw ScriptError("ERR Function \(f.name) already exists")
                    }
                }
            }
            for name in replacing { _ = delete(name) }
        }
        for lib in staged {
            libraries.append(lib)
            for f in lib.functions { functions[f.name.lowercased()] = f }
        }
    }

    private func unlink(_ lib: FunctionLibrary) {
        for f in lib.functions where functions[f.name.lowercased()]?.library == lib.name { functions[f.name.lowercased()] = nil }
    }

    /// Frees the library's callbacks in the interpreter.
    private func release(_ lib: FunctionLibrary) {
        for f in lib.functions { luaL_unref(vm.L, cairn_lua_registryindex(), f.ref) }
    }

    /// Runs the library's code in the load-time environment and collects what it registers.
    private func compile(_ code: [UInt8], name: String, timeoutMS: Int) throws(ScriptError) -> FunctionLibrary {
        let vm = self.vm
        let L = vm.L
        // The code after the shebang line, its line end kept so line numbers stay right.
        let start = code.firstIndex(of: 10) ?? code.count
        let body = Array(code[start...]) + [0]
        let status = body.withUnsafeBytes { b in
            luaL_loadbuffer(L, b.baseAddress!.assumingMemoryBound(to: CChar.self), b.count - 1, "@user_function")
        }
        if status != 0 {
            let msg = LuaReplies.string(L, -1) ?? ""
            cairn_lua_pop(L, 1)
            throw ScriptError("ERR Error compiling function: \(msg)")
        }
        let load = LibraryUnderLoad(name: name, timeout: timeoutMS)
        vm.loading = load
        vm.setLoadEnvironment(true)
        cairn_lua_set_count_hook(L, luaCountHook, 100_000)
        let ran = lua_pcall(L, 0, 0, 0)
        cairn_lua_set_count_hook(L, nil, 0)
        vm.setLoadEnvironment(false)
        vm.loading = nil
        let lib = FunctionLibrary(name: name, code: code, functions: load.functions)
        if ran != 0 {
            let info = LuaReplies.errorInfo(L)
            cairn_lua_pop(L, 1)
            release(lib)
            throw ScriptError("ERR Error registering functions: \(info.message)")
        }
        if lib.functions.isEmpty { throw ScriptError("ERR No functions registered") }
        return lib
    }

    /// The library name of a library's code (its `#!lua name=...` line), or Redis's error.
    static func libraryName(_ code: [UInt8]) throws(ScriptError) -> String {
        guard code.count >= 2, code[0] == UInt8(ascii: "#"), code[1] == UInt8(ascii: "!") else {
            throw ScriptError("ERR Missing library metadata")
        }
        guard let end = code.firstIndex(of: 10), let parts = splitArgs(Array(code[0 ..< end])), !parts.isEmpty else {
            throw ScriptError("ERR Invalid library metadata")
        }
        let engineName = String(decoding: parts[0].dropFirst(2), as: UTF8.self)
        var name: String?
        for part in parts.dropFirst() {
            let text = String(decoding: part, as: UTF8.self)
            if text.count >= 5 && text.prefix(5).lowercased() == "name=" {
                if name != nil { throw ScriptError("ERR Invalid metadata value, name argument was given multiple times") }
                name = String(text.dropFirst(5))
                continue
            }
            throw ScriptError("ERR Invalid metadata value given: \(text)")
        }
        guard let name else { throw ScriptError("ERR Library name was not given") }
        guard validName(name) else {
            throw ScriptError("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
        }
        guard engineName.uppercased() == "LUA" else { throw ScriptError("ERR Engine '\(engineName)' not found") }
        return name
    }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }
}

extension ScriptingVM {
    /// Switches the libraries' globals between the load-time environment and the run-time one.
    func setLoadEnvironment(_ on: Bool) {
        cairn_lua_getregistry(L, "cairn_load_switch")
        lua_pushboolean(L, on ? 1 : 0)
        _ = lua_pcall(L, 1, 0, 0)
    }

    /// redis.register_function(name, callback) or redis.register_function{function_name=, callback=,
    /// flags=, description=}: only while a library loads.
    func registerFunction(_ L: OpaquePointer) -> Int32 {
        guard let load = loading else { return raise(L, "redis.register_function can only be called on FUNCTION LOAD command") }
        let argc = lua_gettop(L)
        guard argc == 1 || argc == 2 else { return raise(L, "wrong number of arguments to redis.register_function") }
        var name: String?
        var description: [UInt8]?
        var flags: ScriptFlags = []
        var ref: Int32?
        let registry = cairn_lua_registryindex()
        func fail(_ text: String) -> Int32 {
            if let ref { luaL_unref(L, registry, ref) }
            return raise(L, text)
        }
        if argc == 1 {
            guard lua_type(L, 1) == LUA_TTABLE else {
                return fail("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
            }
            lua_pushnil(L)
            while lua_next(L, 1) != 0 {
                // A number key is not converted in place (that would break lua_next); no argument has one.
                guard lua_isstring(L, -2) != 0 else { return fail("named argument key given to redis.register_function is not a string") }
                guard lua_type(L, -2) == LUA_TSTRING, let key = LuaReplies.string(L, -2)?.lowercased() else {
                    return fail("unknown argument given to redis.register_function")
                }
                switch key {
                case "function_name":
                    guard lua_isstring(L, -1) != 0 else { return fail("function_name argument given to redis.register_function must be a string") }
                    name = LuaReplies.string(L, -1)
                case "description":
                    guard lua_isstring(L, -1) != 0 else { return fail("description argument given to redis.register_function must be a string") }
                    description = LuaReplies.bytes(L, -1)
                case "callback":
                    guard lua_type(L, -1) == LUA_TFUNCTION else { return fail("callback argument given to redis.register_function must be a function") }
                    lua_pushvalue(L, -1)
                    if let old = ref { luaL_unref(L, registry, old) }
                    ref = luaL_ref(L, registry)
                case "flags":
                    guard lua_type(L, -1) == LUA_TTABLE else {
                        return fail("flags argument to redis.register_function must be a table representing function flags")
                    }
                    var j: Int32 = 1
                    while true {
                        lua_rawgeti(L, -1, j)
                        if lua_type(L, -1) == LUA_TNIL { cairn_lua_pop(L, 1); break }
                        guard lua_isstring(L, -1) != 0, let text = LuaReplies.string(L, -1)?.lowercased(),
                              let f = ScriptFlags.names.first(where: { $0.0 == text }) else { return fail("unknown flag given") }
                        flags.insert(f.1)
                        cairn_lua_pop(L, 1)
                        j += 1
                    }
                default:
                    return fail("unknown argument given to redis.register_function")
                }
                cairn_lua_pop(L, 1)
            }
            guard name != nil else { return fail("redis.register_function must get a function name argument") }
            guard ref != nil else { return fail("redis.register_function must get a callback argument") }
        } else {
            guard lua_isstring(L, 1) != 0 else { return fail("first argument to redis.register_function must be a string") }
            name = LuaReplies.string(L, 1)
            guard lua_type(L, 2) == LUA_TFUNCTION else { return fail("second argument to redis.register_function must be a function") }
            lua_pushvalue(L, 2)
            ref = luaL_ref(L, registry)
        }
        guard let name, let ref else { return 0 }
        guard FunctionLibraries.validName(name) else {
            return fail("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
        }
        if load.functions.contains(where: { $0.name.lowercased() == name.lowercased() }) { return fail("Function already exists in the library") }
        load.functions.append(LibraryFunction(name: name, description: description, flags: flags, library: load.name, ref: ref))
        return 0
    }
}
