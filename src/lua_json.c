/*
 * core.json_check(value [, spec [, root [, mode]]])
 *     -> true | nil, path, reason, detail, extra
 *
 * One walk over a Lua value, with lua_next and no string built unless it
 * fails, answering two questions at once:
 *
 * - can lua-cjson (Debian's 2.1.0) encode it faithfully?  Strings and string
 *   keys are valid UTF-8; numbers are finite and survive the 14 significant
 *   digits lua-cjson writes; no functions, userdata or threads, but
 *   lua-cjson's null (a NULL light userdata) is fine; no cycles; a table is
 *   an array when its keys are exactly 1..n, an object when they are all
 *   strings; an empty table is an object; at most DTS_JSON_MAX_DEPTH levels.
 *   `mode` letters relax this: "n", numbers came from JSON text that is sent
 *   as it is, so need not survive re-encoding; "u", the caller checks the
 *   UTF-8 of the encoded text instead (lua/dts/json.lua), which is cheaper.
 *
 * - given a spec, does it follow that grammar?  Spec nodes are Lua tables
 *   built by lua/dts/dblist/grammar.lua, which holds the facts; this file only
 *   interprets them:
 *     map node    { map = <node>, nonempty = true? }: an object of non-empty
 *                 names, each value following <node>
 *     entry node  { keys = { name = <node>, ... }, required = "key"?,
 *                   if_false_one_of = { "key", ... }?,
 *                   if_true_none_of = { "key", ... }? }: an object whose keys
 *                 are all in `keys`; `required` must be present; when it is
 *                 false, one of if_false_one_of must be a non-empty table;
 *                 when it is true, none of if_true_none_of may be present
 *     leaf        "string", "boolean", "any", "ops" (comma-separated
 *                 [A-Za-z0-9_] names, no spaces, no empty name), "filter" (a
 *                 string not ending in ';' and blanks)
 *
 * On failure: path is root then ".name" or "[i]" per level (the value at
 * fault, or the table for table-wide faults); reason is one of
 *   utf8 (detail: 1-based byte), utf8_key (detail: byte; path: the table),
 *   nan, inexact (detail: the number), type (detail: the value), cycle,
 *   deep (detail: the limit), badkey (detail: the key, extra: #table),
 *   mixed, hole (detail: the first missing index),
 *   not_map, not_entry, empty, name (extra: the node),
 *   unknown (detail: the key, extra: the entry node),
 *   leaf (detail: the value, extra: the leaf code),
 *   missing (detail: the key, extra: the node), none_listed (extra: the
 *   node), forbidden (detail: the key, extra: the node),
 *   changed (the value changed while it was checked: a finalizer)
 * and Lua words the message (lua/dts/json.lua, lua/dts/dblist/grammar.lua).
 *
 * Nothing is allocated: the walk's state is a fixed array on the C stack, so
 * a Lua error (a bad spec, a stack that cannot grow) leaks nothing.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "encode.h"
#include "json_scan.h"
#include "lua_json.h"

enum spec_kind { SPEC_NONE, SPEC_LEAF, SPEC_MAP, SPEC_ENTRY };

#define SPEC_CACHE 8
/* Strings up to this length are interned by Lua 5.1-5.4 and LuaJIT
 * (LUAI_MAXSHORTLEN is 40 since 5.2.1; 5.1 and LuaJIT intern all). */
#define INTERNED_MAX 40

struct spec {
	enum spec_kind kind;
	char leaf;            /* SPEC_LEAF: 's'tring 'b'oolean 'o'ps 'f'ilter */
	int node;             /* SPEC_MAP, SPEC_ENTRY: stack index of the node */
	int keys;             /* SPEC_ENTRY: stack indices of its fields, */
	int required;         /* 0 when absent */
	int if_false;
	int if_true;
	/*
	 * SPEC_ENTRY: key strings already looked up, with their leaf.  Only
	 * short strings are cached: every Lua interns those, so the key object
	 * is the very one the spec's keys table holds, alive for the whole walk
	 * whatever the value's tables go through (a finalizer may empty them).
	 * The same address is then the same string, so a hit is exact; a miss
	 * just takes the slow path.
	 */
	int ncache;
	const char *cache_key[SPEC_CACHE];
	char cache_leaf[SPEC_CACHE];           /* 'a' for "any" */
	unsigned char cache_flags[SPEC_CACHE]; /* KEY_* */
};

/* What an entry's key is to the rules (struct spec's required, if_*). */
#define KEY_REQUIRED 1u
#define KEY_IF_FALSE 2u
#define KEY_IF_TRUE 4u

enum val_kind { VAL_NONE, VAL_STACK, VAL_INT, VAL_STR };

struct val {
	enum val_kind kind;
	int idx;
	lua_Integer i;
	const char *s;
};

struct walk {
	lua_State *L;
	int exact;                              /* refuse what "%.14g" changes */
	int utf8;                               /* check strings (else the caller does) */
	int cycles;                             /* track open tables (else "deep" says) */
	int root;                               /* stack index of the root's name */
	int depth;                              /* of the value being checked */
	int key[DTS_JSON_MAX_DEPTH + 1];        /* key[d]: key of the value at depth d */
	const void *open[DTS_JSON_MAX_DEPTH];   /* tables being walked, by depth */
	int fail_depth;
	const char *reason;
	struct val detail, extra;
};

/* Without floor() (and libm): every double from 2^52 up is integral. */
static int integral(double x)
{
	if (isnan(x))
		return 0;
	if (!(fabs(x) < 4503599627370496.0))
		return 1;
	return x == (double)(int64_t)x;
}

/* ---- failures: recorded, then pushed once the walk is unwound ---- */

static int fail(struct walk *w, int depth, const char *reason)
{
	w->fail_depth = depth;
	w->reason = reason;
	w->detail.kind = w->extra.kind = VAL_NONE;
	return -1;
}

static int fail_at(struct walk *w, int depth, const char *reason, int detail,
		   int extra)
{
	fail(w, depth, reason);
	if (detail) {
		w->detail.kind = VAL_STACK;
		w->detail.idx = detail;
	}
	if (extra) {
		w->extra.kind = VAL_STACK;
		w->extra.idx = extra;
	}
	return -1;
}

static int fail_int(struct walk *w, int depth, const char *reason, lua_Integer i)
{
	fail(w, depth, reason);
	w->detail.kind = VAL_INT;
	w->detail.i = i;
	return -1;
}

static void push_val(lua_State *L, const struct val *v)
{
	switch (v->kind) {
	case VAL_STACK:
		lua_pushvalue(L, v->idx);
		break;
	case VAL_INT:
		lua_pushinteger(L, v->i);
		break;
	case VAL_STR:
		lua_pushstring(L, v->s);
		break;
	case VAL_NONE:
		lua_pushnil(L);
		break;
	}
}

/* Keys are still on the stack where the walk left them. */
static int push_failure(struct walk *w)
{
	lua_State *L = w->L;
	luaL_Buffer b;
	const char *s;
	size_t n;
	int d;

	luaL_checkstack(L, 8, "json_check: failure");
	lua_pushnil(L);
	luaL_buffinit(L, &b);
	s = lua_tolstring(L, w->root, &n);
	luaL_addlstring(&b, s, n);
	for (d = 1; d <= w->fail_depth; d++) {
		int k = w->key[d];

		if (lua_type(L, k) == LUA_TSTRING) {
			s = lua_tolstring(L, k, &n);
			luaL_addchar(&b, '.');
			luaL_addlstring(&b, s, n);
		} else {
			/* only numbers >= 1 get this far (never tolstring: it
			 * would turn the key on the stack into a string) */
			char num[64];
			double x = (double)lua_tonumber(L, k);

			if (integral(x) && x < 1e18)
				snprintf(num, sizeof num, "[%.0f]", x);
			else
				snprintf(num, sizeof num, "[%.14g]", x);
			luaL_addstring(&b, num);
		}
	}
	luaL_pushresult(&b);
	lua_pushstring(L, w->reason);
	push_val(L, &w->detail);
	push_val(L, &w->extra);
	return 5;
}

/* ---- leaves ---- */

/* lua-cjson writes "%.14g": a number must read back the same. */
static int survives(double d)
{
	char buf[48];

	snprintf(buf, sizeof buf, "%.14g", d);
	return strtod(buf, NULL) == d;
}

#define EXACT_INTS 1e14 /* integers below this print exactly in 14 digits */

/* NULL, or the reason the number cannot be sent. */
static const char *check_number(lua_State *L, int idx, int exact)
{
	double d;

#if LUA_VERSION_NUM >= 503
	if (lua_isinteger(L, idx)) {
		lua_Integer i = lua_tointeger(L, idx);

		if (!exact || (i > -(lua_Integer)EXACT_INTS && i < (lua_Integer)EXACT_INTS))
			return NULL;
		d = (double)i;
		/* (double)i may round up to 2^63, which no lua_Integer equals */
		if (d >= 9223372036854775808.0 || (lua_Integer)d != i)
			return "inexact";
		return survives(d) ? NULL : "inexact";
	}
#endif
	d = (double)lua_tonumber(L, idx);
	if (isnan(d) || isinf(d))
		return "nan";
	if (!exact || (fabs(d) < EXACT_INTS && integral(d)))
		return NULL;
	return survives(d) ? NULL : "inexact";
}

static int leaf_ok(lua_State *L, int v, int type, char leaf)
{
	size_t n;
	const char *s;

	if (leaf == 'b')
		return type == LUA_TBOOLEAN;
	if (type != LUA_TSTRING)
		return 0;
	if (leaf == 's')
		return 1;
	s = lua_tolstring(L, v, &n);
	return leaf == 'o' ? dts_scan_ops_ok(s, n) : dts_scan_filter_ok(s, n);
}

static const char *leaf_name(char leaf)
{
	switch (leaf) {
	case 's':
		return "string";
	case 'b':
		return "boolean";
	case 'o':
		return "ops";
	case 'f':
		return "filter";
	default:
		return "any";
	}
}

/* ---- spec nodes ---- */

static char leaf_code(lua_State *L, int idx)
{
	size_t n;
	const char *s = lua_tolstring(L, idx, &n);

	if (n == 6 && memcmp(s, "string", 6) == 0)
		return 's';
	if (n == 7 && memcmp(s, "boolean", 7) == 0)
		return 'b';
	if (n == 3 && memcmp(s, "any", 3) == 0)
		return 'a';
	if (n == 3 && memcmp(s, "ops", 3) == 0)
		return 'o';
	if (n == 6 && memcmp(s, "filter", 6) == 0)
		return 'f';
	luaL_error(L, "json_check: unknown leaf \"%s\" in the spec", s);
	return 0;
}

static void set_leaf(struct spec *sp, char leaf)
{
	sp->kind = leaf == 'a' ? SPEC_NONE : SPEC_LEAF;
	sp->leaf = leaf;
}

/* Pushes node[name]; its stack index, or 0 when it is nil. */
static int field(lua_State *L, int node, const char *name, int type)
{
	lua_pushstring(L, name);
	lua_rawget(L, node);
	if (lua_isnil(L, -1))
		return 0;
	if (lua_type(L, -1) != type)
		luaL_error(L, "json_check: spec field %s must be a %s", name,
			   lua_typename(L, type));
	return lua_gettop(L);
}

/* The node at idx into sp; an entry node's fields are pushed. */
static void resolve(lua_State *L, int idx, struct spec *sp)
{
	sp->ncache = 0;
	sp->node = idx;
	sp->keys = sp->required = sp->if_false = sp->if_true = 0;
	if (lua_type(L, idx) == LUA_TSTRING) {
		set_leaf(sp, leaf_code(L, idx));
		return;
	}
	if (lua_type(L, idx) != LUA_TTABLE)
		luaL_error(L, "json_check: a spec node is a table or a leaf name, got %s",
			   luaL_typename(L, idx));
	lua_pushliteral(L, "map");
	lua_rawget(L, idx);
	if (!lua_isnil(L, -1)) {
		lua_pop(L, 1);
		sp->kind = SPEC_MAP;
		return;
	}
	lua_pop(L, 1);
	sp->kind = SPEC_ENTRY;
	sp->keys = field(L, idx, "keys", LUA_TTABLE);
	if (sp->keys == 0)
		luaL_error(L, "json_check: a spec node needs \"map\" or \"keys\"");
	sp->required = field(L, idx, "required", LUA_TSTRING);
	sp->if_false = field(L, idx, "if_false_one_of", LUA_TTABLE);
	sp->if_true = field(L, idx, "if_true_none_of", LUA_TTABLE);
}

/* ---- the walk ---- */

static int check_value(struct walk *w, int v, int type, struct spec *sp);

static int nonempty_table(lua_State *L, int idx)
{
	lua_pushnil(L);
	if (lua_next(L, idx) == 0)
		return 0;
	lua_pop(L, 2);
	return 1;
}

static int in_list(lua_State *L, int list, int k)
{
	int i, n = (int)lua_rawlen(L, list);

	for (i = 1; i <= n; i++) {
		int same;

		lua_rawgeti(L, list, i);
		same = lua_rawequal(L, k, -1);
		lua_pop(L, 1);
		if (same)
			return 1;
	}
	return 0;
}

static unsigned key_flags(lua_State *L, int k, const struct spec *sp)
{
	unsigned flags = 0;

	if (sp->required != 0 && lua_rawequal(L, k, sp->required))
		flags |= KEY_REQUIRED;
	if (sp->if_false != 0 && in_list(L, sp->if_false, k))
		flags |= KEY_IF_FALSE;
	if (sp->if_true != 0 && in_list(L, sp->if_true, k))
		flags |= KEY_IF_TRUE;
	return flags;
}

/*
 * The spec of an entry's key k (a string: bytes s, n) into child, and what
 * the key is to the rules.  May push values above the key and its value.
 */
static int entry_key(struct walk *w, int k, const char *s, size_t n,
		     struct spec *sp, struct spec *child, unsigned *flags)
{
	lua_State *L = w->L;
	size_t ok;
	int i;

	for (i = 0; i < sp->ncache; i++) {
		if (sp->cache_key[i] == s) {
			set_leaf(child, sp->cache_leaf[i]);
			*flags = sp->cache_flags[i];
			return 0;
		}
	}
	if (w->utf8 && (ok = dts_utf8_valid_prefix(s, n)) != n)
		return fail_int(w, w->depth, "utf8_key", (lua_Integer)ok + 1);
	lua_pushvalue(L, k);
	lua_rawget(L, sp->keys);
	if (lua_isnil(L, -1))
		return fail_at(w, w->depth + 1, "unknown", k, sp->node);
	resolve(L, lua_gettop(L), child);
	*flags = key_flags(L, k, sp);
	if (child->kind <= SPEC_LEAF && sp->ncache < SPEC_CACHE && n <= INTERNED_MAX) {
		sp->cache_key[sp->ncache] = s;
		sp->cache_leaf[sp->ncache] = child->kind == SPEC_NONE ? 'a' : child->leaf;
		sp->cache_flags[sp->ncache] = (unsigned char)*flags;
		sp->ncache++;
	}
	return 0;
}

/* The first index in 1..count+1 that holds nil (there is one). */
static lua_Integer first_hole(lua_State *L, int t, size_t count)
{
	size_t i;

	for (i = 1; i <= count; i++) {
		int absent;

		lua_rawgeti(L, t, (int)i);
		absent = lua_isnil(L, -1);
		lua_pop(L, 1);
		if (absent)
			return (lua_Integer)i;
	}
	return (lua_Integer)count + 1;
}

/* Which key of if_true_none_of entry t holds: pushed, for the message. */
static int fail_forbidden(struct walk *w, int t, const struct spec *sp)
{
	lua_State *L = w->L;
	int i, n = (int)lua_rawlen(L, sp->if_true);

	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, sp->if_true, i);
		lua_pushvalue(L, -1);
		lua_rawget(L, t);
		if (!lua_isnil(L, -1))
			break;
		lua_pop(L, 2);
	}
	return fail_at(w, w->depth, "forbidden", lua_gettop(L) - 1, sp->node);
}

enum { SWITCH_ABSENT, SWITCH_ON, SWITCH_OFF, SWITCH_OTHER };

/* Stack room per level of nesting, checked every CHECK_EVERY levels. */
#define LEVEL_SLOTS 24
#define CHECK_EVERY 8

static int check_table(struct walk *w, int t, struct spec *sp)
{
	lua_State *L = w->L;
	const int d = w->depth, top = lua_gettop(L);
	struct spec each, none;
	size_t strings = 0, ints = 0;
	double max = 0;
	int i, k, v, not_object = 0, listed = 0, forbidden = 0;
	int state = SWITCH_ABSENT;

	if (w->cycles) {
		const void *self = lua_topointer(L, t);

		for (i = 0; i < d; i++)
			if (w->open[i] == self)
				return fail(w, d, "cycle");
		if (d < DTS_JSON_MAX_DEPTH)
			w->open[d] = self;
	}
	if (d >= DTS_JSON_MAX_DEPTH)
		return fail_int(w, d, "deep", DTS_JSON_MAX_DEPTH);
	if (d % CHECK_EVERY == 0)
		luaL_checkstack(L, LEVEL_SLOTS * CHECK_EVERY, "json_check: nesting");
	none.kind = each.kind = SPEC_NONE;
	none.ncache = each.ncache = 0;
	if (sp->kind == SPEC_MAP) {
		lua_pushliteral(L, "map");
		lua_rawget(L, sp->node);
		resolve(L, lua_gettop(L), &each);
	}
	k = lua_gettop(L) + 1;
	v = k + 1;
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		struct spec one, *child = &each;
		const int vtype = lua_type(L, v);

		w->key[d + 1] = k;
		if (lua_type(L, k) == LUA_TSTRING) {
			size_t n = 0;
			const char *s = NULL;

			strings++;
			if (w->utf8 || sp->kind == SPEC_MAP || sp->kind == SPEC_ENTRY)
				s = lua_tolstring(L, k, &n);
			if (sp->kind == SPEC_ENTRY) {
				unsigned flags;

				child = &one;
				if (entry_key(w, k, s, n, sp, &one, &flags) != 0)
					return -1;
				if (flags & KEY_REQUIRED)
					state = vtype != LUA_TBOOLEAN ? SWITCH_OTHER :
						lua_toboolean(L, v) ? SWITCH_ON : SWITCH_OFF;
				if (flags & KEY_IF_TRUE)
					forbidden = 1;
				if ((flags & KEY_IF_FALSE) && !listed && vtype == LUA_TTABLE)
					listed = nonempty_table(L, v);
			} else if (w->utf8 || sp->kind == SPEC_MAP) {
				size_t ok = n;

				if (w->utf8 && (ok = dts_utf8_valid_prefix(s, n)) != n)
					return fail_int(w, d, "utf8_key", (lua_Integer)ok + 1);
				if (sp->kind == SPEC_MAP && n == 0)
					return fail_at(w, d, "name", 0, sp->node);
			}
		} else {
			double x = lua_type(L, k) == LUA_TNUMBER ? (double)lua_tonumber(L, k) : 0;

			if (!(x >= 1 && integral(x))) {
				fail_at(w, d, "badkey", k, 0);
				w->extra.kind = VAL_INT;
				w->extra.i = (lua_Integer)lua_rawlen(L, t);
				return -1;
			}
			ints++;
			if (x > max)
				max = x;
			if (sp->kind == SPEC_MAP || sp->kind == SPEC_ENTRY)
				not_object = 1;
			child = &none;
		}
		w->depth = d + 1;
		if (check_value(w, v, vtype, child) != 0)
			return -1;
		w->depth = d;
		lua_settop(L, k); /* the key, for lua_next */
	}
	if (strings > 0 && ints > 0)
		return fail(w, d, "mixed");
	if (ints > 0 && max != (double)ints)
		return fail_int(w, d, "hole", first_hole(L, t, ints));
	if (not_object)
		return fail_at(w, d, sp->kind == SPEC_MAP ? "not_map" : "not_entry", 0,
			       sp->node);
	if (sp->kind == SPEC_MAP && strings == 0) {
		int nonempty;

		lua_pushliteral(L, "nonempty");
		lua_rawget(L, sp->node);
		nonempty = lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (nonempty)
			return fail_at(w, d, "empty", 0, sp->node);
	}
	if (sp->kind == SPEC_ENTRY && sp->required != 0) {
		if (state == SWITCH_ABSENT)
			return fail_at(w, d, "missing", sp->required, sp->node);
		if (state == SWITCH_OFF && sp->if_false != 0 && !listed)
			return fail_at(w, d, "none_listed", 0, sp->node);
		if (state == SWITCH_ON && forbidden)
			return fail_forbidden(w, t, sp);
	}
	lua_settop(L, top);
	return 0;
}

static int check_value(struct walk *w, int v, int type, struct spec *sp)
{
	lua_State *L = w->L;
	const char *reason;

	switch (type) {
	case LUA_TSTRING:
		if (w->utf8) {
			size_t n, ok;
			const char *s = lua_tolstring(L, v, &n);

			ok = dts_utf8_valid_prefix(s, n);
			if (ok != n)
				return fail_int(w, w->depth, "utf8", (lua_Integer)ok + 1);
		}
		break;
	case LUA_TNUMBER:
		reason = check_number(L, v, w->exact);
		if (reason != NULL)
			return fail_at(w, w->depth, reason, v, 0);
		break;
	case LUA_TBOOLEAN:
		break;
	case LUA_TTABLE:
		if (check_table(w, v, sp) != 0)
			return -1;
		if (sp->kind != SPEC_LEAF)
			return 0; /* a map or an entry: checked by the walk */
		break;
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, v) == NULL)
			break; /* lua-cjson's null */
		/* fall through */
	default:
		return fail_at(w, w->depth, "type", v, 0);
	}
	switch (sp->kind) {
	case SPEC_NONE:
		return 0;
	case SPEC_MAP:
		return fail_at(w, w->depth, "not_map", 0, sp->node);
	case SPEC_ENTRY:
		return fail_at(w, w->depth, "not_entry", 0, sp->node);
	case SPEC_LEAF:
		if (leaf_ok(L, v, type, sp->leaf))
			return 0;
		fail_at(w, w->depth, "leaf", v, 0);
		w->extra.kind = VAL_STR;
		w->extra.s = leaf_name(sp->leaf);
		return -1;
	}
	return 0;
}

static int walk(struct walk *w, int top)
{
	lua_State *L = w->L;
	struct spec sp;

	lua_settop(L, top);
	w->depth = 0;
	sp.kind = SPEC_NONE;
	sp.ncache = 0;
	if (!lua_isnil(L, 2))
		resolve(L, 2, &sp);
	return check_value(w, 1, lua_type(L, 1), &sp);
}

/***
 * The one-walk check behind `dts.json` and the DbList grammar (the head
 * comment of src/lua_json.c has the details): can lua-cjson encode the
 * value faithfully, and, given a spec, does it follow that grammar.
 * @module dts.core
 */

/***
 * Checks a Lua value for JSON (and a grammar) in one walk.
 * @function json_check
 * @param value any Lua value
 * @tparam[opt] table spec a grammar node (lua/dts/dblist/grammar.lua builds them)
 * @tparam[opt="value"] string root how messages name the value
 * @tparam[opt] string mode letters: `n` numbers came from JSON text sent as
 *   it is; `u` the caller checks the UTF-8 of the encoded text instead
 * @treturn true
 * @return[2] nil
 * @treturn[2] string path of the value at fault (`root.name[i]`)
 * @treturn[2] string reason (`utf8`, `nan`, `inexact`, `type`, `cycle`,
 *   `deep`, `mixed`, `hole`, `unknown`, `missing`, ...; `dts.json` words the message)
 * @return[2] detail
 * @return[2] extra
 */
int dts_l_json_check(lua_State *L)
{
	struct walk w;
	const char *mode;

	luaL_checkany(L, 1);
	lua_settop(L, 4);
	if (!lua_isnil(L, 2))
		luaL_checktype(L, 2, LUA_TTABLE);
	if (lua_isnil(L, 3)) {
		lua_pushliteral(L, "value");
		lua_replace(L, 3);
	} else if (lua_type(L, 3) != LUA_TSTRING) {
		luaL_argerror(L, 3, "the root's name must be a string");
	}
	w.L = L;
	w.root = 3;
	w.exact = w.utf8 = 1;
	w.cycles = 0;
	w.reason = NULL;
	for (mode = luaL_optstring(L, 4, ""); *mode != '\0'; mode++) {
		if (*mode == 'n')
			w.exact = 0;
		else if (*mode == 'u')
			w.utf8 = 0;
		else
			luaL_argerror(L, 4, "mode: letters n (numbers as decoded) and u (UTF-8 left to the caller)");
	}
	/*
	 * Cycles cost a lookup per table to track, so the first walk only
	 * counts depth: a cycle nests without end and stops at the limit, and
	 * only then does a second walk tell a cycle from deep nesting.
	 */
	if (walk(&w, 4) != 0 && strcmp(w.reason, "deep") == 0) {
		w.cycles = 1;
		if (walk(&w, 4) == 0) /* a finalizer changed it between */
			fail(&w, 0, "changed");
	}
	if (w.reason != NULL)
		return push_failure(&w);
	lua_pushboolean(L, 1);
	return 1;
}

/* ---- core.json_grammar / core.json_scan: the fast path over the text ---- */

/*
 * The spec is read raw, and every fault in it comes back as a message
 * (json_grammar returns nil, message): a spec is data like any other.
 */
struct compile {
	lua_State *L;
	struct scan_grammar *g;
	int seen;               /* stack index: spec table -> node index */
	char err[160];
};

static int compile_fail(struct compile *c, const char *fmt, const char *what)
{
	snprintf(c->err, sizeof c->err, fmt, what);
	return -1;
}

static char scan_leaf(lua_State *L, int idx)
{
	static const char *const names[] = { "string", "boolean", "any", "ops", "filter", NULL };
	static const char codes[] = { SCAN_STRING, SCAN_BOOLEAN, SCAN_ANY, SCAN_OPS, SCAN_FILTER };
	size_t n;
	const char *s;
	int i;

	if (lua_type(L, idx) != LUA_TSTRING)
		return 0;
	s = lua_tolstring(L, idx, &n);
	for (i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == n && memcmp(s, names[i], n) == 0)
			return codes[i];
	return 0;
}

/* Pushes node[name], read raw; its type. */
static int spec_field(lua_State *L, int node, const char *name)
{
	lua_pushstring(L, name);
	lua_rawget(L, node);
	return lua_type(L, -1);
}

/* Key names of list field `field` of entry spec at idx, as a key mask. */
static int scan_mask(struct compile *c, const struct scan_node *n, int idx,
		     const char *field, uint64_t *mask)
{
	lua_State *L = c->L;
	int i, len, type = spec_field(L, idx, field);

	*mask = 0;
	if (type == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (type != LUA_TTABLE)
		return compile_fail(c, "json_grammar: %s must be a list of key names", field);
	len = (int)lua_rawlen(L, -1);
	for (i = 1; i <= len; i++) {
		size_t sl;
		const char *s;
		int k = -1;

		lua_rawgeti(L, -1, i);
		if (lua_type(L, -1) == LUA_TSTRING) {
			s = lua_tolstring(L, -1, &sl);
			k = dts_scan_find(n, s, sl);
		}
		lua_pop(L, 1);
		if (k < 0)
			return compile_fail(c, "json_grammar: %s names no key of its node",
					    field);
		*mask |= (uint64_t)1 << k;
	}
	lua_pop(L, 1);
	return 0;
}

/* Compiles the spec node at idx (c->seen: spec table -> index, so shared
 * nodes compile once); its index, or -1 with c->err set. */
static int scan_compile(struct compile *c, int idx)
{
	lua_State *L = c->L;
	struct scan_grammar *g = c->g;
	struct scan_node *nd;
	int node, keys;

	if (lua_type(L, idx) != LUA_TTABLE)
		return compile_fail(c, "json_grammar: a node must be a table, got %s",
				    luaL_typename(L, idx));
	/* Nodes are at most SCAN_MAX_NODES deep: each is registered before
	 * its children compile. */
	luaL_checkstack(L, 8, "json_grammar");
	lua_pushvalue(L, idx);
	lua_rawget(L, c->seen);
	if (lua_type(L, -1) == LUA_TNUMBER) {
		node = (int)lua_tointeger(L, -1);
		lua_pop(L, 1);
		return node;
	}
	lua_pop(L, 1);
	if (spec_field(L, idx, "map") != LUA_TNIL) {
		int child, nonempty;

		if (lua_type(L, -1) != LUA_TTABLE)
			return compile_fail(c, "json_grammar: %s", "map must be a node "
					    "(a table); maps of leaves are not compiled");
		spec_field(L, idx, "nonempty");
		nonempty = lua_toboolean(L, -1);
		lua_pop(L, 1);
		node = dts_scan_node(g, 1, nonempty);
		if (node < 0)
			return compile_fail(c, "json_grammar: %s", "too many nodes");
		lua_pushvalue(L, idx);
		lua_pushinteger(L, node);
		lua_rawset(L, c->seen);
		child = scan_compile(c, lua_gettop(L));
		if (child < 0)
			return -1;
		g->nodes[node].child = child;
		lua_pop(L, 1);
		return node;
	}
	lua_pop(L, 1);
	if (spec_field(L, idx, "keys") != LUA_TTABLE)
		return compile_fail(c, "json_grammar: %s", "a node needs a map or keys table");
	keys = lua_gettop(L);
	node = dts_scan_node(g, 0, 0);
	if (node < 0)
		return compile_fail(c, "json_grammar: %s", "too many nodes");
	lua_pushvalue(L, idx);
	lua_pushinteger(L, node);
	lua_rawset(L, c->seen);
	for (lua_pushnil(L); lua_next(L, keys); lua_pop(L, 1)) {
		size_t len;
		const char *name;
		int child = -1;
		char kind = 0;

		if (lua_type(L, -2) != LUA_TSTRING)
			return compile_fail(c, "json_grammar: key names must be strings, "
					    "got a %s", luaL_typename(L, -2));
		name = lua_tolstring(L, -2, &len);
		if (lua_istable(L, -1)) {
			child = scan_compile(c, lua_gettop(L));
			if (child < 0)
				return -1;
		} else if ((kind = scan_leaf(L, -1)) == 0) {
			return compile_fail(c, "json_grammar: a leaf is one of string, "
					    "boolean, any, ops, filter; got a %s",
					    luaL_typename(L, -1));
		}
		if (dts_scan_key(g, node, name, len, kind, child) < 0)
			return compile_fail(c, "json_grammar: cannot add key \"%.40s\" "
					    "(repeated, empty, too long or too many)", name);
	}
	lua_pop(L, 1);
	nd = &g->nodes[node];
	switch (spec_field(L, idx, "required")) {
	case LUA_TNIL:
		break;
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, -1, &len);

		nd->required = dts_scan_find(nd, s, len);
		if (nd->required >= 0)
			break;
	}
		/* fall through */
	default:
		return compile_fail(c, "json_grammar: %s", "required must name a key");
	}
	lua_pop(L, 1);
	if (scan_mask(c, nd, idx, "if_false_one_of", &nd->one_of) != 0 ||
	    scan_mask(c, nd, idx, "if_true_none_of", &nd->none_of) != 0)
		return -1;
	return node;
}

/***
 * Compiles a grammar spec (as for @{json_check}) for @{json_scan}.  The spec
 * is read raw; every fault in it comes back as a message.
 * @function json_grammar
 * @tparam table spec
 * @treturn userdata the compiled grammar
 * @return[2] nil
 * @treturn[2] string what is wrong with the spec
 */
int dts_l_json_grammar(lua_State *L)
{
	struct compile c;

	lua_settop(L, 1);
	c.L = L;
	c.err[0] = '\0';
	c.g = dts_newuserdata(L, sizeof *c.g);
	dts_scan_init(c.g);
	if (luaL_newmetatable(L, GRAMMAR_MT)) {
		lua_pushliteral(L, "locked");
		lua_setfield(L, -2, "__metatable");
	}
	lua_setmetatable(L, 2);
	lua_newtable(L);
	c.seen = 3;
	if (scan_compile(&c, 1) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, c.err);
		return 2;
	}
	lua_settop(L, 2);
	return 1;
}

/***
 * The fast path: one pass over JSON text against a compiled grammar.  It
 * says only "certainly valid" (`true`) or "not sure" (`false`: take the
 * exact walk of @{json_check} over the decoded value).
 * @function json_scan
 * @tparam string text JSON text
 * @tparam userdata grammar from @{json_grammar}
 * @treturn boolean
 */
int dts_l_json_scan(lua_State *L)
{
	size_t n;
	const char *text = luaL_checklstring(L, 1, &n);
	const struct scan_grammar *g = luaL_checkudata(L, 2, GRAMMAR_MT);

	lua_pushboolean(L, dts_scan_json(g, 0, text, n));
	return 1;
}
