/*
 * The Lua boundary of core.sign, and nothing else: what any C signer
 * behind core.sign's interface must do in Lua's C API, measured apart so
 * that make bench can say how much of core.sign the interface itself
 * costs.  Built as a Lua module by `make bench`, one per Lua.
 *
 *   local run = require("sign_boundary").new(signed)  -- core.sign's result
 *   run(args)  -- core.sign's argument; returns a table shaped like signed
 *
 * run() walks the argument table (each key's and value's type, the bytes
 * of each string) and the query and body tables in it, then returns a new
 * table with signed's fields and a new headers table.  The strings a
 * signature computes (target, body, signature, authorization,
 * x-acs-content-sha256) are made anew on every call from bytes kept in C,
 * as core.sign makes them; the others (the method, and header values that
 * are an argument's string) are pushed as they are.  No check, no
 * encoding, no hashing: a floor, not a signer.
 */
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#define MAX_ENTRIES 24
#define MAX_WALK 64

/* One field of the result (or of its headers): its key, and its value
 * either made from bytes (made != 0) or a string kept in the upvalue. */
struct entry {
	size_t n;
	int made;
	char *p;
};

struct boundary {
	int nfields, nheaders;	/* entries 0..nfields-1, then the headers */
	struct entry e[MAX_ENTRIES];
};

/* Upvalue 2: keys at [i], kept values at [MAX_ENTRIES + i], "headers" at
 * [2 * MAX_ENTRIES + 1]. */
#define KEYS lua_upvalueindex(2)
#define HEADERS_KEY (2 * MAX_ENTRIES + 1)

static int is_made(const char *key)
{
	static const char *const made[] = {
		"target", "body", "signature", "authorization", "x-acs-content-sha256"
	};
	size_t i;

	for (i = 0; i < sizeof made / sizeof *made; i++)
		if (strcmp(key, made[i]) == 0)
			return 1;
	return 0;
}

/* A name -> value table walked as a signer reads it. */
static void walk(lua_State *L, int t, const char **p, size_t *n)
{
	int i = 0;

	for (lua_pushnil(L); lua_next(L, t); lua_pushvalue(L, -2)) {
		const int key = lua_type(L, -2), value = lua_type(L, -1);

		if (i + 2 > MAX_WALK)
			continue;
		if (key == LUA_TSTRING)
			p[i] = lua_tolstring(L, -2, &n[i]);
		if (value == LUA_TSTRING)
			p[i + 1] = lua_tolstring(L, -1, &n[i + 1]);
		i += 2;
	}
}

static void push_entry(lua_State *L, const struct boundary *b, int i)
{
	lua_rawgeti(L, KEYS, i);
	if (b->e[i].made)
		lua_pushlstring(L, b->e[i].p, b->e[i].n);
	else
		lua_rawgeti(L, KEYS, MAX_ENTRIES + i);
}

static int run(lua_State *L)
{
	const struct boundary *b = lua_touserdata(L, lua_upvalueindex(1));
	const char *p[MAX_WALK];
	size_t n[MAX_WALK];
	int top, res, h, i;

	lua_settop(L, 1);
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkstack(L, 2 * MAX_WALK + 16, NULL);
	walk(L, 1, p, n);
	top = lua_gettop(L);
	lua_getfield(L, 1, "query");
	if (lua_istable(L, -1))
		walk(L, top + 1, p, n);
	lua_settop(L, top);
	lua_getfield(L, 1, "body");
	if (lua_istable(L, -1))
		walk(L, top + 1, p, n);
	lua_settop(L, top);
	lua_createtable(L, 0, b->nfields + 1);
	res = lua_gettop(L);
	for (i = 0; i < b->nfields; i++) {
		push_entry(L, b, i);
		lua_rawset(L, res);
	}
	lua_rawgeti(L, KEYS, HEADERS_KEY);
	lua_createtable(L, 0, b->nheaders + 1);
	h = lua_gettop(L);
	for (i = b->nfields; i < b->nfields + b->nheaders; i++) {
		push_entry(L, b, i);
		lua_rawset(L, h);
	}
	lua_rawset(L, res);
	return 1;
}

static int boundary_gc(lua_State *L)
{
	struct boundary *b = lua_touserdata(L, 1);
	int i;

	for (i = 0; i < MAX_ENTRIES; i++) {
		free(b->e[i].p);
		b->e[i].p = NULL;
	}
	return 0;
}

/* Records signed's string fields (then its headers) at `b->e[*i]`. */
static void record(lua_State *L, struct boundary *b, int t, int keys, int *i)
{
	for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
		struct entry *e = &b->e[*i];
		const char *s;

		if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
			continue;
		if (*i == MAX_ENTRIES)
			luaL_error(L, "sign_boundary: more than %d strings", MAX_ENTRIES);
		lua_pushvalue(L, -2);
		lua_rawseti(L, keys, *i);
		e->made = is_made(lua_tostring(L, -2));
		if (e->made) {
			s = lua_tolstring(L, -1, &e->n);
			e->p = malloc(e->n ? e->n : 1);
			if (e->p == NULL)
				luaL_error(L, "sign_boundary: out of memory");
			memcpy(e->p, s, e->n);
		} else {
			lua_pushvalue(L, -1);
			lua_rawseti(L, keys, MAX_ENTRIES + *i);
		}
		++*i;
	}
}

static int new_boundary(lua_State *L)
{
	struct boundary *b;
	int keys, i = 0;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	b = lua_newuserdata(L, sizeof *b);
	memset(b, 0, sizeof *b);
	lua_newtable(L);
	lua_pushcfunction(L, boundary_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, 2);
	lua_createtable(L, 2 * MAX_ENTRIES + 1, 0);
	keys = lua_gettop(L);
	record(L, b, 1, keys, &i);
	b->nfields = i;
	lua_getfield(L, 1, "headers");
	luaL_checktype(L, -1, LUA_TTABLE);
	record(L, b, lua_gettop(L), keys, &i);
	b->nheaders = i - b->nfields;
	lua_pop(L, 1);
	lua_pushliteral(L, "headers");
	lua_rawseti(L, keys, HEADERS_KEY);
	lua_pushcclosure(L, run, 2);
	return 1;
}

int luaopen_sign_boundary(lua_State *L);

int luaopen_sign_boundary(lua_State *L)
{
	lua_newtable(L);
	lua_pushcfunction(L, new_boundary);
	lua_setfield(L, -2, "new");
	return 1;
}
