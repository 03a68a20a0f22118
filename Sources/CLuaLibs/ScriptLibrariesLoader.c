/* Loads the four libraries Redis 7.0 gives scripts, in Redis's order and way: each opener called
 * through lua_call with its library name as the one argument, results dropped. Redis's cjson sets
 * its global itself (built with ENABLE_CJSON_GLOBAL); Debian's does not, so it is set here from the
 * opener's result. Then Cairn's corrections to Debian's builds: cjson's size guard and bit.tohex. */
#include "lua.h"
#include "lauxlib.h"

#include "CLuaLibs.h"

/* Debian's lua-cjson and lua-bitop (liblua5.1-cjson, liblua5.1-bitop). */
extern int luaopen_cjson(lua_State *L);
extern int luaopen_bit(lua_State *L);

static int open_cjson_as_global(lua_State *L) {
    lua_settop(L, 0);
    luaopen_cjson(L);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "cjson");
    return 1;
}

static void load_library(lua_State *L, const char *name, lua_CFunction opener) {
    lua_pushcfunction(L, opener);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

int cairn_lua_load_script_libraries(lua_State *L) {
    load_library(L, "cjson", open_cjson_as_global);
    load_library(L, "struct", cairn_luaopen_struct);
    load_library(L, "cmsgpack", cairn_luaopen_cmsgpack);
    load_library(L, "bit", luaopen_bit);
    cairn_lua_guard_cjson(L);
    cairn_lua_fix_bit_tohex(L);
    return 0;
}
