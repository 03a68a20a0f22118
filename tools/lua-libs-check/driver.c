/* lua-libs-check driver: runs Lua snippets in a Lua 5.1 state holding the libraries Cairn will give
 * scripts (Debian's cjson and bit, our cmsgpack and struct, Redis's tohex fix) and prints each
 * result as one line, so it can be compared with the same snippet run by redis-server's EVAL.
 *   driver [--debian-only] FILE   FILE: one Lua chunk per line (the wrapped snippets)
 * --debian-only leaves out Cairn's fixes (to show what Debian's builds do on their own). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <lua-cjson.h>
#include <lua-bitop.h>

#include "CLuaLibs.h"

static void open_library(lua_State *L, const char *name, lua_CFunction opener) {
    lua_pushcfunction(L, opener);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

/* Debian's cjson alone sets no global; Redis's does. */
static int with_global(lua_State *L) {
    lua_settop(L, 0);
    luaopen_cjson(L);
    lua_setglobal(L, "cjson");
    return 0;
}

static lua_State *new_state(int debian_only) {
    lua_State *L = luaL_newstate();
    open_library(L, "", luaopen_base);
    open_library(L, LUA_TABLIBNAME, luaopen_table);
    open_library(L, LUA_STRLIBNAME, luaopen_string);
    open_library(L, LUA_MATHLIBNAME, luaopen_math);
    open_library(L, LUA_DBLIBNAME, luaopen_debug);
    if (!debian_only) {
        cairn_lua_load_script_libraries(L);   /* what the server's VM calls */
        return L;
    }
    open_library(L, "cjson", with_global);
    open_library(L, "struct", cairn_luaopen_struct);
    open_library(L, "cmsgpack", cairn_luaopen_cmsgpack);
    open_library(L, "bit", luaopen_bit);
    return L;
}

int main(int argc, char **argv) {
    int debian_only = argc > 2 && strcmp(argv[1], "--debian-only") == 0;
    FILE *f = fopen(argv[argc - 1], "r");
    if (f == NULL) { perror("open"); return 2; }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int index = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n') line[--n] = '\0';
        index++;
        /* Each snippet in a child process, so one that crashes a library (Debian's bit.tohex does)
         * is reported as such and the others still run. */
        fflush(stdout);
        pid_t child = fork();
        if (child > 0) {
            int status = 0;
            waitpid(child, &status, 0);
            if (WIFSIGNALED(status)) printf("%d\tCRASHED (signal %d)\n", index, WTERMSIG(status));
            continue;
        }
        lua_State *L = new_state(debian_only);
        if (luaL_loadbuffer(L, line, (size_t)n, "@user_script") != 0 || lua_pcall(L, 0, 1, 0) != 0) {
            printf("%d\tERROR %s\n", index, lua_tostring(L, -1));
        } else {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            printf("%d\t%.*s\n", index, (int)len, s ? s : "(not a string)");
        }
        fflush(stdout);
        lua_close(L);
        _exit(0);
    }
    free(line);
    fclose(f);
    return 0;
}
