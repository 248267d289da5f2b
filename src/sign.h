/*
 * Alibaba Cloud OpenAPI request signing (signing.md): RPC V1 (HMAC-SHA1,
 * SignatureVersion 1.0, which the docs call "V2") and V3 (ACS3-HMAC-SHA256).
 *
 * Pure functions over byte buffers: no Lua, no clock, no randomness.  Time
 * and nonce are inputs, so every output can be pinned by a test.  Outputs
 * are caller-owned buffers released with the matching *_free function, which
 * wipes them (strings-to-sign carry the STS token).
 *
 * The *_with functions take a signer: what signing reuses from one call to
 * the next (the digest algorithms, fetched once, and one digest context),
 * so a signature costs its hashing and little else.  A signer serves one
 * thread at a time (dts.core keeps one per Lua state).  The functions
 * without it make a signer for the one call.
 */
#ifndef DTS_SIGN_H
#define DTS_SIGN_H

#include <openssl/evp.h>

#include "encode.h"

#define DTS_ERR_MAX 256

struct dts_pair {
	struct dts_str name;
	struct dts_str value;
};

enum dts_scheme { DTS_SCHEME_V1 = 1, DTS_SCHEME_V3 = 3 };

/* A whole RPC request to sign.  security_token.p == NULL: no STS token. */
struct dts_request {
	enum dts_scheme scheme;
	struct dts_str method, host, path, action, version;
	struct dts_str access_key_id, access_key_secret, security_token;
	struct dts_str timestamp, nonce;
	const struct dts_pair *query;
	size_t nquery;
	const struct dts_pair *body;
	size_t nbody;
	const struct dts_pair *headers;
	size_t nheaders;
};

/* The lengths of one header of a "name\0value\0..." list, kept as the
 * list is written: reading it back needs no strlen. */
struct dts_header_len {
	size_t name, value;
};

/* A request ready to send: method, target (path + query), headers, body. */
struct dts_signed {
	char method[8];
	struct dts_buf target, body, signature, string_to_sign, canonical_request;
	struct dts_buf headers; /* nheaders of: lower-case name '\0' value '\0' */
	struct dts_buf header_lens; /* nheaders of struct dts_header_len */
	size_t nheaders;
};

void dts_signed_init(struct dts_signed *s);
void dts_signed_free(struct dts_signed *s);
/* Wipes what the buffers hold and empties them, keeping their memory. */
void dts_signed_reset(struct dts_signed *s);

struct dts_v3_output;

struct dts_signer {
	EVP_MD *sha256, *sha1;
	EVP_MD_CTX *md;
	struct dts_buf scratch;		/* V1's canonical query */
	struct dts_v3_output *v3;	/* V3's parts, handed to the result */
};

/* 0, or -1 when OpenSSL cannot provide SHA-256, SHA-1 or a context. */
int dts_signer_init(struct dts_signer *s);
/* Releases and wipes everything; idempotent. */
void dts_signer_free(struct dts_signer *s);

/* 0 on success; -1 with a message naming the bad field in err.  out must
 * be empty (just initialised, or reset); on failure it is emptied. */
int dts_sign(const struct dts_request *req, struct dts_signed *out,
	     char err[DTS_ERR_MAX]);
int dts_sign_with(struct dts_signer *s, const struct dts_request *req,
		  struct dts_signed *out, char err[DTS_ERR_MAX]);

/*
 * The two signatures on their own, over parameters and headers exactly as
 * given (no common parameters added).  These are what a server verifying a
 * request recomputes, and what the SDKs' own test vectors exercise.
 */
int dts_v1_signature(struct dts_str method, const struct dts_pair *params,
		     size_t n, struct dts_str secret,
		     struct dts_buf *string_to_sign, struct dts_buf *signature,
		     char err[DTS_ERR_MAX]);
int dts_v1_signature_with(struct dts_signer *s, struct dts_str method,
			  const struct dts_pair *params, size_t n,
			  struct dts_str secret, struct dts_buf *string_to_sign,
			  struct dts_buf *signature, char err[DTS_ERR_MAX]);

struct dts_v3_input {
	struct dts_str method, path, payload_hash;
	struct dts_str access_key_id, access_key_secret;
	const struct dts_pair *query;
	size_t nquery;
	const struct dts_pair *headers;
	size_t nheaders;
	/* Names to sign; nsigned == 0 signs host, content-type and x-acs-*. */
	const struct dts_str *signed_names;
	size_t nsigned;
};

struct dts_v3_output {
	struct dts_buf canonical_query, canonical_request, string_to_sign;
	struct dts_buf signature, signed_headers, authorization;
	struct dts_buf headers; /* all headers, normalised: name '\0' value '\0' */
	struct dts_buf header_lens; /* nheaders of struct dts_header_len */
	size_t nheaders;
};

void dts_v3_output_init(struct dts_v3_output *o);
void dts_v3_output_free(struct dts_v3_output *o);
void dts_v3_output_reset(struct dts_v3_output *o);
int dts_v3_signature(const struct dts_v3_input *in, struct dts_v3_output *out,
		     char err[DTS_ERR_MAX]);
int dts_v3_signature_with(struct dts_signer *s, const struct dts_v3_input *in,
			  struct dts_v3_output *out, char err[DTS_ERR_MAX]);

/* Lower-case hex SHA-256 of n bytes into out[64]. */
int dts_sha256_hex(char out[64], const void *p, size_t n);
int dts_signer_sha256_hex(struct dts_signer *s, char out[64], const void *p,
			  size_t n);
/* Lower-case hex HMAC-SHA256 into out[64]. */
int dts_hmac_sha256_hex(char out[64], struct dts_str key, struct dts_str msg);
int dts_signer_hmac_sha256_hex(struct dts_signer *s, char out[64],
			       struct dts_str key, struct dts_str msg);

#endif
