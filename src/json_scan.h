/*
 * The DbList grammar compiled for C (dts.dblist.grammar's nodes, compiled
 * once by core.json_grammar), its rules over compiled nodes, and a fast
 * way to check JSON text against it: one pass over bytes, no allocation.
 * The scan answers only "certainly valid" (1) or "not sure" (0): anything
 * unusual (a number, an escaped key, an error) sends the caller to
 * core.json_check's walk, which gives the exact verdict and message.  No
 * Lua in here.
 */
#ifndef DTS_JSON_SCAN_H
#define DTS_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

#define SCAN_MAX_NODES 16
#define SCAN_MAX_KEYS 64
#define SCAN_KEY_LEN 32

/* Leaf kinds: a string, true/false, any JSON value, "insert,update"-style
 * operation names, a SQL condition without a trailing ';'. */
enum { SCAN_STRING = 's', SCAN_BOOLEAN = 'b', SCAN_ANY = 'a', SCAN_OPS = 'o',
       SCAN_FILTER = 'f' };

struct scan_key {
	char name[SCAN_KEY_LEN];
	unsigned char len;
	char leaf;              /* 0 when child is a node */
	signed char child;      /* node index, or -1 */
	signed char next;       /* next key in the same hash bucket, or -1 */
};

struct scan_node {
	int is_map, nonempty;
	int child;              /* map: the node of every value */
	int nkeys;
	int required;           /* entry: key index that must be there, or -1 */
	uint64_t one_of;        /* entry: if required is false, one of these non-empty */
	uint64_t none_of;       /* entry: if required is true, none of these */
	signed char bucket[64];
	struct scan_key keys[SCAN_MAX_KEYS];
};

struct scan_grammar {
	int nnodes;
	struct scan_node nodes[SCAN_MAX_NODES];
};

void dts_scan_init(struct scan_grammar *g);
/* A new node; its index, or -1 when full. */
int dts_scan_node(struct scan_grammar *g, int is_map, int nonempty);
/* A key of an entry node; its index, or -1 (full, too long, repeated). */
int dts_scan_key(struct scan_grammar *g, int node, const char *name, size_t len,
		 char leaf, int child);
/* The index of a key of an entry node, or -1. */
int dts_scan_find(const struct scan_node *n, const char *name, size_t len);

/* The leaves "ops" ("insert,update": names of [A-Za-z0-9_], single commas
 * between) and "filter" (a SQL condition not ending in ';', blanks after it
 * included), over a string's bytes.  Every check of the grammar uses these. */
int dts_scan_ops_ok(const char *s, size_t n);
int dts_scan_filter_ok(const char *s, size_t n);

/* An entry's rules, once its keys are read: seen and filled (a node child
 * with members) as key bits, truth the required key's boolean (-1: none). */
static inline int dts_scan_entry_ok(const struct scan_node *e, uint64_t seen,
				    uint64_t filled, int truth)
{
	return !(e->required >= 0 && !(seen >> e->required & 1)) &&
	       !(truth == 0 && e->one_of && !(filled & e->one_of)) &&
	       !(truth == 1 && (seen & e->none_of));
}

/* 1: text is a valid value of node root; 0: not sure. */
int dts_scan_json(const struct scan_grammar *g, int root, const char *text,
		  size_t n);

#endif
