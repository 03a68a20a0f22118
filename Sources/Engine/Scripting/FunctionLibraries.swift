// The function libraries (FUNCTION LOAD): each library's name, code and functions.
// (Phase 2 fills this in.)

public final class FunctionLibraries {
    unowned let engine: Engine
    init(engine: Engine) { self.engine = engine }

    /// INFO's figures: function and library counts, the functions' Lua heap and their bookkeeping.
    public var stats: (functions: Int, libraries: Int, vmMemory: Int, memory: Int) { (0, 0, 32768, 184) }
}

extension ScriptingVM {
    /// redis.register_function: only while a library loads.
    func registerFunction(_ L: OpaquePointer) -> Int32 {
        raise(L, "redis.register_function can only be called on FUNCTION LOAD command")
    }
}
