/*
 * A minimal Lua binary module for tests/test_binary_modules.py.
 *
 * It is compiled against the headers of one Lua flavour and deliberately NOT linked against
 * any Lua library: every Lua C API call must be resolved against the Lua that the lupa
 * flavour module exports globally (see lupa.allow_lua_module_loading()).
 */
#include "lua.h"
#include "lauxlib.h"

static int cmod_add(lua_State *L) {
    lua_Integer a = luaL_checkinteger(L, 1);
    lua_Integer b = luaL_checkinteger(L, 2);
    lua_pushinteger(L, a + b);
    return 1;
}

static int cmod_half(lua_State *L) {
    lua_pushnumber(L, luaL_checknumber(L, 1) / 2);
    return 1;
}

static int cmod_greet(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    lua_pushfstring(L, "hello %s", name);
    return 1;
}

static const luaL_Reg cmod_functions[] = {
    {"add", cmod_add},
    {"half", cmod_half},
    {"greet", cmod_greet},
    {NULL, NULL}
};

int luaopen_lupa_test_cmod(lua_State *L) {
#if LUA_VERSION_NUM >= 502
    /* luaL_newlib() runs luaL_checkversion(): on 5.2/5.3 it fails with
       "multiple Lua VMs detected" if these API calls reach a different Lua copy. */
    luaL_newlib(L, cmod_functions);
#else
    lua_newtable(L);
    luaL_register(L, NULL, cmod_functions);
#endif
    lua_pushinteger(L, LUA_VERSION_NUM);
    lua_setfield(L, -2, "version_num");
    lua_pushstring(L, LUA_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
