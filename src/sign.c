#include "sign.h"
#include "tchar.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

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

/* A string literal, its length known at compile time. */
#define LIT(s) ((struct dts_str){ (s), sizeof(s) - 1 })

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

/* memcmp's order (unsigned bytes), inline: the names sorted are short, and
 * the sorts of every signature compare a few dozen of them. */
static int str_cmp(struct dts_str a, struct dts_str b)
{
	const unsigned char *x = (const unsigned char *)a.p;
	const unsigned char *y = (const unsigned char *)b.p;
	const size_t n = a.n < b.n ? a.n : b.n;
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
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

/* table: "query", "body", "headers", or "" for a top-level field. */
static int check_utf8(struct dts_str s, const char *table, struct dts_str name,
		      char *err)
{
	size_t ok = dts_utf8_valid_prefix(s.p, s.n);

	if (ok == s.n)
		return 0;
	return fail(err, "%s%s" NAME_FMT ": not valid UTF-8 (byte 0x%02X at "
		    "offset %zu)", table, table[0] ? "." : "", NAME_ARG(name),
		    (unsigned char)s.p[ok], ok);
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

/* Whether any of 8 bytes is a control character (below 0x20, or 0x7F) or
 * above 0x7F (where UTF-8 must be checked): the usual field, short ASCII,
 * is judged 8 bytes at a time. */
static int plain_word(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	const uint64_t del = x ^ (0x7F * ones);

	return (((x - 0x20 * ones) | (del - ones) | x) & high) == 0;
}

static int check_field(struct dts_str s, const char *name, char *err)
{
	size_t i = 0;
	unsigned high = 0;

	if (s.p == NULL)
		return fail(err, "%s: missing", name);
	if (s.n == 0)
		return fail(err, "%s: must not be empty", name);
	for (; s.n - i >= 8; i += 8) {
		uint64_t x;

		memcpy(&x, s.p + i, 8);
		if (!plain_word(x))
			break;
	}
	/* The rest, or from the word that held something else: one pass over
	 * the bytes; the UTF-8 check runs only when a byte above 0x7F was
	 * seen. */
	for (; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (c < 0x20 || c == 0x7F)
			return check_controls(s, name, err);
		high |= c;
	}
	if (high < 0x80)
		return 0;
	return check_utf8(s, "", str_of(name), err);
}

static int check_pairs(const struct dts_pair *p, size_t n, const char *table,
		       char *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t ok = dts_utf8_valid_prefix(p[i].name.p, p[i].name.n);

		if (p[i].name.n == 0)
			return fail(err, "%s: empty parameter name", table);
		if (ok != p[i].name.n)
			return fail(err, "%s: a parameter name is not valid UTF-8 "
				    "(byte 0x%02X at offset %zu)", table,
				    (unsigned char)p[i].name.p[ok], ok);
		if (check_utf8(p[i].value, table, p[i].name, err) != 0)
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

/*
 * Scratch arrays of pairs: on the C stack up to SMALL entries (every
 * request lua-dts makes), else on the heap.  They hold pointers and names,
 * never secrets.
 */
#define SMALL 32

struct tmp_pairs {
	struct dts_pair *p;
	struct dts_pair small[SMALL];
};

static struct dts_pair *tmp_alloc(struct tmp_pairs *t, size_t n, char *err)
{
	t->p = n <= SMALL ? t->small : malloc(n * sizeof *t->p);
	if (t->p == NULL)
		out_of_memory(err);
	return t->p;
}

static void tmp_free(struct tmp_pairs *t)
{
	if (t->p != t->small)
		free(t->p);
	t->p = NULL;
}

/* Insertion sort for the few pairs a request has, qsort beyond. */
static void sort_pairs(struct dts_pair *p, size_t n)
{
	size_t i, j;

	if (n > 16) {
		qsort(p, n, sizeof *p, pair_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		struct dts_pair x = p[i];

		for (j = i; j > 0 && pair_cmp(&p[j - 1], &x) > 0; j--)
			p[j] = p[j - 1];
		p[j] = x;
	}
}

/* A sorted copy of n pairs in t; NULL (with err set) when out of memory. */
static struct dts_pair *sorted_pairs(struct tmp_pairs *t,
				     const struct dts_pair *p, size_t n,
				     char *err)
{
	struct dts_pair *s = tmp_alloc(t, n, err);

	if (s == NULL)
		return NULL;
	if (n > 0) {
		memcpy(s, p, n * sizeof *s);
		sort_pairs(s, n);
	}
	return s;
}

/* name=value&... over pairs already in order, both sides percent-encoded. */
static void put_form(struct dts_buf *out, const struct dts_pair *p, size_t n)
{
	size_t i, room = 0;

	for (i = 0; i < n; i++)
		room += 3 * (p[i].name.n + p[i].value.n) + 2;
	if (dts_buf_reserve(out, room) != 0)
		return;
	for (i = 0; i < n; i++) {
		if (i > 0)
			dts_buf_putc(out, '&');
		dts_pct_encode(out, p[i].name.p, p[i].name.n);
		dts_buf_putc(out, '=');
		dts_pct_encode(out, p[i].value.p, p[i].value.n);
	}
}

static void put_header(struct dts_buf *out, struct dts_buf *lens,
		       struct dts_str name, struct dts_str value)
{
	struct dts_header_len l;

	l.name = name.n;
	l.value = value.n;
	dts_buf_putstr(out, name);
	dts_buf_putc(out, '\0');
	dts_buf_putstr(out, value);
	dts_buf_putc(out, '\0');
	dts_buf_put(lens, &l, sizeof l);
}

/* Walks a "name\0value\0..." list by its lengths. */
static const char *next_header(const char *p, const struct dts_buf *lens,
			       size_t i, struct dts_str *name,
			       struct dts_str *value)
{
	struct dts_header_len l;

	memcpy(&l, lens->data + i * sizeof l, sizeof l);
	name->p = p;
	name->n = l.name;
	value->p = p + l.name + 1;
	value->n = l.value;
	return value->p + l.value + 1;
}

/* ---- Hashing: algorithms fetched once, one context reused ---- */

int dts_signer_init(struct dts_signer *s)
{
	memset(s, 0, sizeof *s);
	dts_buf_init(&s->scratch);
	s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	s->md = EVP_MD_CTX_new();
	s->v3 = malloc(sizeof *s->v3);
	if (s->v3 != NULL)
		dts_v3_output_init(s->v3);
	if (s->sha256 == NULL || s->sha1 == NULL || s->md == NULL ||
	    s->v3 == NULL) {
		dts_signer_free(s);
		return -1;
	}
	return 0;
}

void dts_signer_free(struct dts_signer *s)
{
	EVP_MD_CTX_free(s->md);
	EVP_MD_free(s->sha256);
	EVP_MD_free(s->sha1);
	dts_buf_free(&s->scratch);
	if (s->v3 != NULL) {
		dts_v3_output_free(s->v3);
		free(s->v3);
	}
	memset(s, 0, sizeof *s);
}

/* The digest of a then b (b may be empty) into out (its size: md's). */
static int digest2(struct dts_signer *s, const EVP_MD *md, const void *a,
		   size_t na, const void *b, size_t nb, unsigned char *out)
{
	return EVP_DigestInit_ex2(s->md, md, NULL) == 1 &&
	       EVP_DigestUpdate(s->md, a, na) == 1 &&
	       (nb == 0 || EVP_DigestUpdate(s->md, b, nb) == 1) &&
	       EVP_DigestFinal_ex(s->md, out, NULL) == 1;
}

/*
 * HMAC (RFC 2104) on the signer's context, with the key given as two
 * pieces (V1's is the secret then "&").  Both digests here have 64-byte
 * blocks.  Everything derived from the key is wiped before returning.
 */
#define HMAC_BLOCK 64

static int hmac(struct dts_signer *s, const EVP_MD *md, struct dts_str k1,
		struct dts_str k2, const void *msg, size_t n, unsigned char *out)
{
	unsigned char pad[HMAC_BLOCK], inner[EVP_MAX_MD_SIZE];
	const size_t len = (size_t)EVP_MD_get_size(md);
	size_t i;
	int ok = 1;

	memset(pad, 0, sizeof pad);
	if (k1.n + k2.n <= HMAC_BLOCK) {
		if (k1.n > 0)
			memcpy(pad, k1.p, k1.n);
		if (k2.n > 0)
			memcpy(pad + k1.n, k2.p, k2.n);
	} else {
		ok = digest2(s, md, k1.p, k1.n, k2.p, k2.n, pad);
	}
	for (i = 0; i < HMAC_BLOCK; i++)
		pad[i] ^= 0x36;
	ok = ok && digest2(s, md, pad, HMAC_BLOCK, msg, n, inner);
	for (i = 0; i < HMAC_BLOCK; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	ok = ok && digest2(s, md, pad, HMAC_BLOCK, inner, len, out);
	dts_wipe(pad, sizeof pad);
	dts_wipe(inner, sizeof inner);
	return ok ? 0 : -1;
}

int dts_signer_sha256_hex(struct dts_signer *s, char out[64], const void *p,
			  size_t n)
{
	unsigned char md[32];

	if (!digest2(s, s->sha256, p, n, NULL, 0, md))
		return -1;
	dts_hex(out, md, 32);
	return 0;
}

int dts_signer_hmac_sha256_hex(struct dts_signer *s, char out[64],
			       struct dts_str key, struct dts_str msg)
{
	unsigned char md[32];
	struct dts_str none = { "", 0 };

	if (hmac(s, s->sha256, key, none, msg.p, msg.n, md) != 0)
		return -1;
	dts_hex(out, md, 32);
	return 0;
}

int dts_sha256_hex(char out[64], const void *p, size_t n)
{
	struct dts_signer s;
	int rc;

	if (dts_signer_init(&s) != 0)
		return -1;
	rc = dts_signer_sha256_hex(&s, out, p, n);
	dts_signer_free(&s);
	return rc;
}

int dts_hmac_sha256_hex(char out[64], struct dts_str key, struct dts_str msg)
{
	struct dts_signer s;
	int rc;

	if (dts_signer_init(&s) != 0)
		return -1;
	rc = dts_signer_hmac_sha256_hex(&s, out, key, msg);
	dts_signer_free(&s);
	return rc;
}

/* ---- RPC V1: HMAC-SHA1 over METHOD&%2F&encode(canonical query) ---- */

static void v1_string_to_sign(struct dts_signer *s, struct dts_buf *out,
			      struct dts_str method,
			      const struct dts_pair *sorted, size_t n)
{
	struct dts_buf *canonical = &s->scratch;

	dts_buf_reset(canonical);
	put_form(canonical, sorted, n);
	dts_buf_putstr(out, method);
	dts_buf_putlit(out, "&%2F&");
	if (canonical->failed)
		out->failed = 1;
	else
		dts_pct_encode(out, canonical->data, canonical->len);
	dts_buf_reset(canonical);
}

static int v1_hmac(struct dts_signer *s, struct dts_buf *sig,
		   struct dts_str secret, const struct dts_buf *sts, char *err)
{
	unsigned char md[20];
	char b64[DTS_BASE64_LEN(20)];
	/* The key is the secret with a literal '&' appended (signing.md 2.2). */
	struct dts_str amp = { "&", 1 };

	if (hmac(s, s->sha1, secret, amp, sts->data, sts->len, md) != 0)
		return fail(err, "HMAC-SHA1 failed");
	dts_buf_put(sig, b64, dts_base64(b64, md, sizeof md));
	return sig->failed ? out_of_memory(err) : 0;
}

int dts_v1_signature_with(struct dts_signer *s, struct dts_str method,
			  const struct dts_pair *params, size_t n,
			  struct dts_str secret, struct dts_buf *string_to_sign,
			  struct dts_buf *signature, char err[DTS_ERR_MAX])
{
	struct tmp_pairs t;
	struct dts_pair *sorted;

	if (check_controls(method, "method", err) != 0 ||
	    check_controls(secret, "access_key_secret", err) != 0 ||
	    check_pairs(params, n, "params", err) != 0)
		return -1;
	if ((sorted = sorted_pairs(&t, params, n, err)) == NULL)
		return -1;
	v1_string_to_sign(s, string_to_sign, method, sorted, n);
	tmp_free(&t);
	if (string_to_sign->failed)
		return out_of_memory(err);
	return v1_hmac(s, signature, secret, string_to_sign, err);
}

int dts_v1_signature(struct dts_str method, const struct dts_pair *params,
		     size_t n, struct dts_str secret,
		     struct dts_buf *string_to_sign, struct dts_buf *signature,
		     char err[DTS_ERR_MAX])
{
	struct dts_signer s;
	int rc;

	if (dts_signer_init(&s) != 0)
		return fail(err, "OpenSSL cannot provide SHA-1 and SHA-256");
	rc = dts_v1_signature_with(&s, method, params, n, secret,
				   string_to_sign, signature, err);
	dts_signer_free(&s);
	return rc;
}

/* ---- V3: ACS3-HMAC-SHA256 ---- */

static int header_name_ok(struct dts_str s)
{
	size_t i;

	if (s.n == 0)
		return 0;
	for (i = 0; i < s.n; i++)
		if (!DTS_IS_TCHAR[(unsigned char)s.p[i]])
			return 0;
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
		if (check_utf8(h[i].value, "headers", h[i].name, err) != 0)
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
/* What dts_sign knows of the headers it hands over: CHECKED, they were
 * checked already (the caller's by check_request, its own are checked
 * fields); SORTED, their names are lower case, distinct and in order (its
 * own, when the caller gives none). */
#define CHECKED 1
#define SORTED 2

/* What dts_sign knows of the headers it builds for r: its own list (own
 * headers first, in order) is SORTED only when r adds none of its own. */
static int own_known(const struct dts_request *r)
{
	return r->nheaders == 0 ? CHECKED | SORTED : CHECKED;
}

static int normalize_headers(const struct dts_pair *h, size_t n, int known,
			     struct dts_buf *out, struct dts_buf *lens,
			     size_t *count, char *err)
{
	struct tmp_pairs t;
	struct dts_pair *e;
	char small[512], *names;
	size_t i, off = 0, total = 0;

	*count = 0;
	if (!(known & CHECKED) && check_headers(h, n, err) != 0)
		return -1;
	if (known & SORTED) {	/* only the values to trim */
		for (i = 0; i < n; i++)
			total += h[i].name.n + h[i].value.n + 2;
		dts_buf_reserve(out, total);
		dts_buf_reserve(lens, n * sizeof(struct dts_header_len));
		for (i = 0; i < n; i++)
			put_header(out, lens, h[i].name, trim(h[i].value));
		*count = n;
		return out->failed || lens->failed ? out_of_memory(err) : 0;
	}
	for (i = 0; i < n; i++)
		total += h[i].name.n;
	names = total <= sizeof small ? small : malloc(total);
	if (names == NULL)
		return out_of_memory(err);
	if ((e = tmp_alloc(&t, n, err)) == NULL) {
		if (names != small)
			free(names);
		return -1;
	}
	for (i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < h[i].name.n; k++)
			names[off + k] = lower(h[i].name.p[k]);
		e[i].name.p = names + off;
		e[i].name.n = h[i].name.n;
		e[i].value = trim(h[i].value);
		off += h[i].name.n;
	}
	sort_pairs(e, n);
	for (i = 0; i < n; i++)
		total += e[i].name.n + e[i].value.n + 2;
	dts_buf_reserve(out, total);
	dts_buf_reserve(lens, n * sizeof(struct dts_header_len));
	for (i = 0; i < n && !out->failed && !lens->failed; i++) {
		if (i > 0 && str_cmp(e[i].name, e[i - 1].name) == 0) {
			struct dts_header_len l;
			char *last = lens->data + lens->len - sizeof l;

			/* Same name again: replace the closing NUL by ','. */
			out->data[out->len - 1] = ',';
			dts_buf_putstr(out, e[i].value);
			dts_buf_putc(out, '\0');
			memcpy(&l, last, sizeof l);
			l.value += 1 + e[i].value.n;
			memcpy(last, &l, sizeof l);
			continue;
		}
		put_header(out, lens, e[i].name, e[i].value);
		++*count;
	}
	tmp_free(&t);
	if (names != small)
		free(names);
	return out->failed || lens->failed ? out_of_memory(err) : 0;
}

static int signed_by_default(struct dts_str name)
{
	return (name.n >= 6 && memcmp(name.p, "x-acs-", 6) == 0) ||
	       str_eq(name, "host") || str_eq(name, "content-type");
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

			p = next_header(p, &out->header_lens, k, &name, &value);
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
	dts_buf_init(&o->header_lens);
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
	dts_buf_free(&o->header_lens);
	o->nheaders = 0;
}

void dts_v3_output_reset(struct dts_v3_output *o)
{
	dts_buf_reset(&o->canonical_query);
	dts_buf_reset(&o->canonical_request);
	dts_buf_reset(&o->string_to_sign);
	dts_buf_reset(&o->signature);
	dts_buf_reset(&o->signed_headers);
	dts_buf_reset(&o->authorization);
	dts_buf_reset(&o->headers);
	dts_buf_reset(&o->header_lens);
	o->nheaders = 0;
}

/* known: what dts_sign's own call knows of its input (CHECKED, SORTED). */
static int v3_signature(struct dts_signer *s, const struct dts_v3_input *in,
			int known, struct dts_v3_output *out, char *err)
{
	struct dts_buf *cr = &out->canonical_request;
	struct tmp_pairs t;
	struct dts_pair *query;
	const char *p;
	char hash[64];
	size_t i;

	if (!(known & CHECKED) &&
	    (check_controls(in->method, "method", err) != 0 ||
	     check_controls(in->payload_hash, "payload_hash", err) != 0 ||
	     check_controls(in->access_key_id, "access_key_id", err) != 0 ||
	     check_controls(in->access_key_secret, "access_key_secret", err) != 0 ||
	     check_pairs(in->query, in->nquery, "query", err) != 0))
		return -1;
	if (normalize_headers(in->headers, in->nheaders, known, &out->headers,
			      &out->header_lens, &out->nheaders, err) != 0)
		return -1;
	if (check_signed_present(in, out, err) != 0)
		return -1;
	if ((query = sorted_pairs(&t, in->query, in->nquery, err)) == NULL)
		return -1;
	put_form(&out->canonical_query, query, in->nquery);
	tmp_free(&t);

	/* Everything but the path and the query is in headers already. */
	dts_buf_reserve(cr, in->method.n + 3 * in->path.n + out->canonical_query.len +
			2 * out->headers.len + in->payload_hash.n + 8);
	dts_buf_putstr(cr, in->method);
	dts_buf_putc(cr, '\n');
	/* An empty path stays empty, as in the SDKs' own test vectors. */
	dts_pct_encode_path(cr, in->path.p, in->path.n);
	dts_buf_putc(cr, '\n');
	dts_buf_put(cr, out->canonical_query.data, out->canonical_query.len);
	dts_buf_putc(cr, '\n');
	for (i = 0, p = out->headers.data; i < out->nheaders; i++) {
		struct dts_str name, value;

		p = next_header(p, &out->header_lens, i, &name, &value);
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

	if (dts_signer_sha256_hex(s, hash, cr->data, cr->len) != 0)
		return fail(err, "SHA-256 failed");
	dts_buf_putlit(&out->string_to_sign, "ACS3-HMAC-SHA256\n");
	dts_buf_put(&out->string_to_sign, hash, sizeof hash);
	if (out->string_to_sign.failed)
		return out_of_memory(err);
	{
		struct dts_str sts = { out->string_to_sign.data, out->string_to_sign.len };
		char sig[64];

		if (dts_signer_hmac_sha256_hex(s, sig, in->access_key_secret, sts) != 0)
			return fail(err, "HMAC-SHA256 failed");
		dts_buf_put(&out->signature, sig, sizeof sig);
	}
	dts_buf_reserve(&out->authorization, 64 + in->access_key_id.n +
			out->signed_headers.len + out->signature.len);
	dts_buf_putlit(&out->authorization, "ACS3-HMAC-SHA256 Credential=");
	dts_buf_putstr(&out->authorization, in->access_key_id);
	dts_buf_putlit(&out->authorization, ",SignedHeaders=");
	dts_buf_put(&out->authorization, out->signed_headers.data,
		    out->signed_headers.len);
	dts_buf_putlit(&out->authorization, ",Signature=");
	dts_buf_put(&out->authorization, out->signature.data, out->signature.len);
	return out->authorization.failed || out->signature.failed
		? out_of_memory(err) : 0;
}

int dts_v3_signature_with(struct dts_signer *s, const struct dts_v3_input *in,
			  struct dts_v3_output *out, char err[DTS_ERR_MAX])
{
	return v3_signature(s, in, 0, out, err);
}

int dts_v3_signature(const struct dts_v3_input *in, struct dts_v3_output *out,
		     char err[DTS_ERR_MAX])
{
	struct dts_signer s;
	int rc;

	if (dts_signer_init(&s) != 0)
		return fail(err, "OpenSSL cannot provide SHA-1 and SHA-256");
	rc = dts_v3_signature_with(&s, in, out, err);
	dts_signer_free(&s);
	return rc;
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
	dts_buf_init(&s->header_lens);
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
	dts_buf_free(&s->header_lens);
	s->nheaders = 0;
}

void dts_signed_reset(struct dts_signed *s)
{
	s->method[0] = '\0';
	dts_buf_reset(&s->target);
	dts_buf_reset(&s->body);
	dts_buf_reset(&s->signature);
	dts_buf_reset(&s->string_to_sign);
	dts_buf_reset(&s->canonical_request);
	dts_buf_reset(&s->headers);
	dts_buf_reset(&s->header_lens);
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

		if (c <= ' ' || c == 0x7F || c == '/' || c == '?' || c == '#' ||
		    c == '@' || c == '\\')
			return fail(err, "host: invalid character 0x%02X; give the "
				    "host name (and :port) only", c);
	}
	return 0;
}

static int check_request(const struct dts_request *r, struct dts_signed *o,
			 char *err)
{
	if (r->scheme != DTS_SCHEME_V1 && r->scheme != DTS_SCHEME_V3)
		return fail(err, "scheme: expected \"v1\" or \"v3\"");
	if (check_field(r->method, "method", err) != 0)
		return -1;
	if (str_ieq(r->method, LIT("GET")))
		strcpy(o->method, "GET");
	else if (str_ieq(r->method, LIT("POST")))
		strcpy(o->method, "POST");
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
		if (str_ieq(r->headers[i].name, LIT("authorization")))
			return fail(err, "headers.authorization: set by the signer");
		for (k = 0; k < nown; k++)
			if (str_ieq(r->headers[i].name, own[k].name))
				return fail(err, "headers." NAME_FMT ": set by the "
					    "signer; do not pass it",
					    NAME_ARG(r->headers[i].name));
	}
	return 0;
}

#define pair_of(name, value) ((struct dts_pair){ LIT(name), (value) })

/* Own headers first, then the caller's: one array for normalize_headers. */
static struct dts_pair *all_headers(struct tmp_pairs *t,
				    const struct dts_request *r,
				    const struct dts_pair *own, size_t nown,
				    char *err)
{
	struct dts_pair *h = tmp_alloc(t, nown + r->nheaders, err);

	if (h == NULL)
		return NULL;
	memcpy(h, own, nown * sizeof *h);
	if (r->nheaders > 0)
		memcpy(h + nown, r->headers, r->nheaders * sizeof *h);
	return h;
}

static int put_body(const struct dts_request *r, struct dts_signed *o, char *err)
{
	struct tmp_pairs t;
	struct dts_pair *body = sorted_pairs(&t, r->body, r->nbody, err);
	size_t i;

	if (body == NULL)
		return -1;
	for (i = 1; i < r->nbody; i++)
		if (str_cmp(body[i].name, body[i - 1].name) == 0) {
			fail(err, "body." NAME_FMT ": given twice",
			     NAME_ARG(body[i].name));
			tmp_free(&t);
			return -1;
		}
	put_form(&o->body, body, r->nbody);
	tmp_free(&t);
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

static void sort_tagged(struct tagged *t, size_t n)
{
	size_t i, j;

	if (n > 16) {
		qsort(t, n, sizeof *t, pair_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		struct tagged x = t[i];

		for (j = i; j > 0 && pair_cmp(&t[j - 1], &x) > 0; j--)
			t[j] = t[j - 1];
		t[j] = x;
	}
}

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

static int sign_v1(struct dts_signer *s, const struct dts_request *r,
		   struct dts_signed *o, char *err)
{
	const size_t ncommon = 9, total = ncommon + r->nquery + r->nbody;
	size_t n = 0, i;
	struct tagged small_t[SMALL], *t;
	struct tmp_pairs sorted_tmp, headers_tmp;
	struct dts_pair *sorted, *headers, own[4];
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
	t = total <= SMALL ? small_t : malloc(total * sizeof *t);
	if (t == NULL)
		return out_of_memory(err);
	if ((sorted = tmp_alloc(&sorted_tmp, total, err)) == NULL) {
		if (t != small_t)
			free(t);
		return -1;
	}
#define ADD(nm, val, src) (t[n].p = pair_of(nm, val), t[n++].from = (src))
	ADD("AccessKeyId", r->access_key_id, COMMON);
	ADD("Action", r->action, COMMON);
	ADD("Format", LIT("JSON"), COMMON);
	ADD("SignatureMethod", LIT("HMAC-SHA1"), COMMON);
	ADD("SignatureNonce", r->nonce, COMMON);
	ADD("SignatureVersion", LIT("1.0"), COMMON);
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
	sort_tagged(t, n);
	for (i = 0; i < n; i++) {
		if (i > 0 && str_cmp(t[i].p.name, t[i - 1].p.name) == 0) {
			v1_collision(&t[i - 1], &t[i], err);
			goto done;
		}
		sorted[i] = t[i].p;
	}
	v1_string_to_sign(s, &o->string_to_sign, str_of(o->method), sorted, n);
	if (o->string_to_sign.failed) {
		out_of_memory(err);
		goto done;
	}
	if (v1_hmac(s, &o->signature, r->access_key_secret, &o->string_to_sign,
		    err) != 0)
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
	dts_buf_putlit(url, "Signature=");
	dts_pct_encode(url, o->signature.data, o->signature.len);
	if (url->failed) {
		out_of_memory(err);
		goto done;
	}
	if (put_body(r, o, err) != 0)
		goto done;

	/* As CLIENT-TS: x-acs-action and x-acs-version are sent, unsigned. */
	n = 0;
	if (o->body.len > 0)
		own[n++] = pair_of("content-type", LIT(FORM_TYPE));
	own[n++] = pair_of("host", r->host);
	own[n++] = pair_of("x-acs-action", r->action);
	own[n++] = pair_of("x-acs-version", r->version);
	if (check_own_headers(r, own, n, err) != 0)
		goto done;
	if ((headers = all_headers(&headers_tmp, r, own, n, err)) == NULL)
		goto done;
	rc = normalize_headers(headers, n + r->nheaders, own_known(r), &o->headers,
			       &o->header_lens, &o->nheaders, err);
	tmp_free(&headers_tmp);
done:
	if (t != small_t)
		free(t);
	tmp_free(&sorted_tmp);
	return rc;
}

static void swap_bufs(struct dts_buf *a, struct dts_buf *b)
{
	struct dts_buf t = *a;

	*a = *b;
	*b = t;
}

static int sign_v3(struct dts_signer *s, const struct dts_request *r,
		   struct dts_signed *o, char *err)
{
	struct dts_v3_input in;
	struct dts_v3_output *out = s->v3;
	struct tmp_pairs headers_tmp;
	struct dts_pair own[9], *headers;
	char hash[65];
	size_t n = 0;
	const int token = r->security_token.p != NULL && r->security_token.n > 0;
	int rc = -1;

	if (put_body(r, o, err) != 0)
		return -1;
	if (o->body.len == 0)
		memcpy(hash, EMPTY_SHA256, 64);
	else if (dts_signer_sha256_hex(s, hash, o->body.data, o->body.len) != 0)
		return fail(err, "SHA-256 failed");
	hash[64] = '\0';

	/* In sorted order already: with no headers of the caller's to merge
	 * in, normalize_headers has only the values to trim. */
	if (o->body.len > 0)
		own[n++] = pair_of("content-type", LIT(FORM_TYPE));
	own[n++] = pair_of("host", r->host);
	if (token)
		own[n++] = pair_of("x-acs-accesskey-id", r->access_key_id);
	own[n++] = pair_of("x-acs-action", r->action);
	own[n++] = pair_of("x-acs-content-sha256", ((struct dts_str){ hash, 64 }));
	own[n++] = pair_of("x-acs-date", r->timestamp);
	if (token)
		own[n++] = pair_of("x-acs-security-token", r->security_token);
	own[n++] = pair_of("x-acs-signature-nonce", r->nonce);
	own[n++] = pair_of("x-acs-version", r->version);
	if (check_own_headers(r, own, n, err) != 0)
		return -1;
	if ((headers = all_headers(&headers_tmp, r, own, n, err)) == NULL)
		return -1;

	memset(&in, 0, sizeof in);
	in.method = str_of(o->method);
	in.path = r->path.p != NULL ? r->path : str_of("/");
	in.payload_hash.p = hash;
	in.payload_hash.n = 64;
	in.access_key_id = r->access_key_id;
	in.access_key_secret = r->access_key_secret;
	in.query = r->query;
	in.nquery = r->nquery;
	in.headers = headers;
	in.nheaders = n + r->nheaders;
	dts_v3_output_reset(out);
	if (v3_signature(s, &in, own_known(r), out, err) != 0)
		goto done;

	dts_buf_reserve(&o->target, 3 * in.path.n + 1 + out->canonical_query.len);
	dts_pct_encode_path(&o->target, in.path.p, in.path.n);
	if (out->canonical_query.len > 0) {
		dts_buf_putc(&o->target, '?');
		dts_buf_put(&o->target, out->canonical_query.data,
			    out->canonical_query.len);
	}
	/* Hand the buffers over rather than copy them: the signer's (empty)
	 * ones take their place, to be reused. */
	swap_bufs(&o->headers, &out->headers);
	swap_bufs(&o->header_lens, &out->header_lens);
	o->nheaders = out->nheaders;
	put_header(&o->headers, &o->header_lens, LIT("authorization"),
		   (struct dts_str){ out->authorization.data, out->authorization.len });
	o->nheaders++;
	swap_bufs(&o->signature, &out->signature);
	swap_bufs(&o->string_to_sign, &out->string_to_sign);
	swap_bufs(&o->canonical_request, &out->canonical_request);
	rc = o->target.failed || o->headers.failed || o->header_lens.failed
		? out_of_memory(err) : 0;
done:
	dts_v3_output_reset(out);
	tmp_free(&headers_tmp);
	return rc;
}

int dts_sign_with(struct dts_signer *s, const struct dts_request *req,
		  struct dts_signed *out, char err[DTS_ERR_MAX])
{
	int rc;

	err[0] = '\0';
	out->method[0] = '\0';
	if (check_request(req, out, err) != 0)
		return -1;
	rc = req->scheme == DTS_SCHEME_V1 ? sign_v1(s, req, out, err)
					  : sign_v3(s, req, out, err);
	if (rc != 0)
		dts_signed_reset(out);
	return rc;
}

int dts_sign(const struct dts_request *req, struct dts_signed *out,
	     char err[DTS_ERR_MAX])
{
	struct dts_signer s;
	int rc;

	if (dts_signer_init(&s) != 0) {
		out->method[0] = '\0';
		return fail(err, "OpenSSL cannot provide SHA-1 and SHA-256");
	}
	rc = dts_sign_with(&s, req, out, err);
	dts_signer_free(&s);
	if (rc != 0)
		dts_signed_free(out);
	return rc;
}
