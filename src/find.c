/* See find.h. */
#include "find.h"

#include <string.h>

/* Strings at most; more are looked for one by one. */
#define MAX_GROUPED 64
/* Bytes of a string its rarest byte is chosen among (a long one, the forms
 * of an STS token, would otherwise cost its whole length every call). */
#define CHOOSE_AMONG 32

static size_t align(size_t n)
{
	const size_t a = sizeof(void *);

	return (n + a - 1) / a * a;
}

size_t dts_needles_size(const struct dts_str *s, size_t n)
{
	size_t size = align(sizeof(struct dts_needles)) +
		      align(n * sizeof(size_t)) + align(n * sizeof(char *));
	size_t i;

	for (i = 0; i < n; i++)
		size += s[i].n;
	return size;
}

struct dts_needles *dts_needles_build(void *mem, const struct dts_str *s,
				      size_t n)
{
	struct dts_needles *nd = mem;
	char *bytes;
	size_t i;

	nd->n = n;
	nd->len = (size_t *)((char *)mem + align(sizeof *nd));
	nd->p = (const char **)((char *)nd->len + align(n * sizeof(size_t)));
	bytes = (char *)nd->p + align(n * sizeof(char *));
	for (i = 0; i < n; i++) {
		memcpy(bytes, s[i].p, s[i].n);
		nd->p[i] = bytes;
		nd->len[i] = s[i].n;
		bytes += s[i].n;
	}
	return nd;
}

/* How often each byte occurs in a few slices spread over the text. */
static void sample(const unsigned char *u, size_t len, unsigned count[256])
{
	const size_t slices = 8, slice = 256;
	size_t i, k;

	memset(count, 0, 256 * sizeof *count);
	if (len <= slices * slice) {
		for (i = 0; i < len; i++)
			count[u[i]]++;
		return;
	}
	for (k = 0; k < slices; k++) {
		const unsigned char *s = u + (len - slice) / (slices - 1) * k;

		for (i = 0; i < slice; i++)
			count[s[i]]++;
	}
}

/* Whether string i occurs with its byte at offset `at` at text[h]. */
static int here(const struct dts_needles *nd, size_t i, size_t at,
		const char *text, size_t len, size_t h)
{
	return h >= at && nd->len[i] <= len - (h - at) &&
	       memcmp(text + h - at, nd->p[i], nd->len[i]) == 0;
}

int dts_needles_find(const struct dts_needles *nd, const char *text,
		     size_t len)
{
	const unsigned char *u = (const unsigned char *)text;
	unsigned count[256];
	size_t at[MAX_GROUPED];
	unsigned char by[MAX_GROUPED], done[MAX_GROUPED];
	size_t i, j, n = nd->n < MAX_GROUPED ? nd->n : MAX_GROUPED;

	if (nd->n == 0 || len == 0)
		return 0;
	sample(u, len, count);
	/* Each string's rarest byte in the sample (the first of equals);
	 * a string longer than the text cannot be in it. */
	for (i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)nd->p[i];
		const size_t among = nd->len[i] < CHOOSE_AMONG ? nd->len[i] : CHOOSE_AMONG;

		at[i] = 0;
		done[i] = nd->len[i] > len;
		for (j = 1; j < among && !done[i]; j++)
			if (count[p[j]] < count[p[at[i]]])
				at[i] = j;
		by[i] = p[at[i]];
	}
	/* One pass per distinct byte, checking every string that has it. */
	for (i = 0; i < n; i++) {
		const char *h;

		if (done[i])
			continue;
		for (h = memchr(text, by[i], len); h != NULL;
		     h = memchr(h + 1, by[i], len - (size_t)(h + 1 - text))) {
			for (j = i; j < n; j++)
				if (!done[j] && by[j] == by[i] &&
				    here(nd, j, at[j], text, len, (size_t)(h - text)))
					return 1;
			if ((size_t)(h + 1 - text) >= len)
				break;
		}
		for (j = i; j < n; j++)
			if (by[j] == by[i])
				done[j] = 1;
	}
	/* Past MAX_GROUPED: one by one. */
	for (i = n; i < nd->n; i++) {
		const char *h = text, *end = text + len;

		while (nd->len[i] <= (size_t)(end - h) &&
		       (h = memchr(h, nd->p[i][0], (size_t)(end - h) - nd->len[i] + 1)) != NULL) {
			if (memcmp(h, nd->p[i], nd->len[i]) == 0)
				return 1;
			h++;
		}
	}
	return 0;
}
