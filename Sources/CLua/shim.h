// Debian's Lua 5.1 (liblua5.1-0-dev), for the scripting engine (the script libraries: Sources/CLuaLibs).
// Lua's C API is largely macros, which Swift does not import: the `cairn_lua_*` inline functions
// below wrap the ones we use. Lua reports errors with longjmp, which must never cross a Swift frame,
// so the C functions Lua calls (the redis.* API, the count hook) are the small trampolines here:
// each calls a Swift callback that returns a status, and raises the Lua error itself only after the
// Swift frame has returned. Swift enters Lua only through lua_pcall.
#ifndef CAIRN_CLUA_SHIM_H
#define CAIRN_CLUA_SHIM_H
#include <lua5.1/lua.h>
#include <lua5.1/lauxlib.h>
#include <lua5.1/lualib.h>

static inline void cairn_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void cairn_lua_newtable(lua_State *L) { lua_newtable(L); }
static inline const char *cairn_lua_tolstring(lua_State *L, int i, size_t *len) { return lua_tolstring(L, i, len); }
static inline int cairn_lua_isnil(lua_State *L, int i) { return lua_isnil(L, i); }
static inline int cairn_lua_istable(lua_State *L, int i) { return lua_istable(L, i); }
static inline void cairn_lua_getglobal(lua_State *L, const char *name) { lua_getglobal(L, name); }
static inline void cairn_lua_setglobal(lua_State *L, const char *name) { lua_setglobal(L, name); }
static inline void cairn_lua_getregistry(lua_State *L, const char *name) { lua_getfield(L, LUA_REGISTRYINDEX, name); }
static inline void cairn_lua_setregistry(lua_State *L, const char *name) { lua_setfield(L, LUA_REGISTRYINDEX, name); }
static inline int cairn_lua_globalsindex(void) { return LUA_GLOBALSINDEX; }
static inline int cairn_lua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline size_t cairn_lua_memory(lua_State *L) { return (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0); }

/// A Swift function behind a Lua C function: returns the number of results it pushed, or -1 after
/// pushing an error value, which the trampoline then raises.
/// `context` is the pointer given when the function was made (the Swift object behind it).
typedef int (*cairn_lua_callback)(lua_State *L, int which, void *context);

static inline int cairn_lua_trampoline(lua_State *L) {
    cairn_lua_callback fn = (cairn_lua_callback)lua_touserdata(L, lua_upvalueindex(1));
    int which = (int)lua_tointeger(L, lua_upvalueindex(2));
    int n = fn(L, which, lua_touserdata(L, lua_upvalueindex(3)));
    if (n < 0) return lua_error(L);
    return n;
}

/// Pushes a Lua function that calls `fn(L, which, context)`.
static inline void cairn_lua_push_callback(lua_State *L, cairn_lua_callback fn, int which, void *context) {
    lua_pushlightuserdata(L, (void *)fn);
    lua_pushinteger(L, which);
    lua_pushlightuserdata(L, context);
    lua_pushcclosure(L, cairn_lua_trampoline, 3);
}

/// Redis's replacement for the global `pcall`: as Lua's, except that an error given as a table with a
/// string `err` field comes back as that string.
static inline int cairn_lua_pcall_builtin(lua_State *L) {
    int argc = lua_gettop(L);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1)) lua_replace(L, -2); else lua_pop(L, 1);
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

static inline void cairn_lua_push_pcall_builtin(lua_State *L) { lua_pushcfunction(L, cairn_lua_pcall_builtin); }

/// The count hook's Swift side: returns 1 when the running script must stop (SCRIPT KILL), 2 when a
/// library's loading ran out of time.
typedef int (*cairn_lua_hook_callback)(lua_State *L);

static inline void cairn_lua_count_hook(lua_State *L, lua_Debug *ar);
static inline void cairn_lua_raise_killed(lua_State *L, int why) {
    // From now on every line raises the error again, so pcall cannot swallow the kill.
    lua_sethook(L, cairn_lua_count_hook, LUA_MASKLINE, 0);
    lua_newtable(L);
    lua_pushstring(L, why == 2 ? "ERR FUNCTION LOAD timeout" : "ERR Script killed by user with SCRIPT KILL...");
    lua_setfield(L, -2, "err");
    lua_error(L);
}

static inline void cairn_lua_count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_getfield(L, LUA_REGISTRYINDEX, "cairn_hook");
    cairn_lua_hook_callback fn = (cairn_lua_hook_callback)lua_touserdata(L, -1);
    lua_pop(L, 1);
    int why = fn ? fn(L) : 0;
    if (why) cairn_lua_raise_killed(L, why);
}

/// Installs the count hook (every `count` instructions) calling `fn`; a null `fn` removes it.
static inline void cairn_lua_set_count_hook(lua_State *L, cairn_lua_hook_callback fn, int count) {
    if (fn) {
        lua_pushlightuserdata(L, (void *)fn);
        lua_setfield(L, LUA_REGISTRYINDEX, "cairn_hook");
        lua_sethook(L, cairn_lua_count_hook, LUA_MASKCOUNT, count);
    } else {
        lua_sethook(L, NULL, 0, 0);
    }
}

/// Replaces `t` at `idx` with the table behind it when it is one of the sandbox's read-only proxies
/// (LuaSandbox.swift records them in the registry's `cairn_readonly_targets`).
static void cairn_lua_unproxy(lua_State *L, int idx) {
    lua_getfield(L, LUA_REGISTRYINDEX, "cairn_readonly_targets");
    if (lua_istable(L, -1)) {
        lua_pushvalue(L, idx);
        lua_rawget(L, -2);
        if (lua_istable(L, -1)) {
            lua_replace(L, idx);
            lua_pop(L, 1);
            return;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/// `next` as Lua's, over the table behind a read-only proxy.
static int cairn_lua_next(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    cairn_lua_unproxy(L, 1);
    if (lua_next(L, 1)) return 2;
    lua_pushnil(L);
    return 1;
}

/// `pairs` as Lua's (returns next, t, nil), over the table behind a read-only proxy.
static int cairn_lua_pairs(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    cairn_lua_unproxy(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/// Redis's Lua has read-only tables that iterate as usual; the sandbox's proxies iterate through these.
static inline void cairn_lua_install_readonly_iteration(lua_State *L) {
    lua_pushcfunction(L, cairn_lua_next);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "next");
    lua_pushcclosure(L, cairn_lua_pairs, 1);
    lua_setglobal(L, "pairs");
}

/// Opens a library as Lua's own loaders expect (called through Lua, with its name as argument).
static inline int cairn_lua_open_library(lua_State *L, lua_CFunction open, const char *name) {
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    int r = lua_pcall(L, 1, 1, 0);
    if (r != 0) return r;
    // Some loaders (Debian's lua-cjson) return their table without setting the global.
    if (name[0] && lua_istable(L, -1)) lua_setglobal(L, name); else lua_pop(L, 1);
    return 0;
}

static inline int cairn_lua_open_base(lua_State *L) { return cairn_lua_open_library(L, luaopen_base, ""); }
static inline int cairn_lua_open_table(lua_State *L) { return cairn_lua_open_library(L, luaopen_table, LUA_TABLIBNAME); }
static inline int cairn_lua_open_string(lua_State *L) { return cairn_lua_open_library(L, luaopen_string, LUA_STRLIBNAME); }
static inline int cairn_lua_open_math(lua_State *L) { return cairn_lua_open_library(L, luaopen_math, LUA_MATHLIBNAME); }
static inline int cairn_lua_open_debug(lua_State *L) { return cairn_lua_open_library(L, luaopen_debug, LUA_DBLIBNAME); }


// The sandbox's C pieces (Redis's patched Lua has read-only tables; stock Lua 5.1 gets proxies whose
// writes land here). Errors raised by these pure C functions unwind through Lua only.

/// __newindex of a protected table: the error names the script's line, as Redis's does.
static inline int cairn_lua_readonly_newindex(lua_State *L) {
    return luaL_error(L, "Attempt to modify a readonly table");
}

/// __index of the globals: reading a global that does not exist is an error.
static inline int cairn_lua_missing_global(lua_State *L) {
    const char *name = lua_tostring(L, -1);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name ? name : "?");
}

/// A builtin (setmetatable, rawset) that refuses to touch a protected table: upvalue 1 is the set of
/// protected tables, upvalue 2 the builtin.
static inline int cairn_lua_guarded_builtin(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_pushvalue(L, 1);
        lua_rawget(L, lua_upvalueindex(1));
        int ro = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (ro) {
            lua_pushstring(L, "Attempt to modify a readonly table");
            return lua_error(L);
        }
    }
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/// make_guard(set, builtin) for the sandbox prelude.
static inline int cairn_lua_make_guard(lua_State *L) {
    lua_settop(L, 2);
    lua_pushcclosure(L, cairn_lua_guarded_builtin, 2);
    return 1;
}

/// Pushes the three C helpers the sandbox prelude takes as arguments.
static inline void cairn_lua_push_sandbox_helpers(lua_State *L) {
    lua_pushcfunction(L, cairn_lua_readonly_newindex);
    lua_pushcfunction(L, cairn_lua_missing_global);
    lua_pushcfunction(L, cairn_lua_make_guard);
}

/// Makes the table at the top of the stack the globals table of the state (then pops it).
static inline void cairn_lua_replace_globals(lua_State *L) { lua_replace(L, LUA_GLOBALSINDEX); }

#endif
