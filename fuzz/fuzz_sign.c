/*
 * libFuzzer target: the signer (src/sign.c).  The input describes a
 * request (scheme, method, host, action, version, credentials, token,
 * path, query, body, headers); whatever dts_sign accepts must verify the
 * way a server verifies it: take the signed request apart as it goes on the
 * wire (target, headers, body), recompute the signature with the standalone
 * functions (dts_v1_signature, dts_v3_signature) and compare.  And what
 * went out must be what came in: the Credential, the x-acs-* headers and
 * the V1 common parameters carry the given values byte for byte (no
 * truncation at a NUL, no header split at CR LF).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PAIRS 8
#define MAX_PARSED 64

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_sign: %s\n", what);
	abort();
}

/* ---- reading the input ---- */

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned take_byte(struct input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* A length byte, then that many bytes (as many as are left). */
static struct dts_str take_str(struct input *in)
{
	struct dts_str s;
	size_t len = take_byte(in);

	if (len > in->n)
		len = in->n;
	s.p = (const char *)in->p;
	s.n = len;
	in->p += len;
	in->n -= len;
	return s;
}

static size_t take_pairs(struct input *in, struct dts_pair *p)
{
	size_t n = take_byte(in) % (MAX_PAIRS + 1), i;

	for (i = 0; i < n; i++) {
		p[i].name = take_str(in);
		p[i].value = take_str(in);
	}
	return n;
}

/* ---- taking the signed request apart ---- */

struct parsed {
	size_t n;
	struct dts_buf name[MAX_PARSED], value[MAX_PARSED];
};

static void parsed_free(struct parsed *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		dts_buf_free(&f->name[i]);
		dts_buf_free(&f->value[i]);
	}
	f->n = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict: the signer writes upper-case %XX only. */
static void pct_decode(struct dts_buf *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			dts_buf_putc(out, s[i]);
			continue;
		}
		if (n - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
			fail("a malformed %XX in the signed request");
		dts_buf_putc(out, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
		i += 2;
	}
	if (out->failed)
		fail("out of memory");
}

/* name=value&... into f (appended). */
static void parse_form(struct parsed *f, const char *s, size_t n)
{
	size_t start = 0, i;

	for (i = 0; i <= n; i++) {
		const char *eq;

		if (i < n && s[i] != '&')
			continue;
		if (i == start)
			fail("an empty form field");
		if (f->n == MAX_PARSED)
			fail("too many form fields");
		eq = memchr(s + start, '=', i - start);
		if (eq == NULL)
			fail("a form field without '='");
		dts_buf_init(&f->name[f->n]);
		dts_buf_init(&f->value[f->n]);
		pct_decode(&f->name[f->n], s + start, (size_t)(eq - (s + start)));
		pct_decode(&f->value[f->n], eq + 1, (size_t)(s + i - eq - 1));
		f->n++;
		start = i + 1;
	}
}

static struct dts_str str_of_buf(const struct dts_buf *b)
{
	struct dts_str s;

	s.p = b->data ? b->data : "";
	s.n = b->len;
	return s;
}

static int same(struct dts_str a, struct dts_str b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static struct dts_str lit(const char *s)
{
	struct dts_str r;

	r.p = s;
	r.n = strlen(s);
	return r;
}

/* The signer trims spaces and tabs around header values (as the SDKs do). */
static struct dts_str trim(struct dts_str s)
{
	while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t'))
		s.p++, s.n--;
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/* The value of parsed field `name`; p == NULL when absent. */
static struct dts_str find(const struct parsed *f, const char *name)
{
	struct dts_str none = { NULL, 0 };
	size_t i;

	for (i = 0; i < f->n; i++)
		if (same(str_of_buf(&f->name[i]), lit(name)))
			return str_of_buf(&f->value[i]);
	return none;
}

/* The signed headers "name\0value\0..." as pairs; authorization apart. */
static size_t split_headers(const struct dts_signed *s, struct dts_pair *h,
			    struct dts_str *auth)
{
	const char *p = s->headers.data, *end = p + s->headers.len;
	size_t n = 0, i;

	auth->p = NULL;
	for (i = 0; i < s->nheaders; i++) {
		struct dts_str name, value;

		if (p >= end)
			fail("fewer headers than counted");
		name = lit(p);
		p += name.n + 1;
		value = lit(p);
		p += value.n + 1;
		if (same(name, lit("authorization")))
			*auth = value;
		else
			h[n++] = (struct dts_pair){ name, value };
	}
	if (p != end)
		fail("header bytes after the last header (a NUL inside a value?)");
	return n;
}

static struct dts_str header(const struct dts_pair *h, size_t n, const char *name)
{
	struct dts_str none = { NULL, 0 };
	size_t i;

	for (i = 0; i < n; i++)
		if (same(h[i].name, lit(name)))
			return h[i].value;
	return none;
}

static void expect_header(const struct dts_pair *h, size_t n, const char *name,
			  struct dts_str want)
{
	if (!same(header(h, n, name), trim(want)))
		fail(name);
}

static void verify_v3(const struct dts_request *r, const struct dts_signed *s)
{
	struct dts_pair h[64], q[MAX_PARSED];
	struct dts_str auth, names[64];
	struct dts_v3_input in;
	struct dts_v3_output out;
	struct dts_buf want, path;
	struct parsed query;
	const char *mark, *qs, *sig;
	char hash[65];
	size_t nh, nnames = 0, i, start;
	char err[DTS_ERR_MAX];

	nh = split_headers(s, h, &auth);
	if (auth.p == NULL)
		fail("v3: no authorization header");
	/* What went out is what came in. */
	expect_header(h, nh, "host", r->host);
	expect_header(h, nh, "x-acs-action", r->action);
	expect_header(h, nh, "x-acs-version", r->version);
	expect_header(h, nh, "x-acs-date", r->timestamp);
	expect_header(h, nh, "x-acs-signature-nonce", r->nonce);
	if (r->security_token.p != NULL && r->security_token.n > 0) {
		expect_header(h, nh, "x-acs-security-token", r->security_token);
		expect_header(h, nh, "x-acs-accesskey-id", r->access_key_id);
	}
	dts_buf_init(&want);
	dts_buf_puts(&want, "ACS3-HMAC-SHA256 Credential=");
	dts_buf_putstr(&want, r->access_key_id);
	dts_buf_puts(&want, ",SignedHeaders=");
	if (want.failed || auth.n < want.len || memcmp(auth.p, want.data, want.len) != 0)
		fail("v3: the Credential is not the access key id given");
	mark = auth.p + want.len;
	sig = strstr(mark, ",Signature=");
	if (sig == NULL)
		fail("v3: no Signature in authorization");
	for (start = 0, i = 0; mark + i <= sig; i++) {
		if (mark + i < sig && mark[i] != ';')
			continue;
		if (nnames == 64)
			fail("v3: too many signed headers");
		names[nnames].p = mark + start;
		names[nnames++].n = i - start;
		start = i + 1;
	}
	dts_buf_free(&want);

	/* The target: path '?' canonical query. */
	qs = memchr(s->target.data, '?', s->target.len);
	dts_buf_init(&path);
	pct_decode(&path, s->target.data, qs ? (size_t)(qs - s->target.data) : s->target.len);
	query.n = 0;
	if (qs != NULL)
		parse_form(&query, qs + 1, s->target.len - (size_t)(qs + 1 - s->target.data));
	for (i = 0; i < query.n; i++) {
		q[i].name = str_of_buf(&query.name[i]);
		q[i].value = str_of_buf(&query.value[i]);
	}
	if (dts_sha256_hex(hash, s->body.data ? s->body.data : "", s->body.len) != 0)
		fail("sha256");
	hash[64] = '\0';

	memset(&in, 0, sizeof in);
	in.method = lit(s->method);
	in.path = str_of_buf(&path);
	in.payload_hash = lit(hash);
	in.access_key_id = r->access_key_id;
	in.access_key_secret = r->access_key_secret;
	in.query = q;
	in.nquery = query.n;
	in.headers = h;
	in.nheaders = nh;
	in.signed_names = names;
	in.nsigned = nnames;
	dts_v3_output_init(&out);
	if (dts_v3_signature(&in, &out, err) != 0) {
		fprintf(stderr, "fuzz_sign: %s\n", err);
		fail("v3: the verifier refuses what the signer sent");
	}
	if (!same(str_of_buf(&out.authorization), auth))
		fail("v3: the signature does not verify");
	dts_v3_output_free(&out);
	dts_buf_free(&path);
	parsed_free(&query);
}

static void verify_v1(const struct dts_request *r, const struct dts_signed *s)
{
	struct parsed f;
	struct dts_pair p[MAX_PARSED];
	struct dts_buf sts, sig;
	struct dts_str given = { NULL, 0 };
	size_t i, n = 0;
	char err[DTS_ERR_MAX];

	if (s->target.len < 2 || memcmp(s->target.data, "/?", 2) != 0)
		fail("v1: the target is not /?...");
	f.n = 0;
	parse_form(&f, s->target.data + 2, s->target.len - 2);
	if (s->body.len > 0)
		parse_form(&f, s->body.data, s->body.len);
	for (i = 0; i < f.n; i++) {
		struct dts_str name = str_of_buf(&f.name[i]);

		if (same(name, lit("Signature"))) {
			given = str_of_buf(&f.value[i]);
			continue;
		}
		p[n].name = name;
		p[n++].value = str_of_buf(&f.value[i]);
	}
	if (given.p == NULL)
		fail("v1: no Signature");
	if (!same(find(&f, "AccessKeyId"), r->access_key_id) ||
	    !same(find(&f, "Action"), r->action) ||
	    !same(find(&f, "Version"), r->version) ||
	    !same(find(&f, "SignatureNonce"), r->nonce))
		fail("v1: a common parameter is not the value given");
	if (r->security_token.p != NULL && r->security_token.n > 0 &&
	    !same(find(&f, "SecurityToken"), r->security_token))
		fail("v1: SecurityToken is not the token given");
	dts_buf_init(&sts);
	dts_buf_init(&sig);
	if (dts_v1_signature(lit(s->method), p, n, r->access_key_secret, &sts, &sig,
			     err) != 0) {
		fprintf(stderr, "fuzz_sign: %s\n", err);
		fail("v1: the verifier refuses what the signer sent");
	}
	if (!same(str_of_buf(&sig), given))
		fail("v1: the signature does not verify");
	dts_buf_free(&sts);
	dts_buf_free(&sig);
	parsed_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct dts_pair query[MAX_PAIRS], body[MAX_PAIRS], headers[MAX_PAIRS];
	struct dts_request r;
	struct dts_signed s;
	char err[DTS_ERR_MAX];
	unsigned flags = take_byte(&in);

	memset(&r, 0, sizeof r);
	r.scheme = flags & 1 ? DTS_SCHEME_V3 : DTS_SCHEME_V1;
	r.method = lit(flags & 2 ? "GET" : "POST");
	r.host = take_str(&in);
	r.action = take_str(&in);
	r.version = take_str(&in);
	r.access_key_id = take_str(&in);
	r.access_key_secret = take_str(&in);
	r.nonce = take_str(&in);
	/* Mostly a good timestamp, so inputs reach the signer. */
	r.timestamp = flags & 4 ? take_str(&in) : lit("2024-05-06T07:08:09Z");
	if (flags & 8)
		r.security_token = take_str(&in);
	if (flags & 16)
		r.path = take_str(&in);
	if (flags & 32)
		r.method = take_str(&in);
	r.query = query;
	r.nquery = take_pairs(&in, query);
	r.body = body;
	r.nbody = take_pairs(&in, body);
	r.headers = headers;
	r.nheaders = take_pairs(&in, headers);

	dts_signed_init(&s);
	if (dts_sign(&r, &s, err) == 0) {
		if (r.scheme == DTS_SCHEME_V3)
			verify_v3(&r, &s);
		else
			verify_v1(&r, &s);
	} else if (err[0] == '\0') {
		fail("refused without a message");
	}
	dts_signed_free(&s);
	return 0;
}
