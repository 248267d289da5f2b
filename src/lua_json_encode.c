/*
 * core.json_encode(value, grammar) -> text | false
 *
 * The DbList fast path: one walk over a Lua value that checks it against a
 * compiled grammar (core.json_grammar, src/json_scan.h) and, in the same
 * walk, writes the very text lua-cjson (Debian's 2.1.0) writes for it:
 * keys in lua_next order, strings escaped as lua-cjson escapes them (the
 * controls, '"', '\\', '/' and DEL), an empty table as {}, an array when
 * the keys are exactly 1..n.  lua-cjson then has nothing left to do, and
 * nothing is scanned again.
 *
 * It answers the text only when the value certainly follows the grammar
 * and lua-cjson would write it faithfully.  Anything unusual (a number,
 * null, a key that is not a string, text that is not UTF-8, an array with
 * holes, nesting past MAX_DEPTH, a call nested in another from a finalizer)
 * answers false: not sure, and the caller takes the exact walk
 * (core.json_check), which gives the verdict and words the message.
 *
 * The walk calls nothing that allocates in Lua, so no finalizer runs in
 * it.  The text is written into a buffer the function keeps (an upvalue),
 * as lua-cjson keeps its own; walk and push run under lua_pcall, so an
 * error (out of memory) cannot leave that buffer marked busy.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "encode.h"
#include "json_scan.h"
#include "lua_json.h"

/* Levels of nesting, tables of "any" leaves included (json_scan.c's). */
#define MAX_DEPTH 64
#define OUT_MT "dts.core.json_out"

/* The text being written, kept from call to call. */
struct out {
	char *p;
	size_t len, cap;
	int busy;
};

struct enc {
	lua_State *L;
	const struct scan_grammar *g;
	struct out *o;
};

static int grow(struct out *o, size_t n)
{
	size_t cap = o->cap ? o->cap : 256;
	char *p;

	if (n > (size_t)-1 / 4 - o->len)
		return 0;
	while (cap - o->len < n)
		cap *= 2;
	p = realloc(o->p, cap);
	if (p == NULL)
		return 0;
	o->p = p;
	o->cap = cap;
	return 1;
}

#define ROOM(o, n) ((o)->cap - (o)->len >= (n) || grow((o), (n)))

static int put(struct out *o, const char *s, size_t n)
{
	if (!ROOM(o, n))
		return 0;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	return 1;
}

#define PUTLIT(o, s) put((o), "" s, sizeof(s) - 1)

static int put_boolean(struct out *o, int b)
{
	return b ? PUTLIT(o, "true") : PUTLIT(o, "false");
}

/* lua-cjson's escapes: the letter after the backslash, 'u' for \u00XX, 0
 * for a byte written as it is. */
#define U 'u'
static const char ESCAPE[256] = {
	U, U, U, U, U, U, U, U, 'b', 't', 'n', U, 'f', 'r', U, U,
	U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
	['"'] = '"', ['/'] = '/', ['\\'] = '\\', [127] = U,
};
#undef U

/* s as lua-cjson writes a string; 0 when s is not UTF-8 (or no memory). */
static int put_string(struct out *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned high = 0;
	char *w;
	size_t i;

	if (n > ((size_t)-1 - 2) / 6 || !ROOM(o, 6 * n + 2))
		return 0;
	w = o->p + o->len;
	*w++ = '"';
	for (i = 0; i < n; i++) {
		const unsigned c = u[i];
		const char e = ESCAPE[c];

		if (e == 0) {
			*w++ = (char)c;
			high |= c;
			continue;
		}
		*w++ = '\\';
		*w++ = e;
		if (e == 'u') {
			*w++ = '0';
			*w++ = '0';
			*w++ = "0123456789abcdef"[c >> 4];
			*w++ = "0123456789abcdef"[c & 15];
		}
	}
	*w++ = '"';
	o->len = (size_t)(w - o->p);
	return high < 0x80 || dts_utf8_valid_prefix(s, n) == n;
}

static int put_key(struct enc *e, int k, int first)
{
	size_t n;
	const char *s = lua_tolstring(e->L, k, &n);

	return (first || PUTLIT(e->o, ",")) && put_string(e->o, s, n) &&
	       PUTLIT(e->o, ":");
}

static int any(struct enc *e, int v, int depth);

/* A table of an "any" leaf: an array (keys exactly 1..n, every one a
 * number, as lua-cjson tells one) or an object (every key a string). */
static int any_table(struct enc *e, int t, int depth)
{
	lua_State *L = e->L;
	const int k = lua_gettop(L) + 1;
	lua_Number max = 0;
	size_t count = 0;
	int i, ok;

	lua_pushnil(L);
	if (!lua_next(L, t))
		return PUTLIT(e->o, "{}");
	if (lua_type(L, k) == LUA_TSTRING) {
		if (!PUTLIT(e->o, "{"))
			goto not_sure;
		do {
			if (lua_type(L, k) != LUA_TSTRING ||
			    !put_key(e, k, count++ == 0) || !any(e, k + 1, depth))
				goto not_sure;
			lua_pop(L, 1);
		} while (lua_next(L, t));
		return PUTLIT(e->o, "}");
	}
	do {
		lua_Number x;

		if (lua_type(L, k) != LUA_TNUMBER)
			goto not_sure;
		x = lua_tonumber(L, k);
		if (!(x >= 1 && x <= (lua_Number)INT_MAX) || x != (lua_Number)(int)x)
			goto not_sure;
		if (x > max)
			max = x;
		count++;
		lua_pop(L, 1);
	} while (lua_next(L, t));
	if (max != (lua_Number)count || !PUTLIT(e->o, "["))
		return 0;
	for (i = 1; i <= (int)count; i++) {
		lua_rawgeti(L, t, i);
		ok = (i == 1 || PUTLIT(e->o, ",")) && any(e, k, depth);
		lua_pop(L, 1);
		if (!ok)
			return 0;
	}
	return PUTLIT(e->o, "]");
not_sure:
	lua_settop(L, k - 1);
	return 0;
}

/* Any JSON value but numbers and null (whose faithfulness only the exact
 * walk judges). */
static int any(struct enc *e, int v, int depth)
{
	size_t n;
	const char *s;

	switch (lua_type(e->L, v)) {
	case LUA_TSTRING:
		s = lua_tolstring(e->L, v, &n);
		return put_string(e->o, s, n);
	case LUA_TBOOLEAN:
		return put_boolean(e->o, lua_toboolean(e->L, v));
	case LUA_TTABLE:
		return depth < MAX_DEPTH && any_table(e, v, depth + 1);
	}
	return 0;
}

/* A leaf value; *truth gets a boolean's value. */
static int leaf(struct enc *e, int v, char kind, int depth, int *truth)
{
	lua_State *L = e->L;
	size_t n;
	const char *s;

	switch (kind) {
	case SCAN_ANY:
		return any(e, v, depth);
	case SCAN_BOOLEAN:
		if (lua_type(L, v) != LUA_TBOOLEAN)
			return 0;
		*truth = lua_toboolean(L, v);
		return put_boolean(e->o, *truth);
	case SCAN_STRING:
	case SCAN_OPS:
	case SCAN_FILTER:
		if (lua_type(L, v) != LUA_TSTRING)
			return 0;
		s = lua_tolstring(L, v, &n);
		if ((kind == SCAN_OPS && !dts_scan_ops_ok(s, n)) ||
		    (kind == SCAN_FILTER && !dts_scan_filter_ok(s, n)))
			return 0;
		return put_string(e->o, s, n);
	}
	return 0;
}

static int value(struct enc *e, int v, int node, int depth, int *members);

static int map(struct enc *e, int t, const struct scan_node *m, int depth,
	       int *members)
{
	lua_State *L = e->L;
	const int k = lua_gettop(L) + 1;
	int sub;

	if (!PUTLIT(e->o, "{"))
		return 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		if (lua_type(L, k) != LUA_TSTRING || lua_rawlen(L, k) == 0 ||
		    !put_key(e, k, *members == 0) ||
		    !value(e, k + 1, m->child, depth + 1, &sub)) {
			lua_settop(L, k - 1);
			return 0;
		}
		++*members;
		lua_pop(L, 1);
	}
	return !(*members == 0 && m->nonempty) && PUTLIT(e->o, "}");
}

static int entry(struct enc *e, int t, const struct scan_node *nd, int depth)
{
	lua_State *L = e->L;
	const int k = lua_gettop(L) + 1;
	uint64_t seen = 0, filled = 0;
	int truth = -1;

	if (!PUTLIT(e->o, "{"))
		return 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		size_t n;
		const char *s;
		int key, sub = 0, b = -1;

		if (lua_type(L, k) != LUA_TSTRING)
			goto not_sure;
		s = lua_tolstring(L, k, &n);
		key = dts_scan_find(nd, s, n);
		if (key < 0 || !put_key(e, k, seen == 0))
			goto not_sure;
		seen |= (uint64_t)1 << key;
		if (nd->keys[key].child >= 0) {
			if (!value(e, k + 1, nd->keys[key].child, depth + 1, &sub))
				goto not_sure;
			if (sub > 0)
				filled |= (uint64_t)1 << key;
		} else if (!leaf(e, k + 1, nd->keys[key].leaf, depth, &b)) {
			goto not_sure;
		}
		if (key == nd->required)
			truth = b;
		lua_pop(L, 1);
	}
	return dts_scan_entry_ok(nd, seen, filled, truth) && PUTLIT(e->o, "}");
not_sure:
	lua_settop(L, k - 1);
	return 0;
}

/* The table at v as node `node`; *members: a map's names, 1 for an entry. */
static int value(struct enc *e, int v, int node, int depth, int *members)
{
	const struct scan_node *nd;

	*members = 0;
	if (lua_type(e->L, v) != LUA_TTABLE || node < 0 ||
	    node >= e->g->nnodes || depth > MAX_DEPTH)
		return 0;
	nd = &e->g->nodes[node];
	if (nd->is_map)
		return map(e, v, nd, depth, members);
	*members = 1;
	return entry(e, v, nd, depth);
}

/* Upvalue 1: the out.  Arguments checked: the value, the grammar. */
static int encode_protected(lua_State *L)
{
	struct enc e;
	int members;

	e.L = L;
	e.g = lua_touserdata(L, 2);
	e.o = lua_touserdata(L, lua_upvalueindex(1));
	e.o->len = 0;
	/* Two slots (a key and its value) a level, at most MAX_DEPTH + 1
	 * levels (an "any" value's count on from its node's), and a few. */
	if (lua_checkstack(L, 2 * MAX_DEPTH + 16) && value(&e, 1, 0, 0, &members))
		lua_pushlstring(L, e.o->p, e.o->len);
	else
		lua_pushboolean(L, 0);
	return 1;
}

/***
 * The DbList fast path over Lua tables (the head comment of
 * src/lua_json_encode.c has the details).
 * @module dts.core
 */

/***
 * The DbList fast path: a Lua value checked against a compiled grammar
 * and written as JSON in one walk.  The text is byte for byte what
 * lua-cjson writes; `false` means "not sure" (a number, null, text that is
 * not UTF-8, anything unusual): take the exact walk of @{json_check}.
 * @function json_encode
 * @param value any Lua value
 * @tparam userdata grammar from @{json_grammar}
 * @treturn string the JSON text
 * @return[2] false
 */
static int l_json_encode(lua_State *L)
{
	struct out *o = lua_touserdata(L, lua_upvalueindex(1));
	int rc;

	luaL_checkany(L, 1);
	luaL_checkudata(L, 2, GRAMMAR_MT);
	lua_settop(L, 2);
	/* busy: a finalizer inside the push (below) encodes too. */
	if (o->busy || lua_type(L, 1) != LUA_TTABLE) {
		lua_pushboolean(L, 0);
		return 1;
	}
	lua_pushvalue(L, lua_upvalueindex(2));
	lua_insert(L, 1);
	o->busy = 1;
	rc = lua_pcall(L, 2, 1, 0);
	o->busy = 0;
	if (rc != 0)
		return lua_error(L);
	return 1;
}

static int out_gc(lua_State *L)
{
	struct out *o = lua_touserdata(L, 1);

	free(o->p);
	o->p = NULL;
	o->len = o->cap = 0;
	return 0;
}

void dts_json_encode_push(lua_State *L)
{
	struct out *o;

	if (luaL_newmetatable(L, OUT_MT)) {
		lua_pushcfunction(L, out_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushliteral(L, "locked");
		lua_setfield(L, -2, "__metatable");
	}
	lua_pop(L, 1);
	o = dts_newuserdata(L, sizeof *o);
	memset(o, 0, sizeof *o);
	luaL_getmetatable(L, OUT_MT);
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	lua_pushcclosure(L, encode_protected, 1);
	lua_pushcclosure(L, l_json_encode, 2);
}
