/*
 * dts.curl: the Lua binding of src/http_curl.c.
 *
 * Everything malloc'ed lives in the client userdata (struct
 * dts_http_client), which exists before anything is acquired and frees it
 * all from close/__gc, so a Lua error raised at any point leaks nothing.
 * A request reads every field first, then performs (no Lua call while
 * libcurl runs), then pushes the answer.
 *
 * Tables are read raw, so no __index runs during a request.  Lua code can
 * still run in one: a finalizer, at any allocation.  It may call close() or
 * request() on this very client, so a request marks the client busy: close()
 * is then deferred to the end of the request, and a nested request() is
 * refused.  The request body runs under lua_pcall so that a Lua error (out
 * of memory) cannot leave the mark behind.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "fsync.h"
#include "http_curl.h"
#include "signals.h"
#include "tchar.h"

#define CLIENT_MT "dts.curl.client"
#define ERROR_MT "dts.curl.error"

int luaopen_dts_curl(lua_State *L);

/***
 * HTTPS (C, libcurl): verified TLS, one keep-alive connection per client,
 * and what a hostile server may send judged strictly.  A separate module,
 * so nginx workers never load libcurl.
 *
 * What a server may send: `timeout` bounds the whole request (connect,
 * TLS, proxy tunnel, send, status line, headers, body) however slowly the
 * server sends.  Requests go out as HTTP/1.1 only, without
 * `Accept-Encoding`; redirects are never followed (a 3xx is an answer).
 * Kind `protocol` for HTTP/0.9 or bytes that are not HTTP, another HTTP
 * version, an answer compressed anyway, more than 10 interim (1xx) answers,
 * headers over 256 KiB, a body over `max_response_size`, a malformed
 * chunked body; kind `network` for no connection, an empty reply, a
 * connection closed or reset mid-answer; `invalid_argument` only when
 * nothing was sent.  Control characters in `user_agent` or any header value
 * are refused, so no header can be smuggled in.
 * @module dts.curl
 * @usage
 * local curl = require "dts.curl"
 * local client = assert(curl.new{ timeout = 30 })
 * local res, err = client:request{ method = "GET", url = "https://example.com/" }
 * if not res then error(tostring(err)) end  -- err.kind, err.message, err.request_sent
 * print(res.status, res.headers["content-type"], #res.body)
 */

/***
 * libcurl's version and its TLS library, e.g. `"libcurl/7.88.1 OpenSSL/3.0.11"`.
 * @field version
 */

static const char *const kind_names[] = {
	"ok", "timeout", "tls", "network", "invalid_argument", "protocol"
};

/* nil, { kind =, message = } */
static int push_error(lua_State *L, enum dts_http_kind kind, const char *msg)
{
	lua_pushnil(L);
	lua_createtable(L, 0, 2);
	lua_pushstring(L, kind_names[kind]);
	lua_setfield(L, -2, "kind");
	lua_pushstring(L, msg);
	lua_setfield(L, -2, "message");
	luaL_getmetatable(L, ERROR_MT);
	lua_setmetatable(L, -2);
	return 2;
}

/* nil, err for a bad option or request field: "name: reason". */
static int push_invalid(lua_State *L, const char *name, const char *reason)
{
	lua_pushfstring(L, "%s: %s", name, reason);
	return push_error(L, DTS_HTTP_INVALID_ARGUMENT, lua_tostring(L, -1));
}

/* Also reachable as getmetatable(err).__tostring(anything): read raw,
 * strings only. */
static int l_error_tostring(lua_State *L)
{
	const char *kind = NULL, *message = NULL;

	if (lua_type(L, 1) == LUA_TTABLE) {
		lua_pushliteral(L, "kind");
		lua_rawget(L, 1);
		lua_pushliteral(L, "message");
		lua_rawget(L, 1);
		if (lua_type(L, -2) == LUA_TSTRING)
			kind = lua_tostring(L, -2);
		if (lua_type(L, -1) == LUA_TSTRING)
			message = lua_tostring(L, -1);
	}
	lua_pushfstring(L, "%s: %s", kind ? kind : "error",
			message ? message : "(no message)");
	return 1;
}

/* The client userdata: libcurl's part, and what only the binding needs. */
struct lclient {
	struct dts_http_client http;
	int busy;               /* a request is running */
	int close_pending;      /* close() was called during it */
};

static const char *get_seconds(lua_State *L, int idx, long *ms)
{
	double s;

	if (lua_type(L, idx) != LUA_TNUMBER)
		return "expected a number of seconds";
	s = lua_tonumber(L, idx);
	if (!(s > 0 && s <= DTS_HTTP_MAX_TIMEOUT_S))
		return "expected a number of seconds > 0";
	*ms = (long)(s * 1000.0);
	if (*ms < 1)
		*ms = 1;
	return NULL;
}

static const char *get_size(lua_State *L, int idx, size_t *size)
{
	double n;

	if (lua_type(L, idx) != LUA_TNUMBER)
		return "expected a number of bytes";
	n = lua_tonumber(L, idx);
	if (!(n >= 1 && n <= DTS_HTTP_MAX_RESPONSE_LIMIT) ||
	    n != (double)(size_t)n)
		return "expected a whole number of bytes in [1, 2^30]";
	*size = (size_t)n;
	return NULL;
}

/* "control character 0x0D is not allowed in a header value", left on the
 * stack (the caller returns at once), or NULL when s has none. */
static const char *control_reason(lua_State *L, const char *s, size_t len)
{
	const char *at = dts_http_control_char(s, len);
	char buf[64];

	if (at == NULL)
		return NULL;
	snprintf(buf, sizeof buf,
		 "control character 0x%02X is not allowed in a header value",
		 (unsigned)(unsigned char)*at);
	lua_pushstring(L, buf);
	return lua_tostring(L, -1);
}

/* OPT_HEADER: a string that goes into a request header. */
enum option_type { OPT_STRING, OPT_HEADER, OPT_SECONDS, OPT_SIZE, OPT_BOOLEAN };

static const struct option {
	const char *name;
	enum option_type type;
	size_t offset;
} options[] = {
#define OPT(name, type, field) \
	{ name, type, offsetof(struct dts_http_config, field) }
	OPT("allow_http", OPT_BOOLEAN, allow_http),
	OPT("ca_file", OPT_STRING, ca_file),
	OPT("ca_path", OPT_STRING, ca_path),
	OPT("client_cert", OPT_STRING, client_cert),
	OPT("client_key", OPT_STRING, client_key),
	OPT("connect_timeout", OPT_SECONDS, connect_timeout_ms),
	OPT("connect_to", OPT_STRING, connect_to),
	OPT("insecure_host", OPT_STRING, insecure_host),
	OPT("max_response_size", OPT_SIZE, max_response_size),
	OPT("no_proxy", OPT_STRING, no_proxy),
	OPT("proxy", OPT_STRING, proxy),
	OPT("timeout", OPT_SECONDS, timeout_ms),
	OPT("user_agent", OPT_HEADER, user_agent),
#undef OPT
	{ NULL, OPT_STRING, 0 }
};

/* The option at -2 (name) / -1 (value) of a lua_next loop. */
static const char *set_option(lua_State *L, struct dts_http_config *cfg,
			      const char **name)
{
	const struct option *o;
	void *field;
	const char *s;
	size_t len;

	*name = "options";
	if (lua_type(L, -2) != LUA_TSTRING)
		return "option names must be strings";
	*name = lua_tostring(L, -2);
	for (o = options; o->name != NULL; o++)
		if (strcmp(o->name, *name) == 0)
			break;
	if (o->name == NULL)
		return "unknown option";
	field = (char *)cfg + o->offset;
	switch (o->type) {
	case OPT_STRING:
	case OPT_HEADER:
		if (lua_type(L, -1) != LUA_TSTRING)
			return "expected a string";
		s = lua_tolstring(L, -1, &len);
		if (o->type == OPT_HEADER) {
			const char *reason = control_reason(L, s, len);

			if (reason != NULL)
				return reason;
		}
		if (strlen(s) != len)
			return "must not contain NUL bytes";
		if (dts_http_set_string(field, s, len) != 0)
			luaL_error(L, "not enough memory");
		return NULL;
	case OPT_SECONDS:
		return get_seconds(L, -1, field);
	case OPT_SIZE:
		return get_size(L, -1, field);
	case OPT_BOOLEAN:
		if (lua_type(L, -1) != LUA_TBOOLEAN)
			return "expected a boolean";
		*(int *)field = lua_toboolean(L, -1);
		return NULL;
	}
	return NULL;
}

/***
 * A client: one libcurl handle, its connection kept alive between requests.
 * Unknown options and wrong types are refused, naming the option.
 * @function new
 * @tparam[opt] table options all optional:
 * @tparam string options.ca_file trusted CAs (default: the system store)
 * @tparam string options.ca_path a directory of trusted CAs
 * @tparam string options.client_cert client certificate (PEM)
 * @tparam string options.client_key its key (PEM)
 * @tparam string options.proxy proxy URL; `""` disables proxies (default:
 *   libcurl's environment rules)
 * @tparam string options.no_proxy hosts reached without the proxy
 * @tparam[opt=5] number options.connect_timeout seconds (fractions allowed)
 * @tparam[opt=30] number options.timeout seconds for a whole request (fractions allowed)
 * @tparam number options.max_response_size bytes (default 8 MiB); larger
 *   answers fail with kind `protocol`
 * @tparam string options.user_agent default `lua-dts/<version>`
 * @tparam[opt=false] boolean options.allow_http plain `http://` is refused unless set
 * @tparam string options.connect_to connect to this address while the URL's
 *   host name is used for SNI, the certificate check and `Host`
 * @tparam string options.insecure_host **unsafe**: turns TLS verification
 *   off for requests to this one host name; every error for such a request says so
 * @treturn client
 * @return[2] nil
 * @treturn[2] table err `{ kind = "invalid_argument", message }`
 */
static int l_new(lua_State *L)
{
	struct lclient *lc;
	struct dts_http_client *c;
	const char *name, *reason;
	char msg[256];

	if (!lua_isnoneornil(L, 1))
		luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	lc = dts_newuserdata(L, sizeof *lc);
	lc->busy = lc->close_pending = 0;
	c = &lc->http;
	dts_http_init(c);
	luaL_getmetatable(L, CLIENT_MT);
	lua_setmetatable(L, -2);
	if (lua_istable(L, 1)) {
		lua_pushnil(L);
		while (lua_next(L, 1) != 0) {
			reason = set_option(L, &c->cfg, &name);
			if (reason != NULL)
				return push_invalid(L, name, reason);
			lua_pop(L, 1);
		}
	}
	if (dts_http_open(c, msg, sizeof msg) != 0)
		return push_error(L, DTS_HTTP_NETWORK, msg);
	return 1;
}

static struct lclient *check_client(lua_State *L)
{
	return luaL_checkudata(L, 1, CLIENT_MT);
}

static int is_token(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!DTS_IS_TCHAR[(unsigned char)s[i]])
			return 0;
	return len > 0;
}

static const char *get_headers(lua_State *L, struct dts_http_client *c,
			       int idx, const char **field)
{
	const char *name, *value, *reason;
	size_t name_len, value_len;

	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING)
			return "names must be strings";
		name = lua_tolstring(L, -2, &name_len);
		*field = name;
		if (!is_token(name, name_len))
			return "invalid header name";
		if (lua_type(L, -1) != LUA_TSTRING &&
		    lua_type(L, -1) != LUA_TNUMBER)
			return "expected a string";
		/* A number becomes a string in its stack slot only: the key,
		 * which lua_next needs, is untouched. */
		value = lua_tolstring(L, -1, &value_len);
		if ((reason = control_reason(L, value, value_len)) != NULL)
			return reason;
		if (dts_http_add_header(c, name, name_len, value, value_len) != 0)
			luaL_error(L, "not enough memory");
		lua_pop(L, 1);
	}
	return NULL;
}

/*
 * The request's field names and the answer's keys, made once: an upvalue
 * of request (a table indexed by these numbers).
 */
enum { K_METHOD = 1, K_URL, K_BODY, K_CONNECT_TIMEOUT, K_TIMEOUT, K_HEADERS,
       K_STATUS, K_COUNT };
static const char *const key_names[K_COUNT] = {
	"", "method", "url", "body", "connect_timeout", "timeout", "headers",
	"status"
};

/* Pushes request[name], read raw (the request is at 2). */
static void req_field(lua_State *L, int key)
{
	lua_rawgeti(L, lua_upvalueindex(1), key);
	lua_rawget(L, 2);
}

/* Reads the request table at 2 into r; the strings stay on the stack. */
static const char *get_request(lua_State *L, struct dts_http_client *c,
			       struct dts_http_request *r, const char **field)
{
	const char *reason;
	size_t len;

	memset(r, 0, sizeof *r);
	*field = "method";
	req_field(L, K_METHOD);
	if (!lua_isnil(L, -1)) {
		if (lua_type(L, -1) != LUA_TSTRING)
			return "expected a string";
		r->method = lua_tolstring(L, -1, &len);
		if (!is_token(r->method, len))
			return "invalid method";
	}
	*field = "url";
	req_field(L, K_URL);
	if (lua_type(L, -1) != LUA_TSTRING)
		return "expected a string";
	r->url = lua_tolstring(L, -1, &len);
	if (strlen(r->url) != len)
		return "must not contain NUL bytes";
	*field = "body";
	req_field(L, K_BODY);
	if (!lua_isnil(L, -1)) {
		if (lua_type(L, -1) != LUA_TSTRING)
			return "expected a string";
		r->body = lua_tolstring(L, -1, &r->body_len);
	}
	*field = "connect_timeout";
	req_field(L, K_CONNECT_TIMEOUT);
	if (!lua_isnil(L, -1) &&
	    (reason = get_seconds(L, -1, &r->connect_timeout_ms)) != NULL)
		return reason;
	*field = "timeout";
	req_field(L, K_TIMEOUT);
	if (!lua_isnil(L, -1) &&
	    (reason = get_seconds(L, -1, &r->timeout_ms)) != NULL)
		return reason;
	*field = "headers";
	req_field(L, K_HEADERS);
	if (lua_isnil(L, -1))
		return NULL;
	if (!lua_istable(L, -1))
		return "expected a table";
	return get_headers(L, c, lua_gettop(L), field);
}

/* t[key] = the value on top (popped); t is at -2 before the value. */
static void set_key(lua_State *L, int key)
{
	lua_rawgeti(L, lua_upvalueindex(1), key);
	lua_insert(L, -2);
	lua_rawset(L, -3);
}

static void push_response(lua_State *L, const struct dts_http_client *c)
{
	const char *p = c->head.data, *end = p + c->head.len;
	size_t n = 0;

	for (; p < end; p += strlen(p) + 1)
		n++;
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, (lua_Integer)c->status);
	set_key(L, K_STATUS);
	lua_createtable(L, 0, (int)(n / 2));
	for (p = c->head.data; p < end;) {
		const char *name = p;
		size_t name_len = strlen(name);
		const char *value = name + name_len + 1;
		size_t value_len = strlen(value);

		p = value + value_len + 1;
		lua_pushlstring(L, name, name_len);
		lua_pushvalue(L, -1);
		lua_rawget(L, -3);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			lua_pushlstring(L, value, value_len);
		} else {
			lua_pushliteral(L, ", ");
			lua_pushlstring(L, value, value_len);
			lua_concat(L, 3);
		}
		lua_rawset(L, -3);
	}
	set_key(L, K_HEADERS);
	lua_pushlstring(L, c->body.len ? c->body.data : "", c->body.len);
	set_key(L, K_BODY);
}

/* err.request_sent: whether the request went out before the failure (a
 * refused connection or a TLS handshake sends nothing), so the Lua layer
 * can tell "not sent" from "sent, no answer".  libcurl counts the request
 * bytes it wrote during this transfer. */
static void push_request_sent(lua_State *L, struct dts_http_client *c,
			      enum dts_http_kind kind)
{
	long bytes = 0;

	if (kind != DTS_HTTP_INVALID_ARGUMENT &&
	    curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &bytes) != CURLE_OK)
		bytes = 1;	/* unknown: say it may have gone out */
	lua_pushboolean(L, bytes > 0);
	lua_setfield(L, -2, "request_sent");
}

/* The request proper, under lua_pcall (l_request): 1 client, 2 request. */
static int request_body(lua_State *L)
{
	struct lclient *lc = lua_touserdata(L, 1);
	struct dts_http_client *c = &lc->http;
	struct dts_http_request r;
	const char *field, *reason;
	char msg[512];
	enum dts_http_kind kind;

	dts_http_clear(c);
	reason = get_request(L, c, &r, &field);
	if (reason == NULL && (lc->close_pending || c->easy == NULL)) {
		field = "request";
		reason = "the client was closed while the request was read";
	}
	if (reason != NULL) {
		dts_http_clear(c);
		return push_invalid(L, field, reason);
	}
	kind = dts_http_perform(c, &r, msg, sizeof msg);
	if (kind != DTS_HTTP_OK) {
		dts_http_clear(c);
		push_error(L, kind, msg);
		push_request_sent(L, c, kind);
		return 2;
	}
	push_response(L, c);
	dts_http_clear(c);
	return 1;
}

/***
 * Sends one request and reads the whole answer.  Messages name the
 * scheme, host and port only: a signed V1 URL carries the signature and
 * the STS token, so it never appears in an error.  A request made by a
 * finalizer while another request of the same client runs is refused
 * (kind `invalid_argument`).
 * @function client:request
 * @tparam table req
 * @tparam string req.method e.g. `"POST"`
 * @tparam string req.url `https://host[:port]/path?query` (`http://` only with `allow_http`)
 * @tparam[opt] table req.headers name -> value
 * @tparam[opt] string req.body the exact bytes to send
 * @tparam[opt] number req.connect_timeout seconds, for this request (default: the client's)
 * @tparam[opt] number req.timeout seconds, for this request (default: the client's)
 * @treturn table `{ status, headers, body }`, header names lower-case
 * @return[2] nil
 * @treturn[2] table err `{ kind, message, request_sent }`: `kind` one of
 *   `timeout`, `tls`, `network`, `invalid_argument`, `protocol`;
 *   `request_sent` whether the request had gone out (false for a refused
 *   connection); `tostring(err)` reads `kind: message`
 */
static int l_request(lua_State *L)
{
	struct lclient *lc = check_client(L);
	int rc;

	luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	/* request_body, made once with the keys (no allocation here). */
	lua_pushvalue(L, lua_upvalueindex(2));
	lua_insert(L, 1);
	luaL_argcheck(L, lc->http.easy != NULL, 1, "client is closed");
	if (lc->busy)
		return push_invalid(L, "request", "the client is running a request "
				    "already (called from a finalizer?)");
	lc->busy = 1;
	rc = lua_pcall(L, 2, LUA_MULTRET, 0);
	lc->busy = 0;
	if (lc->close_pending) {
		lc->close_pending = 0;
		dts_http_close(&lc->http);
	}
	if (rc != 0)
		return lua_error(L);
	return lua_gettop(L);
}

/***
 * Releases the libcurl handle and its connection (also done by the garbage
 * collector, and by `<close>` on Lua 5.4).  Idempotent; a request after it
 * raises ("client is closed").
 * @function client:close
 */

/*
 * close, __close and __gc: idempotent, and deferred while a request runs.
 * (The collector never finalizes a client in a request, which holds it on
 * its stack, but getmetatable(client).__gc is anyone's to call.)
 */
static int l_close(lua_State *L)
{
	struct lclient *lc = check_client(L);

	if (lc->busy)
		lc->close_pending = 1;
	else
		dts_http_close(&lc->http);
	return 0;
}

static int l_tostring(lua_State *L)
{
	struct lclient *lc = check_client(L);

	if (lc->http.easy == NULL || lc->close_pending)
		lua_pushliteral(L, CLIENT_MT " (closed)");
	else
		lua_pushfstring(L, CLIENT_MT " (%p)", (void *)lc);
	return 1;
}

/***
 * Sleeps: the blocking pause between retries of plain Lua, which has no
 * sleep of its own.  Returns at once when a trapped signal arrives.
 * @function sleep
 * @tparam number seconds 0 to 86400, fractions allowed
 */
static int l_sleep(lua_State *L)
{
	double s = luaL_checknumber(L, 1);
	struct timespec ts;

	luaL_argcheck(L, s >= 0 && s <= 86400, 1, "expected seconds in [0, 86400]");
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (dts_signals_caught() == 0 && nanosleep(&ts, &ts) != 0 &&
	       errno == EINTR)
		;
	return 0;
}

/***
 * Installs handlers for SIGINT and SIGTERM that only record the signal (a
 * signal ignored at that moment stays ignored), after which a transfer
 * under way ends within about a second, @{sleep} returns at once, and
 * @{interrupted} returns the signal's number.  Signal dispositions belong
 * to the process: this is the module's one process-wide state.  The `dts`
 * command uses it to stop cleanly; a library that embeds lua-dts keeps its
 * own signal handling unless it calls it.
 * @function trap_signals
 * @tparam[opt=true] boolean on `false` puts the old handlers back
 * @treturn true
 * @return[2] nil
 * @treturn[2] string the system's message
 */
static int l_trap_signals(lua_State *L)
{
	if (dts_signals_trap(lua_isnoneornil(L, 1) || lua_toboolean(L, 1)) != 0) {
		lua_pushnil(L);
		lua_pushstring(L, strerror(errno));
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

/***
 * The signal @{trap_signals} caught.
 * @function interrupted
 * @treturn integer the signal's number (2 SIGINT, 15 SIGTERM), or nil before one
 */
static int l_interrupted(lua_State *L)
{
	int sig = dts_signals_caught();

	if (sig == 0)
		lua_pushnil(L);
	else
		lua_pushinteger(L, sig);
	return 1;
}

/***
 * fsync(2) of a file or a directory (Lua's io library cannot): what makes
 * an atomic replace durable.
 * @function fsync
 * @tparam string path
 * @treturn true
 * @return[2] nil
 * @treturn[2] string `fsync PATH: reason`
 */
static int l_fsync(lua_State *L)
{
	size_t len;
	const char *path = luaL_checklstring(L, 1, &len);

	if (strlen(path) != len || dts_fsync_path(path) != 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "fsync %s: %s", path,
				strlen(path) != len ? "NUL in the name" :
				strerror(errno));
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

int luaopen_dts_curl(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "request", l_request },
		{ "close", l_close },
		{ NULL, NULL }
	};
	static const luaL_Reg meta[] = {
		{ "__gc", l_close },
#if LUA_VERSION_NUM >= 504
		{ "__close", l_close },
#endif
		{ "__tostring", l_tostring },
		{ NULL, NULL }
	};
	static const luaL_Reg funcs[] = {
		{ "new", l_new },
		{ "sleep", l_sleep },
		{ "trap_signals", l_trap_signals },
		{ "interrupted", l_interrupted },
		{ "fsync", l_fsync },
		{ NULL, NULL }
	};
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	int i;

	luaL_newmetatable(L, CLIENT_MT);
	luaL_setfuncs(L, meta, 0);
	luaL_newlibtable(L, methods);
	/* Upvalues of the methods: the keys, and request_body (with them). */
	lua_createtable(L, K_COUNT, 0);
	for (i = 1; i < K_COUNT; i++) {
		lua_pushstring(L, key_names[i]);
		lua_rawseti(L, -2, i);
	}
	lua_pushvalue(L, -1);
	lua_pushcclosure(L, request_body, 1);
	luaL_setfuncs(L, methods, 2);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	luaL_newmetatable(L, ERROR_MT);
	lua_pushcfunction(L, l_error_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	luaL_newlib(L, funcs);
	lua_pushfstring(L, "libcurl/%s %s", v->version,
			v->ssl_version ? v->ssl_version : "no-TLS");
	lua_setfield(L, -2, "version");
	return 1;
}
