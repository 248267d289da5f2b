/*
 * dts.core: the Lua binding of the signer (sign.c) and the encoders
 * (encode.c).  Only moves values between Lua and C: everything malloc'ed
 * by the signer is owned by a userdata created before the signer runs, so a
 * Lua error (out of memory while pushing a result) cannot leak it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "compat.h"
#include "lua_json.h"
#include "sign.h"
#include "version.h"

#define OWNER_MT "dts.core.owner"

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

/* ---- results owned by a userdata ---- */

enum owner_kind { OWN_NONE, OWN_SIGNED, OWN_V3, OWN_BUFS };

struct owner {
	enum owner_kind kind;
	union {
		struct dts_signed s;
		struct dts_v3_output v3;
		struct dts_buf bufs[2];
	} u;
};

static void owner_release(struct owner *o)
{
	switch (o->kind) {
	case OWN_SIGNED:
		dts_signed_free(&o->u.s);
		break;
	case OWN_V3:
		dts_v3_output_free(&o->u.v3);
		break;
	case OWN_BUFS:
		dts_buf_free(&o->u.bufs[0]);
		dts_buf_free(&o->u.bufs[1]);
		break;
	case OWN_NONE:
		break;
	}
	o->kind = OWN_NONE;
}

static int owner_gc(lua_State *L)
{
	owner_release(luaL_checkudata(L, 1, OWNER_MT));
	return 0;
}

static struct owner *new_owner(lua_State *L, enum owner_kind kind)
{
	struct owner *o = dts_newuserdata(L, sizeof *o);

	o->kind = OWN_NONE;
	luaL_getmetatable(L, OWNER_MT);
	lua_setmetatable(L, -2);
	switch (kind) {
	case OWN_SIGNED:
		dts_signed_init(&o->u.s);
		break;
	case OWN_V3:
		dts_v3_output_init(&o->u.v3);
		break;
	case OWN_BUFS:
		dts_buf_init(&o->u.bufs[0]);
		dts_buf_init(&o->u.bufs[1]);
		break;
	case OWN_NONE:
		break;
	}
	o->kind = kind;
	return o;
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
 * Field checks report through a message slot, so readers can be chained.
 *
 * The caller's tables are read raw (lua_rawget, lua_next): a metatable's
 * __index never runs, so no Lua code runs while C holds pointers into
 * strings.  And every string whose bytes C keeps is anchored in `anchor`, a
 * table only this call can reach: a finalizer that runs during a later
 * allocation may empty the caller's tables, but cannot free what C reads.
 */
struct args {
	lua_State *L;
	int t;                    /* the argument table's stack index */
	int anchor;               /* the private table's stack index */
	int nanchor;
	char err[DTS_ERR_MAX];
};

static int arg_fail(struct args *a, const char *fmt, const char *field,
		    const char *detail)
{
	snprintf(a->err, sizeof a->err, fmt, field, detail);
	return -1;
}

/* Pops the value on top of the stack into the private anchor table. */
static void keep(struct args *a)
{
	lua_rawseti(a->L, a->anchor, ++a->nanchor);
}

/* Pushes t[field], read raw. */
static int raw_field(lua_State *L, int t, const char *field)
{
	lua_pushstring(L, field);
	lua_rawget(L, t);
	return lua_type(L, -1);
}

/* A string field: absent (nil) leaves out->p NULL. */
static int get_str(struct args *a, const char *field, struct dts_str *out)
{
	lua_State *L = a->L;
	const int type = raw_field(L, a->t, field);

	out->p = NULL;
	out->n = 0;
	if (type == LUA_TSTRING) {
		out->p = lua_tolstring(L, -1, &out->n);
		keep(a);
		return 0;
	}
	lua_pop(L, 1);
	if (type == LUA_TNIL)
		return 0;
	return arg_fail(a, "%s: expected a string, got %s", field,
			lua_typename(L, type));
}

static int changed(struct args *a, const char *field)
{
	return arg_fail(a, "%s: the table changed while it was read%s", field, "");
}

/*
 * A table of name -> string (for headers also name -> list of strings) into
 * an array of pairs, kept in a userdata in the anchor table.
 *
 * Counted first, then read into storage allocated in between.  Allocating
 * may run a finalizer that changes the table, so the second pass checks
 * every type and bound again; it allocates nothing itself (the table that
 * anchors its strings is sized up front), so nothing changes under it.
 */
static int get_pairs(struct args *a, const char *field, int lists,
		     const struct dts_pair **out, size_t *n)
{
	lua_State *L = a->L;
	struct dts_pair *p;
	size_t count = 0, i = 0;
	int tab, strs, type;

	*out = NULL;
	*n = 0;
	type = raw_field(L, a->t, field);
	if (type == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (type != LUA_TTABLE)
		return arg_fail(a, "%s: expected a table, got %s", field,
				lua_typename(L, type));
	tab = lua_gettop(L);
	for (lua_pushnil(L); lua_next(L, tab); lua_pop(L, 1)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			return arg_fail(a, "%s: names must be strings, got a %s key",
					field, luaL_typename(L, -2));
		if (lists && lua_istable(L, -1))
			count += lua_rawlen(L, -1);
		else
			count++;
	}
	if (count > 1u << 20)
		return arg_fail(a, "%s: more than %s entries", field, "2^20");
	p = dts_newuserdata(L, (count ? count : 1) * sizeof *p);
	lua_createtable(L, (int)(2 * count), 0);
	strs = lua_gettop(L);
	for (lua_pushnil(L); lua_next(L, tab); lua_pop(L, 1)) {
		const char *name;
		size_t k, len;

		if (lua_type(L, -2) != LUA_TSTRING)
			return changed(a, field);
		name = lua_tostring(L, -2);
		len = lists && lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
		if (lua_type(L, -1) == LUA_TSTRING) {
			if (i == count)
				return changed(a, field);
			p[i].name.p = lua_tolstring(L, -2, &p[i].name.n);
			p[i].value.p = lua_tolstring(L, -1, &p[i].value.n);
			lua_pushvalue(L, -2);
			lua_rawseti(L, strs, (int)(2 * i + 1));
			lua_pushvalue(L, -1);
			lua_rawseti(L, strs, (int)(2 * i + 2));
			i++;
			continue;
		}
		if (len == 0 || !lua_istable(L, -1)) {
			snprintf(a->err, sizeof a->err, "%s.%.64s: expected a string%s, got %s",
				 field, name, lists ? " or a list of strings" : "",
				 luaL_typename(L, -1));
			return -1;
		}
		for (k = 1; k <= len; k++) {
			lua_rawgeti(L, -1, (int)k);
			if (lua_type(L, -1) != LUA_TSTRING) {
				snprintf(a->err, sizeof a->err, "%s.%.64s[%d]: expected "
					 "a string, got %s", field, name, (int)k,
					 luaL_typename(L, -1));
				return -1;
			}
			if (i == count)
				return changed(a, field);
			p[i].name.p = lua_tolstring(L, -3, &p[i].name.n);
			p[i].value.p = lua_tolstring(L, -1, &p[i].value.n);
			lua_rawseti(L, strs, (int)(2 * i + 2));
			lua_pushvalue(L, -2);
			lua_rawseti(L, strs, (int)(2 * i + 1));
			i++;
		}
	}
	if (i != count)
		return changed(a, field);
	keep(a); /* strs */
	keep(a); /* p */
	lua_pop(L, 1); /* tab */
	*out = p;
	*n = i;
	return 0;
}

/* Typos in field names would otherwise be silently ignored. */
static int check_fields(struct args *a, const char *const *known)
{
	lua_State *L = a->L;

	for (lua_pushnil(L); lua_next(L, a->t); lua_pop(L, 1)) {
		const char *const *k;
		const char *name;
		size_t len;

		if (lua_type(L, -2) != LUA_TSTRING)
			return arg_fail(a, "%s: unexpected %s key in the argument table",
					"argument", luaL_typename(L, -2));
		name = lua_tolstring(L, -2, &len);
		for (k = known; *k != NULL; k++)
			if (strlen(*k) == len && memcmp(*k, name, len) == 0)
				break;
		if (*k == NULL) {
			snprintf(a->err, sizeof a->err, "unknown field \"%.64s\"", name);
			return -1;
		}
	}
	return 0;
}

static int start_args(lua_State *L, struct args *a)
{
	a->L = L;
	a->t = 1;
	a->anchor = 2;
	a->nanchor = 0;
	a->err[0] = '\0';
	if (!lua_istable(L, 1)) {
		snprintf(a->err, sizeof a->err, "expected a table argument, got %s",
			 luaL_typename(L, 1));
		return -1;
	}
	lua_settop(L, 1);
	lua_createtable(L, 24, 0);
	return 0;
}

static void set_buf(lua_State *L, const char *field, const struct dts_buf *b)
{
	lua_pushlstring(L, b->data ? b->data : "", b->len);
	lua_setfield(L, -2, field);
}

/* Headers "name\0value\0..." into a name -> value table. */
static void push_headers(lua_State *L, const struct dts_buf *h, size_t n)
{
	const char *p = h->data;
	size_t i;

	lua_createtable(L, 0, (int)n);
	for (i = 0; i < n; i++) {
		size_t nl = strlen(p), vl = strlen(p + nl + 1);

		lua_pushlstring(L, p + nl + 1, vl);
		lua_setfield(L, -2, p);
		p += nl + vl + 2;
	}
}

/* ---- core.sign ---- */

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
	static const char *const fields[] = {
		"scheme", "method", "host", "path", "action", "version",
		"access_key_id", "access_key_secret", "security_token",
		"timestamp", "nonce", "query", "body", "headers", NULL
	};
	struct dts_request r;
	struct dts_str scheme;
	struct owner *o;
	struct args a;

	memset(&r, 0, sizeof r);
	if (start_args(L, &a) != 0 || check_fields(&a, fields) != 0 ||
	    get_str(&a, "scheme", &scheme) != 0 ||
	    get_str(&a, "method", &r.method) != 0 ||
	    get_str(&a, "host", &r.host) != 0 ||
	    get_str(&a, "path", &r.path) != 0 ||
	    get_str(&a, "action", &r.action) != 0 ||
	    get_str(&a, "version", &r.version) != 0 ||
	    get_str(&a, "access_key_id", &r.access_key_id) != 0 ||
	    get_str(&a, "access_key_secret", &r.access_key_secret) != 0 ||
	    get_str(&a, "security_token", &r.security_token) != 0 ||
	    get_str(&a, "timestamp", &r.timestamp) != 0 ||
	    get_str(&a, "nonce", &r.nonce) != 0 ||
	    get_pairs(&a, "query", 0, &r.query, &r.nquery) != 0 ||
	    get_pairs(&a, "body", 0, &r.body, &r.nbody) != 0 ||
	    get_pairs(&a, "headers", 0, &r.headers, &r.nheaders) != 0)
		return bad(L, "%s", a.err);

	if (scheme.p == NULL)
		return bad(L, "scheme: missing (\"v1\" or \"v3\")");
	if (scheme.n == 2 && memcmp(scheme.p, "v1", 2) == 0)
		r.scheme = DTS_SCHEME_V1;
	else if (scheme.n == 2 && memcmp(scheme.p, "v3", 2) == 0)
		r.scheme = DTS_SCHEME_V3;
	else
		return bad(L, "scheme: expected \"v1\" or \"v3\" (the RPC HMAC-SHA1 "
			   "scheme the docs call V2 is \"v1\" here)");

	o = new_owner(L, OWN_SIGNED);
	if (dts_sign(&r, &o->u.s, a.err) != 0) {
		owner_release(o);
		return bad(L, "%s", a.err);
	}
	lua_createtable(L, 0, 8);
	lua_pushstring(L, o->u.s.method);
	lua_setfield(L, -2, "method");
	set_buf(L, "target", &o->u.s.target);
	set_buf(L, "body", &o->u.s.body);
	set_buf(L, "signature", &o->u.s.signature);
	set_buf(L, "string_to_sign", &o->u.s.string_to_sign);
	if (r.scheme == DTS_SCHEME_V3)
		set_buf(L, "canonical_request", &o->u.s.canonical_request);
	push_headers(L, &o->u.s.headers, o->u.s.nheaders);
	lua_setfield(L, -2, "headers");
	owner_release(o);
	return 1;
}

/* ---- the bare signatures, for verifiers and the SDKs' own vectors ---- */

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
	static const char *const fields[] = {
		"method", "params", "access_key_secret", NULL
	};
	const struct dts_pair *params;
	struct dts_str method, secret;
	struct owner *o;
	struct args a;
	size_t n;

	if (start_args(L, &a) != 0 || check_fields(&a, fields) != 0 ||
	    get_str(&a, "method", &method) != 0 ||
	    get_str(&a, "access_key_secret", &secret) != 0 ||
	    get_pairs(&a, "params", 0, &params, &n) != 0)
		return bad(L, "%s", a.err);
	if (method.p == NULL)
		return bad(L, "method: missing");
	if (secret.p == NULL)
		return bad(L, "access_key_secret: missing");
	o = new_owner(L, OWN_BUFS);
	if (dts_v1_signature(method, params, n, secret, &o->u.bufs[0],
			     &o->u.bufs[1], a.err) != 0) {
		owner_release(o);
		return bad(L, "%s", a.err);
	}
	lua_createtable(L, 0, 2);
	set_buf(L, "string_to_sign", &o->u.bufs[0]);
	set_buf(L, "signature", &o->u.bufs[1]);
	owner_release(o);
	return 1;
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
	static const char *const fields[] = {
		"method", "path", "query", "headers", "payload_hash",
		"access_key_id", "access_key_secret", "signed_headers", NULL
	};
	struct dts_v3_input in;
	struct dts_str signed_list;
	struct owner *o;
	struct args a;

	memset(&in, 0, sizeof in);
	if (start_args(L, &a) != 0 || check_fields(&a, fields) != 0 ||
	    get_str(&a, "method", &in.method) != 0 ||
	    get_str(&a, "path", &in.path) != 0 ||
	    get_str(&a, "payload_hash", &in.payload_hash) != 0 ||
	    get_str(&a, "access_key_id", &in.access_key_id) != 0 ||
	    get_str(&a, "access_key_secret", &in.access_key_secret) != 0 ||
	    get_str(&a, "signed_headers", &signed_list) != 0 ||
	    get_pairs(&a, "query", 0, &in.query, &in.nquery) != 0 ||
	    get_pairs(&a, "headers", 1, &in.headers, &in.nheaders) != 0)
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
	o = new_owner(L, OWN_V3);
	if (dts_v3_signature(&in, &o->u.v3, a.err) != 0) {
		owner_release(o);
		return bad(L, "%s", a.err);
	}
	lua_createtable(L, 0, 6);
	set_buf(L, "canonical_request", &o->u.v3.canonical_request);
	set_buf(L, "string_to_sign", &o->u.v3.string_to_sign);
	set_buf(L, "signature", &o->u.v3.signature);
	set_buf(L, "signed_headers", &o->u.v3.signed_headers);
	set_buf(L, "authorization", &o->u.v3.authorization);
	owner_release(o);
	return 1;
}

/* ---- small primitives, so no Lua code re-implements them ---- */

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
	struct owner *o;

	ok = dts_utf8_valid_prefix(s, n);
	if (ok != n) {
		char msg[64];

		snprintf(msg, sizeof msg, "not valid UTF-8 (byte 0x%02X at offset %zu)",
			 (unsigned char)s[ok], ok);
		return bad(L, "%s", msg);
	}
	o = new_owner(L, OWN_BUFS);
	dts_pct_encode(&o->u.bufs[0], s, n);
	if (o->u.bufs[0].failed)
		return luaL_error(L, "out of memory");
	lua_pushlstring(L, o->u.bufs[0].data ? o->u.bufs[0].data : "",
			o->u.bufs[0].len);
	owner_release(o);
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
	char hex[64];

	if (dts_sha256_hex(hex, s, n) != 0)
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

	key.p = luaL_checklstring(L, 1, &key.n);
	msg.p = luaL_checklstring(L, 2, &msg.n);
	if (dts_hmac_sha256_hex(hex, key, msg) != 0)
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
 * SDKs' nonces (also the client's `ClientToken`s).
 * @function nonce
 * @treturn string
 */
static int l_nonce(lua_State *L)
{
	unsigned char raw[16];
	char hex[32];

	if (RAND_bytes(raw, sizeof raw) != 1)
		return bad(L, "random number generator failed");
	dts_hex(hex, raw, sizeof raw);
	lua_pushlstring(L, hex, sizeof hex);
	return 1;
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
	double t = luaL_optnumber(L, 1, -1);
	time_t secs;
	struct tm tm;
	char out[32];

	if (lua_isnoneornil(L, 1))
		secs = time(NULL);
	else if (!(t >= 0 && t < 253402300800.0)) /* up to 9999-12-31 */
		return bad(L, "timestamp: seconds since 1970 expected, got %f", t);
	else
		secs = (time_t)t;
	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		return bad(L, "timestamp: cannot format %f", t);
	lua_pushstring(L, out);
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
		{ NULL, NULL }
	};

	if (luaL_newmetatable(L, OWNER_MT)) {
		lua_pushcfunction(L, owner_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushliteral(L, "locked");
		lua_setfield(L, -2, "__metatable");
	}
	lua_pop(L, 1);
	luaL_newlib(L, funcs);
	lua_pushliteral(L, DTS_VERSION);
	lua_setfield(L, -2, "_VERSION");
	return 1;
}
