/*
 * Byte-level helpers shared by the signers: a growable buffer that wipes
 * what it held, UTF-8 validation, the strict percent-encoder of signing.md
 * section 1, hex and Base64.  No Lua in here.
 */
#ifndef DTS_ENCODE_H
#define DTS_ENCODE_H

#include <stddef.h>
#include <string.h>

/* A counted string that need not be NUL-terminated; p == NULL means absent. */
struct dts_str {
	const char *p;
	size_t n;
};

/*
 * A growable byte buffer.  Appends never fail loudly: the first allocation
 * failure sets `failed` and later appends are no-ops, so a caller can build a
 * whole string and check once.  What was written is always wiped before the
 * memory is released or reused, because these buffers carry keys, tokens and
 * strings-to-sign; bytes past len were never written since the last wipe,
 * so wiping len bytes is enough.
 */
struct dts_buf {
	char *data;
	size_t len;
	size_t cap;
	int failed;
};

/* Zeroes n bytes, a store the compiler cannot remove (secrets). */
void dts_wipe(void *p, size_t n);

void dts_buf_init(struct dts_buf *b);
void dts_buf_free(struct dts_buf *b);
/* Wipes what was written and empties b, keeping its memory for reuse. */
void dts_buf_reset(struct dts_buf *b);
/* Room for n more bytes at once; -1 (and failed set) when out of memory. */
int dts_buf_reserve(struct dts_buf *b, size_t n);
/* Appends whatever does not fit by way of dts_buf_reserve; the common case
 * (room already made) is inline, as the signers append piece by piece. */
void dts_buf_put_slow(struct dts_buf *b, const void *p, size_t n);
void dts_buf_puts(struct dts_buf *b, const char *s);

static inline void dts_buf_put(struct dts_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (n > b->cap - b->len) {
		dts_buf_put_slow(b, p, n);
		return;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void dts_buf_putc(struct dts_buf *b, char c)
{
	if (b->len < b->cap)
		b->data[b->len++] = c;
	else
		dts_buf_put_slow(b, &c, 1);
}

static inline void dts_buf_putstr(struct dts_buf *b, struct dts_str s)
{
	dts_buf_put(b, s.p, s.n);
}

/* A string literal, its length known when compiling. */
#define dts_buf_putlit(b, s) dts_buf_put((b), "" s, sizeof(s) - 1)

/* Length of the longest valid UTF-8 prefix: n when all of s is valid. */
size_t dts_utf8_valid_prefix(const char *s, size_t n);

/* RFC 3986 unreserved bytes stay, every other byte becomes %XX (upper case). */
void dts_pct_encode(struct dts_buf *out, const char *s, size_t n);
/* The length dts_pct_encode writes for s. */
size_t dts_pct_encoded_len(const char *s, size_t n);
/* The same, but '/' is kept: for a canonical URI path. */
void dts_pct_encode_path(struct dts_buf *out, const char *s, size_t n);

/* Lower-case hex of n bytes into out, which has room for 2n bytes. */
void dts_hex(char *out, const unsigned char *in, size_t n);
/* Standard Base64 with '=' padding into out, which has room for
 * DTS_BASE64_LEN(n) bytes; returns the length written. */
#define DTS_BASE64_LEN(n) (((n) + 2) / 3 * 4)
size_t dts_base64(char *out, const unsigned char *in, size_t n);

#endif
