/*
 * Nonces (32 lower-case hex characters, 128 random bits) drawn from a pool
 * that one RAND_bytes call fills for many draws: RAND_bytes costs about the
 * same for 16 bytes as for 512, and a call needs two (ClientToken and
 * signature nonce).
 *
 * A pool belongs to one caller at a time (one per Lua state: dts.core keeps
 * it in the module's state), so threads never share one.  After fork() the
 * child must not draw what the parent draws too: the pool's page is wiped
 * in the child (Linux MADV_WIPEONFORK), so the child finds it empty and
 * refills from OpenSSL, which reseeds after a fork; where the kernel cannot
 * do that, every draw compares getpid() with the pid that filled the pool.
 */
#ifndef DTS_NONCE_H
#define DTS_NONCE_H

struct dts_nonce_pool;

/* NULL when out of memory.  force_pid_check: skip MADV_WIPEONFORK (for the
 * tests of the fallback). */
struct dts_nonce_pool *dts_nonce_pool_new(int force_pid_check);
/* Wipes and releases; NULL is fine. */
void dts_nonce_pool_free(struct dts_nonce_pool *p);
/* 32 hex characters into out; -1 when OpenSSL's generator fails. */
int dts_nonce_hex(struct dts_nonce_pool *p, char out[32]);

#endif
