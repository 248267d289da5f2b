/*
 * libFuzzer target: the byte-level encoders of src/encode.c against
 * independent references.
 *
 * - dts_utf8_valid_prefix against a decoder written from RFC 3629's table
 *   of well-formed byte sequences;
 * - dts_pct_encode (and the path variant) writes only RFC 3986 unreserved
 *   bytes and upper-case %XX (plus '/' for paths), and decodes back to the
 *   input;
 * - dts_base64 against OpenSSL's EVP_EncodeBlock, dts_hex against a table;
 * - dts_needles_find (src/find.c, what redaction asks first) against a
 *   plain search, for strings cut from the input and the text after them:
 *   it must never miss one (a miss would leave a secret unredacted).
 *
 * Any disagreement aborts, which libFuzzer reports with the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "encode.h"
#include "find.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_encode: %s\n", what);
	abort();
}

/* RFC 3629 section 4: the length of the well-formed prefix. */
static size_t ref_utf8_prefix(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t len, k;
		uint8_t lo = 0x80, hi = 0xBF;

		if (c <= 0x7F) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			len = 2;
		else if (c == 0xE0)
			len = 3, lo = 0xA0;
		else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
			len = 3;
		else if (c == 0xED)
			len = 3, hi = 0x9F;
		else if (c == 0xF0)
			len = 4, lo = 0x90;
		else if (c >= 0xF1 && c <= 0xF3)
			len = 4;
		else if (c == 0xF4)
			len = 4, hi = 0x8F;
		else
			return i;
		if (n - i < len)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return i;
		i += len;
	}
	return n;
}

static int unreserved(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

static int upper_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static uint8_t hex_value(uint8_t c)
{
	return (uint8_t)(c <= '9' ? c - '0' : c - 'A' + 10);
}

/* out is the encoding of in: every byte unreserved (or '/' for a path)
 * or %XX with upper-case hex, a byte that must be escaped escaped, and
 * decoding gives in back. */
static void check_pct(const struct dts_buf *out, const uint8_t *in, size_t n,
		      int path)
{
	const uint8_t *p = (const uint8_t *)out->data;
	size_t i = 0, k = 0;

	if (out->failed)
		fail("percent-encoder: allocation failed");
	while (i < out->len) {
		uint8_t byte;

		if (p[i] == '%') {
			if (out->len - i < 3 || !upper_hex(p[i + 1]) || !upper_hex(p[i + 2]))
				fail("percent-encoder: malformed %XX");
			byte = (uint8_t)(hex_value(p[i + 1]) << 4 | hex_value(p[i + 2]));
			if (unreserved(byte) || (path && byte == '/'))
				fail("percent-encoder: escaped a byte that needs none");
			i += 3;
		} else if (unreserved(p[i]) || (path && p[i] == '/')) {
			byte = p[i++];
		} else {
			fail("percent-encoder: wrote a byte that must be escaped");
			return;
		}
		if (k >= n || in[k] != byte)
			fail("percent-encoder: does not decode to the input");
		k++;
	}
	if (k != n)
		fail("percent-encoder: lost bytes");
}

static int ref_find(const char *text, size_t len, const char *p, size_t n)
{
	size_t i;

	for (i = 0; n <= len && i <= len - n; i++)
		if (memcmp(text + i, p, n) == 0)
			return 1;
	return 0;
}

/* Input: a count byte, then that many (length byte, string) pairs; the
 * rest is the text. */
static void check_find(const uint8_t *data, size_t size)
{
	struct dts_str s[80];
	size_t n = 0, k = 0, i, want = 0;
	static union {
		void *align;
		unsigned char b[80 * 300 + 4096];
	} mem;
	const struct dts_needles *nd;

	if (size == 0)
		return;
	n = data[k++] % 80;
	for (i = 0; i < n; i++) {
		size_t len = k < size ? data[k++] % 40 + 1 : 1;

		if (len > size - k)
			len = size - k;
		if (len == 0) {
			n = i;
			break;
		}
		s[i].p = (const char *)data + k;
		s[i].n = len;
		k += len;
	}
	if (dts_needles_size(s, n) > sizeof mem.b)
		return;
	nd = dts_needles_build(mem.b, s, n);
	for (i = 0; i < n && !want; i++)
		want = (size_t)ref_find((const char *)data + k, size - k, s[i].p, s[i].n);
	if (dts_needles_find(nd, (const char *)data + k, size - k) != (int)want)
		fail("needles: disagrees with a plain search");
	/* The strings are also in the whole input, which holds them. */
	if (n > 0 && !dts_needles_find(nd, (const char *)data, size))
		fail("needles: missed a string that is there");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct dts_buf b;

	if (dts_utf8_valid_prefix(s, size) != ref_utf8_prefix(data, size))
		fail("UTF-8: disagrees with RFC 3629");

	dts_buf_init(&b);
	dts_pct_encode(&b, s, size);
	check_pct(&b, data, size, 0);
	dts_buf_free(&b);
	dts_pct_encode_path(&b, s, size);
	check_pct(&b, data, size, 1);
	dts_buf_free(&b);

	check_find(data, size);

	if (size <= 3 * 1024) {
		char ours[DTS_BASE64_LEN(3 * 1024)];
		unsigned char theirs[DTS_BASE64_LEN(3 * 1024) + 1];
		char hex[2 * 3 * 1024];
		static const char digits[] = "0123456789abcdef";
		size_t n = dts_base64(ours, data, size), i;
		int m = EVP_EncodeBlock(theirs, data, (int)size);

		if (m < 0 || n != (size_t)m || memcmp(ours, theirs, n) != 0)
			fail("Base64: disagrees with OpenSSL");
		dts_hex(hex, data, size);
		for (i = 0; i < size; i++)
			if (hex[2 * i] != digits[data[i] >> 4] ||
			    hex[2 * i + 1] != digits[data[i] & 15])
				fail("hex: wrong digit");
	}
	return 0;
}
