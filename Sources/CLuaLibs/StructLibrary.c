/* The `struct` library Redis 7.0 gives Lua scripts (Roberto Ierusalimschy's struct 0.3 as Redis
 * ships it, with Redis's overflow fixes), written for Cairn with the same observable behaviour.
 *
 * A format is read left to right, one option character at a time, some followed by a count:
 *   >  <        big / little endian from here on (the default is the machine's: little on x86-64)
 *   ![n]        maximum alignment n (a power of 2; default 8); the default at the start is 1
 *   b B         signed / unsigned 1-byte integer      h H   2 bytes     l L   8 bytes (C long)
 *   T           size_t (8 bytes)                      i[n] I[n]  n bytes, 1..32 (default 4)
 *   f d         float (4 bytes) / double (8 bytes)
 *   c[n]        n chars (default 1); packing c0 takes the whole string, unpacking c0 takes the
 *               length from the number unpacked just before
 *   s           zero-terminated string              x     one byte of padding
 *   ' '         ignored; anything else is "invalid format option" (struct.size ignores letters and
 *               digits it does not know)
 * Each item is aligned to min(its size, the maximum alignment) from the start of the string ('c'
 * and 's' are never aligned). Integers travel through a 64-bit value: bytes beyond the eighth are
 * zero when packing and shifted out when unpacking; unpacked integers come back as Lua doubles. */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "CLuaLibs.h"

#define WIDEST_INTEGER 32         /* the largest n accepted in i[n] / I[n] */
#define DEFAULT_MAX_ALIGN 8       /* what '!' alone means: the alignment of double on x86-64 */

enum { ORDER_BIG = 0, ORDER_LITTLE = 1 };

typedef struct Layout {
    int order;       /* ORDER_BIG or ORDER_LITTLE */
    int max_align;   /* a power of 2 */
} Layout;

static int machine_order(void) {
    const uint16_t probe = 1;
    return *(const unsigned char *)&probe == 1 ? ORDER_LITTLE : ORDER_BIG;
}

static void layout_start(Layout *layout) {
    layout->order = machine_order();
    layout->max_align = 1;
}

/* Reads the decimal count after an option, or gives `fallback` when none follows. */
static int read_count(lua_State *L, const char **cursor, int fallback) {
    if (!isdigit((unsigned char)**cursor)) return fallback;
    int value = 0;
    while (isdigit((unsigned char)**cursor)) {
        int digit = **cursor - '0';
        if (value > INT_MAX / 10 || value * 10 > INT_MAX - digit) luaL_error(L, "integral size overflow");
        value = value * 10 + digit;
        (*cursor)++;
    }
    return value;
}

/* Bytes the option occupies (0 for options that take no room or have a variable size); reads
 * the option's count from the format. */
static size_t item_size(lua_State *L, int option, const char **cursor) {
    switch (option) {
    case 'b': case 'B': case 'x': return 1;
    case 'h': case 'H': return 2;
    case 'l': case 'L': case 'T': case 'd': return 8;
    case 'f': return 4;
    case 'c': return (size_t)read_count(L, cursor, 1);
    case 'i': case 'I': {
        int width = read_count(L, cursor, 4);
        if (width > WIDEST_INTEGER)
            luaL_error(L, "integral size %d is larger than limit of %d", width, WIDEST_INTEGER);
        return (size_t)width;
    }
    default: return 0;
    }
}

/* Padding needed before an item of `size` bytes at offset `at`. The arithmetic is kept as is for
 * sizes that are not powers of 2 (i3, i5...), whose padding is then irregular, as in Redis. */
static size_t padding_before(size_t at, const Layout *layout, int option, size_t size) {
    if (size == 0 || option == 'c') return 0;
    if (size > (size_t)layout->max_align) size = (size_t)layout->max_align;
    return (size - (at & (size - 1))) & (size - 1);
}

/* The options that change the layout rather than produce or consume data. */
static void apply_control(lua_State *L, int option, const char **cursor, Layout *layout) {
    switch (option) {
    case ' ': return;
    case '>': layout->order = ORDER_BIG; return;
    case '<': layout->order = ORDER_LITTLE; return;
    case '!': {
        int align = read_count(L, cursor, DEFAULT_MAX_ALIGN);
        if (align <= 0 || (align & (align - 1)) != 0) luaL_error(L, "alignment %d is not a power of 2", align);
        layout->max_align = align;
        return;
    }
    default:
        luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", option));
    }
}

/* The C conversion double -> unsigned long as x86-64 code performs it for every input, including
 * those C leaves undefined (NaN, out of range), which scripts can reach. */
static uint64_t double_to_u64(double n) {
    const double two63 = 9223372036854775808.0;
    if (n != n) return UINT64_C(0x8000000000000000);   /* NaN: the "integer indefinite" value */
    if (n < two63) {
        if (n >= -two63) return (uint64_t)(int64_t)n;
        return UINT64_C(0x8000000000000000);
    }
    if (n < 2 * two63) return (uint64_t)(int64_t)(n - two63) ^ UINT64_C(0x8000000000000000);
    return 0;   /* >= 2^64 and +inf */
}

/* The same for double -> long (values below zero, where the library converts signed). */
static int64_t double_to_i64(double n) {
    if (n >= -9223372036854775808.0 && n < 9223372036854775808.0) return (int64_t)n;
    return INT64_MIN;
}

static void reverse_unless_native(unsigned char *bytes, size_t count, int order) {
    if (order == machine_order()) return;
    for (size_t i = 0, j = count - 1; i < j; i++, j--) {
        unsigned char t = bytes[i];
        bytes[i] = bytes[j];
        bytes[j] = t;
    }
}

static void add_integer(lua_State *L, luaL_Buffer *out, int arg, int order, size_t size) {
    lua_Number n = luaL_checknumber(L, arg);
    uint64_t bits = n < 0 ? (uint64_t)double_to_i64(n) : double_to_u64(n);
    char bytes[WIDEST_INTEGER];
    for (size_t k = 0; k < size; k++) {
        size_t slot = order == ORDER_LITTLE ? k : size - 1 - k;   /* least significant first */
        bytes[slot] = (char)(bits & 0xff);
        bits >>= 8;
    }
    luaL_addlstring(out, bytes, size);
}

/* struct.pack(format, values...) */
static int struct_pack(lua_State *L) {
    const char *format = luaL_checkstring(L, 1);
    Layout layout;
    layout_start(&layout);
    int arg = 2;
    size_t written = 0;
    luaL_Buffer out;
    lua_pushnil(L);   /* keeps the buffer's stack slots apart from the arguments */
    luaL_buffinit(L, &out);
    while (*format != '\0') {
        int option = (unsigned char)*format++;
        size_t size = item_size(L, option, &format);
        size_t pad = padding_before(written, &layout, option, size);
        written += pad;
        for (; pad > 0; pad--) luaL_addchar(&out, '\0');
        switch (option) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I':
            add_integer(L, &out, arg++, layout.order, size);
            break;
        case 'x':
            luaL_addchar(&out, '\0');
            break;
        case 'f': {
            float f = (float)luaL_checknumber(L, arg++);
            reverse_unless_native((unsigned char *)&f, sizeof f, layout.order);
            luaL_addlstring(&out, (const char *)&f, sizeof f);
            break;
        }
        case 'd': {
            double d = luaL_checknumber(L, arg++);
            reverse_unless_native((unsigned char *)&d, sizeof d, layout.order);
            luaL_addlstring(&out, (const char *)&d, sizeof d);
            break;
        }
        case 'c': case 's': {
            size_t len;
            const char *s = luaL_checklstring(L, arg++, &len);
            if (size == 0) size = len;
            /* Redis names the argument after this one in the message; kept for identical errors. */
            luaL_argcheck(L, len >= size, arg, "string too short");
            luaL_addlstring(&out, s, size);
            if (option == 's') {
                luaL_addchar(&out, '\0');
                size++;
            }
            break;
        }
        default:
            apply_control(L, option, &format, &layout);
        }
        written += size;
    }
    luaL_pushresult(&out);
    return 1;
}

static lua_Number read_integer(const unsigned char *bytes, int order, int is_signed, size_t size) {
    uint64_t bits = 0;
    for (size_t k = 0; k < size; k++) {
        size_t slot = order == ORDER_BIG ? k : size - 1 - k;   /* most significant first */
        bits = (bits << 8) | bytes[slot];
    }
    if (!is_signed) return (lua_Number)bits;
    /* Sign extension from bit size*8-1; the shift count wraps at 64 as x86-64 does, which is what
     * Redis's build gives for i0 and for sizes above 8. */
    uint64_t sign_and_above = ~UINT64_C(0) << ((size * 8 - 1) & 63);
    if (bits & sign_and_above) bits |= sign_and_above;
    return (lua_Number)(int64_t)bits;
}

/* struct.unpack(format, data [, position]): the values, then the position after them. */
static int struct_unpack(lua_State *L) {
    const char *format = luaL_checkstring(L, 1);
    size_t data_len;
    const unsigned char *data = (const unsigned char *)luaL_checklstring(L, 2, &data_len);
    size_t at = (size_t)luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, at > 0, 3, "offset must be 1 or greater");
    at--;
    int results = 0;
    Layout layout;
    layout_start(&layout);
    while (*format != '\0') {
        int option = (unsigned char)*format++;
        size_t size = item_size(L, option, &format);
        at += padding_before(at, &layout, option, size);
        luaL_argcheck(L, size <= data_len && at <= data_len - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        switch (option) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I':
            lua_pushnumber(L, read_integer(data + at, layout.order, islower(option), size));
            results++;
            break;
        case 'x':
            break;
        case 'f': {
            float f;
            memcpy(&f, data + at, sizeof f);
            reverse_unless_native((unsigned char *)&f, sizeof f, layout.order);
            lua_pushnumber(L, f);
            results++;
            break;
        }
        case 'd': {
            double d;
            memcpy(&d, data + at, sizeof d);
            reverse_unless_native((unsigned char *)&d, sizeof d, layout.order);
            lua_pushnumber(L, d);
            results++;
            break;
        }
        case 'c':
            if (size == 0) {
                if (results == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
                lua_Number n = lua_tonumber(L, -1);
                size = n < 0 ? (size_t)double_to_i64(n) : (size_t)double_to_u64(n);
                lua_pop(L, 1);
                results--;
                luaL_argcheck(L, size <= data_len && at <= data_len - size, 2, "data string too short");
            }
            lua_pushlstring(L, (const char *)data + at, size);
            results++;
            break;
        case 's': {
            const unsigned char *end = memchr(data + at, '\0', data_len - at);
            if (end == NULL) luaL_error(L, "unfinished string in data");
            size = (size_t)(end - (data + at)) + 1;
            lua_pushlstring(L, (const char *)data + at, size - 1);
            results++;
            break;
        }
        default:
            apply_control(L, option, &format, &layout);
        }
        at += size;
    }
    lua_pushinteger(L, (lua_Integer)(at + 1));
    return results + 1;
}

/* struct.size(format): the bytes a pack of that format takes. */
static int struct_size(lua_State *L) {
    const char *format = luaL_checkstring(L, 1);
    Layout layout;
    layout_start(&layout);
    size_t total = 0;
    while (*format != '\0') {
        int option = (unsigned char)*format++;
        size_t size = item_size(L, option, &format);
        total += padding_before(total, &layout, option, size);
        if (option == 's') luaL_argerror(L, 1, "option 's' has no fixed size");
        else if (option == 'c' && size == 0) luaL_argerror(L, 1, "option 'c0' has no fixed size");
        if (!isalnum(option)) apply_control(L, option, &format, &layout);
        total += size;
    }
    lua_pushinteger(L, (lua_Integer)total);
    return 1;
}

static const luaL_Reg struct_functions[] = {
    {"pack", struct_pack},
    {"unpack", struct_unpack},
    {"size", struct_size},
    {NULL, NULL},
};

int cairn_luaopen_struct(lua_State *L) {
    luaL_register(L, "struct", struct_functions);
    return 1;
}
