/*
 * HTTPS over libcurl for dts.curl: no Lua in here (the binding is
 * src/lua_curl.c).  A client owns one easy handle, reused for keep-alive,
 * and every heap block a request needs, so that the binding can keep the
 * whole struct in a userdata and free it from __gc after a Lua error.
 */
#ifndef DTS_HTTP_CURL_H
#define DTS_HTTP_CURL_H

#include <stddef.h>
#include <curl/curl.h>

#include "version.h"

#define DTS_HTTP_DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DTS_HTTP_DEFAULT_TIMEOUT_MS 30000L
#define DTS_HTTP_DEFAULT_MAX_RESPONSE (8u << 20)
#define DTS_HTTP_MAX_RESPONSE_LIMIT (1u << 30)
/* Response headers are capped apart from the body (curl's own 100 KiB cap
 * is per header line). */
#define DTS_HTTP_MAX_HEADER_BYTES (256u << 10)
/* Interim (1xx) answers before the real one: more is a server looping. */
#define DTS_HTTP_MAX_INTERIM 10
/* Timeouts go to libcurl in milliseconds, as a long. */
#define DTS_HTTP_MAX_TIMEOUT_S 2147483.0

enum dts_http_kind {
	DTS_HTTP_OK = 0,
	DTS_HTTP_TIMEOUT,
	DTS_HTTP_TLS,
	DTS_HTTP_NETWORK,
	DTS_HTTP_INVALID_ARGUMENT,
	DTS_HTTP_PROTOCOL
};

struct dts_http_buf {
	char *data;
	size_t len, cap;
};

/* Client options.  Strings are heap copies owned by the client. */
struct dts_http_config {
	char *ca_file, *ca_path, *client_cert, *client_key;
	char *proxy, *no_proxy, *user_agent, *insecure_host, *connect_to;
	long connect_timeout_ms, timeout_ms;
	size_t max_response_size;
	int allow_http;
};

struct dts_http_request {
	const char *method;	/* NULL: GET */
	const char *url;
	const char *body;	/* NULL: no body */
	size_t body_len;
	long connect_timeout_ms, timeout_ms;	/* 0: the client's */
};

/* The origin (scheme://authority) of the last URL and what it parsed to,
 * so a client that sends to one endpoint parses it once. */
struct dts_http_origin {
	char *text;		/* "scheme://authority" as it was in the URL */
	size_t len;
	char *scheme, *host, *port;
	struct curl_slist *connect_to;	/* for connect_to, or NULL */
	int insecure;
};

struct dts_http_client {
	struct dts_http_config cfg;
	CURL *easy;
	/* Per request, emptied by dts_http_clear; the memory is kept for the
	 * next request (what grew large is released). */
	struct curl_slist *headers;	/* nodes[0], or NULL */
	struct dts_http_buf lines;	/* request header lines, each NUL-ended */
	struct curl_slist *nodes;	/* one per line, pointing into lines */
	size_t nlines, nodes_cap;
	int has_type, has_expect;	/* a Content-Type / Expect line is in */
	struct dts_http_buf body;
	struct dts_http_buf head;	/* final response headers: "name\0value\0"... */
	struct dts_http_origin origin;
	long status;
	int abort_reason;
	int sent;		/* the request began to go out (prereq ran) */
	int encoded;		/* the answer has a Content-Encoding */
	int interim;		/* 1xx answers so far */
	int configured;		/* the options that never change are set */
	char errbuf[CURL_ERROR_SIZE];
};

/* Zero and set defaults; allocates nothing, cannot fail. */
void dts_http_init(struct dts_http_client *c);
/* Replace *field by a copy of s; -1 when out of memory. */
int dts_http_set_string(char **field, const char *s, size_t len);
/* Create the easy handle; on failure a message goes to msg. */
int dts_http_open(struct dts_http_client *c, char *msg, size_t msglen);
/* Free everything; idempotent. */
void dts_http_close(struct dts_http_client *c);
/* Free the per-request state (headers, response). */
void dts_http_clear(struct dts_http_client *c);
/* Add a request header; -1 when out of memory. */
int dts_http_add_header(struct dts_http_client *c, const char *name,
			size_t name_len, const char *value, size_t value_len);
/* The first control character (C0 but horizontal tab, and DEL) of s, which
 * would end a header line early or smuggle another in; NULL when none. */
const char *dts_http_control_char(const char *s, size_t len);
/* Send r; the answer is in c->status, c->head, c->body.  On failure the
 * kind is returned and msg holds "scheme://host:port: reason", never the
 * URL's path or query. */
enum dts_http_kind dts_http_perform(struct dts_http_client *c,
				    const struct dts_http_request *r,
				    char *msg, size_t msglen);

#endif
