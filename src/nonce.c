/* See nonce.h. */
#define _DEFAULT_SOURCE /* madvise */
#include "nonce.h"

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "encode.h"

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18 /* Linux 4.14 */
#endif

#define NONCE_BYTES 16
#define POOL_BYTES 1024

/* One page of its own, so that the kernel can wipe it on fork. */
struct dts_nonce_pool {
	size_t left;		/* unused bytes at the end of bytes[]; 0 after a fork */
	int check_pid;		/* the page is not wiped on fork: compare pids */
	pid_t pid;		/* who filled it (check_pid only) */
	unsigned char bytes[POOL_BYTES];
};

struct dts_nonce_pool *dts_nonce_pool_new(int force_pid_check)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t size = sizeof(struct dts_nonce_pool);
	struct dts_nonce_pool *p;

	if (page > 0 && size % (size_t)page != 0)
		size += (size_t)page - size % (size_t)page;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	p->left = 0;
	p->check_pid = force_pid_check || madvise(p, size, MADV_WIPEONFORK) != 0;
	p->pid = 0;
	return p;
}

void dts_nonce_pool_free(struct dts_nonce_pool *p)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t size = sizeof *p;

	if (p == NULL)
		return;
	if (page > 0 && size % (size_t)page != 0)
		size += (size_t)page - size % (size_t)page;
	OPENSSL_cleanse(p, sizeof *p);
	munmap(p, size);
}

int dts_nonce_hex(struct dts_nonce_pool *p, char out[32])
{
	if (p->check_pid && p->left > 0 && p->pid != getpid())
		p->left = 0;
	if (p->left < NONCE_BYTES) {
		if (RAND_bytes(p->bytes, POOL_BYTES) != 1) {
			p->left = 0;
			return -1;
		}
		p->left = POOL_BYTES;
		if (p->check_pid)
			p->pid = getpid();
	}
	p->left -= NONCE_BYTES;
	dts_hex(out, p->bytes + p->left, NONCE_BYTES);
	/* A drawn nonce is never drawn again. */
	OPENSSL_cleanse(p->bytes + p->left, NONCE_BYTES);
	return 0;
}
