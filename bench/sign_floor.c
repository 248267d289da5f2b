/*
 * The floor for core.sign: the crypto a V3 signature needs, in plain C with
 * OpenSSL, and nothing else: SHA-256 of the body, SHA-256 of the canonical
 * request, HMAC-SHA256 of the string to sign, each to lower-case hex.  The
 * algorithm is fetched once and one digest context serves every hash, HMAC
 * included (RFC 2104 over that context): the cheapest way OpenSSL 3 offers,
 * so the ratio make bench prints is against the real floor.  Built and run
 * by `make bench` (bench/run.lua writes the input file).
 *
 *   sign_floor INPUT_FILE N
 *
 * INPUT_FILE: the secret, the body, the canonical request and the string
 * to sign (without its hash line), each preceded by its length in decimal
 * and a newline.  Prints "<calls> <seconds>".
 */
#include <string.h>

#include <openssl/evp.h>

#include "yardstick.h"

static void hex(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
}

static int sha256(EVP_MD_CTX *ctx, const EVP_MD *md, const void *a, size_t na,
		  const void *b, size_t nb, unsigned char out[32])
{
	return EVP_DigestInit_ex2(ctx, md, NULL) &&
	       EVP_DigestUpdate(ctx, a, na) &&
	       (nb == 0 || EVP_DigestUpdate(ctx, b, nb)) &&
	       EVP_DigestFinal_ex(ctx, out, NULL);
}

/* RFC 2104 with a key of at most one block (64 bytes). */
static int hmac(EVP_MD_CTX *ctx, const EVP_MD *md, const struct part *key,
		const void *msg, size_t n, unsigned char out[32])
{
	unsigned char pad[64], inner[32];
	size_t i;

	memset(pad, 0, sizeof pad);
	memcpy(pad, key->p, key->n);
	for (i = 0; i < 64; i++)
		pad[i] ^= 0x36;
	if (!sha256(ctx, md, pad, 64, msg, n, inner))
		return 0;
	for (i = 0; i < 64; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	return sha256(ctx, md, pad, 64, inner, 32, out);
}

int main(int argc, char **argv)
{
	struct part key, body, creq, sts;
	unsigned char md_out[32];
	char body_hex[64], creq_hex[64], sig[64], *msg;
	long i, calls;
	double start;
	EVP_MD_CTX *ctx;
	EVP_MD *md;
	FILE *f;

	if (argc != 3 || (calls = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: sign_floor INPUT_FILE N\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (f == NULL || read_part(f, &key) != 0 || read_part(f, &body) != 0 ||
	    read_part(f, &creq) != 0 || read_part(f, &sts) != 0 || key.n > 64) {
		fprintf(stderr, "sign_floor: cannot read %s\n", argv[1]);
		return 2;
	}
	fclose(f);
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
	ctx = EVP_MD_CTX_new();
	msg = malloc(sts.n + 64);
	if (md == NULL || ctx == NULL || msg == NULL)
		return 1;
	memcpy(msg, sts.p, sts.n);
	start = now();
	for (i = 0; i < calls; i++) {
		/* The hashes feed each other as in a real signature, so none
		 * can be skipped or hoisted out of the loop. */
		if (!sha256(ctx, md, body.p, body.n, NULL, 0, md_out))
			return 1;
		hex(body_hex, md_out, 32);
		memcpy(creq.p + creq.n - 64, body_hex, 64);
		if (!sha256(ctx, md, creq.p, creq.n, NULL, 0, md_out))
			return 1;
		hex(creq_hex, md_out, 32);
		memcpy(msg + sts.n, creq_hex, 64);
		if (!hmac(ctx, md, &key, msg, sts.n + 64, md_out))
			return 1;
		hex(sig, md_out, 32);
		body.p[0] ^= (char)(sig[0] & 1); /* the next round differs */
	}
	printf("%ld %.6f\n", calls, now() - start);
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return 0;
}
