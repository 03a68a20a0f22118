/* bit.tohex with the fix Redis applied for CVE-2024-31449. Debian's LuaBitOp 1.0.2 negates the
 * width argument, and -2^31 stays negative after negation, so its tohex reads past a stack buffer
 * (crash or garbage); Redis (and Debian's patched redis-server, the oracle) treat that width as
 * -(2^31-1): eight upper-case digits. This tohex behaves as LuaBitOp's otherwise: arguments are
 * taken modulo 2^32 the LuaBitOp way (rounded through 2^52+2^51), a width below zero means upper
 * case, widths above 8 print 8 digits, and a non-number argument is "number expected". */
#include <stdint.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "CLuaLibs.h"

/* LuaBitOp's conversion of a Lua number to 32 bits. */
static uint32_t bits_argument(lua_State *L, int index) {
    double biased = lua_tonumber(L, index) + 6755399441055744.0;   /* 2^52 + 2^51 */
    uint64_t pattern;
    memcpy(&pattern, &biased, sizeof pattern);
    uint32_t bits = (uint32_t)pattern;
    if (bits == 0 && !lua_isnumber(L, index)) luaL_typerror(L, index, "number");
    return bits;
}

static int bit_tohex_fixed(lua_State *L) {
    uint32_t value = bits_argument(L, 1);
    int32_t width = lua_isnone(L, 2) ? 8 : (int32_t)bits_argument(L, 2);
    const char *digits = "0123456789abcdef";
    if (width == INT32_MIN) width = INT32_MIN + 1;
    if (width < 0) {
        width = -width;
        digits = "0123456789ABCDEF";
    }
    if (width > 8) width = 8;
    char text[8];
    for (int i = width - 1; i >= 0; i--) {
        text[i] = digits[value & 15];
        value >>= 4;
    }
    lua_pushlstring(L, text, (size_t)width);
    return 1;
}

int cairn_lua_fix_bit_tohex(lua_State *L) {
    lua_getglobal(L, "bit");
    if (lua_istable(L, -1)) {
        lua_pushcfunction(L, bit_tohex_fixed);
        lua_setfield(L, -2, "tohex");
    }
    lua_pop(L, 1);
    return 0;
}
