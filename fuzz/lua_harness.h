/*
 * The embedded Lua 5.4 of the Lua-facing fuzz targets: one state for the
 * whole run (libFuzzer calls the target once per input, so the state is the
 * one global these programs keep), with dts.core and dts.curl linked in,
 * instrumented, and the repository's lua/ and fuzz/ on package.path.  The
 * targets run from the repository's root (fuzz/run does that).
 */
#ifndef DTS_FUZZ_LUA_HARNESS_H
#define DTS_FUZZ_LUA_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

int luaopen_dts_core(lua_State *L);
int luaopen_dts_curl(lua_State *L);

static void harness_die(lua_State *L, const char *what)
{
	fprintf(stderr, "%s: %s\n", what, lua_tostring(L, -1));
	abort();
}

/* A state with the modules preloaded; `chunk` run, its result left on top. */
static lua_State *harness_open(const char *chunk)
{
	lua_State *L = luaL_newstate();

	if (L == NULL)
		abort();
	luaL_openlibs(L);
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "preload");
	lua_pushcfunction(L, luaopen_dts_core);
	lua_setfield(L, -2, "dts.core");
	lua_pushcfunction(L, luaopen_dts_curl);
	lua_setfield(L, -2, "dts.curl");
	lua_pop(L, 1);
	lua_getfield(L, -1, "path");
	lua_pushstring(L, ";lua/?.lua;lua/?/init.lua;fuzz/?.lua");
	lua_concat(L, 2);
	lua_setfield(L, -2, "path");
	lua_pop(L, 1);
	if (luaL_loadstring(L, chunk) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
		harness_die(L, "fuzz harness: cannot start (run from the repository root)");
	return L;
}

#endif
