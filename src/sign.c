#include "sign.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define FORM_TYPE "application/x-www-form-urlencoded"

static int fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, DTS_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

static int out_of_memory(char *err)
{
	return fail(err, "out of memory");
}

static struct dts_str str_of(const char *s)
{
	struct dts_str r;

	r.p = s;
	r.n = strlen(s);
	return r;
}

static int str_eq(struct dts_str a, const char *b)
{
	return a.n == strlen(b) && memcmp(a.p, b, a.n) == 0;
}

static int str_cmp(struct dts_str a, struct dts_str b)
{
	int c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);

	if (c != 0)
		return c;
	return a.n < b.n ? -1 : a.n > b.n;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int str_ieq(struct dts_str a, struct dts_str b)
{
	size_t i;

	if (a.n != b.n)
		return 0;
	for (i = 0; i < a.n; i++)
		if (lower(a.p[i]) != lower(b.p[i]))
			return 0;
	return 1;
}

/* Error messages show names, never values, and at most 64 bytes of them. */
#define NAME_FMT "%.*s"
#define NAME_ARG(s) (int)((s).n > 64 ? 64 : (s).n), (s).p

static int check_utf8(struct dts_str s, const char *where, struct dts_str name,
		      char *err)
{
	size_t ok = dts_utf8_valid_prefix(s.p, s.n);

	if (ok == s.n)
		return 0;
	return fail(err, "%s" NAME_FMT ": not valid UTF-8 (byte 0x%02X at offset %zu)",
		    where, NAME_ARG(name), (unsigned char)s.p[ok], ok);
}

/*
 * No credential, token or header-bound field holds a control character: a
 * NUL would cut the header it goes into ("AK\0tail" signing a truncated
 * Credential=AK), and CR or LF would start a new header.  The message names
 * the field and the byte, never the value (it may be a secret).
 */
static int check_controls(struct dts_str s, const char *name, char *err)
{
	size_t i;

	for (i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (c < 0x20 || c == 0x7F)
			return fail(err, "%s: control character 0x%02X at offset "
				    "%zu", name, c, i);
	}
	return 0;
}

static int check_field(struct dts_str s, const char *name, char *err)
{
	if (s.p == NULL)
		return fail(err, "%s: missing", name);
	if (s.n == 0)
		return fail(err, "%s: must not be empty", name);
	if (check_controls(s, name, err) != 0)
		return -1;
	return check_utf8(s, "", str_of(name), err);
}

static int check_pairs(const struct dts_pair *p, size_t n, const char *table,
		       char *err)
{
	char where[32];
	size_t i;

	snprintf(where, sizeof where, "%s.", table);
	for (i = 0; i < n; i++) {
		size_t ok = dts_utf8_valid_prefix(p[i].name.p, p[i].name.n);

		if (p[i].name.n == 0)
			return fail(err, "%s: empty parameter name", table);
		if (ok != p[i].name.n)
			return fail(err, "%s: a parameter name is not valid UTF-8 "
				    "(byte 0x%02X at offset %zu)", table,
				    (unsigned char)p[i].name.p[ok], ok);
		if (check_utf8(p[i].value, where, p[i].name, err) != 0)
			return -1;
	}
	return 0;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct dts_pair *x = a, *y = b;
	int c = str_cmp(x->name, y->name);

	return c != 0 ? c : str_cmp(x->value, y->value);
}

/* A sorted copy of n pairs; NULL (with err set) when out of memory. */
static struct dts_pair *sorted_pairs(const struct dts_pair *p, size_t n, char *err)
{
	struct dts_pair *s = malloc((n ? n : 1) * sizeof *s);

	if (s == NULL) {
		out_of_memory(err);
		return NULL;
	}
	if (n > 0) {
		memcpy(s, p, n * sizeof *s);
		qsort(s, n, sizeof *s, pair_cmp);
	}
	return s;
}

/* name=value&... over pairs already in order, both sides percent-encoded. */
static void put_form(struct dts_buf *out, const struct dts_pair *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			dts_buf_putc(out, '&');
		dts_pct_encode(out, p[i].name.p, p[i].name.n);
		dts_buf_putc(out, '=');
		dts_pct_encode(out, p[i].value.p, p[i].value.n);
	}
}

static void put_header(struct dts_buf *out, struct dts_str name,
		       struct dts_str value)
{
	dts_buf_putstr(out, name);
	dts_buf_putc(out, '\0');
	dts_buf_putstr(out, value);
	dts_buf_putc(out, '\0');
}

/* Walks a "name\0value\0..." list. */
static const char *next_header(const char *p, struct dts_str *name,
			       struct dts_str *value)
{
	*name = str_of(p);
	p += name->n + 1;
	*value = str_of(p);
	return p + value->n + 1;
}

int dts_sha256_hex(char out[64], const void *p, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) || len != 32)
		return -1;
	dts_hex(out, md, 32);
	return 0;
}

int dts_hmac_sha256_hex(char out[64], struct dts_str key, struct dts_str msg)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (HMAC(EVP_sha256(), key.p, (int)key.n, (const unsigned char *)msg.p,
		 msg.n, md, &len) == NULL || len != 32)
		return -1;
	dts_hex(out, md, 32);
	return 0;
}

/* ---- RPC V1: HMAC-SHA1 over METHOD&%2F&encode(canonical query) ---- */

static void v1_string_to_sign(struct dts_buf *out, struct dts_str method,
			      const struct dts_pair *sorted, size_t n)
{
	struct dts_buf canonical;

	dts_buf_init(&canonical);
	put_form(&canonical, sorted, n);
	dts_buf_putstr(out, method);
	dts_buf_puts(out, "&%2F&");
	if (canonical.failed)
		out->failed = 1;
	else
		dts_pct_encode(out, canonical.data, canonical.len);
	dts_buf_free(&canonical);
}

static int v1_hmac(struct dts_buf *sig, struct dts_str secret,
		   const struct dts_buf *sts, char *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	struct dts_buf key;
	int ok;

	/* The key is the secret with a literal '&' appended (signing.md 2.2). */
	dts_buf_init(&key);
	dts_buf_putstr(&key, secret);
	dts_buf_putc(&key, '&');
	ok = !key.failed &&
	     HMAC(EVP_sha1(), key.data, (int)key.len,
		  (const unsigned char *)sts->data, sts->len, md, &len) != NULL;
	dts_buf_free(&key);
	if (!ok)
		return fail(err, "HMAC-SHA1 failed");
	{
		char b64[DTS_BASE64_LEN(EVP_MAX_MD_SIZE)];

		dts_buf_put(sig, b64, dts_base64(b64, md, len));
	}
	return sig->failed ? out_of_memory(err) : 0;
}

int dts_v1_signature(struct dts_str method, const struct dts_pair *params,
		     size_t n, struct dts_str secret,
		     struct dts_buf *string_to_sign, struct dts_buf *signature,
		     char err[DTS_ERR_MAX])
{
	struct dts_pair *sorted;
	int rc;

	if (check_controls(method, "method", err) != 0 ||
	    check_controls(secret, "access_key_secret", err) != 0 ||
	    check_pairs(params, n, "params", err) != 0)
		return -1;
	if ((sorted = sorted_pairs(params, n, err)) == NULL)
		return -1;
	v1_string_to_sign(string_to_sign, method, sorted, n);
	free(sorted);
	if (string_to_sign->failed)
		return out_of_memory(err);
	rc = v1_hmac(signature, secret, string_to_sign, err);
	return rc;
}

/* ---- V3: ACS3-HMAC-SHA256 ---- */

static int header_name_ok(struct dts_str s)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	size_t i;

	if (s.n == 0)
		return 0;
	for (i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || (c != 0 && strchr(tchar, c))))
			return 0;
	}
	return 1;
}

static int check_headers(const struct dts_pair *h, size_t n, char *err)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!header_name_ok(h[i].name))
			return fail(err, "headers: invalid header name \"" NAME_FMT
				    "\"", NAME_ARG(h[i].name));
		for (j = 0; j < h[i].value.n; j++) {
			unsigned char c = (unsigned char)h[i].value.p[j];

			if ((c < 0x20 && c != '\t') || c == 0x7F)
				return fail(err, "headers." NAME_FMT ": control "
					    "character 0x%02X in value",
					    NAME_ARG(h[i].name), c);
		}
		if (check_utf8(h[i].value, "headers.", h[i].name, err) != 0)
			return -1;
	}
	return 0;
}

/* Spaces and tabs: every other control character was refused before, and
 * the SDKs' wider Unicode trim never matters for ASCII header values. */
static struct dts_str trim(struct dts_str s)
{
	while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/*
 * Lower-cases names, trims values and merges repeated names (values sorted,
 * joined by ','), sorted by name: the form the canonical headers need, and
 * the form in which they are sent, so what is signed is what is sent.
 */
static int normalize_headers(const struct dts_pair *h, size_t n,
			     struct dts_buf *out, size_t *count, char *err)
{
	struct dts_pair *e;
	struct dts_buf names;
	size_t i, off = 0;

	*count = 0;
	if (check_headers(h, n, err) != 0)
		return -1;
	dts_buf_init(&names);
	for (i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < h[i].name.n; k++)
			dts_buf_putc(&names, lower(h[i].name.p[k]));
	}
	e = malloc((n ? n : 1) * sizeof *e);
	if (e == NULL || names.failed) {
		free(e);
		dts_buf_free(&names);
		return out_of_memory(err);
	}
	for (i = 0; i < n; i++) {
		e[i].name.p = names.data + off;
		e[i].name.n = h[i].name.n;
		e[i].value = trim(h[i].value);
		off += h[i].name.n;
	}
	if (n > 0)
		qsort(e, n, sizeof *e, pair_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && str_cmp(e[i].name, e[i - 1].name) == 0) {
			/* Same name again: replace the closing NUL by ','. */
			out->data[out->len - 1] = ',';
			dts_buf_putstr(out, e[i].value);
			dts_buf_putc(out, '\0');
			continue;
		}
		put_header(out, e[i].name, e[i].value);
		++*count;
	}
	free(e);
	dts_buf_free(&names);
	return out->failed ? out_of_memory(err) : 0;
}

static int signed_by_default(struct dts_str name)
{
	return str_eq(name, "host") || str_eq(name, "content-type") ||
	       (name.n >= 6 && memcmp(name.p, "x-acs-", 6) == 0);
}

static int is_signed(const struct dts_v3_input *in, struct dts_str name)
{
	size_t i;

	if (in->nsigned == 0)
		return signed_by_default(name);
	for (i = 0; i < in->nsigned; i++)
		if (str_ieq(in->signed_names[i], name))
			return 1;
	return 0;
}

/* Every explicitly named signed header must be present. */
static int check_signed_present(const struct dts_v3_input *in,
				const struct dts_v3_output *out, char *err)
{
	size_t i, k;

	for (i = 0; i < in->nsigned; i++) {
		const char *p = out->headers.data;
		int found = 0;

		for (k = 0; k < out->nheaders && !found; k++) {
			struct dts_str name, value;

			p = next_header(p, &name, &value);
			found = str_ieq(name, in->signed_names[i]);
		}
		if (!found)
			return fail(err, "signed_headers: \"" NAME_FMT "\" is not "
				    "among the headers", NAME_ARG(in->signed_names[i]));
	}
	return 0;
}

void dts_v3_output_init(struct dts_v3_output *o)
{
	dts_buf_init(&o->canonical_query);
	dts_buf_init(&o->canonical_request);
	dts_buf_init(&o->string_to_sign);
	dts_buf_init(&o->signature);
	dts_buf_init(&o->signed_headers);
	dts_buf_init(&o->authorization);
	dts_buf_init(&o->headers);
	o->nheaders = 0;
}

void dts_v3_output_free(struct dts_v3_output *o)
{
	dts_buf_free(&o->canonical_query);
	dts_buf_free(&o->canonical_request);
	dts_buf_free(&o->string_to_sign);
	dts_buf_free(&o->signature);
	dts_buf_free(&o->signed_headers);
	dts_buf_free(&o->authorization);
	dts_buf_free(&o->headers);
	o->nheaders = 0;
}

int dts_v3_signature(const struct dts_v3_input *in, struct dts_v3_output *out,
		     char err[DTS_ERR_MAX])
{
	struct dts_buf *cr = &out->canonical_request;
	struct dts_pair *query;
	const char *p;
	char hash[64];
	size_t i;

	if (check_controls(in->method, "method", err) != 0 ||
	    check_controls(in->payload_hash, "payload_hash", err) != 0 ||
	    check_controls(in->access_key_id, "access_key_id", err) != 0 ||
	    check_controls(in->access_key_secret, "access_key_secret", err) != 0 ||
	    check_pairs(in->query, in->nquery, "query", err) != 0)
		return -1;
	if (normalize_headers(in->headers, in->nheaders, &out->headers,
			      &out->nheaders, err) != 0)
		return -1;
	if (check_signed_present(in, out, err) != 0)
		return -1;
	if ((query = sorted_pairs(in->query, in->nquery, err)) == NULL)
		return -1;
	put_form(&out->canonical_query, query, in->nquery);
	free(query);

	dts_buf_putstr(cr, in->method);
	dts_buf_putc(cr, '\n');
	/* An empty path stays empty, as in the SDKs' own test vectors. */
	dts_pct_encode_path(cr, in->path.p, in->path.n);
	dts_buf_putc(cr, '\n');
	dts_buf_put(cr, out->canonical_query.data, out->canonical_query.len);
	dts_buf_putc(cr, '\n');
	for (i = 0, p = out->headers.data; i < out->nheaders; i++) {
		struct dts_str name, value;

		p = next_header(p, &name, &value);
		if (!is_signed(in, name))
			continue;
		dts_buf_putstr(cr, name);
		dts_buf_putc(cr, ':');
		dts_buf_putstr(cr, value);
		dts_buf_putc(cr, '\n');
		if (out->signed_headers.len > 0)
			dts_buf_putc(&out->signed_headers, ';');
		dts_buf_putstr(&out->signed_headers, name);
	}
	dts_buf_putc(cr, '\n');
	dts_buf_put(cr, out->signed_headers.data, out->signed_headers.len);
	dts_buf_putc(cr, '\n');
	dts_buf_putstr(cr, in->payload_hash);
	if (cr->failed || out->signed_headers.failed)
		return out_of_memory(err);

	if (dts_sha256_hex(hash, cr->data, cr->len) != 0)
		return fail(err, "SHA-256 failed");
	dts_buf_puts(&out->string_to_sign, "ACS3-HMAC-SHA256\n");
	dts_buf_put(&out->string_to_sign, hash, sizeof hash);
	if (out->string_to_sign.failed)
		return out_of_memory(err);
	{
		struct dts_str sts = { out->string_to_sign.data, out->string_to_sign.len };
		char sig[64];

		if (dts_hmac_sha256_hex(sig, in->access_key_secret, sts) != 0)
			return fail(err, "HMAC-SHA256 failed");
		dts_buf_put(&out->signature, sig, sizeof sig);
	}
	dts_buf_puts(&out->authorization, "ACS3-HMAC-SHA256 Credential=");
	dts_buf_putstr(&out->authorization, in->access_key_id);
	dts_buf_puts(&out->authorization, ",SignedHeaders=");
	dts_buf_put(&out->authorization, out->signed_headers.data,
		    out->signed_headers.len);
	dts_buf_puts(&out->authorization, ",Signature=");
	dts_buf_put(&out->authorization, out->signature.data, out->signature.len);
	return out->authorization.failed || out->signature.failed
		? out_of_memory(err) : 0;
}

/* ---- The whole request ---- */

void dts_signed_init(struct dts_signed *s)
{
	s->method[0] = '\0';
	dts_buf_init(&s->target);
	dts_buf_init(&s->body);
	dts_buf_init(&s->signature);
	dts_buf_init(&s->string_to_sign);
	dts_buf_init(&s->canonical_request);
	dts_buf_init(&s->headers);
	s->nheaders = 0;
}

void dts_signed_free(struct dts_signed *s)
{
	dts_buf_free(&s->target);
	dts_buf_free(&s->body);
	dts_buf_free(&s->signature);
	dts_buf_free(&s->string_to_sign);
	dts_buf_free(&s->canonical_request);
	dts_buf_free(&s->headers);
	s->nheaders = 0;
}


/* yyyy-MM-ddTHH:mm:ssZ, the only form both schemes accept. */
static int check_timestamp(struct dts_str t, char *err)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	if (check_field(t, "timestamp", err) != 0)
		return -1;
	for (i = 0; i < t.n && i < sizeof shape - 1; i++) {
		char c = t.p[i];

		if (shape[i] == 'd' ? !(c >= '0' && c <= '9') : c != shape[i])
			break;
	}
	if (i != t.n || t.n != sizeof shape - 1)
		return fail(err, "timestamp: expected UTC \"yyyy-MM-ddTHH:mm:ssZ\", "
			    "e.g. 2024-05-06T07:08:09Z");
	return 0;
}

static int check_host(struct dts_str h, char *err)
{
	size_t i;

	if (check_field(h, "host", err) != 0)
		return -1;
	for (i = 0; i < h.n; i++) {
		unsigned char c = (unsigned char)h.p[i];

		if (c <= ' ' || c == 0x7F || strchr("/?#@\\", c) != NULL)
			return fail(err, "host: invalid character 0x%02X; give the "
				    "host name (and :port) only", c);
	}
	return 0;
}

static int check_request(const struct dts_request *r, struct dts_signed *o,
			 char *err)
{
	static const char *const methods[] = { "GET", "POST" };
	size_t i;

	if (r->scheme != DTS_SCHEME_V1 && r->scheme != DTS_SCHEME_V3)
		return fail(err, "scheme: expected \"v1\" or \"v3\"");
	if (check_field(r->method, "method", err) != 0)
		return -1;
	for (i = 0; i < 2; i++)
		if (str_ieq(r->method, str_of(methods[i])))
			strcpy(o->method, methods[i]);
	if (o->method[0] == '\0')
		return fail(err, "method: expected \"GET\" or \"POST\" (RPC style)");
	if (strcmp(o->method, "GET") == 0 && r->nbody > 0)
		return fail(err, "body: a GET request cannot carry body parameters "
			    "(the SDKs would sign them and then drop them); put them "
			    "in query or use POST");
	if (check_host(r->host, err) != 0 ||
	    check_field(r->action, "action", err) != 0 ||
	    check_field(r->version, "version", err) != 0 ||
	    check_field(r->access_key_id, "access_key_id", err) != 0 ||
	    check_field(r->access_key_secret, "access_key_secret", err) != 0 ||
	    check_timestamp(r->timestamp, err) != 0 ||
	    check_field(r->nonce, "nonce", err) != 0)
		return -1;
	if (r->security_token.p != NULL &&
	    (check_controls(r->security_token, "security_token", err) != 0 ||
	     check_utf8(r->security_token, "", str_of("security_token"), err) != 0))
		return -1;
	if (r->path.p != NULL) {
		if (r->path.n == 0 || r->path.p[0] != '/')
			return fail(err, "path: must start with \"/\"");
		if (check_utf8(r->path, "", str_of("path"), err) != 0)
			return -1;
		if (r->scheme == DTS_SCHEME_V1 && !str_eq(r->path, "/"))
			return fail(err, "path: RPC V1 signing covers only the path \"/\"");
	}
	if (check_pairs(r->query, r->nquery, "query", err) != 0 ||
	    check_pairs(r->body, r->nbody, "body", err) != 0)
		return -1;
	return check_headers(r->headers, r->nheaders, err);
}

/* Headers the signer sets itself; the caller may not set them too. */
static int check_own_headers(const struct dts_request *r,
			     const struct dts_pair *own, size_t nown, char *err)
{
	size_t i, k;

	for (i = 0; i < r->nheaders; i++) {
		if (str_ieq(r->headers[i].name, str_of("authorization")))
			return fail(err, "headers.authorization: set by the signer");
		for (k = 0; k < nown; k++)
			if (str_ieq(r->headers[i].name, own[k].name))
				return fail(err, "headers." NAME_FMT ": set by the "
					    "signer; do not pass it",
					    NAME_ARG(r->headers[i].name));
	}
	return 0;
}

static struct dts_pair pair_of(const char *name, struct dts_str value)
{
	struct dts_pair p;

	p.name = str_of(name);
	p.value = value;
	return p;
}

/* Own headers first, then the caller's: one array for normalize_headers. */
static struct dts_pair *all_headers(const struct dts_request *r,
				    const struct dts_pair *own, size_t nown,
				    char *err)
{
	struct dts_pair *h = malloc((nown + r->nheaders) * sizeof *h);

	if (h == NULL) {
		out_of_memory(err);
		return NULL;
	}
	memcpy(h, own, nown * sizeof *h);
	if (r->nheaders > 0)
		memcpy(h + nown, r->headers, r->nheaders * sizeof *h);
	return h;
}

static int put_body(const struct dts_request *r, struct dts_signed *o, char *err)
{
	struct dts_pair *body = sorted_pairs(r->body, r->nbody, err);
	size_t i;

	if (body == NULL)
		return -1;
	for (i = 1; i < r->nbody; i++)
		if (str_cmp(body[i].name, body[i - 1].name) == 0) {
			fail(err, "body." NAME_FMT ": given twice",
			     NAME_ARG(body[i].name));
			free(body);
			return -1;
		}
	put_form(&o->body, body, r->nbody);
	free(body);
	return o->body.failed ? out_of_memory(err) : 0;
}

static const char *const V1_COMMON[] = {
	"AccessKeyId", "Action", "Format", "SecurityToken", "Signature",
	"SignatureMethod", "SignatureNonce", "SignatureVersion", "Timestamp",
	"Version",
};

enum origin { COMMON, QUERY, BODY };

struct tagged {
	struct dts_pair p; /* first, so pair_cmp sorts tagged pairs too */
	enum origin from;
};

/* Two user parameters of one name (common names were refused earlier). */
static int v1_collision(const struct tagged *a, const struct tagged *b,
			char *err)
{
	if (a->from == b->from)
		return fail(err, "%s." NAME_FMT ": given twice",
			    a->from == QUERY ? "query" : "body", NAME_ARG(a->p.name));
	return fail(err, "parameter " NAME_FMT " is given in both query and body",
		    NAME_ARG(a->p.name));
}

static int sign_v1(const struct dts_request *r, struct dts_signed *o, char *err)
{
	const size_t ncommon = 9;
	size_t n = 0, i;
	struct tagged *t;
	struct dts_pair *sorted, own[4];
	struct dts_buf *url = &o->target;
	int rc = -1;

	/* Reserved names, so a caller cannot smuggle in a second Timestamp. */
	for (i = 0; i < r->nquery + r->nbody; i++) {
		const struct dts_pair *p = i < r->nquery ? &r->query[i]
						       : &r->body[i - r->nquery];
		size_t k;

		for (k = 0; k < sizeof V1_COMMON / sizeof *V1_COMMON; k++)
			if (str_eq(p->name, V1_COMMON[k]))
				return fail(err, "%s." NAME_FMT ": a common parameter "
					    "that the signer sets itself",
					    i < r->nquery ? "query" : "body",
					    NAME_ARG(p->name));
	}
	t = malloc((ncommon + r->nquery + r->nbody) * sizeof *t);
	sorted = malloc((ncommon + r->nquery + r->nbody) * sizeof *sorted);
	if (t == NULL || sorted == NULL) {
		out_of_memory(err);
		goto done;
	}
#define ADD(nm, val, src) (t[n].p = pair_of(nm, val), t[n++].from = (src))
	ADD("AccessKeyId", r->access_key_id, COMMON);
	ADD("Action", r->action, COMMON);
	ADD("Format", str_of("JSON"), COMMON);
	ADD("SignatureMethod", str_of("HMAC-SHA1"), COMMON);
	ADD("SignatureNonce", r->nonce, COMMON);
	ADD("SignatureVersion", str_of("1.0"), COMMON);
	ADD("Timestamp", r->timestamp, COMMON);
	ADD("Version", r->version, COMMON);
	if (r->security_token.p != NULL && r->security_token.n > 0)
		ADD("SecurityToken", r->security_token, COMMON);
#undef ADD
	for (i = 0; i < r->nquery; i++, n++) {
		t[n].p = r->query[i];
		t[n].from = QUERY;
	}
	for (i = 0; i < r->nbody; i++, n++) {
		t[n].p = r->body[i];
		t[n].from = BODY;
	}
	qsort(t, n, sizeof *t, pair_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && str_cmp(t[i].p.name, t[i - 1].p.name) == 0) {
			v1_collision(&t[i - 1], &t[i], err);
			goto done;
		}
		sorted[i] = t[i].p;
	}
	v1_string_to_sign(&o->string_to_sign, str_of(o->method), sorted, n);
	if (o->string_to_sign.failed) {
		out_of_memory(err);
		goto done;
	}
	if (v1_hmac(&o->signature, r->access_key_secret, &o->string_to_sign, err) != 0)
		goto done;

	/* Everything but the form body goes in the URL, Signature last. */
	dts_buf_putc(url, '/');
	dts_buf_putc(url, '?');
	for (i = 0; i < n; i++) {
		if (t[i].from == BODY)
			continue;
		put_form(url, &t[i].p, 1);
		dts_buf_putc(url, '&');
	}
	dts_buf_puts(url, "Signature=");
	dts_pct_encode(url, o->signature.data, o->signature.len);
	if (url->failed) {
		out_of_memory(err);
		goto done;
	}
	if (put_body(r, o, err) != 0)
		goto done;

	/* As CLIENT-TS: x-acs-action and x-acs-version are sent, unsigned. */
	n = 0;
	own[n++] = pair_of("host", r->host);
	own[n++] = pair_of("x-acs-action", r->action);
	own[n++] = pair_of("x-acs-version", r->version);
	if (o->body.len > 0)
		own[n++] = pair_of("content-type", str_of(FORM_TYPE));
	if (check_own_headers(r, own, n, err) != 0)
		goto done;
	free(sorted);
	if ((sorted = all_headers(r, own, n, err)) == NULL)
		goto done;
	rc = normalize_headers(sorted, n + r->nheaders, &o->headers,
			       &o->nheaders, err);
done:
	free(t);
	free(sorted);
	return rc;
}

static int sign_v3(const struct dts_request *r, struct dts_signed *o, char *err)
{
	struct dts_v3_input in;
	struct dts_v3_output out;
	struct dts_pair own[9], *headers = NULL;
	char hash[65];
	size_t n = 0;
	int rc = -1;

	if (put_body(r, o, err) != 0)
		return -1;
	if (o->body.len == 0)
		memcpy(hash, EMPTY_SHA256, 64);
	else if (dts_sha256_hex(hash, o->body.data, o->body.len) != 0)
		return fail(err, "SHA-256 failed");
	hash[64] = '\0';

	own[n++] = pair_of("host", r->host);
	own[n++] = pair_of("x-acs-action", r->action);
	own[n++] = pair_of("x-acs-version", r->version);
	own[n++] = pair_of("x-acs-date", r->timestamp);
	own[n++] = pair_of("x-acs-signature-nonce", r->nonce);
	own[n++] = pair_of("x-acs-content-sha256", str_of(hash));
	if (o->body.len > 0)
		own[n++] = pair_of("content-type", str_of(FORM_TYPE));
	if (r->security_token.p != NULL && r->security_token.n > 0) {
		own[n++] = pair_of("x-acs-security-token", r->security_token);
		own[n++] = pair_of("x-acs-accesskey-id", r->access_key_id);
	}
	if (check_own_headers(r, own, n, err) != 0)
		return -1;
	if ((headers = all_headers(r, own, n, err)) == NULL)
		return -1;

	memset(&in, 0, sizeof in);
	in.method = str_of(o->method);
	in.path = r->path.p != NULL ? r->path : str_of("/");
	in.payload_hash = str_of(hash);
	in.access_key_id = r->access_key_id;
	in.access_key_secret = r->access_key_secret;
	in.query = r->query;
	in.nquery = r->nquery;
	in.headers = headers;
	in.nheaders = n + r->nheaders;
	dts_v3_output_init(&out);
	if (dts_v3_signature(&in, &out, err) != 0)
		goto done;

	dts_pct_encode_path(&o->target, in.path.p, in.path.n);
	if (out.canonical_query.len > 0) {
		dts_buf_putc(&o->target, '?');
		dts_buf_put(&o->target, out.canonical_query.data,
			    out.canonical_query.len);
	}
	/* Hand the buffers over rather than copy them. */
	o->headers = out.headers;
	o->nheaders = out.nheaders;
	dts_buf_init(&out.headers);
	put_header(&o->headers, str_of("authorization"),
		   (struct dts_str){ out.authorization.data, out.authorization.len });
	o->nheaders++;
	o->signature = out.signature;
	dts_buf_init(&out.signature);
	o->string_to_sign = out.string_to_sign;
	dts_buf_init(&out.string_to_sign);
	o->canonical_request = out.canonical_request;
	dts_buf_init(&out.canonical_request);
	rc = o->target.failed || o->headers.failed ? out_of_memory(err) : 0;
done:
	dts_v3_output_free(&out);
	free(headers);
	return rc;
}

int dts_sign(const struct dts_request *req, struct dts_signed *out,
	     char err[DTS_ERR_MAX])
{
	int rc;

	err[0] = '\0';
	out->method[0] = '\0';
	if (check_request(req, out, err) != 0)
		return -1;
	rc = req->scheme == DTS_SCHEME_V1 ? sign_v1(req, out, err)
					  : sign_v3(req, out, err);
	if (rc != 0)
		dts_signed_free(out);
	return rc;
}
