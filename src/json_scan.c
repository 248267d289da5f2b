#include "json_scan.h"

#include <string.h>

#include "encode.h"

#define MAX_DEPTH 64

void dts_scan_init(struct scan_grammar *g)
{
	memset(g, 0, sizeof *g);
}

int dts_scan_node(struct scan_grammar *g, int is_map, int nonempty)
{
	struct scan_node *n;

	if (g->nnodes == SCAN_MAX_NODES)
		return -1;
	n = &g->nodes[g->nnodes];
	memset(n, 0, sizeof *n);
	n->is_map = is_map;
	n->nonempty = nonempty;
	n->child = -1;
	n->required = -1;
	memset(n->bucket, -1, sizeof n->bucket);
	return g->nnodes++;
}

static unsigned hash(const char *s, size_t len)
{
	return ((unsigned)len * 31u + (unsigned char)s[0] * 7u +
		(unsigned char)s[len - 1]) & 63u;
}

int dts_scan_find(const struct scan_node *n, const char *name, size_t len)
{
	int i;

	if (len == 0 || len >= SCAN_KEY_LEN)
		return -1;
	for (i = n->bucket[hash(name, len)]; i >= 0; i = n->keys[i].next)
		if (n->keys[i].len == len && memcmp(n->keys[i].name, name, len) == 0)
			return i;
	return -1;
}

int dts_scan_key(struct scan_grammar *g, int node, const char *name, size_t len,
		 char leaf, int child)
{
	struct scan_node *n = &g->nodes[node];
	struct scan_key *k;
	unsigned h;

	if (n->nkeys == SCAN_MAX_KEYS || len == 0 || len >= SCAN_KEY_LEN ||
	    dts_scan_find(n, name, len) >= 0)
		return -1;
	k = &n->keys[n->nkeys];
	memcpy(k->name, name, len);
	k->name[len] = '\0';
	k->len = (unsigned char)len;
	k->leaf = leaf;
	k->child = (signed char)child;
	h = hash(name, len);
	k->next = n->bucket[h];
	n->bucket[h] = (signed char)n->nkeys;
	return n->nkeys++;
}

/* ---- the scan ---- */

struct cur {
	const char *p, *end;
	const struct scan_grammar *g;
};

/* lua-cjson writes no blanks: the loop is for other writers. */
static void ws(struct cur *c)
{
	while (c->p < c->end && (unsigned char)*c->p <= ' ' &&
	       (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* Bytes a string scan must stop at: '"', '\\', controls, non-ASCII. */
static int stop(unsigned char ch)
{
	return ch < 0x20 || ch >= 0x80 || ch == '"' || ch == '\\';
}

static int take(struct cur *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return 1;
	}
	ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return 1;
	}
	return 0;
}

static int hex4(const char *p, unsigned *cp)
{
	int i;

	*cp = 0;
	for (i = 0; i < 4; i++) {
		char ch = p[i];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return 0;
		*cp = *cp << 4 | d;
	}
	return 1;
}

/* One escape at c->p (the backslash): skipped when JSON has it, a \u
 * surrogate only as a high-low pair (lua-cjson refuses a lone one). */
static int escape(struct cur *c)
{
	unsigned cp, low;

	if (c->end - c->p < 2)
		return 0;
	switch (c->p[1]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		c->p += 2;
		return 1;
	case 'u':
		break;
	default:
		return 0;
	}
	if (c->end - c->p < 6 || !hex4(c->p + 2, &cp))
		return 0;
	c->p += 6;
	if (cp < 0xD800 || cp > 0xDFFF)
		return 1;
	if (cp > 0xDBFF || c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' ||
	    !hex4(c->p + 2, &low) || low < 0xDC00 || low > 0xDFFF)
		return 0;
	c->p += 6;
	return 1;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/*
 * The first byte at or after p that stop() holds, or end.  Eight bytes at a
 * time on little-endian hosts (the first byte is the lowest): a high bit, a
 * byte below 0x20, '"' or '\\' sets the high bit of its byte in the mask,
 * and a false mark can only sit above a true one (borrows run upwards), so
 * the lowest mark is the first stop byte.  Names and values in a DbList run
 * 4 to 20 bytes: most strings take one or two words.
 */
static const char *skip_plain(const char *p, const char *end)
{
#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) && \
	__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (end - p >= 8) {
		uint64_t x, q, b, mask;

		memcpy(&x, p, 8);
		q = x ^ (ONES * '"');
		b = x ^ (ONES * '\\');
		mask = (x | ((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) |
			((b - ONES) & ~b)) & HIGHS;
		if (mask != 0)
			return p + __builtin_ctzll(mask) / 8;
		p += 8;
	}
#endif
	while (p < end && !stop((unsigned char)*p))
		p++;
	return p;
}

/* A string token: its raw bytes (between the quotes) in *s, *n, and
 * whether it had escapes.  UTF-8 and escapes are checked. */
static int string(struct cur *c, const char **s, size_t *n, int *escaped)
{
	const char *start;
	int high = 0;

	if (c->p >= c->end || *c->p != '"') {
		ws(c);
		if (c->p >= c->end || *c->p != '"')
			return 0;
	}
	start = ++c->p;
	*escaped = 0;
	for (;;) {
		unsigned char ch;

		c->p = skip_plain(c->p, c->end);
		if (c->p >= c->end)
			return 0;
		ch = (unsigned char)*c->p;
		if (ch == '"')
			break;
		if (ch < 0x20)
			return 0;
		if (ch == '\\') {
			*escaped = 1;
			if (!escape(c))
				return 0;
		} else {
			high = 1;
			c->p++;
		}
	}
	*s = start;
	*n = (size_t)(c->p - start);
	c->p++;
	return !high || dts_utf8_valid_prefix(*s, *n) == *n;
}

static int literal(struct cur *c, const char *word)
{
	size_t n = strlen(word);

	ws(c);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return 0;
	c->p += n;
	return 1;
}

/*
 * A name lua-cjson may have written for a number key ("1", "-2", "1.5",
 * "1e+20"): the Lua table held a number there, which the walk refuses
 * unless the table is a pure array, and lua-cjson writes no array as an
 * object, so such a name is "not sure".  ({[1] = x, ["1"] = y} is an object
 * with the name "1" twice.)  Real names that look like numbers only lose the
 * fast path.
 */
static int number_like(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !((s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '.'))
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '+' ||
		      s[i] == '.' || s[i] == 'e' || s[i] == 'E'))
			return 0;
	return 1;
}

/* Any JSON value; numbers (whose exactness only the walk can judge), null
 * and keys that look like array indexes (a Lua table mixing both) are "not
 * sure". */
static int any(struct cur *c, int depth)
{
	const char *s;
	size_t n;
	int esc;

	if (depth > MAX_DEPTH)
		return 0;
	ws(c);
	if (c->p >= c->end)
		return 0;
	switch (*c->p) {
	case '"':
		return string(c, &s, &n, &esc);
	case 't':
		return literal(c, "true");
	case 'f':
		return literal(c, "false");
	case 'n':
		/* lua-cjson writes null for json.null and for holes in an
		 * array, which the walk refuses: let it judge. */
		return 0;
	case '[':
		c->p++;
		if (take(c, ']'))
			return 1;
		do {
			if (!any(c, depth + 1))
				return 0;
		} while (take(c, ','));
		return take(c, ']');
	case '{':
		c->p++;
		if (take(c, '}'))
			return 1;
		do {
			if (!string(c, &s, &n, &esc) || number_like(s, n) ||
			    !take(c, ':') || !any(c, depth + 1))
				return 0;
		} while (take(c, ','));
		return take(c, '}');
	}
	return 0;
}

static int word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

int dts_scan_ops_ok(const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == ',') {
			if (run == 0)
				return 0;
			run = 0;
		} else if (word_char((unsigned char)s[i])) {
			run++;
		} else {
			return 0;
		}
	}
	return run > 0;
}

int dts_scan_filter_ok(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r')))
		n--;
	return n == 0 || s[n - 1] != ';';
}

/* A leaf value; *truth gets a boolean's value. */
static int leaf(struct cur *c, char kind, int *truth)
{
	const char *s;
	size_t n;
	int esc;

	switch (kind) {
	case SCAN_BOOLEAN:
		if (literal(c, "true")) {
			*truth = 1;
			return 1;
		}
		*truth = 0;
		return literal(c, "false");
	case SCAN_STRING:
		return string(c, &s, &n, &esc);
	case SCAN_OPS:
		/* Without escapes, the text's bytes are the string's. */
		return string(c, &s, &n, &esc) && !esc && dts_scan_ops_ok(s, n);
	case SCAN_FILTER:
		return string(c, &s, &n, &esc) && !esc && dts_scan_filter_ok(s, n);
	case SCAN_ANY:
		return any(c, 0);
	}
	return 0;
}

static int value(struct cur *c, int node, int depth, int *members);

static int map(struct cur *c, const struct scan_node *m, int depth, int *members)
{
	const char *s;
	size_t n;
	int esc, sub;

	*members = 0;
	if (!take(c, '{'))
		return 0;
	if (take(c, '}'))
		return !m->nonempty;
	do {
		if (!string(c, &s, &n, &esc) || esc || n == 0 || number_like(s, n) ||
		    !take(c, ':') || !value(c, m->child, depth + 1, &sub))
			return 0;
		++*members;
	} while (take(c, ','));
	return take(c, '}');
}

static int entry(struct cur *c, const struct scan_node *e, int depth)
{
	uint64_t seen = 0, filled = 0;
	const char *s;
	size_t n;
	int esc, truth = -1;

	if (!take(c, '{'))
		return 0;
	if (!take(c, '}')) {
		do {
			int k, t = -1, sub = 0;

			if (!string(c, &s, &n, &esc) || esc || !take(c, ':'))
				return 0;
			k = dts_scan_find(e, s, n);
			if (k < 0 || (seen >> k & 1) || number_like(s, n))
				return 0;
			seen |= (uint64_t)1 << k;
			if (e->keys[k].child >= 0) {
				if (!value(c, e->keys[k].child, depth + 1, &sub))
					return 0;
				if (sub > 0)
					filled |= (uint64_t)1 << k;
			} else if (!leaf(c, e->keys[k].leaf, &t)) {
				return 0;
			}
			if (k == e->required)
				truth = t;
		} while (take(c, ','));
		if (!take(c, '}'))
			return 0;
	}
	return dts_scan_entry_ok(e, seen, filled, truth);
}

static int value(struct cur *c, int node, int depth, int *members)
{
	const struct scan_node *nd;

	*members = 0;
	if (node < 0 || node >= c->g->nnodes || depth > MAX_DEPTH)
		return 0;
	nd = &c->g->nodes[node];
	if (nd->is_map)
		return map(c, nd, depth, members);
	*members = 1;
	return entry(c, nd, depth);
}

int dts_scan_json(const struct scan_grammar *g, int root, const char *text,
		  size_t n)
{
	struct cur c;
	int members;

	c.p = text;
	c.end = text + n;
	c.g = g;
	if (!value(&c, root, 0, &members))
		return 0;
	ws(&c);
	return c.p == c.end;
}
