/* HTTPS over libcurl: see http_curl.h. */
#include "http_curl.h"
#include "signals.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_USER_AGENT "lua-dts/" DTS_VERSION
#define UNSAFE_NOTE " (TLS verification is disabled for this host: unsafe)"

enum { ABORT_NONE, ABORT_BODY_SIZE, ABORT_HEADER_SIZE, ABORT_NO_MEMORY };

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

void dts_http_clear(struct dts_http_client *c)
{
	curl_slist_free_all(c->headers);
	curl_slist_free_all(c->connect_to);
	free(c->body.data);
	free(c->head.data);
	c->headers = c->connect_to = NULL;
	memset(&c->body, 0, sizeof c->body);
	memset(&c->head, 0, sizeof c->head);
	c->status = 0;
	c->abort_reason = ABORT_NONE;
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
	for (i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
}

int dts_http_add_header(struct dts_http_client *c, const char *name,
			size_t name_len, const char *value, size_t value_len)
{
	char *line = malloc(name_len + value_len + 3);
	struct curl_slist *list;

	if (line == NULL)
		return -1;
	memcpy(line, name, name_len);
	if (value_len == 0) {
		/* "Name:" would make libcurl drop the header; "Name;" sends it
		 * empty. */
		strcpy(line + name_len, ";");
	} else {
		memcpy(line + name_len, ": ", 2);
		memcpy(line + name_len + 2, value, value_len);
		line[name_len + 2 + value_len] = '\0';
	}
	list = curl_slist_append(c->headers, line);
	free(line);
	if (list == NULL)
		return -1;
	c->headers = list;
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
	 * only the final one's headers are kept. */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		c->head.len = 0;
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

static enum dts_http_kind kind_of(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return DTS_HTTP_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return DTS_HTTP_TLS;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return DTS_HTTP_INVALID_ARGUMENT;
	case CURLE_FILESIZE_EXCEEDED:
		return DTS_HTTP_PROTOCOL;
	default:
		return DTS_HTTP_NETWORK;
	}
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
static int set_connect_to(struct dts_http_client *c, const char *host,
			  const char *port)
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
	c->connect_to = list;
	return 0;
}

static int has_header(const struct curl_slist *h, const char *name)
{
	size_t n = strlen(name);

	for (; h != NULL; h = h->next)
		if (strncasecmp(h->data, name, n) == 0 &&
		    (h->data[n] == ':' || h->data[n] == ';'))
			return 1;
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
	static const char *const own[] = { "Content-Type", "Expect" };
	char line[32];
	size_t i;

	for (i = 0; i < sizeof own / sizeof *own; i++) {
		struct curl_slist *list;

		if (has_header(c->headers, own[i]))
			continue;
		snprintf(line, sizeof line, "%s:", own[i]);
		list = curl_slist_append(c->headers, line);
		if (list == NULL)
			return -1;
		c->headers = list;
	}
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
	SET(CURLOPT_NOPROGRESS, 0L);
	c->configured = rc == CURLE_OK;
	return rc;
}

/* Everything a request may change, each set every time so nothing of the
 * previous request lingers. */
static CURLcode setup(struct dts_http_client *c,
		      const struct dts_http_request *r, int insecure)
{
	const struct dts_http_config *cfg = &c->cfg;
	const char *method = r->method ? r->method : "GET";
	CURL *e = c->easy;
	CURLcode rc = c->configured ? CURLE_OK : setup_client(c);

	SET(CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L);
	SET(CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L);
	SET(CURLOPT_CONNECT_TO, c->connect_to);
	SET(CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms ?
	    r->connect_timeout_ms : cfg->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, r->timeout_ms ? r->timeout_ms : cfg->timeout_ms);
	SET(CURLOPT_URL, r->url);
	if (rc == CURLE_OK && suppress_defaults(c) != 0)
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

enum dts_http_kind dts_http_perform(struct dts_http_client *c,
				    const struct dts_http_request *r,
				    char *msg, size_t msglen)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	char size_reason[96];
	const char *reason;
	enum dts_http_kind kind = DTS_HTTP_OK;
	int insecure = 0;
	CURLUcode uc = CURLUE_OUT_OF_MEMORY;
	CURLcode rc;
	CURLU *u = curl_url();

	c->errbuf[0] = '\0';
	if (u != NULL)
		uc = curl_url_set(u, CURLUPART_URL, r->url, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	curl_url_cleanup(u);
	if (uc != CURLUE_OK) {
		/* The URL itself stays out: signed URLs carry secrets. */
		snprintf(msg, msglen, "malformed URL: %s", curl_url_strerror(uc));
		kind = DTS_HTTP_INVALID_ARGUMENT;
		goto done;
	}
	insecure = c->cfg.insecure_host != NULL &&
		   same_host(host, c->cfg.insecure_host);
	if (strcmp(scheme, "https") != 0 &&
	    !(c->cfg.allow_http && strcmp(scheme, "http") == 0)) {
		kind = DTS_HTTP_INVALID_ARGUMENT;
		reason = c->cfg.allow_http ? "only http and https are allowed" :
			 "only https is allowed (see allow_http)";
	} else if (c->cfg.connect_to && set_connect_to(c, host, port) != 0) {
		kind = DTS_HTTP_NETWORK;
		reason = "not enough memory";
	} else {
		rc = setup(c, r, insecure);
		if (rc == CURLE_OK)
			rc = curl_easy_perform(c->easy);
		if (rc == CURLE_OK) {
			curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE,
					  &c->status);
			goto done;
		}
		kind = kind_of(rc);
		reason = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
		if (c->abort_reason == ABORT_BODY_SIZE ||
		    rc == CURLE_FILESIZE_EXCEEDED) {
			kind = DTS_HTTP_PROTOCOL;
			snprintf(size_reason, sizeof size_reason,
				 "answer larger than max_response_size (%zu bytes)",
				 c->cfg.max_response_size);
			reason = size_reason;
		} else if (c->abort_reason == ABORT_HEADER_SIZE) {
			kind = DTS_HTTP_PROTOCOL;
			reason = "answer headers too large";
		} else if (c->abort_reason == ABORT_NO_MEMORY) {
			reason = "not enough memory for the answer";
		}
	}
	snprintf(msg, msglen, "%s://%s:%s: %s%s", scheme, host, port, reason,
		 insecure ? UNSAFE_NOTE : "");
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return kind;
}
