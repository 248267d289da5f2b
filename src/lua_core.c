/*
 * dts.core: the Lua binding of the signer (sign.c) and the encoders
 * (encode.c).  Only moves values between Lua and C: everything malloc'ed
 * by the signer is owned by a userdata created before the signer runs, so a
 * Lua error (out of memory while pushing a result) cannot leak it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "find.h"
#include "lua_json.h"
#include "nonce.h"
#include "sign.h"
#include "version.h"

#define OWNER_MT "dts.core.owner"
#define STATE_MT "dts.core.state"
#define NEEDLES_MT "dts.core.needles"

/***
 * Signing and encoding (C, OpenSSL): the signer of the official SDKs, V3
 * ACS3-HMAC-SHA256 and RPC V1 HMAC-SHA1, and the small primitives around it.
 *
 * Pure functions: no clock, no randomness and no I/O inside the signer;
 * time and nonce are arguments (`core.timestamp()`, `core.nonce()` make
 * them).  Bad input returns `nil, err` where `err` is a string that names
 * the field (`query.DbList: not valid UTF-8 (byte 0xFF at offset 12)`) and
 * never contains a secret.  The argument tables of every function are read
 * raw: metatables (`__index`, `__pairs`) are ignored.  Credentials and
 * every field that ends up in a header are refused when they hold a
 * control character.
 * @module dts.core
 * @usage
 * local core = require "dts.core"
 * local signed = assert(core.sign{
 *   scheme = "v3", method = "POST", host = "dts.cn-hangzhou.aliyuncs.com",
 *   action = "ModifyDtsJob", version = "2020-01-01",
 *   access_key_id = id, access_key_secret = secret,
 *   timestamp = core.timestamp(), nonce = core.nonce(),
 *   query = { RegionId = "cn-hangzhou", DtsInstanceId = "dtsbi6e22ay2435ab" },
 *   body = { DbList = '{"shop":{"name":"shop","all":true}}' },
 * })
 * -- send signed.method to "https://" .. host .. signed.target with
 * -- signed.headers and signed.body (e.g. with dts.curl)
 */

/***
 * The version of lua-dts, e.g. `"0.2.0"`.
 * @field _VERSION
 */

/*
 * What one signing call works in: the signer (digest algorithms fetched
 * once, one reusable context), the output buffers, and room for the pairs
 * of a few small tables.  The module keeps one per Lua state and reuses it
 * call after call, so a signature allocates nothing of its own in C; its
 * buffers are wiped (what was written) after every call.
 */
#define SMALL_PAIRS 16
#define PAIR_TABLES 3

struct work {
	int ready;			/* signer initialised */
	struct dts_signer signer;
	struct dts_signed out;
	struct dts_v3_output v3;
	struct dts_buf bufs[2];
	struct dts_pair pairs[PAIR_TABLES][SMALL_PAIRS];
};

static int work_start(struct work *w)
{
	if (!w->ready) {
		if (dts_signer_init(&w->signer) != 0)
			return -1;
		dts_signed_init(&w->out);
		dts_v3_output_init(&w->v3);
		dts_buf_init(&w->bufs[0]);
		dts_buf_init(&w->bufs[1]);
		w->ready = 1;
	}
	return 0;
}

/* Wipes what the last call wrote; the memory stays for the next. */
static void work_reset(struct work *w)
{
	if (!w->ready)
		return;
	dts_signed_reset(&w->out);
	dts_v3_output_reset(&w->v3);
	dts_buf_reset(&w->bufs[0]);
	dts_buf_reset(&w->bufs[1]);
}

static void work_free(struct work *w)
{
	if (!w->ready)
		return;
	dts_signer_free(&w->signer);
	dts_signed_free(&w->out);
	dts_v3_output_free(&w->v3);
	dts_buf_free(&w->bufs[0]);
	dts_buf_free(&w->bufs[1]);
	w->ready = 0;
}

enum field {
	F_NONE, F_SCHEME, F_METHOD, F_HOST, F_PATH, F_ACTION, F_VERSION,
	F_ACCESS_KEY_ID, F_ACCESS_KEY_SECRET, F_SECURITY_TOKEN, F_TIMESTAMP,
	F_NONCE, F_QUERY, F_BODY, F_HEADERS, F_PARAMS, F_PAYLOAD_HASH,
	F_SIGNED_HEADERS, F_DEBUG_STRINGS, F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"", "scheme", "method", "host", "path", "action", "version",
	"access_key_id", "access_key_secret", "security_token", "timestamp",
	"nonce", "query", "body", "headers", "params", "payload_hash",
	"signed_headers", "debug_strings"
};

/*
 * The module's state, one per Lua state (the upvalue of every function):
 * no global state, so Lua states on different threads share nothing.
 * busy: a call is using `work`.  A finalizer that runs inside that call
 * (at any allocation) and signs again gets a work of its own instead.
 */
struct state {
	int busy;
	struct work work;
	struct dts_nonce_pool *pool;
	/* The bytes of the field names in the strings table (below): a key
	 * of the caller's that is one of them is that very string, as Lua
	 * keeps one copy of each short string. */
	const char *names[F_COUNT];
};

static int state_gc(lua_State *L)
{
	struct state *st = luaL_checkudata(L, 1, STATE_MT);

	if (!st->busy)
		work_free(&st->work);
	dts_nonce_pool_free(st->pool);
	st->pool = NULL;
	return 0;
}

/* A work of its own for a nested call, freed (and wiped) by __gc if a Lua
 * error comes first. */
struct owner {
	struct work w;
};

static int owner_gc(lua_State *L)
{
	struct owner *o = luaL_checkudata(L, 1, OWNER_MT);

	work_free(&o->w);
	return 0;
}

/* The second upvalue: a private table of the field names (name -> id), of
 * the strings results are keyed by, and of the protected entry points. */
#define STRINGS lua_upvalueindex(2)

#define BIT(f) (1u << (f))

/* Result keys and other strings made once (at STRINGS[K_...]). */
enum key {
	K_METHOD = F_COUNT, K_TARGET, K_BODY, K_SIGNATURE, K_STRING_TO_SIGN,
	K_CANONICAL_REQUEST, K_HEADERS, K_SIGNED_HEADERS, K_AUTHORIZATION,
	K_GET, K_POST,
	/* The headers the V3 signer sets (and V1's subset). */
	K_H_HOST, K_H_ACTION, K_H_VERSION, K_H_DATE, K_H_NONCE, K_H_SHA256,
	K_H_CONTENT_TYPE, K_H_TOKEN, K_H_KEY_ID, K_H_AUTHORIZATION, K_FORM_TYPE,
	K_SIGN_RUN, K_V1_RUN, K_V3_RUN, K_COUNT
};

static const char *const key_names[K_SIGN_RUN - F_COUNT] = {
	"method", "target", "body", "signature", "string_to_sign",
	"canonical_request", "headers", "signed_headers", "authorization",
	"GET", "POST",
	"host", "x-acs-action", "x-acs-version", "x-acs-date",
	"x-acs-signature-nonce", "x-acs-content-sha256", "content-type",
	"x-acs-security-token", "x-acs-accesskey-id", "authorization",
	"application/x-www-form-urlencoded"
};

/* A signed header's name as made once, and the argument field its value
 * comes from unchanged (F_NONE: made by the signer). */
#define OWN(key, name, from) { key, sizeof name - 1, from }
static const struct {
	int key;
	size_t len;
	enum field from;
} own_headers[] = {
	OWN(K_H_HOST, "host", F_HOST), OWN(K_H_ACTION, "x-acs-action", F_ACTION),
	OWN(K_H_VERSION, "x-acs-version", F_VERSION),
	OWN(K_H_DATE, "x-acs-date", F_TIMESTAMP),
	OWN(K_H_NONCE, "x-acs-signature-nonce", F_NONCE),
	OWN(K_H_SHA256, "x-acs-content-sha256", F_NONE),
	OWN(K_H_CONTENT_TYPE, "content-type", F_NONE),
	OWN(K_H_TOKEN, "x-acs-security-token", F_SECURITY_TOKEN),
	OWN(K_H_KEY_ID, "x-acs-accesskey-id", F_ACCESS_KEY_ID),
	OWN(K_H_AUTHORIZATION, "authorization", F_NONE),
};
#undef OWN

/* t[STRINGS[k]] = value on top (popped). */
static void set_key(lua_State *L, int t, int k)
{
	lua_rawgeti(L, STRINGS, k);
	lua_insert(L, -2);
	lua_rawset(L, t < 0 ? t - 1 : t);
}

/* ---- reading the argument table ---- */

static int bad(lua_State *L, const char *fmt, ...)
{
	va_list ap;

	lua_pushnil(L);
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	return 2;
}

/*
 * The caller's tables are read raw (lua_rawget, lua_next): a metatable's
 * __index never runs, so no Lua code runs while C holds pointers into
 * strings.  And every string whose bytes C keeps is anchored where only
 * this call can reach it: on its own Lua stack (a value stays in its slot),
 * or for large tables in a private table.  A finalizer that runs during a
 * later allocation may empty the caller's tables, but cannot free what C
 * reads.  Nothing is allocated while a table is being walked: room is made
 * before, and a walk after an allocation checks again what it counted.
 */
struct args {
	lua_State *L;
	struct work *w;
	const char *const *names;	/* the state's */
	int slot[F_COUNT];	/* stack index of each field's value, or 0 */
	int type[F_COUNT];	/* its Lua type (when slot is not 0) */
	struct dts_str str[F_COUNT];	/* its bytes, when a string */
	int ntables;		/* pair tables read so far */
	char err[DTS_ERR_MAX];
};

static int arg_fail(struct args *a, const char *fmt, const char *field,
		    const char *detail)
{
	snprintf(a->err, sizeof a->err, fmt, field, detail);
	return -1;
}

/* One pass over the argument table at 1: every key must be a known field
 * of this function (`allowed`); each value stays on the stack. */
static int read_args(lua_State *L, struct args *a, struct work *w,
		     unsigned allowed)
{
	const struct state *st = lua_touserdata(L, lua_upvalueindex(1));
	int top;

	memset(a->slot, 0, sizeof a->slot);
	a->L = L;
	a->w = w;
	a->names = st->names;
	a->ntables = 0;
	a->err[0] = '\0';
	if (!lua_istable(L, 1)) {
		snprintf(a->err, sizeof a->err, "expected a table argument, got %s",
			 luaL_typename(L, 1));
		return -1;
	}
	if (!lua_checkstack(L, 2 * F_COUNT + 8)) {
		snprintf(a->err, sizeof a->err, "out of stack space");
		return -1;
	}
	/* The walk keeps count of the stack itself: key and value stay at
	 * top - 1 and top, fewer calls into Lua than asking. */
	top = lua_gettop(L);
	for (lua_pushnil(L); lua_next(L, 1); lua_pushvalue(L, -2)) {
		const char *const *names = a->names;
		const char *key;
		int id;

		top += 2;

		if (lua_type(L, -2) != LUA_TSTRING)
			return arg_fail(a, "%s: unexpected %s key in the argument table",
					"argument", luaL_typename(L, -2));
		key = lua_tostring(L, -2);
		for (id = F_NONE + 1; id < F_COUNT && names[id] != key; id++)
			;
		if (id == F_COUNT) {	/* not by identity: look the text up */
			lua_pushvalue(L, -2);
			lua_rawget(L, STRINGS);
			id = (int)lua_tointeger(L, -1);
			lua_pop(L, 1);
		}
		if (id <= F_NONE || id >= F_COUNT || !(allowed & BIT(id)) ||
		    a->slot[id] != 0) {
			snprintf(a->err, sizeof a->err, "unknown field \"%.64s\"",
				 lua_tostring(L, -2));
			return -1;
		}
		/* The value stays where it is: its slot anchors it, so its
		 * bytes can be taken now. */
		a->slot[id] = top;
		a->type[id] = lua_type(L, -1);
		if (a->type[id] == LUA_TSTRING)
			a->str[id].p = lua_tolstring(L, -1, &a->str[id].n);
	}
	return 0;
}

/* A string field: absent (nil) leaves out->p NULL. */
static int get_str(struct args *a, enum field f, struct dts_str *out)
{
	const int type = a->slot[f] ? a->type[f] : LUA_TNIL;

	out->p = NULL;
	out->n = 0;
	if (type == LUA_TSTRING) {
		*out = a->str[f];
		return 0;
	}
	if (type == LUA_TNIL)
		return 0;
	return arg_fail(a, "%s: expected a string, got %s", field_names[f],
			lua_typename(a->L, type));
}

static int changed(struct args *a, const char *field)
{
	return arg_fail(a, "%s: the table changed while it was read%s", field, "");
}

/* Anchors in a private table past this many pairs (LuaJIT allows a C
 * function some 8000 stack slots). */
#define STACK_PAIRS 1000

/*
 * The usual case in one walk: a few string -> string pairs straight into
 * the work's storage, room for their anchors made before.  Anything else
 * (more pairs, another type, no storage left) gives -1 with the stack as
 * it was, and get_pairs reads the table its careful way, its errors too.
 */
static int get_small_pairs(struct args *a, int tab, const struct dts_pair **out,
			   size_t *n)
{
	lua_State *L = a->L;
	const int base = lua_gettop(L);
	struct dts_pair *p;
	size_t i = 0;

	if (a->ntables >= PAIR_TABLES || !lua_checkstack(L, 2 * SMALL_PAIRS + 8))
		return -1;
	p = a->w->pairs[a->ntables];
	/* No allocation below: nothing can change the table under the walk. */
	for (lua_pushnil(L); lua_next(L, tab); lua_pushvalue(L, -2)) {
		if (i == SMALL_PAIRS || lua_type(L, -2) != LUA_TSTRING ||
		    lua_type(L, -1) != LUA_TSTRING) {
			lua_settop(L, base);
			return -1;
		}
		p[i].name.p = lua_tolstring(L, -2, &p[i].name.n);
		p[i].value.p = lua_tolstring(L, -1, &p[i].value.n);
		i++;
		/* key and value stay below, anchoring both */
	}
	a->ntables++;
	*out = p;
	*n = i;
	return 0;
}

/*
 * A table of name -> string (for headers also name -> list of strings) into
 * an array of pairs.
 *
 * Counted first, then read into storage made in between (the work's for a
 * few pairs, else a userdata), with room for the anchors (stack slots, or a
 * presized private table).  Making room may run a finalizer that changes the
 * table, so the second pass checks every type and bound again; it allocates
 * nothing itself, so nothing changes under it.
 */
static int get_pairs(struct args *a, enum field f, int lists,
		     const struct dts_pair **out, size_t *n)
{
	lua_State *L = a->L;
	const char *field = field_names[f];
	struct dts_pair *p;
	size_t count = 0, i = 0;
	int tab = a->slot[f], type, anchor = 0, nanchor = 0;

	*out = NULL;
	*n = 0;
	type = tab ? lua_type(L, tab) : LUA_TNIL;
	if (type == LUA_TNIL)
		return 0;
	if (type != LUA_TTABLE)
		return arg_fail(a, "%s: expected a table, got %s", field,
				lua_typename(L, type));
	if (!lists && get_small_pairs(a, tab, out, n) == 0)
		return 0;
	for (lua_pushnil(L); lua_next(L, tab); lua_pop(L, 1)) {
		if (lua_type(L, -2) != LUA_TSTRING) {
			arg_fail(a, "%s: names must be strings, got a %s key",
				 field, luaL_typename(L, -2));
			lua_pop(L, 2);
			return -1;
		}
		if (lists && lua_istable(L, -1))
			count += lua_rawlen(L, -1);
		else
			count++;
		if (count > 1u << 20) {
			lua_pop(L, 2);
			return arg_fail(a, "%s: more than %s entries", field, "2^20");
		}
	}
	if (count <= SMALL_PAIRS && a->ntables < PAIR_TABLES)
		p = a->w->pairs[a->ntables++];
	else
		p = dts_newuserdata(L, (count ? count : 1) * sizeof *p);
	/* Room for the anchors: a key and its string, or a key, its list and
	 * the list's items. */
	if (count > STACK_PAIRS || !lua_checkstack(L, (int)(3 * count + 8))) {
		lua_createtable(L, (int)(2 * count), 0);
		anchor = lua_gettop(L);
	}
	for (lua_pushnil(L); lua_next(L, tab);) {
		const int k = lua_gettop(L) - 1;
		const char *name;
		size_t j, len;

		if (lua_type(L, k) != LUA_TSTRING)
			return changed(a, field);
		name = lua_tostring(L, k);
		len = lists && lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
		if (lua_type(L, -1) == LUA_TSTRING) {
			if (i == count)
				return changed(a, field);
			p[i].name.p = lua_tolstring(L, k, &p[i].name.n);
			p[i].value.p = lua_tolstring(L, -1, &p[i].value.n);
			i++;
		} else if (len == 0 || !lua_istable(L, -1)) {
			snprintf(a->err, sizeof a->err, "%s.%.64s: expected a string%s, got %s",
				 field, name, lists ? " or a list of strings" : "",
				 luaL_typename(L, -1));
			return -1;
		} else {
			for (j = 1; j <= len; j++) {
				lua_rawgeti(L, k + 1, (int)j);
				if (lua_type(L, -1) != LUA_TSTRING) {
					snprintf(a->err, sizeof a->err, "%s.%.64s[%d]: expected "
						 "a string, got %s", field, name, (int)j,
						 luaL_typename(L, -1));
					return -1;
				}
				if (i == count)
					return changed(a, field);
				p[i].name.p = lua_tolstring(L, k, &p[i].name.n);
				p[i].value.p = lua_tolstring(L, -1, &p[i].value.n);
				i++;
				if (anchor)
					lua_rawseti(L, anchor, ++nanchor);
				/* else the item stays in its slot */
			}
		}
		if (anchor) {
			lua_settop(L, k + 1);
			lua_rawseti(L, anchor, ++nanchor); /* the value */
			lua_pushvalue(L, k);
			lua_rawseti(L, anchor, ++nanchor); /* the key */
			lua_settop(L, k);	/* the key, for lua_next */
		} else {
			lua_pushvalue(L, k);	/* key and value stay below */
		}
	}
	if (i != count)
		return changed(a, field);
	*out = p;
	*n = i;
	return 0;
}

/* A buffer's bytes as a Lua string, on top. */
static void push_buf(lua_State *L, const struct dts_buf *b)
{
	lua_pushlstring(L, b->data ? b->data : "", b->len);
}

/* Which of own_headers a header name is, or -1 (memcmp only where the
 * length matches). */
static int own_header(const char *name, size_t n)
{
	size_t k;

	for (k = 0; k < sizeof own_headers / sizeof *own_headers; k++)
		if (own_headers[k].len == n &&
		    memcmp(key_names[own_headers[k].key - F_COUNT], name, n) == 0)
			return (int)k;
	return -1;
}

/*
 * Headers "name\0value\0..." (lengths apart) into a name -> value table,
 * with room for `extra` more (the client adds accept).  The signer's own
 * header names are the strings made once, and a value that is an
 * argument's string unchanged (the signer only trims) is that very string:
 * fewer strings made per call.
 */
static void push_headers(lua_State *L, const struct args *a,
			 const struct dts_buf *h, const struct dts_buf *lens,
			 size_t n, int extra)
{
	const char *p = h->data;
	size_t i;

	lua_createtable(L, 0, (int)n + extra);
	for (i = 0; i < n; i++) {
		struct dts_header_len l;
		const char *v;
		int k;

		memcpy(&l, lens->data + i * sizeof l, sizeof l);
		v = p + l.name + 1;
		k = own_header(p, l.name);
		if (k < 0) {
			lua_pushlstring(L, p, l.name);
			lua_pushlstring(L, v, l.value);
		} else {
			const enum field from = own_headers[k].from;

			lua_rawgeti(L, STRINGS, own_headers[k].key);
			if (from != F_NONE && a != NULL && a->slot[from] != 0 &&
			    a->type[from] == LUA_TSTRING &&
			    a->str[from].n == l.value &&
			    memcmp(a->str[from].p, v, l.value) == 0)
				lua_pushvalue(L, a->slot[from]);
			else if (own_headers[k].key == K_H_CONTENT_TYPE &&
				 l.value == sizeof "application/x-www-form-urlencoded" - 1 &&
				 memcmp(v, "application/x-www-form-urlencoded", l.value) == 0)
				lua_rawgeti(L, STRINGS, K_FORM_TYPE);
			else
				lua_pushlstring(L, v, l.value);
		}
		lua_rawset(L, -3);
		p = v + l.value + 1;
	}
}

/*
 * Every signing entry point runs on a work: the state's, under lua_pcall
 * so that a Lua error (out of memory) cannot leave it marked busy or its
 * buffers unwiped; or, for a call nested in one (from a finalizer), one of
 * its own in a userdata.
 */
typedef int (*body_fn)(lua_State *L, struct work *w);

static int run_body(lua_State *L, body_fn body, int protected_entry)
{
	struct state *st = lua_touserdata(L, lua_upvalueindex(1));
	int rc;

	lua_settop(L, 1);
	if (st->busy) {
		/* At index 2 for the whole call, so it outlives its use. */
		struct owner *o = dts_newuserdata(L, sizeof *o);

		memset(o, 0, sizeof *o);
		luaL_getmetatable(L, OWNER_MT);
		lua_setmetatable(L, -2);
		if (work_start(&o->w) != 0)
			return bad(L, "OpenSSL cannot provide SHA-1 and SHA-256");
		rc = body(L, &o->w);
		work_free(&o->w);
		return rc;
	}
	if (work_start(&st->work) != 0)
		return bad(L, "OpenSSL cannot provide SHA-1 and SHA-256");
	lua_rawgeti(L, STRINGS, protected_entry);
	lua_insert(L, 1);
	st->busy = 1;
	rc = lua_pcall(L, 1, LUA_MULTRET, 0);
	st->busy = 0;
	work_reset(&st->work);
	if (rc != 0)
		return lua_error(L);
	return lua_gettop(L);
}

/* ---- core.sign ---- */

#define SIGN_FIELDS (BIT(F_SCHEME) | BIT(F_METHOD) | BIT(F_HOST) | BIT(F_PATH) | \
	BIT(F_ACTION) | BIT(F_VERSION) | BIT(F_ACCESS_KEY_ID) | \
	BIT(F_ACCESS_KEY_SECRET) | BIT(F_SECURITY_TOKEN) | BIT(F_TIMESTAMP) | \
	BIT(F_NONCE) | BIT(F_QUERY) | BIT(F_BODY) | BIT(F_HEADERS) | \
	BIT(F_DEBUG_STRINGS))

static int sign_body(lua_State *L, struct work *w)
{
	struct dts_request r;
	struct dts_signed *o = &w->out;
	struct dts_str scheme;
	struct args a;
	int res, debug_strings = 1;

	memset(&r, 0, sizeof r);
	if (read_args(L, &a, w, SIGN_FIELDS) != 0 ||
	    get_str(&a, F_SCHEME, &scheme) != 0 ||
	    get_str(&a, F_METHOD, &r.method) != 0 ||
	    get_str(&a, F_HOST, &r.host) != 0 ||
	    get_str(&a, F_PATH, &r.path) != 0 ||
	    get_str(&a, F_ACTION, &r.action) != 0 ||
	    get_str(&a, F_VERSION, &r.version) != 0 ||
	    get_str(&a, F_ACCESS_KEY_ID, &r.access_key_id) != 0 ||
	    get_str(&a, F_ACCESS_KEY_SECRET, &r.access_key_secret) != 0 ||
	    get_str(&a, F_SECURITY_TOKEN, &r.security_token) != 0 ||
	    get_str(&a, F_TIMESTAMP, &r.timestamp) != 0 ||
	    get_str(&a, F_NONCE, &r.nonce) != 0 ||
	    get_pairs(&a, F_QUERY, 0, &r.query, &r.nquery) != 0 ||
	    get_pairs(&a, F_BODY, 0, &r.body, &r.nbody) != 0 ||
	    get_pairs(&a, F_HEADERS, 0, &r.headers, &r.nheaders) != 0)
		return bad(L, "%s", a.err);

	if (a.slot[F_DEBUG_STRINGS] != 0) {
		int t = lua_type(L, a.slot[F_DEBUG_STRINGS]);

		if (t != LUA_TBOOLEAN && t != LUA_TNIL)
			return bad(L, "debug_strings: expected a boolean, got %s",
				   lua_typename(L, t));
		debug_strings = t == LUA_TNIL || lua_toboolean(L, a.slot[F_DEBUG_STRINGS]);
	}
	if (scheme.p == NULL)
		return bad(L, "scheme: missing (\"v1\" or \"v3\")");
	if (scheme.n == 2 && memcmp(scheme.p, "v1", 2) == 0)
		r.scheme = DTS_SCHEME_V1;
	else if (scheme.n == 2 && memcmp(scheme.p, "v3", 2) == 0)
		r.scheme = DTS_SCHEME_V3;
	else
		return bad(L, "scheme: expected \"v1\" or \"v3\" (the RPC HMAC-SHA1 "
			   "scheme the docs call V2 is \"v1\" here)");

	if (dts_sign_with(&w->signer, &r, o, a.err) != 0)
		return bad(L, "%s", a.err);
	/* Each key pushed before its value: no stack rotation per field. */
	lua_createtable(L, 0, 7);
	res = lua_gettop(L);
	lua_rawgeti(L, STRINGS, K_METHOD);
	lua_rawgeti(L, STRINGS, strcmp(o->method, "GET") == 0 ? K_GET : K_POST);
	lua_rawset(L, res);
	lua_rawgeti(L, STRINGS, K_TARGET);
	push_buf(L, &o->target);
	lua_rawset(L, res);
	lua_rawgeti(L, STRINGS, K_BODY);
	push_buf(L, &o->body);
	lua_rawset(L, res);
	lua_rawgeti(L, STRINGS, K_SIGNATURE);
	push_buf(L, &o->signature);
	lua_rawset(L, res);
	if (debug_strings) {
		lua_rawgeti(L, STRINGS, K_STRING_TO_SIGN);
		push_buf(L, &o->string_to_sign);
		lua_rawset(L, res);
	}
	if (debug_strings && r.scheme == DTS_SCHEME_V3) {
		lua_rawgeti(L, STRINGS, K_CANONICAL_REQUEST);
		push_buf(L, &o->canonical_request);
		lua_rawset(L, res);
	}
	lua_rawgeti(L, STRINGS, K_HEADERS);
	push_headers(L, &a, &o->headers, &o->header_lens, o->nheaders, 1);
	lua_rawset(L, res);
	return 1;
}

static int sign_protected(lua_State *L)
{
	struct state *st = lua_touserdata(L, lua_upvalueindex(1));

	return sign_body(L, &st->work);
}

/***
 * Signs a request.  Values are strings, sent and signed byte for byte:
 * turn booleans into `"true"`/`"false"` and tables into JSON first.  An
 * empty string is signed and sent; an absent (nil) parameter is not.
 * Refused: unknown fields, values that are not strings, text that is not
 * valid UTF-8, a V1 parameter named like a common parameter (`Timestamp`,
 * `Signature`, ...), a header the signer sets itself, control characters in
 * header values and credentials.
 *
 * V1 puts the common parameters (`Action`, `Version`, `Format=JSON`,
 * `AccessKeyId`, `SignatureMethod`, `SignatureVersion`, `SignatureNonce`,
 * `Timestamp`, `SecurityToken`), the query parameters and `Signature` in
 * the URL and signs them with the body parameters.  V3 signs `host`,
 * `x-acs-action`, `x-acs-version`, `x-acs-date`, `x-acs-signature-nonce`,
 * `x-acs-content-sha256` (of the exact body bytes), `content-type` when
 * there is a body, and any other `x-acs-*` header.
 * @function sign
 * @tparam table t the request:
 * @tparam string t.scheme `"v3"` (ACS3-HMAC-SHA256, the SDKs' default) or
 *   `"v1"` (RPC HMAC-SHA1, `SignatureVersion=1.0`, which Alibaba's docs call "V2")
 * @tparam string t.method `"GET"` or `"POST"` (case-insensitive)
 * @tparam string t.host the endpoint's host, with `:port` if not the default
 * @tparam[opt="/"] string t.path RPC APIs use `/`; V1 allows nothing else
 * @tparam string t.action e.g. `"ModifyDtsJob"`
 * @tparam string t.version e.g. `"2020-01-01"`
 * @tparam string t.access_key_id
 * @tparam string t.access_key_secret
 * @tparam[opt] string t.security_token STS token: V1 adds `SecurityToken`; V3
 *   adds `x-acs-security-token` and `x-acs-accesskey-id`
 * @tparam string t.timestamp `yyyy-MM-ddTHH:mm:ssZ` (UTC), see @{timestamp}
 * @tparam string t.nonce unique per attempt, see @{nonce}
 * @tparam[opt] table t.query name -> string: parameters sent in the URL
 * @tparam[opt] table t.body name -> string: form parameters sent in an
 *   `application/x-www-form-urlencoded` body (not allowed with GET)
 * @tparam[opt] table t.headers name -> string: extra headers; under V3
 *   `x-acs-*` ones are signed, others are sent unsigned
 * @tparam[opt=true] boolean t.debug_strings `false` leaves
 *   `string_to_sign` and `canonical_request` out of the result (they cost
 *   two strings per call; the client asks for them only with `debug`)
 * @treturn table `{ method, target, headers, body, signature,
 *   string_to_sign, canonical_request }`: `method` upper case; `target` the
 *   path and query exactly as to send (`/?...`); `headers` lower-case name
 *   -> value, `authorization` included (V3); `body` the exact bytes (`""`
 *   when none); `signature` Base64 (V1) or lower-case hex (V3);
 *   `string_to_sign` and `canonical_request` (V3 only) for debugging: they
 *   hold the STS token when there is one, never log them unredacted
 * @return[2] nil
 * @treturn[2] string what is wrong, naming the field
 */
static int l_sign(lua_State *L)
{
	return run_body(L, sign_body, K_SIGN_RUN);
}

/* ---- the bare signatures, for verifiers and the SDKs' own vectors ---- */

#define V1_FIELDS (BIT(F_METHOD) | BIT(F_PARAMS) | BIT(F_ACCESS_KEY_SECRET))

static int v1_body(lua_State *L, struct work *w)
{
	const struct dts_pair *params;
	struct dts_str method, secret;
	struct args a;
	size_t n;
	int res;

	if (read_args(L, &a, w, V1_FIELDS) != 0 ||
	    get_str(&a, F_METHOD, &method) != 0 ||
	    get_str(&a, F_ACCESS_KEY_SECRET, &secret) != 0 ||
	    get_pairs(&a, F_PARAMS, 0, &params, &n) != 0)
		return bad(L, "%s", a.err);
	if (method.p == NULL)
		return bad(L, "method: missing");
	if (secret.p == NULL)
		return bad(L, "access_key_secret: missing");
	if (dts_v1_signature_with(&w->signer, method, params, n, secret,
				  &w->bufs[0], &w->bufs[1], a.err) != 0)
		return bad(L, "%s", a.err);
	lua_createtable(L, 0, 2);
	res = lua_gettop(L);
	push_buf(L, &w->bufs[0]);
	set_key(L, res, K_STRING_TO_SIGN);
	push_buf(L, &w->bufs[1]);
	set_key(L, res, K_SIGNATURE);
	return 1;
}

static int v1_protected(lua_State *L)
{
	struct state *st = lua_touserdata(L, lua_upvalueindex(1));

	return v1_body(L, &st->work);
}

/***
 * The V1 signature over parameters exactly as received: what a server
 * recomputes.
 * @function v1_signature
 * @tparam table t `{ method, params, access_key_secret }`: `params` name ->
 *   string, every parameter but `Signature`
 * @treturn table `{ signature, string_to_sign }`
 * @return[2] nil
 * @treturn[2] string what is wrong
 */
static int l_v1_signature(lua_State *L)
{
	return run_body(L, v1_body, K_V1_RUN);
}

/* "host;x-acs-date;..." as in an Authorization header, into names. */
static size_t split_names(const char *s, size_t len, struct dts_str *names)
{
	size_t n = 0, start = 0, i;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ';')
			continue;
		if (i > start) {
			names[n].p = s + start;
			names[n].n = i - start;
			n++;
		}
		start = i + 1;
	}
	return n;
}

#define V3_FIELDS (BIT(F_METHOD) | BIT(F_PATH) | BIT(F_QUERY) | BIT(F_HEADERS) | \
	BIT(F_PAYLOAD_HASH) | BIT(F_ACCESS_KEY_ID) | BIT(F_ACCESS_KEY_SECRET) | \
	BIT(F_SIGNED_HEADERS))

static int v3_body(lua_State *L, struct work *w)
{
	struct dts_v3_input in;
	struct dts_v3_output *o = &w->v3;
	struct dts_str signed_list;
	struct args a;
	int res;

	memset(&in, 0, sizeof in);
	if (read_args(L, &a, w, V3_FIELDS) != 0 ||
	    get_str(&a, F_METHOD, &in.method) != 0 ||
	    get_str(&a, F_PATH, &in.path) != 0 ||
	    get_str(&a, F_PAYLOAD_HASH, &in.payload_hash) != 0 ||
	    get_str(&a, F_ACCESS_KEY_ID, &in.access_key_id) != 0 ||
	    get_str(&a, F_ACCESS_KEY_SECRET, &in.access_key_secret) != 0 ||
	    get_str(&a, F_SIGNED_HEADERS, &signed_list) != 0 ||
	    get_pairs(&a, F_QUERY, 0, &in.query, &in.nquery) != 0 ||
	    get_pairs(&a, F_HEADERS, 1, &in.headers, &in.nheaders) != 0)
		return bad(L, "%s", a.err);
	if (in.method.p == NULL)
		return bad(L, "method: missing");
	if (in.payload_hash.p == NULL)
		return bad(L, "payload_hash: missing");
	if (in.access_key_id.p == NULL)
		return bad(L, "access_key_id: missing");
	if (in.access_key_secret.p == NULL)
		return bad(L, "access_key_secret: missing");
	if (in.path.p == NULL)
		in.path.p = "";
	if (signed_list.p != NULL) {
		struct dts_str *names = dts_newuserdata(L, (signed_list.n / 2 + 1) *
							   sizeof *names);

		in.signed_names = names;
		in.nsigned = split_names(signed_list.p, signed_list.n, names);
		if (in.nsigned == 0)
			return bad(L, "signed_headers: empty");
	}
	if (dts_v3_signature_with(&w->signer, &in, o, a.err) != 0)
		return bad(L, "%s", a.err);
	lua_createtable(L, 0, 6);
	res = lua_gettop(L);
	push_buf(L, &o->canonical_request);
	set_key(L, res, K_CANONICAL_REQUEST);
	push_buf(L, &o->string_to_sign);
	set_key(L, res, K_STRING_TO_SIGN);
	push_buf(L, &o->signature);
	set_key(L, res, K_SIGNATURE);
	push_buf(L, &o->signed_headers);
	set_key(L, res, K_SIGNED_HEADERS);
	push_buf(L, &o->authorization);
	set_key(L, res, K_AUTHORIZATION);
	return 1;
}

static int v3_protected(lua_State *L)
{
	struct state *st = lua_touserdata(L, lua_upvalueindex(1));

	return v3_body(L, &st->work);
}

/***
 * The V3 signature over a request exactly as received: what a server
 * recomputes.
 * @function v3_signature
 * @tparam table t `{ method, path, query, headers, payload_hash,
 *   access_key_id, access_key_secret, signed_headers }`: `headers` values
 *   may be lists (repeated headers); `signed_headers` the `;`-separated list
 *   from an Authorization header (default: `host`, `content-type` and `x-acs-*`)
 * @treturn table `{ authorization, signature, canonical_request,
 *   string_to_sign, signed_headers }`
 * @return[2] nil
 * @treturn[2] string what is wrong
 */
static int l_v3_signature(lua_State *L)
{
	return run_body(L, v3_body, K_V3_RUN);
}

/* ---- small primitives, so no Lua code re-implements them ---- */

static struct state *get_state(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

/***
 * The strict RFC 3986 percent-encoder of both signers (everything but
 * `A-Z a-z 0-9 - _ . ~`, upper-case hex).
 * @function percent_encode
 * @tparam string s UTF-8 text
 * @treturn string
 * @return[2] nil
 * @treturn[2] string `not valid UTF-8 (byte 0xFF at offset 12)`
 */
static int l_percent_encode(lua_State *L)
{
	size_t n, ok;
	const char *s = luaL_checklstring(L, 1, &n);
	struct dts_buf b;

	ok = dts_utf8_valid_prefix(s, n);
	if (ok != n) {
		char msg[64];

		snprintf(msg, sizeof msg, "not valid UTF-8 (byte 0x%02X at offset %zu)",
			 (unsigned char)s[ok], ok);
		return bad(L, "%s", msg);
	}
	if (n > ((size_t)-1 - 1) / 3)
		return luaL_error(L, "out of memory");
	/* Encoded into a userdata with room for the worst case (never grown),
	 * so the copy is wiped without a malloc of its own. */
	b.data = dts_newuserdata(L, 3 * n + 1);
	b.len = 0;
	b.cap = 3 * n + 1;
	b.failed = 0;
	dts_pct_encode(&b, s, n);
	lua_pushlstring(L, b.data, b.len);
	memset(b.data, 0, b.len);
	return 1;
}

/*
 * core.needles{ s1, s2, ... } -> a compiled set of strings (none empty);
 * core.find_any(text, needles) -> whether one of them occurs in text, in
 * one pass (src/find.c).  The set holds copies (forms of a secret, for
 * dts.errors), wiped when it is collected.
 */
struct needles_box {
	size_t size;
	struct dts_needles *nd;
};

static int needles_gc(lua_State *L)
{
	struct needles_box *b = luaL_checkudata(L, 1, NEEDLES_MT);

	if (b->nd != NULL)
		memset(b->nd, 0, b->size);
	b->nd = NULL;
	return 0;
}

/***
 * A set of strings to look for with @{find_any}, built once (e.g. the forms
 * of the secrets that `errors.redact` hides).  The set keeps a copy of the
 * strings and wipes it when collected.
 * @function needles
 * @tparam {string,...} strings 1 to 1024 non-empty strings
 * @treturn userdata the set, for @{find_any}
 * @raise an argument error when `strings` is not such a list
 */
static int l_needles(lua_State *L)
{
	struct dts_str small[32], *s = small;
	struct needles_box *b;
	size_t n, i;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	n = lua_rawlen(L, 1);
	if (n > 1024)
		return luaL_argerror(L, 1, "at most 1024 strings");
	if (n > sizeof small / sizeof *small)
		s = dts_newuserdata(L, n * sizeof *s);
	/* Each string stays on the stack (its anchor) while it is copied. */
	luaL_checkstack(L, (int)n + 4, "too many strings");
	for (i = 0; i < n; i++) {
		lua_rawgeti(L, 1, (int)i + 1);
		if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
			return luaL_argerror(L, 1, "expected non-empty strings");
		s[i].p = lua_tolstring(L, -1, &s[i].n);
	}
	/* One userdata: the box, then the set (which points into itself;
	 * userdata memory never moves). */
	{
		const size_t head = (sizeof *b + 15) / 16 * 16;
		const size_t size = dts_needles_size(s, n);

		b = dts_newuserdata(L, head + size);
		b->size = size;
		b->nd = dts_needles_build((char *)b + head, s, n);
	}
	luaL_getmetatable(L, NEEDLES_MT);
	lua_setmetatable(L, -2);
	return 1;
}

/***
 * Whether `text` holds any string of a set, in one pass over `text`.
 * @function find_any
 * @tparam string text
 * @tparam userdata set from @{needles}
 * @treturn boolean
 * @raise an argument error when `set` is not a set
 */
static int l_find_any(lua_State *L)
{
	size_t len;
	const char *text = luaL_checklstring(L, 1, &len);
	struct needles_box *b = luaL_checkudata(L, 2, NEEDLES_MT);

	luaL_argcheck(L, b->nd != NULL, 2, "a collected set");
	lua_pushboolean(L, dts_needles_find(b->nd, text, len));
	return 1;
}

/***
 * Whether a string is valid UTF-8.
 * @function utf8_valid
 * @tparam string s
 * @treturn boolean
 * @treturn[opt] integer when false, the 1-based position of the first bad byte
 */
static int l_utf8_valid(lua_State *L)
{
	size_t n, ok;
	const char *s = luaL_checklstring(L, 1, &n);

	ok = dts_utf8_valid_prefix(s, n);
	lua_pushboolean(L, ok == n);
	if (ok == n)
		return 1;
	lua_pushinteger(L, (lua_Integer)ok + 1);
	return 2;
}

/* The state's signer serves these too, even inside a signing call (from a
 * finalizer): no Lua code runs while a digest is being computed. */
static struct dts_signer *signer(lua_State *L)
{
	struct state *st = get_state(L);

	return work_start(&st->work) == 0 ? &st->work.signer : NULL;
}

/***
 * SHA-256, in lower-case hex.
 * @function sha256_hex
 * @tparam string s
 * @treturn string 64 hex characters
 */
static int l_sha256_hex(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	struct dts_signer *sg = signer(L);
	char hex[64];

	if (sg == NULL || dts_signer_sha256_hex(sg, hex, s, n) != 0)
		return bad(L, "SHA-256 failed");
	lua_pushlstring(L, hex, sizeof hex);
	return 1;
}

/***
 * HMAC-SHA256, in lower-case hex.
 * @function hmac_sha256_hex
 * @tparam string key
 * @tparam string msg
 * @treturn string 64 hex characters
 */
static int l_hmac_sha256_hex(lua_State *L)
{
	struct dts_str key, msg;
	char hex[64];

	struct dts_signer *sg;

	key.p = luaL_checklstring(L, 1, &key.n);
	msg.p = luaL_checklstring(L, 2, &msg.n);
	sg = signer(L);
	if (sg == NULL || dts_signer_hmac_sha256_hex(sg, hex, key, msg) != 0)
		return bad(L, "HMAC-SHA256 failed");
	lua_pushlstring(L, hex, sizeof hex);
	return 1;
}

/***
 * Base64 (standard alphabet, padded).
 * @function base64
 * @tparam string s
 * @treturn string
 */
static int l_base64(lua_State *L)
{
	size_t n, i;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
	char out[DTS_BASE64_LEN(3 * 256)];
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (i = 0; i < n; i += 3 * 256) {
		size_t chunk = n - i < 3 * 256 ? n - i : 3 * 256;

		luaL_addlstring(&b, out, dts_base64(out, s + i, chunk));
	}
	luaL_pushresult(&b);
	return 1;
}

/***
 * A nonce: 32 lower-case hex characters from OpenSSL's CSPRNG, like the
 * SDKs' nonces (also the client's `ClientToken`s).  Drawn from a pool per
 * Lua state that is wiped in a child after `fork` (OpenResty's workers), so
 * no two processes or threads ever get the same one.
 * @function nonce
 * @treturn string
 */
static int l_nonce(lua_State *L)
{
	struct state *st = get_state(L);
	char hex[32];

	if (st->pool == NULL && (st->pool = dts_nonce_pool_new(0)) == NULL)
		return bad(L, "random number generator: out of memory");
	if (dts_nonce_hex(st->pool, hex) != 0)
		return bad(L, "random number generator failed");
	lua_pushlstring(L, hex, sizeof hex);
	return 1;
}

/***
 * Seconds on `CLOCK_MONOTONIC`, with a fraction: for deadlines, never moved
 * by a change of the wall clock.
 * @function monotonic
 * @treturn number seconds since an arbitrary start
 * @return[2] nil
 * @treturn[2] string what failed
 */
static int l_monotonic(lua_State *L)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return bad(L, "clock_gettime: %s", strerror(errno));
	lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
	return 1;
}

/* Two digits of v at p. */
static char *put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* 10000-01-01T00:00:00Z: four digits of year end there. */
#define TIMESTAMP_END 253402300800.0

/*
 * secs (0 to 9999-12-31T23:59:59) as yyyy-MM-ddTHH:mm:ssZ, by arithmetic:
 * the proleptic Gregorian calendar from days since the epoch (H. Hinnant's
 * civil_from_days, in March-based years so that the leap day comes last).
 * gmtime_r and strftime would take the C library's time-zone machinery
 * through every call, a lot of code for what a signature needs.
 */
static void format_utc(char out[20], uint64_t secs)
{
	const uint64_t z = secs / 86400 + 719468;	/* days since 0000-03-01 */
	const unsigned sod = (unsigned)(secs % 86400);
	const uint64_t era = z / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	const unsigned day = doy - (153 * mp + 2) / 5 + 1;
	const unsigned month = mp < 10 ? mp + 3 : mp - 9;
	const unsigned year = (unsigned)(era * 400) + yoe + (month <= 2);
	char *p = out;

	p = put2(p, year / 100);
	p = put2(p, year % 100);
	*p++ = '-';
	p = put2(p, month);
	*p++ = '-';
	p = put2(p, day);
	*p++ = 'T';
	p = put2(p, sod / 3600);
	*p++ = ':';
	p = put2(p, sod / 60 % 60);
	*p++ = ':';
	p = put2(p, sod % 60);
	*p = 'Z';
}

/***
 * A timestamp as both signers want it: `yyyy-MM-ddTHH:mm:ssZ` in UTC, e.g.
 * `2024-05-06T07:08:09Z`.
 * @function timestamp
 * @tparam[opt] number t seconds since the epoch (default: now), up to 9999-12-31
 * @treturn string
 * @return[2] nil
 * @treturn[2] string what is wrong
 */
static int l_timestamp(lua_State *L)
{
	char out[20];
	uint64_t secs;

	if (lua_isnoneornil(L, 1)) {
		const time_t now = time(NULL);

		if (now < 0 || (double)now >= TIMESTAMP_END)
			return bad(L, "timestamp: the system clock is outside 1970-9999");
		secs = (uint64_t)now;
	} else {
		const double t = (double)lua_tonumber(L, 1);

		if (!lua_isnumber(L, 1))
			return bad(L, "timestamp: seconds since 1970 expected, got %s",
				   luaL_typename(L, 1));
		if (!(t >= 0 && t < TIMESTAMP_END))
			return bad(L, "timestamp: seconds since 1970 expected, got %f", t);
		secs = (uint64_t)t;
	}
	format_utc(out, secs);
	lua_pushlstring(L, out, sizeof out);
	return 1;
}

int luaopen_dts_core(lua_State *L);

int luaopen_dts_core(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{ "sign", l_sign },
		{ "v1_signature", l_v1_signature },
		{ "v3_signature", l_v3_signature },
		{ "percent_encode", l_percent_encode },
		{ "utf8_valid", l_utf8_valid },
		{ "json_check", dts_l_json_check },
		{ "json_grammar", dts_l_json_grammar },
		{ "json_scan", dts_l_json_scan },
		{ "sha256_hex", l_sha256_hex },
		{ "hmac_sha256_hex", l_hmac_sha256_hex },
		{ "base64", l_base64 },
		{ "nonce", l_nonce },
		{ "timestamp", l_timestamp },
		{ "monotonic", l_monotonic },
		{ "needles", l_needles },
		{ "find_any", l_find_any },
		{ NULL, NULL }
	};
	static const struct { int key; lua_CFunction f; } runs[] = {
		{ K_SIGN_RUN, sign_protected },
		{ K_V1_RUN, v1_protected },
		{ K_V3_RUN, v3_protected },
	};
	struct state *st;
	int i;

	if (luaL_newmetatable(L, OWNER_MT)) {
		lua_pushcfunction(L, owner_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushliteral(L, "locked");
		lua_setfield(L, -2, "__metatable");
	}
	lua_pop(L, 1);
	if (luaL_newmetatable(L, NEEDLES_MT)) {
		lua_pushcfunction(L, needles_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushliteral(L, "locked");
		lua_setfield(L, -2, "__metatable");
	}
	lua_pop(L, 1);
	if (luaL_newmetatable(L, STATE_MT)) {
		lua_pushcfunction(L, state_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushliteral(L, "locked");
		lua_setfield(L, -2, "__metatable");
	}
	lua_pop(L, 1);
	luaL_newlibtable(L, funcs);
	/* Upvalue 1: the state. */
	st = dts_newuserdata(L, sizeof *st);
	memset(st, 0, sizeof *st);
	luaL_getmetatable(L, STATE_MT);
	lua_setmetatable(L, -2);
	/* Upvalue 2: the strings. */
	lua_createtable(L, K_COUNT, F_COUNT);
	for (i = F_NONE + 1; i < F_COUNT; i++) {
		lua_pushstring(L, field_names[i]);
		st->names[i] = lua_tostring(L, -1);
		lua_pushinteger(L, i);
		lua_rawset(L, -3);
	}
	for (i = F_COUNT; i < K_SIGN_RUN; i++) {
		lua_pushstring(L, key_names[i - F_COUNT]);
		lua_rawseti(L, -2, i);
	}
	for (i = 0; i < (int)(sizeof runs / sizeof *runs); i++) {
		lua_pushvalue(L, -2);
		lua_pushvalue(L, -2);
		lua_pushcclosure(L, runs[i].f, 2);
		lua_rawseti(L, -2, runs[i].key);
	}
	luaL_setfuncs(L, funcs, 2);
	dts_json_encode_push(L);
	lua_setfield(L, -2, "json_encode");
	lua_pushliteral(L, DTS_VERSION);
	lua_setfield(L, -2, "_VERSION");
	return 1;
}
