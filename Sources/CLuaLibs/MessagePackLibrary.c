/* The `cmsgpack` library Redis 7.0 gives Lua scripts (lua-cmsgpack 0.4.0 as Redis ships it),
 * written for Cairn with the same observable behaviour: the bytes pack produces, the values unpack
 * gives back, the offsets of unpack_one/unpack_limit, and every error text.
 *
 * Encoding rules (Lua 5.1, where every number is a double):
 *   string  -> str (fixstr a0+len / d9 len8 / da len16 / db len32; never bin)
 *   boolean -> c2 false / c3 true
 *   number  -> integer form when the double is a whole number inside int64's range (the smallest of
 *              fixint, cc/cd/ce/cf for >= 0, e0+/d0/d1/d2/d3 for < 0); otherwise float32 (ca) when
 *              the value survives a round trip through float, else float64 (cb)
 *   table   -> array (90+/dc/dd) when its keys are exactly 1..n (whole numbers within int),
 *              otherwise map (80+/de/df) in lua_next order; a table 16 levels deep becomes nil
 *   other   -> nil (c0)
 * Decoding accepts nil, booleans, every int/uint width, float32/64, str8/16/32 and fixstr,
 * arrays and maps; bin, ext and c1 are "Bad data format in input.". uint64 values above int64's
 * range come back wrapped to negative (Redis pushes them through lua_Integer), int64 through a double.
 * Stack usage mirrors Redis's so the points where a deep or huge input overflows the Lua stack, and
 * the messages then, are the same. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <limits.h>
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"

#include "CLuaLibs.h"

/* Tables nested deeper than this are written as nil (this is how cycles terminate). */
#define PACK_NESTING_LIMIT 16

/* ---- Output bytes, in memory from the state's allocator ------------------------------------ */

typedef struct PackOutput {
    unsigned char *bytes;
    size_t used;
    size_t capacity;
} PackOutput;

static void *state_realloc(lua_State *L, void *block, size_t old_size, size_t new_size) {
    void *ud;
    lua_Alloc alloc = lua_getallocf(L, &ud);
    return alloc(ud, block, old_size, new_size);
}

static void output_write(lua_State *L, PackOutput *out, const unsigned char *data, size_t count) {
    if (out->capacity - out->used < count) {
        size_t needed = out->used + count;
        if (needed < out->used || needed >= SIZE_MAX / 2) abort();
        size_t grown = needed * 2;
        unsigned char *moved = state_realloc(L, out->bytes, out->capacity, grown);
        if (moved == NULL) abort();
        out->bytes = moved;
        out->capacity = grown;
    }
    memcpy(out->bytes + out->used, data, count);
    out->used += count;
}

static void output_release(lua_State *L, PackOutput *out) {
    if (out->bytes != NULL) state_realloc(L, out->bytes, out->capacity, 0);
    out->bytes = NULL;
    out->used = out->capacity = 0;
}

/* Writes `tag` then the low `width` bytes of `value`, most significant first. */
static void write_tagged(lua_State *L, PackOutput *out, unsigned char tag, uint64_t value, int width) {
    unsigned char frame[9];
    frame[0] = tag;
    for (int i = 0; i < width; i++) frame[1 + i] = (unsigned char)(value >> (8 * (width - 1 - i)));
    output_write(L, out, frame, (size_t)width + 1);
}

/* ---- Encoders for msgpack headers and scalars ---------------------------------------------- */

static void pack_integer(lua_State *L, PackOutput *out, int64_t v) {
    if (v >= 0) {
        if (v < 128) { unsigned char b = (unsigned char)v; output_write(L, out, &b, 1); }
        else if (v <= 0xff) write_tagged(L, out, 0xcc, (uint64_t)v, 1);
        else if (v <= 0xffff) write_tagged(L, out, 0xcd, (uint64_t)v, 2);
        else if (v <= 0xffffffffLL) write_tagged(L, out, 0xce, (uint64_t)v, 4);
        else write_tagged(L, out, 0xcf, (uint64_t)v, 8);
    } else {
        if (v >= -32) { unsigned char b = (unsigned char)(v & 0xff); output_write(L, out, &b, 1); }
        else if (v >= -128) write_tagged(L, out, 0xd0, (uint64_t)v, 1);
        else if (v >= -32768) write_tagged(L, out, 0xd1, (uint64_t)v, 2);
        else if (v >= -2147483648LL) write_tagged(L, out, 0xd2, (uint64_t)v, 4);
        else write_tagged(L, out, 0xd3, (uint64_t)v, 8);
    }
}

static void pack_real(lua_State *L, PackOutput *out, double d) {
    float narrow = (float)d;
    if ((double)narrow == d) {
        uint32_t bits;
        memcpy(&bits, &narrow, 4);
        write_tagged(L, out, 0xca, bits, 4);
    } else {
        uint64_t bits;
        memcpy(&bits, &d, 8);
        write_tagged(L, out, 0xcb, bits, 8);
    }
}

/* Header for a container or string of `count` items: the fix form holds up to `fix_max`. */
static void pack_length(lua_State *L, PackOutput *out, uint64_t count, unsigned char fix_base, uint64_t fix_max,
                        unsigned char tag8, unsigned char tag16, unsigned char tag32) {
    if (count <= fix_max) {
        unsigned char b = (unsigned char)(fix_base | count);
        output_write(L, out, &b, 1);
    } else if (tag8 != 0 && count <= 0xff) {
        write_tagged(L, out, tag8, count, 1);
    } else if (count <= 0xffff) {
        write_tagged(L, out, tag16, count, 2);
    } else {
        write_tagged(L, out, tag32, count & 0xffffffffULL, 4);
    }
}

/* True when the double is a whole number that converts to int64 without loss. */
static int fits_int64(double n) {
    return n >= -9223372036854775808.0 && n < 9223372036854775808.0 && n == floor(n);
}

/* ---- Encoding Lua values -------------------------------------------------------------------- */

static void pack_top(lua_State *L, PackOutput *out, int depth);

/* Array test: every key is a number holding a positive whole value that fits an int, and the
 * largest equals the number of keys (so they are exactly 1..n). Leaves the stack as it was. */
static int keys_form_sequence(lua_State *L) {
    int base = lua_gettop(L);
    int seen = 0, highest = 0;
    luaL_checkstack(L, 2, "in function table_is_an_array");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) { lua_settop(L, base); return 0; }
        double k = lua_tonumber(L, -1);
        if (!(k > 0) || k > 2147483647.0 || k != floor(k)) { lua_settop(L, base); return 0; }
        if ((int)k > highest) highest = (int)k;
        seen++;
    }
    lua_settop(L, base);
    return highest == seen;
}

static void pack_sequence(lua_State *L, PackOutput *out, int depth) {
    size_t n = lua_objlen(L, -1);
    pack_length(L, out, n, 0x90, 15, 0, 0xdc, 0xdd);
    luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
    for (size_t i = 1; i <= n; i++) {
        lua_pushnumber(L, (lua_Number)i);
        lua_gettable(L, -2);
        pack_top(L, out, depth + 1);
    }
}

static void pack_mapping(lua_State *L, PackOutput *out, int depth) {
    size_t pairs = 0;
    luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
    lua_pushnil(L);
    while (lua_next(L, -2)) { lua_pop(L, 1); pairs++; }
    pack_length(L, out, pairs, 0x80, 15, 0, 0xde, 0xdf);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);          /* key copy on top: written, then popped */
        pack_top(L, out, depth + 1);
        pack_top(L, out, depth + 1);   /* then the value, which leaves the key for lua_next */
    }
}

/* Writes the value on top of the stack and pops it. */
static void pack_top(lua_State *L, PackOutput *out, int depth) {
    int type = lua_type(L, -1);
    if (type == LUA_TTABLE && depth == PACK_NESTING_LIMIT) type = LUA_TNIL;
    switch (type) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        pack_length(L, out, len, 0xa0, 31, 0xd9, 0xda, 0xdb);
        output_write(L, out, (const unsigned char *)s, len);
        break;
    }
    case LUA_TBOOLEAN: {
        unsigned char b = lua_toboolean(L, -1) ? 0xc3 : 0xc2;
        output_write(L, out, &b, 1);
        break;
    }
    case LUA_TNUMBER: {
        double n = lua_tonumber(L, -1);
        if (fits_int64(n)) pack_integer(L, out, (int64_t)n);
        else pack_real(L, out, n);
        break;
    }
    case LUA_TTABLE:
        if (keys_form_sequence(L)) pack_sequence(L, out, depth);
        else pack_mapping(L, out, depth);
        break;
    default: {
        unsigned char b = 0xc0;
        output_write(L, out, &b, 1);
        break;
    }
    }
    lua_pop(L, 1);
}

/* cmsgpack.pack(v1, v2, ...): the concatenation of each argument's encoding. */
static int msgpack_pack(lua_State *L) {
    int argc = lua_gettop(L);
    if (argc == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    if (!lua_checkstack(L, argc)) return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
    PackOutput out = {NULL, 0, 0};
    for (int i = 1; i <= argc; i++) {
        luaL_checkstack(L, 1, "in function mp_check");
        lua_pushvalue(L, i);
        pack_top(L, &out, 0);
        lua_pushlstring(L, (const char *)out.bytes, out.used);
        out.used = 0;   /* keep the memory for the next argument */
    }
    output_release(L, &out);
    lua_concat(L, argc);
    return 1;
}

/* ---- Decoding ------------------------------------------------------------------------------- */

enum { READ_OK = 0, READ_SHORT = 1, READ_MALFORMED = 2 };

typedef struct UnpackInput {
    const unsigned char *at;
    size_t remaining;
    int status;
} UnpackInput;

static uint64_t read_big_endian(const unsigned char *p, int width) {
    uint64_t v = 0;
    for (int i = 0; i < width; i++) v = (v << 8) | p[i];
    return v;
}

/* Pushes an unsigned value the way Redis's build does on 64-bit: through lua_Integer. */
static void push_unsigned(lua_State *L, uint64_t v) {
    lua_pushinteger(L, (lua_Integer)(int64_t)v);
}

static void unpack_value(lua_State *L, UnpackInput *in);

static void unpack_array(lua_State *L, UnpackInput *in, size_t count) {
    lua_newtable(L);
    luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
    for (size_t i = 1; i <= count; i++) {
        lua_pushnumber(L, (lua_Number)i);
        unpack_value(L, in);
        if (in->status != READ_OK) return;
        lua_settable(L, -3);
    }
}

static void unpack_map(lua_State *L, UnpackInput *in, size_t count) {
    lua_newtable(L);
    for (size_t i = 0; i < count; i++) {
        unpack_value(L, in);
        if (in->status != READ_OK) return;
        unpack_value(L, in);
        if (in->status != READ_OK) return;
        lua_settable(L, -3);
    }
}

/* Requires `n` bytes at the cursor, else marks the input short and returns 0. */
static int have(UnpackInput *in, size_t n) {
    if (in->remaining < n) { in->status = READ_SHORT; return 0; }
    return 1;
}

static void skip(UnpackInput *in, size_t n) { in->at += n; in->remaining -= n; }

/* A string of `len` bytes after a header of `header` bytes. */
static void unpack_string(lua_State *L, UnpackInput *in, size_t header, size_t len) {
    if (!have(in, header)) return;
    skip(in, header);
    if (!have(in, len)) return;
    lua_pushlstring(L, (const char *)in->at, len);
    skip(in, len);
}

/* Decodes one value at the cursor and pushes it (nothing pushed when the status turns bad). */
static void unpack_value(lua_State *L, UnpackInput *in) {
    if (!have(in, 1)) return;
    luaL_checkstack(L, 1, "too many return values at once; use unpack_one or unpack_limit instead.");
    unsigned char lead = in->at[0];
    const unsigned char *body = in->at + 1;
    switch (lead) {
    case 0xc0: lua_pushnil(L); skip(in, 1); return;
    case 0xc2: lua_pushboolean(L, 0); skip(in, 1); return;
    case 0xc3: lua_pushboolean(L, 1); skip(in, 1); return;
    case 0xcc: if (!have(in, 2)) return; push_unsigned(L, body[0]); skip(in, 2); return;
    case 0xcd: if (!have(in, 3)) return; push_unsigned(L, read_big_endian(body, 2)); skip(in, 3); return;
    case 0xce: if (!have(in, 5)) return; push_unsigned(L, read_big_endian(body, 4)); skip(in, 5); return;
    case 0xcf: if (!have(in, 9)) return; push_unsigned(L, read_big_endian(body, 8)); skip(in, 9); return;
    case 0xd0: if (!have(in, 2)) return; lua_pushinteger(L, (int8_t)body[0]); skip(in, 2); return;
    case 0xd1: if (!have(in, 3)) return; lua_pushinteger(L, (int16_t)read_big_endian(body, 2)); skip(in, 3); return;
    case 0xd2: if (!have(in, 5)) return; lua_pushinteger(L, (int32_t)read_big_endian(body, 4)); skip(in, 5); return;
    case 0xd3:
        if (!have(in, 9)) return;
        lua_pushnumber(L, (lua_Number)(int64_t)read_big_endian(body, 8));
        skip(in, 9);
        return;
    case 0xca: {
        if (!have(in, 5)) return;
        uint32_t bits = (uint32_t)read_big_endian(body, 4);
        float f;
        memcpy(&f, &bits, 4);
        lua_pushnumber(L, (lua_Number)f);
        skip(in, 5);
        return;
    }
    case 0xcb: {
        if (!have(in, 9)) return;
        uint64_t bits = read_big_endian(body, 8);
        double d;
        memcpy(&d, &bits, 8);
        lua_pushnumber(L, d);
        skip(in, 9);
        return;
    }
    case 0xd9: if (!have(in, 2)) return; unpack_string(L, in, 2, body[0]); return;
    case 0xda: if (!have(in, 3)) return; unpack_string(L, in, 3, (size_t)read_big_endian(body, 2)); return;
    case 0xdb: if (!have(in, 5)) return; unpack_string(L, in, 5, (size_t)read_big_endian(body, 4)); return;
    case 0xdc: if (!have(in, 3)) return; { size_t n = (size_t)read_big_endian(body, 2); skip(in, 3); unpack_array(L, in, n); } return;
    case 0xdd: if (!have(in, 5)) return; { size_t n = (size_t)read_big_endian(body, 4); skip(in, 5); unpack_array(L, in, n); } return;
    case 0xde: if (!have(in, 3)) return; { size_t n = (size_t)read_big_endian(body, 2); skip(in, 3); unpack_map(L, in, n); } return;
    case 0xdf: if (!have(in, 5)) return; { size_t n = (size_t)read_big_endian(body, 4); skip(in, 5); unpack_map(L, in, n); } return;
    default: break;
    }
    if (lead < 0x80) {                          /* positive fixint */
        push_unsigned(L, lead);
        skip(in, 1);
    } else if (lead >= 0xe0) {                  /* negative fixint */
        lua_pushinteger(L, (int8_t)lead);
        skip(in, 1);
    } else if ((lead & 0xe0) == 0xa0) {         /* fixstr */
        size_t len = lead & 0x1f;
        if (!have(in, 1 + len)) return;
        lua_pushlstring(L, (const char *)body, len);
        skip(in, 1 + len);
    } else if ((lead & 0xf0) == 0x90) {         /* fixarray */
        skip(in, 1);
        unpack_array(L, in, lead & 0x0f);
    } else if ((lead & 0xf0) == 0x80) {         /* fixmap */
        skip(in, 1);
        unpack_map(L, in, lead & 0x0f);
    } else {                                    /* c1, bin, ext, fixext */
        in->status = READ_MALFORMED;
    }
}

/* Shared by the three unpack forms. limit == 0 and offset == 0 together mean "everything, and no
 * offset result"; otherwise at most `limit` values from `offset`, preceded by the next offset
 * (-1 once the input is used up). */
static int unpack_from(lua_State *L, lua_Integer limit, lua_Integer offset) {
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    int everything = (limit == 0 && offset == 0);
    if (offset < 0 || limit < 0)
        return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.", (int)offset, (int)len);
    if ((size_t)offset > len)
        return luaL_error(L, "Start offset %d greater than input length %d.", (int)offset, (int)len);
    if (everything) limit = INT_MAX;

    UnpackInput in = {(const unsigned char *)data + offset, len - (size_t)offset, READ_OK};
    int produced = 0;
    while (in.remaining > 0 && produced < limit) {
        unpack_value(L, &in);
        if (in.status == READ_SHORT) return luaL_error(L, "Missing bytes in input.");
        if (in.status == READ_MALFORMED) return luaL_error(L, "Bad data format in input.");
        produced++;
    }
    if (everything) return produced;

    luaL_checkstack(L, 1, "in function mp_unpack_full");
    lua_pushinteger(L, in.remaining == 0 ? -1 : (lua_Integer)(len - in.remaining));
    lua_insert(L, 2);   /* the offset comes first, right after the input string */
    return produced + 1;
}

static int msgpack_unpack(lua_State *L) { return unpack_from(L, 0, 0); }

static int msgpack_unpack_one(lua_State *L) {
    lua_Integer offset = luaL_optinteger(L, 2, 0);
    if (lua_gettop(L) > 1) lua_settop(L, 1);   /* with no argument at all, the string check names "no value" */
    return unpack_from(L, 1, offset);
}

static int msgpack_unpack_limit(lua_State *L) {
    lua_Integer limit = luaL_checkinteger(L, 2);
    lua_Integer offset = luaL_optinteger(L, 3, 0);
    lua_settop(L, 1);   /* at least two arguments are here: the limit was checked */
    return unpack_from(L, limit, offset);
}

/* ---- Opening -------------------------------------------------------------------------------- */

int cairn_luaopen_cmsgpack(lua_State *L) {
    /* Field order matters: it decides pairs(cmsgpack) order, which must be Redis's. */
    lua_newtable(L);
    lua_pushcfunction(L, msgpack_pack);         lua_setfield(L, -2, "pack");
    lua_pushcfunction(L, msgpack_unpack);       lua_setfield(L, -2, "unpack");
    lua_pushcfunction(L, msgpack_unpack_one);   lua_setfield(L, -2, "unpack_one");
    lua_pushcfunction(L, msgpack_unpack_limit); lua_setfield(L, -2, "unpack_limit");
    lua_pushliteral(L, "cmsgpack");                                   lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, "lua-cmsgpack 0.4.0");                         lua_setfield(L, -2, "_VERSION");
    lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");   lua_setfield(L, -2, "_COPYRIGHT");
    lua_pushliteral(L, "MessagePack C implementation for Lua");       lua_setfield(L, -2, "_DESCRIPTION");
    lua_pushvalue(L, -1);
    lua_setglobal(L, "cmsgpack");
    return 1;
}
