/*
 * What the C yardsticks of make bench share: the clock they time with, and
 * the input format bench/run.lua writes for them (parts, each its length
 * in decimal, a newline, then its bytes).
 */
#ifndef DTS_BENCH_YARDSTICK_H
#define DTS_BENCH_YARDSTICK_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct part {
	char *p;
	size_t n;
};

/* 0, or -1 at the end of the input or when it is not a part. */
static inline int read_part(FILE *f, struct part *out)
{
	unsigned long n;

	if (fscanf(f, "%lu", &n) != 1 || fgetc(f) != '\n')
		return -1;
	out->p = malloc(n + 1);
	out->n = n;
	if (out->p == NULL || fread(out->p, 1, n, f) != n)
		return -1;
	out->p[n] = '\0';
	return 0;
}

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
