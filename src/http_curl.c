/* HTTPS over libcurl: see http_curl.h. */
#include "http_curl.h"
#include "signals.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_USER_AGENT "lua-dts/" DTS_VERSION
#define UNSAFE_NOTE " (TLS verification is disabled for this host: unsafe)"

enum {
	ABORT_NONE, ABORT_BODY_SIZE, ABORT_HEADER_SIZE, ABORT_NO_MEMORY,
	ABORT_VERSION, ABORT_INTERIM
};

/*
 * The one process-wide static: curl_global_init must run once before any
 * other libcurl call and must not race with itself, while dts.curl may be
 * loaded into several Lua states on several threads.  It is never undone:
 * another library in the process may be using libcurl too.
 */
static struct {
	pthread_once_t once;
	CURLcode rc;
} global = { PTHREAD_ONCE_INIT, CURLE_OK };

static void global_init(void)
{
	global.rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void dts_http_init(struct dts_http_client *c)
{
	memset(c, 0, sizeof *c);
	c->cfg.connect_timeout_ms = DTS_HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
	c->cfg.timeout_ms = DTS_HTTP_DEFAULT_TIMEOUT_MS;
	c->cfg.max_response_size = DTS_HTTP_DEFAULT_MAX_RESPONSE;
}

int dts_http_set_string(char **field, const char *s, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return -1;
	memcpy(copy, s, len);
	copy[len] = '\0';
	free(*field);
	*field = copy;
	return 0;
}

int dts_http_open(struct dts_http_client *c, char *msg, size_t msglen)
{
	pthread_once(&global.once, global_init);
	if (global.rc != CURLE_OK) {
		snprintf(msg, msglen, "libcurl initialisation failed: %s",
			 curl_easy_strerror(global.rc));
		return -1;
	}
	c->easy = curl_easy_init();
	if (c->easy == NULL) {
		snprintf(msg, msglen, "libcurl: cannot create a handle");
		return -1;
	}
	return 0;
}

/* What a request grew beyond this is released after it, not kept. */
#define KEEP_BYTES (64u << 10)

static void empty(struct dts_http_buf *b)
{
	if (b->cap > KEEP_BYTES) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
	b->len = 0;
}

static void origin_free(struct dts_http_origin *o)
{
	free(o->text);
	curl_free(o->scheme);
	curl_free(o->host);
	curl_free(o->port);
	curl_slist_free_all(o->connect_to);
	memset(o, 0, sizeof *o);
}

void dts_http_clear(struct dts_http_client *c)
{
	c->headers = NULL;
	c->nlines = 0;
	c->has_type = c->has_expect = 0;
	empty(&c->lines);
	empty(&c->body);
	empty(&c->head);
	c->status = 0;
	c->abort_reason = ABORT_NONE;
	c->sent = 0;
	c->encoded = 0;
	c->interim = 0;
}

void dts_http_close(struct dts_http_client *c)
{
	char **strings[] = {
		&c->cfg.ca_file, &c->cfg.ca_path, &c->cfg.client_cert,
		&c->cfg.client_key, &c->cfg.proxy, &c->cfg.no_proxy,
		&c->cfg.user_agent, &c->cfg.insecure_host, &c->cfg.connect_to
	};
	size_t i;

	dts_http_clear(c);
	if (c->easy != NULL) {
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
	}
	free(c->lines.data);
	free(c->body.data);
	free(c->head.data);
	free(c->nodes);
	memset(&c->lines, 0, sizeof c->lines);
	memset(&c->body, 0, sizeof c->body);
	memset(&c->head, 0, sizeof c->head);
	c->nodes = NULL;
	c->nodes_cap = 0;
	origin_free(&c->origin);
	for (i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
}

const char *dts_http_control_char(const char *s, size_t len)
{
	size_t i = 0;

	/* Eight bytes at a time while none is below 0x20 or 0x7F or above
	 * (every byte of most values): the classic "has a byte < n" test. */
	while (len - i >= 8) {
		uint64_t x;

		memcpy(&x, s + i, 8);
		if (((x - 0x2020202020202020ULL) | (x + 0x0101010101010101ULL)) &
		    ~x & 0x8080808080808080ULL)
			break;
		i += 8;
	}
	for (; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return s + i;
	}
	return NULL;
}

/* Room for n more bytes in b (no limit but memory). */
static int grow(struct dts_http_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *data;

	if (n <= b->cap - b->len)
		return 0;
	if (n > (size_t)-1 / 2 - b->len)
		return -1;
	while (cap - b->len < n)
		cap *= 2;
	data = realloc(b->data, cap);
	if (data == NULL)
		return -1;
	b->data = data;
	b->cap = cap;
	return 0;
}

/* One "Name: value" line (NUL-ended) into c->lines; the list of nodes
 * that libcurl reads is made once all are in (link_headers). */
static int add_line(struct dts_http_client *c, const char *name,
		    size_t name_len, const char *value, size_t value_len)
{
	char *line;

	if (grow(&c->lines, name_len + value_len + 3) != 0)
		return -1;
	if (name_len == 12 && strncasecmp(name, "Content-Type", 12) == 0)
		c->has_type = 1;
	else if (name_len == 6 && strncasecmp(name, "Expect", 6) == 0)
		c->has_expect = 1;
	line = c->lines.data + c->lines.len;
	memcpy(line, name, name_len);
	if (value_len == 0 && value != NULL) {
		/* "Name:" would make libcurl drop the header; "Name;" sends it
		 * empty. */
		memcpy(line + name_len, ";", 2);
		c->lines.len += name_len + 2;
	} else if (value == NULL) {
		/* "Name:": libcurl sends no header of that name at all. */
		memcpy(line + name_len, ":", 2);
		c->lines.len += name_len + 2;
	} else {
		memcpy(line + name_len, ": ", 2);
		memcpy(line + name_len + 2, value, value_len);
		line[name_len + 2 + value_len] = '\0';
		c->lines.len += name_len + value_len + 3;
	}
	c->nlines++;
	return 0;
}

int dts_http_add_header(struct dts_http_client *c, const char *name,
			size_t name_len, const char *value, size_t value_len)
{
	return add_line(c, name, name_len, value != NULL ? value : "", value_len);
}

/* c->headers: a list over c->lines, in nodes this client keeps. */
static int link_headers(struct dts_http_client *c)
{
	char *p = c->lines.data;
	size_t i;

	c->headers = NULL;
	if (c->nlines == 0)
		return 0;
	if (c->nlines > c->nodes_cap) {
		struct curl_slist *nodes = realloc(c->nodes, c->nlines * sizeof *nodes);

		if (nodes == NULL)
			return -1;
		c->nodes = nodes;
		c->nodes_cap = c->nlines;
	}
	for (i = 0; i < c->nlines; i++) {
		c->nodes[i].data = p;
		c->nodes[i].next = i + 1 < c->nlines ? &c->nodes[i + 1] : NULL;
		p += strlen(p) + 1;
	}
	c->headers = c->nodes;
	return 0;
}

/* Make room for n more bytes, never beyond limit (the caller checked). */
static int reserve(struct dts_http_buf *b, size_t n, size_t limit)
{
	size_t cap = b->cap ? b->cap : 16384;
	char *data;

	if (b->len + n <= b->cap)
		return 0;
	while (cap < b->len + n)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	data = realloc(b->data, cap);
	if (data == NULL)
		return -1;
	b->data = data;
	b->cap = cap;
	return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct dts_http_client *c = ud;
	size_t len = size * n;

	/* Checked while receiving too: chunked answers carry no length for
	 * CURLOPT_MAXFILESIZE to refuse early. */
	if (len > c->cfg.max_response_size - c->body.len) {
		c->abort_reason = ABORT_BODY_SIZE;
		return 0;
	}
	if (reserve(&c->body, len, c->cfg.max_response_size) != 0) {
		c->abort_reason = ABORT_NO_MEMORY;
		return 0;
	}
	memcpy(c->body.data + c->body.len, p, len);
	c->body.len += len;
	return len;
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* libcurl hands over one whole header line per call, status lines too. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct dts_http_client *c = ud;
	size_t len = size * n, name_len, value_len, i;
	const char *colon, *value, *end = p + len;
	char *out;

	/* A new response starts (after 100 Continue, a proxy's CONNECT):
	 * only the final one's headers are kept.  Requests go out as
	 * HTTP/1.1 only (see setup_client), so any other version in a status
	 * line is a server that does not speak the protocol it was asked in
	 * (libcurl would take "HTTP/2 200" on an HTTP/1.1 connection). */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		if (len < 9 || (memcmp(p, "HTTP/1.1 ", 9) != 0 &&
				memcmp(p, "HTTP/1.0 ", 9) != 0)) {
			c->abort_reason = ABORT_VERSION;
			return 0;
		}
		if (len > 9 && p[9] == '1' &&
		    ++c->interim > DTS_HTTP_MAX_INTERIM) {
			c->abort_reason = ABORT_INTERIM;
			return 0;
		}
		c->head.len = 0;
		c->encoded = 0;
		return len;
	}
	colon = memchr(p, ':', len);
	if (colon == NULL || colon == p || memchr(p, '\0', len) != NULL)
		return len;
	value = colon + 1;
	while (value < end && is_space(*value))
		value++;
	while (end > value && is_space(end[-1]))
		end--;
	name_len = (size_t)(colon - p);
	value_len = (size_t)(end - value);
	if (name_len == 16 && strncasecmp(p, "content-encoding", 16) == 0 &&
	    !(value_len == 8 && strncasecmp(value, "identity", 8) == 0) &&
	    value_len > 0)
		c->encoded = 1;
	if (name_len + value_len + 2 > DTS_HTTP_MAX_HEADER_BYTES - c->head.len) {
		c->abort_reason = ABORT_HEADER_SIZE;
		return 0;
	}
	if (reserve(&c->head, name_len + value_len + 2,
		    DTS_HTTP_MAX_HEADER_BYTES) != 0) {
		c->abort_reason = ABORT_NO_MEMORY;
		return 0;
	}
	out = c->head.data + c->head.len;
	for (i = 0; i < name_len; i++)
		*out++ = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
	*out++ = '\0';
	memcpy(out, value, value_len);
	out[value_len] = '\0';
	c->head.len += name_len + value_len + 2;
	return len;
}

/* The request is about to go out: from here on, a failure may come after
 * the server got it. */
static int on_prereq(void *ud, char *primary_ip, char *local_ip,
		     int primary_port, int local_port)
{
	struct dts_http_client *c = ud;

	(void)primary_ip;
	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	c->sent = 1;
	return CURL_PREREQFUNC_OK;
}

/*
 * Every CURLcode, deliberately: the kind of a failure before the request
 * went out (nothing was sent: on_prereq never ran) and after.  The kinds
 * mean: invalid_argument, bad input, nothing sent (exit 2); network, no
 * usable answer and a resend is harmless (the ClientToken makes a replay
 * idempotent), retried; timeout, the same for time; tls, the secure
 * channel failed, not retried; protocol, the server answered something
 * that is not a usable HTTP/1.x answer, not retried (exit 4 for all four).
 * Codes that HTTP(S) transfers never return (FTP, SMTP, TFTP, SSH, LDAP,
 * RTSP, obsolete) are network: if one ever comes, nothing usable came back.
 * A code missing here (a libcurl newer than this table) is network too.
 * dts_http_perform refines a few by what the callbacks saw.
 */
struct code_kind {
	unsigned char before, after;
};

#define K(before, after) { DTS_HTTP_##before, DTS_HTTP_##after }
#define UNUSED K(NETWORK, NETWORK)

static const struct code_kind code_kinds[] = {
	/* A scheme this libcurl does not speak (http and https are checked
	 * before, so a proxy's) / HTTP/0.9, bytes that are not HTTP, an
	 * unknown HTTP version in the status line. */
	[CURLE_UNSUPPORTED_PROTOCOL] = K(INVALID_ARGUMENT, PROTOCOL),
	/* libcurl could not set itself up. */
	[CURLE_FAILED_INIT] = K(NETWORK, NETWORK),
	/* The URL (parsed before too) or the proxy URL / a Location, never
	 * followed. */
	[CURLE_URL_MALFORMAT] = K(INVALID_ARGUMENT, PROTOCOL),
	/* An option or protocol this libcurl was built without. */
	[CURLE_NOT_BUILT_IN] = K(INVALID_ARGUMENT, INVALID_ARGUMENT),
	[CURLE_COULDNT_RESOLVE_PROXY] = K(NETWORK, NETWORK),
	[CURLE_COULDNT_RESOLVE_HOST] = K(NETWORK, NETWORK),
	[CURLE_COULDNT_CONNECT] = K(NETWORK, NETWORK),
	/* A proxy's or the server's answer libcurl cannot parse. */
	[CURLE_WEIRD_SERVER_REPLY] = K(PROTOCOL, PROTOCOL),
	[CURLE_REMOTE_ACCESS_DENIED] = UNUSED,
	[CURLE_FTP_ACCEPT_FAILED] = UNUSED,
	[CURLE_FTP_WEIRD_PASS_REPLY] = UNUSED,
	[CURLE_FTP_ACCEPT_TIMEOUT] = UNUSED,
	[CURLE_FTP_WEIRD_PASV_REPLY] = UNUSED,
	[CURLE_FTP_WEIRD_227_FORMAT] = UNUSED,
	[CURLE_FTP_CANT_GET_HOST] = UNUSED,
	/* HTTP/2 framing (requests go out as HTTP/1.1 only). */
	[CURLE_HTTP2] = K(PROTOCOL, PROTOCOL),
	[CURLE_FTP_COULDNT_SET_TYPE] = UNUSED,
	/* The connection closed before the whole answer came. */
	[CURLE_PARTIAL_FILE] = K(NETWORK, NETWORK),
	[CURLE_FTP_COULDNT_RETR_FILE] = UNUSED,
	[CURLE_OBSOLETE20] = UNUSED,
	[CURLE_QUOTE_ERROR] = UNUSED,
	/* Only with CURLOPT_FAILONERROR, never set: a 4xx/5xx is an answer. */
	[CURLE_HTTP_RETURNED_ERROR] = K(PROTOCOL, PROTOCOL),
	/* A callback refused the answer (abort_reason says why). */
	[CURLE_WRITE_ERROR] = K(PROTOCOL, PROTOCOL),
	[CURLE_OBSOLETE24] = UNUSED,
	/* Sending the request body failed. */
	[CURLE_UPLOAD_FAILED] = K(NETWORK, NETWORK),
	[CURLE_READ_ERROR] = K(NETWORK, NETWORK),
	/* Before: memory ran out.  After: also what libcurl 7.x says of a
	 * header line over its 100 KiB limit (CURLE_TOO_LARGE since 8.6). */
	[CURLE_OUT_OF_MEMORY] = K(NETWORK, PROTOCOL),
	[CURLE_OPERATION_TIMEDOUT] = K(TIMEOUT, TIMEOUT),
	[CURLE_OBSOLETE29] = UNUSED,
	[CURLE_FTP_PORT_FAILED] = UNUSED,
	[CURLE_FTP_COULDNT_USE_REST] = UNUSED,
	[CURLE_OBSOLETE32] = UNUSED,
	/* Only with a Range request, never made. */
	[CURLE_RANGE_ERROR] = K(PROTOCOL, PROTOCOL),
	[CURLE_HTTP_POST_ERROR] = K(NETWORK, NETWORK),
	[CURLE_SSL_CONNECT_ERROR] = K(TLS, TLS),
	[CURLE_BAD_DOWNLOAD_RESUME] = UNUSED,
	[CURLE_FILE_COULDNT_READ_FILE] = UNUSED,
	[CURLE_LDAP_CANNOT_BIND] = UNUSED,
	[CURLE_LDAP_SEARCH_FAILED] = UNUSED,
	[CURLE_OBSOLETE40] = UNUSED,
	[CURLE_FUNCTION_NOT_FOUND] = UNUSED,
	/* A callback said stop (abort_reason says why). */
	[CURLE_ABORTED_BY_CALLBACK] = K(NETWORK, PROTOCOL),
	/* An option value libcurl refuses. */
	[CURLE_BAD_FUNCTION_ARGUMENT] = K(INVALID_ARGUMENT, INVALID_ARGUMENT),
	[CURLE_OBSOLETE44] = UNUSED,
	[CURLE_INTERFACE_FAILED] = K(NETWORK, NETWORK),
	[CURLE_OBSOLETE46] = UNUSED,
	/* Redirects are never followed. */
	[CURLE_TOO_MANY_REDIRECTS] = K(PROTOCOL, PROTOCOL),
	/* An option this libcurl does not know, or a malformed one. */
	[CURLE_UNKNOWN_OPTION] = K(INVALID_ARGUMENT, INVALID_ARGUMENT),
	[CURLE_SETOPT_OPTION_SYNTAX] = K(INVALID_ARGUMENT, INVALID_ARGUMENT),
	[CURLE_OBSOLETE50] = UNUSED,
	[CURLE_OBSOLETE51] = UNUSED,
	/* The server closed without a byte of an answer ("Empty reply"). */
	[CURLE_GOT_NOTHING] = K(NETWORK, NETWORK),
	[CURLE_SSL_ENGINE_NOTFOUND] = K(TLS, TLS),
	[CURLE_SSL_ENGINE_SETFAILED] = K(TLS, TLS),
	[CURLE_SEND_ERROR] = K(NETWORK, NETWORK),
	/* A reset connection; a malformed chunked body is refined to
	 * protocol. */
	[CURLE_RECV_ERROR] = K(NETWORK, NETWORK),
	[CURLE_OBSOLETE57] = UNUSED,
	/* The client certificate or key. */
	[CURLE_SSL_CERTPROBLEM] = K(TLS, TLS),
	[CURLE_SSL_CIPHER] = K(TLS, TLS),
	[CURLE_PEER_FAILED_VERIFICATION] = K(TLS, TLS),
	/* Only when decoding, never asked for (see on_header). */
	[CURLE_BAD_CONTENT_ENCODING] = K(PROTOCOL, PROTOCOL),
	[CURLE_OBSOLETE62] = UNUSED,
	/* A Content-Length over max_response_size. */
	[CURLE_FILESIZE_EXCEEDED] = K(PROTOCOL, PROTOCOL),
	[CURLE_USE_SSL_FAILED] = K(TLS, TLS),
	/* The request had to be sent again and could not be. */
	[CURLE_SEND_FAIL_REWIND] = K(NETWORK, NETWORK),
	[CURLE_SSL_ENGINE_INITFAILED] = K(TLS, TLS),
	[CURLE_LOGIN_DENIED] = UNUSED,
	[CURLE_TFTP_NOTFOUND] = UNUSED,
	[CURLE_TFTP_PERM] = UNUSED,
	[CURLE_REMOTE_DISK_FULL] = UNUSED,
	[CURLE_TFTP_ILLEGAL] = UNUSED,
	[CURLE_TFTP_UNKNOWNID] = UNUSED,
	[CURLE_REMOTE_FILE_EXISTS] = UNUSED,
	[CURLE_TFTP_NOSUCHUSER] = UNUSED,
	[CURLE_OBSOLETE75] = UNUSED,
	[CURLE_OBSOLETE76] = UNUSED,
	/* ca_file / ca_path cannot be read. */
	[CURLE_SSL_CACERT_BADFILE] = K(TLS, TLS),
	[CURLE_REMOTE_FILE_NOT_FOUND] = UNUSED,
	[CURLE_SSH] = UNUSED,
	[CURLE_SSL_SHUTDOWN_FAILED] = K(TLS, TLS),
	[CURLE_AGAIN] = K(NETWORK, NETWORK),
	[CURLE_SSL_CRL_BADFILE] = K(TLS, TLS),
	[CURLE_SSL_ISSUER_ERROR] = K(TLS, TLS),
	[CURLE_FTP_PRET_FAILED] = UNUSED,
	[CURLE_RTSP_CSEQ_ERROR] = UNUSED,
	[CURLE_RTSP_SESSION_ERROR] = UNUSED,
	[CURLE_FTP_BAD_FILE_LIST] = UNUSED,
	[CURLE_CHUNK_FAILED] = UNUSED,
	[CURLE_NO_CONNECTION_AVAILABLE] = K(NETWORK, NETWORK),
	[CURLE_SSL_PINNEDPUBKEYNOTMATCH] = K(TLS, TLS),
	[CURLE_SSL_INVALIDCERTSTATUS] = K(TLS, TLS),
	[CURLE_HTTP2_STREAM] = K(PROTOCOL, PROTOCOL),
	/* A libcurl call from inside a callback: none is made. */
	[CURLE_RECURSIVE_API_CALL] = K(NETWORK, NETWORK),
	/* Proxy authentication. */
	[CURLE_AUTH_ERROR] = K(NETWORK, NETWORK),
	[CURLE_HTTP3] = K(PROTOCOL, PROTOCOL),
	[CURLE_QUIC_CONNECT_ERROR] = K(NETWORK, NETWORK),
	/* The proxy refused or broke the tunnel. */
	[CURLE_PROXY] = K(NETWORK, NETWORK),
	/* The server wants a client certificate. */
	[CURLE_SSL_CLIENTCERT] = K(TLS, TLS),
	[CURLE_UNRECOVERABLE_POLL] = K(NETWORK, NETWORK),
#if LIBCURL_VERSION_NUM >= 0x080600
	/* A header line, the header block or another answer part over
	 * libcurl's own limits. */
	[CURLE_TOO_LARGE] = K(PROTOCOL, PROTOCOL),
#endif
#if LIBCURL_VERSION_NUM >= 0x080800
	[CURLE_ECH_REQUIRED] = K(TLS, TLS),
#endif
};

#undef UNUSED
#undef K

static enum dts_http_kind kind_of(CURLcode rc, int sent)
{
	const struct code_kind *k;

	if ((size_t)rc >= sizeof code_kinds / sizeof *code_kinds)
		return DTS_HTTP_NETWORK;
	k = &code_kinds[rc];
	if (k->before == DTS_HTTP_OK)
		return DTS_HTTP_NETWORK;
	return (enum dts_http_kind)(sent ? k->after : k->before);
}

/* insecure_host is a bare name or address: "[::1]" in a URL is "::1". */
static int same_host(const char *url_host, const char *name)
{
	size_t n = strlen(url_host);

	if (n >= 2 && url_host[0] == '[' && url_host[n - 1] == ']') {
		url_host++;
		n -= 2;
	}
	return strlen(name) == n && strncasecmp(url_host, name, n) == 0;
}

/* CURLOPT_CONNECT_TO "host:port:address:port": TCP goes to address while
 * the URL's host still names the server for SNI, the certificate check
 * and the Host header. */
static int set_connect_to(struct dts_http_client *c, struct dts_http_origin *o,
			  const char *host, const char *port)
{
	const char *to = c->cfg.connect_to;
	int bracket = strchr(to, ':') != NULL && to[0] != '[';
	size_t size = strlen(host) + strlen(to) + 2 * strlen(port) + 6;
	char *line = malloc(size);
	struct curl_slist *list;

	if (line == NULL)
		return -1;
	snprintf(line, size, "%s:%s:%s%s%s:%s", host, port, bracket ? "[" : "",
		 to, bracket ? "]" : "", port);
	list = curl_slist_append(NULL, line);
	free(line);
	if (list == NULL)
		return -1;
	o->connect_to = list;
	return 0;
}

/*
 * libcurl adds a Content-Type to every POST and "Expect: 100-continue" to
 * larger bodies by itself.  A V3 signature covers content-type, so only
 * what the caller set may go out; and waiting for "100 Continue" costs a
 * round trip.  "Name:" with no value tells libcurl not to send its own.
 */
static int suppress_defaults(struct dts_http_client *c)
{
	if (!c->has_type && add_line(c, "Content-Type", 12, NULL, 0) != 0)
		return -1;
	if (!c->has_expect && add_line(c, "Expect", 6, NULL, 0) != 0)
		return -1;
	return 0;
}

#define SET(opt, val) do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(e, opt, val); \
	} while (0)

/* The options that are the same for every request of a client: set once,
 * after a reset (which keeps live connections), not per request. */
static CURLcode setup_client(struct dts_http_client *c)
{
	const struct dts_http_config *cfg = &c->cfg;
	const char *protocols = cfg->allow_http ? "http,https" : "https";
	CURL *e = c->easy;
	CURLcode rc = CURLE_OK;

	curl_easy_reset(e);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_PROTOCOLS_STR, protocols);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, protocols);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* HTTP/1.1 only, as the cosocket transport: one request at a time on
	 * a kept-alive connection gains nothing from HTTP/2, and both
	 * transports then judge a server's answer by the same framing. */
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_PREREQFUNCTION, on_prereq);
	SET(CURLOPT_PREREQDATA, c);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (cfg->ca_file)
		SET(CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->ca_path)
		SET(CURLOPT_CAPATH, cfg->ca_path);
	if (cfg->client_cert)
		SET(CURLOPT_SSLCERT, cfg->client_cert);
	if (cfg->client_key)
		SET(CURLOPT_SSLKEY, cfg->client_key);
	if (cfg->proxy)
		SET(CURLOPT_PROXY, cfg->proxy);
	if (cfg->no_proxy)
		SET(CURLOPT_NOPROXY, cfg->no_proxy);
	SET(CURLOPT_USERAGENT,
	    cfg->user_agent ? cfg->user_agent : DEFAULT_USER_AGENT);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cfg->max_response_size);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, c);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, c);
	/* A trapped SIGINT/SIGTERM ends the transfer (src/signals.c). */
	SET(CURLOPT_XFERINFOFUNCTION, dts_signals_xferinfo);
	c->configured = rc == CURLE_OK;
	return rc;
}

/* Everything a request may change, each set every time so nothing of the
 * previous request lingers. */
static CURLcode setup(struct dts_http_client *c,
		      const struct dts_http_request *r)
{
	const struct dts_http_config *cfg = &c->cfg;
	const char *method = r->method ? r->method : "GET";
	const int insecure = c->origin.insecure;
	CURL *e = c->easy;
	CURLcode rc = c->configured ? CURLE_OK : setup_client(c);

	SET(CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L);
	SET(CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L);
	SET(CURLOPT_CONNECT_TO, c->origin.connect_to);
	/* The progress callback only matters while signals are trapped (the
	 * dts command); without it libcurl skips its progress meter. */
	SET(CURLOPT_NOPROGRESS, dts_signals_trapped() ? 0L : 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms ?
	    r->connect_timeout_ms : cfg->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, r->timeout_ms ? r->timeout_ms : cfg->timeout_ms);
	SET(CURLOPT_URL, r->url);
	if (rc == CURLE_OK && (suppress_defaults(c) != 0 || link_headers(c) != 0))
		rc = CURLE_OUT_OF_MEMORY;
	SET(CURLOPT_HTTPHEADER, c->headers);
	if (r->body != NULL || strcmp(method, "POST") == 0) {
		SET(CURLOPT_NOBODY, 0L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		SET(CURLOPT_POSTFIELDS, r->body ? r->body : "");
		SET(CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") != 0 ? method : NULL);
	} else {
		/* Back to GET from a POST or HEAD before, then the method. */
		SET(CURLOPT_HTTPGET, 1L);
		SET(CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
		SET(CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") != 0 &&
		    strcmp(method, "HEAD") != 0 ? method : NULL);
	}
	if (rc != CURLE_OK)
		c->configured = 0;
	return rc;
}

/* The value of a kept answer header (lower-case name), or "". */
static const char *head_value(const struct dts_http_client *c,
			      const char *name)
{
	const char *p = c->head.data, *end, *value;

	if (c->head.len == 0)
		return "";
	for (end = p + c->head.len; p < end; p = value + strlen(value) + 1) {
		value = p + strlen(p) + 1;
		if (strcmp(p, name) == 0)
			return value;
	}
	return "";
}

/* The reason of a failed transfer, and its kind refined by what the
 * callbacks saw and by libcurl's message where the code alone is
 * ambiguous. */
static const char *refine(struct dts_http_client *c, CURLcode rc,
			  enum dts_http_kind *kind, char *buf, size_t size)
{
	if (c->abort_reason == ABORT_BODY_SIZE ||
	    rc == CURLE_FILESIZE_EXCEEDED) {
		*kind = DTS_HTTP_PROTOCOL;
		snprintf(buf, size,
			 "answer larger than max_response_size (%zu bytes)",
			 c->cfg.max_response_size);
		return buf;
	}
	if (c->abort_reason == ABORT_HEADER_SIZE) {
		*kind = DTS_HTTP_PROTOCOL;
		return "answer headers too large";
	}
	if (c->abort_reason == ABORT_VERSION) {
		*kind = DTS_HTTP_PROTOCOL;
		return "the answer is not HTTP/1.x (its status line names "
		       "another version)";
	}
	if (c->abort_reason == ABORT_INTERIM) {
		*kind = DTS_HTTP_PROTOCOL;
		snprintf(buf, size, "the server sent more than %d interim "
			 "(1xx) answers", DTS_HTTP_MAX_INTERIM);
		return buf;
	}
	if (c->abort_reason == ABORT_NO_MEMORY) {
		*kind = DTS_HTTP_NETWORK;
		return "not enough memory for the answer";
	}
	if (rc == CURLE_OUT_OF_MEMORY && c->sent)
		return "answer headers too large (a line over libcurl's "
		       "limit), or out of memory";
	/* libcurl's "Unsupported proxy scheme/syntax in '<proxy URL>'"
	 * (COULDNT_CONNECT or COULDNT_RESOLVE_PROXY) is the proxy option's
	 * fault, and its URL may hold a password: not shown. */
	if (!c->sent && strncmp(c->errbuf, "Unsupported proxy", 17) == 0) {
		*kind = DTS_HTTP_INVALID_ARGUMENT;
		return "proxy: unsupported scheme or syntax (expected "
		       "\"http://[user:password@]host:port\" or another "
		       "scheme libcurl supports)";
	}
	/* libcurl 7.x/8.x: "... in chunked-encoding" (http_chunks.c). */
	if (rc == CURLE_RECV_ERROR && strstr(c->errbuf, "chunked-encoding"))
		*kind = DTS_HTTP_PROTOCOL;
	return c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
}

/* The length of "scheme://authority" at the start of url, or 0. */
static size_t origin_length(const char *url)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return 0;
	p += 3;
	return (size_t)(p + strcspn(p, "/?#") - url);
}

/* What curl_url refuses anywhere in a URL: control characters, spaces. */
static int clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7F)
			return 0;
	return 1;
}

/*
 * c->origin for r->url: the same scheme://authority text as the last URL
 * is the same parse, so only a new one goes through curl_url.  A message
 * goes to msg (never the URL: signed URLs carry secrets) on failure.
 */
static enum dts_http_kind resolve_origin(struct dts_http_client *c,
					 const char *url, char *msg,
					 size_t msglen)
{
	struct dts_http_origin o;
	const size_t n = origin_length(url);
	CURLUcode uc = CURLUE_OUT_OF_MEMORY;
	CURLU *u;

	if (c->origin.text != NULL && n == c->origin.len &&
	    memcmp(url, c->origin.text, n) == 0 && clean(url + n))
		return DTS_HTTP_OK;
	origin_free(&c->origin);
	memset(&o, 0, sizeof o);
	u = curl_url();
	if (u != NULL)
		uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_SCHEME, &o.scheme, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_HOST, &o.host, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_PORT, &o.port, CURLU_DEFAULT_PORT);
	curl_url_cleanup(u);
	if (uc != CURLUE_OK) {
		origin_free(&o);
		snprintf(msg, msglen, "malformed URL: %s", curl_url_strerror(uc));
		return DTS_HTTP_INVALID_ARGUMENT;
	}
	o.insecure = c->cfg.insecure_host != NULL &&
		     same_host(o.host, c->cfg.insecure_host);
	if ((c->cfg.connect_to && set_connect_to(c, &o, o.host, o.port) != 0) ||
	    (n > 0 && (o.text = malloc(n + 1)) == NULL)) {
		origin_free(&o);
		snprintf(msg, msglen, "not enough memory");
		return DTS_HTTP_NETWORK;
	}
	if (o.text != NULL) {
		memcpy(o.text, url, n);
		o.text[n] = '\0';
		o.len = n;
	}
	c->origin = o;
	return DTS_HTTP_OK;
}

enum dts_http_kind dts_http_perform(struct dts_http_client *c,
				    const struct dts_http_request *r,
				    char *msg, size_t msglen)
{
	const struct dts_http_origin *o = &c->origin;
	char detail[160];
	const char *reason;
	enum dts_http_kind kind;
	CURLcode rc;

	c->errbuf[0] = '\0';
	kind = resolve_origin(c, r->url, msg, msglen);
	if (kind != DTS_HTTP_OK)
		return kind;
	if (strcmp(o->scheme, "https") != 0 &&
	    !(c->cfg.allow_http && strcmp(o->scheme, "http") == 0)) {
		kind = DTS_HTTP_INVALID_ARGUMENT;
		reason = c->cfg.allow_http ? "only http and https are allowed" :
			 "only https is allowed (see allow_http)";
	} else {
		rc = setup(c, r);
		if (rc == CURLE_OK)
			rc = curl_easy_perform(c->easy);
		if (rc == CURLE_OK) {
			curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE,
					  &c->status);
			if (!c->encoded || c->body.len == 0)
				return DTS_HTTP_OK;
			/* No request sends Accept-Encoding: the body is not
			 * what the service meant to say. */
			kind = DTS_HTTP_PROTOCOL;
			snprintf(detail, sizeof detail, "answer is compressed "
				 "(Content-Encoding: %.40s), which no request "
				 "asks for", head_value(c, "content-encoding"));
			reason = detail;
		} else {
			kind = kind_of(rc, c->sent);
			reason = refine(c, rc, &kind, detail, sizeof detail);
		}
	}
	snprintf(msg, msglen, "%s://%s:%s: %s%s", o->scheme, o->host, o->port,
		 reason, o->insecure ? UNSAFE_NOTE : "");
	return kind;
}
