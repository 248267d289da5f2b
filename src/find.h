/*
 * Whether any of a few strings occurs in a text, in few fast passes.
 * Redaction asks this first: a text that holds none of a secret's forms
 * (most texts) is then left as it is without a pass per form.
 *
 * Each string is looked for at its rarest byte, judged from a sample of
 * the text itself: memchr runs to the next such byte (tens of bytes a
 * cycle), and only there is the string compared.  Strings whose rarest
 * byte is the same share one pass.  No Lua in here.
 */
#ifndef DTS_FIND_H
#define DTS_FIND_H

#include <stddef.h>

#include "encode.h"

struct dts_needles {
	size_t n;		/* strings */
	size_t *len;		/* n lengths */
	const char **p;		/* n strings */
};

/* The bytes dts_needles_build needs for these strings (none empty). */
size_t dts_needles_size(const struct dts_str *s, size_t n);
/* Builds into mem (dts_needles_size bytes, suitably aligned), copying the
 * strings there. */
struct dts_needles *dts_needles_build(void *mem, const struct dts_str *s,
				      size_t n);
/* 1 when one of the strings occurs in text, else 0. */
int dts_needles_find(const struct dts_needles *nd, const char *text,
		     size_t len);

#endif
