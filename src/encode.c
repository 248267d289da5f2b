#include "encode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void dts_buf_init(struct dts_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}

void dts_buf_free(struct dts_buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	dts_buf_init(b);
}

/* Grows by copying rather than realloc, so no stale copy of a secret is
 * left behind in freed memory. */
static int buf_reserve(struct dts_buf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->failed)
		return -1;
	if (extra <= b->cap - b->len)
		return 0;
	if (extra > (size_t)-1 / 2 - b->len)
		goto fail;
	cap = b->cap ? b->cap : 64;
	while (cap - b->len < extra)
		cap *= 2;
	p = malloc(cap);
	if (p == NULL)
		goto fail;
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return 0;
fail:
	b->failed = 1;
	return -1;
}

void dts_buf_put(struct dts_buf *b, const void *p, size_t n)
{
	if (n == 0 || buf_reserve(b, n) != 0)
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void dts_buf_putc(struct dts_buf *b, char c)
{
	dts_buf_put(b, &c, 1);
}

void dts_buf_puts(struct dts_buf *b, const char *s)
{
	dts_buf_put(b, s, strlen(s));
}

void dts_buf_putstr(struct dts_buf *b, struct dts_str s)
{
	dts_buf_put(b, s.p, s.n);
}

/* Strict: no overlong forms, no surrogates, nothing above U+10FFFF.
 * Runs of ASCII, most of any JSON text, are skipped eight bytes at a time. */
size_t dts_utf8_valid_prefix(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (n - i >= 8) {
		uint64_t x;

		memcpy(&x, s + i, 8);
		if (x & 0x8080808080808080ULL)
			break;
		i += 8;
	}
	while (i < n) {
		unsigned c = u[i];
		size_t len;
		unsigned lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			len = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			len = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			len = 4;
		else
			return i;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
		else if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
		if (n - i < len || u[i + 1] < lo || u[i + 1] > hi)
			return i;
		if (len >= 3 && (u[i + 2] & 0xC0) != 0x80)
			return i;
		if (len == 4 && (u[i + 3] & 0xC0) != 0x80)
			return i;
		i += len;
	}
	return n;
}

static const char HEX_UPPER[] = "0123456789ABCDEF";

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == '~';
}

static void encode(struct dts_buf *out, const char *s, size_t n, int keep_slash)
{
	size_t i, run;

	for (i = 0; i < n; i = run) {
		unsigned char c;

		/* Copy runs of plain bytes at once: most values are mostly plain. */
		for (run = i; run < n; run++) {
			c = (unsigned char)s[run];
			if (!unreserved(c) && !(keep_slash && c == '/'))
				break;
		}
		dts_buf_put(out, s + i, run - i);
		if (run < n) {
			char esc[3];

			c = (unsigned char)s[run];
			esc[0] = '%';
			esc[1] = HEX_UPPER[c >> 4];
			esc[2] = HEX_UPPER[c & 15];
			dts_buf_put(out, esc, 3);
			run++;
		}
	}
}

void dts_pct_encode(struct dts_buf *out, const char *s, size_t n)
{
	encode(out, s, n, 0);
}

void dts_pct_encode_path(struct dts_buf *out, const char *s, size_t n)
{
	encode(out, s, n, 1);
}

void dts_hex(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
}

size_t dts_base64(char *out, const unsigned char *in, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = tbl[(v >> 6) & 63];
		*o++ = tbl[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	return (size_t)(o - out);
}
