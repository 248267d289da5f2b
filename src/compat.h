/*
 * One source for Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT 2.1.
 *
 * Shims have private names and are mapped to the standard name only where
 * the feature is missing.  We test for the feature, never for "is LuaJIT":
 * LuaJIT 2.1 reports 5.1 but already exports luaL_setfuncs, luaL_testudata
 * and friends, and a public-named shim would clash with them
 * (openresty/lua-cjson#21, lunarmodules/luasocket#214).
 */
#ifndef DTS_COMPAT_H
#define DTS_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

/* luaL_newlib is a macro wherever luaL_setfuncs exists (5.2+, LuaJIT 2.1). */
#ifndef luaL_newlib
static inline void dts_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
	luaL_checkstack(L, nup + 1, "too many upvalues");
	for (; l->name != NULL; l++) {
		int i;
		for (i = 0; i < nup; i++)
			lua_pushvalue(L, -nup);
		lua_pushcclosure(L, l->func, nup);
		lua_setfield(L, -(nup + 2), l->name);
	}
	lua_pop(L, nup);
}
#define luaL_setfuncs dts_compat_setfuncs
#define luaL_newlibtable(L, l) \
	lua_createtable(L, 0, (int)(sizeof(l) / sizeof((l)[0]) - 1))
#define luaL_newlib(L, l) (luaL_newlibtable(L, l), luaL_setfuncs(L, l, 0))
#endif

#if LUA_VERSION_NUM == 501
#define lua_rawlen(L, i) lua_objlen(L, i)
#endif

/* 5.4 userdata take a user-value count; one (0) is all we need. */
#if LUA_VERSION_NUM >= 504
#define dts_newuserdata(L, size) lua_newuserdatauv(L, size, 0)
#else
#define dts_newuserdata(L, size) lua_newuserdata(L, size)
#endif

#endif
