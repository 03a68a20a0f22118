/* CLuaLibs: the two Lua libraries Redis 7.0 gives scripts that Debian does not package (cmsgpack,
 * struct), written for Cairn, plus what Debian's lua-cjson and lua-bitop need to behave as Redis's
 * copies do (a size guard for cjson, the bit.tohex fix).
 * Each opener behaves like Redis's: it sets the global and leaves the library table on the stack. */
#ifndef CAIRN_CLUALIBS_H
#define CAIRN_CLUALIBS_H

typedef struct lua_State lua_State;

/* Global table `cmsgpack`: pack, unpack, unpack_one, unpack_limit, _NAME, _VERSION, _COPYRIGHT,
 * _DESCRIPTION. Returns 1 (the table). */
int cairn_luaopen_cmsgpack(lua_State *L);

/* Global table `struct`: pack, unpack, size (registered through luaL_register, as Redis does).
 * Returns 1 (the table). */
int cairn_luaopen_struct(lua_State *L);

/* Replaces `tohex` in the global `bit` table (Debian's LuaBitOp 1.0.2, opened before) with one
 * carrying Redis's CVE-2024-31449 fix: a width of -2^31 is read as -(2^31-1), so it prints 8
 * upper-case digits instead of overrunning a stack buffer. Returns 0 (pushes nothing). */
int cairn_lua_fix_bit_tohex(lua_State *L);

/* Guards encode, decode and new of the global `cjson` table (Debian's lua-cjson 2.1.0, opened
 * before) against the int overflows Redis fixed in its copy (CVE-2022-24834): values whose JSON
 * could exceed ~2 GB (or strings of ~355 MB and more) and texts of 2 GB and more are refused with an
 * error instead of corrupting memory. Same results and error texts otherwise. Returns 0. */
int cairn_lua_guard_cjson(lua_State *L);

/* Everything above in one call, as Redis's luaLoadLibraries does after base, table, string, math
 * and debug: cjson (Debian's, global set), struct, cmsgpack, bit (Debian's), each opened through
 * lua_call(opener, name); then the cjson guard and the tohex fix. Pushes nothing; returns 0. */
int cairn_lua_load_script_libraries(lua_State *L);

#endif
