/*
 * The C signer alone: dts_sign_with (src/sign.c) on the request core.sign
 * signs, with no Lua around it: the part of core.sign that is lua-dts's C,
 * next to the crypto floor (sign_floor.c) and the Lua boundary
 * (sign_boundary.c).  Built and run by `make bench` (bench/run.lua writes
 * the input file).
 *
 *   sign_signer INPUT_FILE N [encode]
 *
 * INPUT_FILE, in yardstick.h's parts: method, host, path, action, version,
 * access_key_id, access_key_secret, timestamp, nonce; the number of query
 * parameters (decimal text) and their names and values; then the body's
 * names and values.  Prints "<calls> <seconds>".  With `encode`, times
 * only the percent-encoding of the body's values, which every signer of
 * a form body must do before it can hash it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign.h"
#include "yardstick.h"

#define MAX_PAIRS 32

static struct dts_str str(struct part p)
{
	struct dts_str s = { p.p, p.n };

	return s;
}

/* n pairs from f, or -1. */
static int read_pairs(FILE *f, struct dts_pair *pairs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct part name, value;

		if (read_part(f, &name) != 0 || read_part(f, &value) != 0)
			return -1;
		pairs[i].name = str(name);
		pairs[i].value = str(value);
	}
	return 0;
}

static int read_request(const char *path, struct dts_request *r,
			struct dts_pair *query, struct dts_pair *body)
{
	struct dts_str *const fixed[] = {
		&r->method, &r->host, &r->path, &r->action, &r->version,
		&r->access_key_id, &r->access_key_secret, &r->timestamp, &r->nonce
	};
	struct part p;
	size_t i;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return -1;
	memset(r, 0, sizeof *r);
	r->scheme = DTS_SCHEME_V3;
	for (i = 0; i < sizeof fixed / sizeof *fixed; i++) {
		if (read_part(f, &p) != 0)
			goto fail;
		*fixed[i] = str(p);
	}
	if (read_part(f, &p) != 0 || (r->nquery = strtoul(p.p, NULL, 10)) > MAX_PAIRS ||
	    read_pairs(f, query, r->nquery) != 0)
		goto fail;
	r->query = query;
	while (r->nbody < MAX_PAIRS && read_pairs(f, body + r->nbody, 1) == 0)
		r->nbody++;
	r->body = body;
	fclose(f);
	return 0;
fail:
	fclose(f);
	return -1;
}

static int time_encoding(const struct dts_request *r, long calls)
{
	struct dts_buf out;
	double start;
	long i;
	size_t k;

	dts_buf_init(&out);
	start = now();
	for (i = 0; i < calls; i++) {
		for (k = 0; k < r->nbody; k++)
			dts_pct_encode(&out, r->body[k].value.p, r->body[k].value.n);
		if (out.failed)
			return 1;
		dts_buf_reset(&out);
	}
	printf("%ld %.6f\n", calls, now() - start);
	dts_buf_free(&out);
	return 0;
}

int main(int argc, char **argv)
{
	static struct dts_pair query[MAX_PAIRS], body[MAX_PAIRS];
	struct dts_request r;
	struct dts_signer s;
	struct dts_signed out;
	char err[DTS_ERR_MAX];
	long i, calls;
	double start;

	if ((argc != 3 && (argc != 4 || strcmp(argv[3], "encode") != 0)) ||
	    (calls = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: sign_signer INPUT_FILE N [encode]\n");
		return 2;
	}
	if (read_request(argv[1], &r, query, body) != 0) {
		fprintf(stderr, "sign_signer: cannot read %s\n", argv[1]);
		return 2;
	}
	if (argc == 4)
		return time_encoding(&r, calls);
	if (dts_signer_init(&s) != 0)
		return 1;
	dts_signed_init(&out);
	start = now();
	/* As dts.core does: one signer and one output, wiped after each call. */
	for (i = 0; i < calls; i++) {
		if (dts_sign_with(&s, &r, &out, err) != 0) {
			fprintf(stderr, "sign_signer: %s\n", err);
			return 1;
		}
		dts_signed_reset(&out);
	}
	printf("%ld %.6f\n", calls, now() - start);
	dts_signed_free(&out);
	dts_signer_free(&s);
	return 0;
}
