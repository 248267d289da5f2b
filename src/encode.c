#include "encode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/*
 * Zeroes n bytes that the compiler may not drop as a dead store: memset,
 * then an empty asm that takes the pointer and clobbers memory, so the
 * zeroes must be in memory before it (the idiom of Linux's
 * memzero_explicit).  OPENSSL_cleanse does the same job byte by byte in
 * its own assembly, several times slower on the buffers a signature wipes.
 */
void dts_wipe(void *p, size_t n)
{
	if (n == 0)
		return;
#if defined(__GNUC__) || defined(__clang__)
	memset(p, 0, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");
#else
	OPENSSL_cleanse(p, n);
#endif
}

void dts_buf_init(struct dts_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}

void dts_buf_free(struct dts_buf *b)
{
	if (b->data != NULL) {
		dts_wipe(b->data, b->len);
		free(b->data);
	}
	dts_buf_init(b);
}

void dts_buf_reset(struct dts_buf *b)
{
	if (b->len > 0)
		dts_wipe(b->data, b->len);
	b->len = 0;
	b->failed = 0;
}

/* Grows by copying rather than realloc, so no stale copy of a secret is
 * left behind in freed memory. */
int dts_buf_reserve(struct dts_buf *b, size_t extra)
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
		dts_wipe(b->data, b->len);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return 0;
fail:
	b->failed = 1;
	return -1;
}

void dts_buf_put_slow(struct dts_buf *b, const void *p, size_t n)
{
	if (n == 0 || (n > b->cap - b->len && dts_buf_reserve(b, n) != 0))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void dts_buf_puts(struct dts_buf *b, const char *s)
{
	dts_buf_put(b, s, strlen(s));
}

/* Strict: no overlong forms, no surrogates, nothing above U+10FFFF.
 * Runs of ASCII, most of any JSON text, are skipped 32 or 8 bytes at a time. */
size_t dts_utf8_valid_prefix(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	/* 32 bytes a step while they are all ASCII, then 8. */
	while (n - i >= 32) {
		uint64_t x[4];

		memcpy(x, s + i, 32);
		if ((x[0] | x[1] | x[2] | x[3]) & 0x8080808080808080ULL)
			break;
		i += 32;
	}
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

/* RFC 3986 unreserved bytes, as a constant expression. */
#define UNRESERVED(c) (((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z') || \
		       ((c) >= '0' && (c) <= '9') || (c) == '-' || (c) == '_' || \
		       (c) == '.' || (c) == '~')
#define W1(c) ((uint32_t)(c) | (uint32_t)1 << 24)
#define HEXC(x) ((char)((x) < 10 ? '0' + (x) : 'A' + (x) - 10))

/* What each byte becomes, as one little-endian word: its three characters
 * (only the first for an unreserved byte) in the low bytes and how many
 * of them count in the high byte. */
#define W(a, b, c, n) ((uint32_t)(unsigned char)(a) | (uint32_t)(unsigned char)(b) << 8 | \
		       (uint32_t)(unsigned char)(c) << 16 | (uint32_t)(n) << 24)
#define E(c) (UNRESERVED(c) ? W((c), 0, 0, 1) : W('%', HEXC((c) >> 4), HEXC((c) & 15), 3))
#define E4(c) E(c), E((c) + 1), E((c) + 2), E((c) + 3)
#define E16(c) E4(c), E4((c) + 4), E4((c) + 8), E4((c) + 12)
#define E64(c) E16(c), E16((c) + 16), E16((c) + 32), E16((c) + 48)
static const uint32_t ENC[256] = { E64(0), E64(64), E64(128), E64(192) };
#undef E
#undef E4
#undef E16
#undef E64
#undef W

/* The word's bytes in memory order, whatever the host's byte order. */
static void put4(char *o, uint32_t w)
{
	o[0] = (char)(w & 0xFF);
	o[1] = (char)(w >> 8 & 0xFF);
	o[2] = (char)(w >> 16 & 0xFF);
	o[3] = (char)(w >> 24);
}

/*
 * The room is reserved once, for the worst case, so the loop only writes:
 * four bytes for every byte of s (one store, without a branch to
 * mispredict), of which one or three count.  What the last writes left
 * past the end is wiped, so nothing past len was written.  In a path, '/'
 * stays.
 */
static void encode(struct dts_buf *out, const char *s, size_t n, int keep_slash)
{
	const unsigned char *u = (const unsigned char *)s;
	char *o, *end;
	size_t i;

	if (n == 0)
		return;
	if (n > ((size_t)-1 - 1) / 3 || dts_buf_reserve(out, 3 * n + 1) != 0) {
		out->failed = 1;
		return;
	}
	o = out->data + out->len;
	end = o + 3 * n + 1;
	if (keep_slash) {
		for (i = 0; i < n; i++) {
			uint32_t w = u[i] == '/' ? W1('/') : ENC[u[i]];

			put4(o, w);
			o += w >> 24;
		}
	} else {
		/* Four at a time: the loop's own count and branch, once per four
		 * bytes, are a good part of the work here. */
		for (i = 0; n - i >= 4; i += 4) {
			const uint32_t w0 = ENC[u[i]], w1 = ENC[u[i + 1]];
			const uint32_t w2 = ENC[u[i + 2]], w3 = ENC[u[i + 3]];

			put4(o, w0);
			o += w0 >> 24;
			put4(o, w1);
			o += w1 >> 24;
			put4(o, w2);
			o += w2 >> 24;
			put4(o, w3);
			o += w3 >> 24;
		}
		for (; i < n; i++) {
			uint32_t w = ENC[u[i]];

			put4(o, w);
			o += w >> 24;
		}
	}
	out->len = (size_t)(o - out->data);
	memset(o, 0, (size_t)(end - o) < 4 ? (size_t)(end - o) : 4);
}

size_t dts_pct_encoded_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, len = 0;

	for (i = 0; i < n; i++)
		len += (size_t)(ENC[u[i]] >> 24);
	return len;
}

void dts_pct_encode(struct dts_buf *out, const char *s, size_t n)
{
	encode(out, s, n, 0);
}

void dts_pct_encode_path(struct dts_buf *out, const char *s, size_t n)
{
	encode(out, s, n, 1);
}

/* Both hex digits of every byte, looked up at once. */
#define X(c) "0123456789abcdef"[(c) >> 4], "0123456789abcdef"[(c) & 15]
#define X4(c) X(c), X((c) + 1), X((c) + 2), X((c) + 3)
#define X16(c) X4(c), X4((c) + 4), X4((c) + 8), X4((c) + 12)
#define X64(c) X16(c), X16((c) + 16), X16((c) + 32), X16((c) + 48)
static const char HEX2[512] = { X64(0), X64(64), X64(128), X64(192) };
#undef X
#undef X4
#undef X16
#undef X64

void dts_hex(char *out, const unsigned char *in, size_t n)
{
	size_t i;

	for (i = 0; n - i >= 4; i += 4) {
		memcpy(out + 2 * i, HEX2 + 2 * in[i], 2);
		memcpy(out + 2 * i + 2, HEX2 + 2 * in[i + 1], 2);
		memcpy(out + 2 * i + 4, HEX2 + 2 * in[i + 2], 2);
		memcpy(out + 2 * i + 6, HEX2 + 2 * in[i + 3], 2);
	}
	for (; i < n; i++)
		memcpy(out + 2 * i, HEX2 + 2 * in[i], 2);
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
