/* A size guard around Debian's lua-cjson 2.1.0. Debian ships cjson as upstream released it, with
 * int-sized string buffers; Redis's copy has size_t ones since its CVE-2022-24834 fix. With
 * Debian's, cjson.encode of a string of about 358 MB or more writes past its buffer (SIGSEGV; a
 * heap overflow), a larger total makes the buffer's doubling overflow (exit(-1) from strbuf's die(),
 * or a hang), and cjson.decode of a text of 2 GB or more sizes its scratch buffer with a truncated
 * int. A script can build such strings (string.rep), so the server must never pass them on.
 *
 * The guard replaces encode, decode and new in a cjson table with C functions that check the input
 * first and then call the originals:
 *   encode: the largest buffer size cjson may ask for is bounded by the length of the JSON text
 *           (strings measured with cjson's escapes, numbers as 32 bytes, 2 per table and entry) plus
 *           the most one request asks ahead (6 bytes per byte of a string + 3, before writing it);
 *           it must stay below ENCODE_BOUND_LIMIT, under which Debian's buffer (1023 bytes, doubled)
 *           stays within int; otherwise "Cannot serialise: ..." (Redis would encode it: a deliberate
 *           difference, for JSON texts near 2 GB, or one string of ~355 MB and more).
 *   decode: a text of INT_MAX - 1 bytes or more is refused ("Cannot parse: ...").
 * Everything else is cjson's own: the argument checks are repeated here with cjson's texts (so
 * `bad argument #1 to 'encode'` still names the function), and an error raised by the original is
 * given the caller's position, which luaL_error in the original can no longer see from under this
 * C frame, so messages stay byte-identical to Redis's. new() returns a table guarded the same way. */
#include <limits.h>

#include "lua.h"
#include "lauxlib.h"

#include "CLuaLibs.h"

/* 1023 * 2^21 is the largest size Debian's strbuf reaches without overflowing int; keep below. */
#define ENCODE_BOUND_LIMIT 2130706432.0

typedef struct EncodeEstimate {
    int exact;      /* measure strings byte by byte (else count 6 per byte: cheaper, looser) */
    double bytes;   /* an upper bound of the JSON text's length */
    double extra;   /* the most any one buffer request asks beyond the bytes written before it */
    int too_deep;   /* a table deeper than cjson's limit: cjson itself will refuse the value */
} EncodeEstimate;

/* Bytes cjson writes for one string byte: \uXXXX for controls and DEL, \b \t \n \f \r \" \/ \\. */
static int escaped_width(unsigned char c) {
    if (c < 0x20) return (c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r') ? 2 : 6;
    if (c == 0x7f) return 6;
    if (c == '"' || c == '/' || c == '\\') return 2;
    return 1;
}

/* Adds a scalar (a string, or a number, boolean or null) at `index`. cjson asks its buffer for
 * 6 bytes per string byte + 2 before writing a string, and 32 before writing a number. */
static void add_scalar(lua_State *L, int index, EncodeEstimate *e) {
    double written, asked;
    if (lua_type(L, index) == LUA_TSTRING) {
        size_t len;
        const unsigned char *s = (const unsigned char *)lua_tolstring(L, index, &len);
        asked = 6.0 * (double)len + 2;
        if (e->exact) {
            size_t width = 2;
            for (size_t i = 0; i < len; i++) width += (size_t)escaped_width(s[i]);
            written = (double)width;
        } else {
            written = asked;
        }
    } else {
        written = 34;   /* a number (32 at most), in quotes when it is a key */
        asked = 34;
    }
    e->bytes += written;
    if (asked + 1 - written > e->extra) e->extra = asked + 1 - written;
}

/* Adds the value on top of the stack (left there); stops early once the bound is over the limit
 * or a table is deeper than cjson allows. */
static void estimate(lua_State *L, int depth, int max_depth, EncodeEstimate *e) {
    if (lua_type(L, -1) != LUA_TTABLE) {
        add_scalar(L, -1, e);
        return;
    }
    if (depth > max_depth || !lua_checkstack(L, 3)) {
        e->too_deep = 1;
        return;
    }
    e->bytes += 2;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        e->bytes += 2;
        if (lua_type(L, -2) == LUA_TSTRING) {
            /* The key must stay a string for lua_next: measure a copy. */
            lua_pushvalue(L, -2);
            add_scalar(L, -1, e);
            lua_pop(L, 1);
        } else {
            add_scalar(L, -2, e);
        }
        estimate(L, depth + 1, max_depth, e);
        lua_pop(L, 1);
        if (e->too_deep || e->bytes + e->extra > ENCODE_BOUND_LIMIT) {
            lua_pop(L, 1);
            return;
        }
    }
}

/* Calls the original (upvalue 1) with the arguments on the stack; its error comes back with the
 * caller's position in front, as it would have had without this frame in between. */
static int call_original(lua_State *L) {
    int argc = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    int status = lua_pcall(L, argc, LUA_MULTRET, 0);
    if (status == 0) return lua_gettop(L);
    if (status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

/* Upvalues: the original encode, the original encode_max_depth. */
static int guarded_encode(lua_State *L) {
    luaL_argcheck(L, lua_gettop(L) == 1, 1, "expected 1 argument");
    /* A quick pass counting 6 bytes per string byte settles almost every value; only one that
     * might be too large is measured again with cjson's actual escapes. */
    EncodeEstimate e;
    int max_depth = 0;
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_call(L, 0, 1);
        max_depth = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    for (int exact = 0; exact <= 1; exact++) {
        e = (EncodeEstimate){exact, 0, 40, 0};   /* 40: the small requests (literals, numbers) */
        if (lua_type(L, 1) == LUA_TTABLE) estimate(L, 1, max_depth, &e);
        else if (lua_type(L, 1) == LUA_TSTRING) add_scalar(L, 1, &e);
        if (e.too_deep || e.bytes + e.extra <= ENCODE_BOUND_LIMIT) break;
    }
    if (!e.too_deep && e.bytes + e.extra > ENCODE_BOUND_LIMIT)
        return luaL_error(L, "Cannot serialise: the JSON text could exceed %d bytes", (int)ENCODE_BOUND_LIMIT);
    return call_original(L);
}

/* Upvalue: the original decode. */
static int guarded_decode(lua_State *L) {
    luaL_argcheck(L, lua_gettop(L) == 1, 1, "expected 1 argument");
    size_t len;
    luaL_checklstring(L, 1, &len);
    if (len >= (size_t)INT_MAX - 1)
        return luaL_error(L, "Cannot parse: JSON text of %d bytes or more", INT_MAX - 1);
    return call_original(L);
}

static void guard_table(lua_State *L, int table);

/* Upvalue: the original new. */
static int guarded_new(lua_State *L) {
    int results = call_original(L);
    if (results >= 1 && lua_istable(L, -results)) guard_table(L, lua_gettop(L) - results + 1);
    return results;
}

/* Replaces encode, decode and new of the cjson table at `table` (values replaced in place, so the
 * table's iteration order does not change). */
static void guard_table(lua_State *L, int table) {
    lua_getfield(L, table, "encode");
    lua_getfield(L, table, "encode_max_depth");
    if (lua_isfunction(L, -2) && lua_isfunction(L, -1)) {
        lua_pushcclosure(L, guarded_encode, 2);
        lua_setfield(L, table, "encode");
    } else {
        lua_pop(L, 2);
    }
    lua_getfield(L, table, "decode");
    if (lua_isfunction(L, -1)) {
        lua_pushcclosure(L, guarded_decode, 1);
        lua_setfield(L, table, "decode");
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, table, "new");
    if (lua_isfunction(L, -1)) {
        lua_pushcclosure(L, guarded_new, 1);
        lua_setfield(L, table, "new");
    } else {
        lua_pop(L, 1);
    }
}

int cairn_lua_guard_cjson(lua_State *L) {
    lua_getglobal(L, "cjson");
    if (lua_istable(L, -1)) guard_table(L, lua_gettop(L));
    lua_pop(L, 1);
    return 0;
}
