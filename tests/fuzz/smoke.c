/*
 * smoke.c: run a fuzz target over deterministic mutations of seed inputs,
 * so make check exercises every target without a fuzzing engine.  Bounded
 * in count; prints TAP.  KVD_FUZZ_ITERATIONS overrides the count.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Seeds: a put, a get, a ping, an empty frame, an oversized prefix. */
static const uint8_t seed_put[] = { 7,
    0, 0, 0, 12, 0x08, 0x01, 0x12, 0x08, 0x0a, 0x01, 'k', 0x12, 0x03, 'v', 'a', 'l' };
static const uint8_t seed_get[] = { 3,
    0, 0, 0, 5, 0x08, 0x02, 0x1a, 0x01, 0x0a,
    0, 0, 0, 0 };
static const uint8_t seed_iter[] = { 1,
    0, 0, 0, 10, 0x08, 0x03, 0x2a, 0x06, 0x1a, 0x01, 'p', 0x20, 0x0a, 0x28,
    0xff, 0xff, 0xff, 0xff, 1, 2, 3 };

/* xorshift64*: deterministic, seeded per run. */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 2685821657736338717ull);
}

int
main(void)
{
	static const struct { const uint8_t *p; size_t n; } seeds[] = {
		{ seed_put, sizeof(seed_put) },
		{ seed_get, sizeof(seed_get) },
		{ seed_iter, sizeof(seed_iter) },
	};
	const char *env = getenv("KVD_FUZZ_ITERATIONS");
	long iterations = env != NULL ? atol(env) : 20000;
	uint64_t rng = 0x9E3779B97F4A7C15ull;
	uint8_t buf[512];
	long i;

	printf("1..1\n");
	for (i = 0; i < iterations; i++) {
		size_t si = (size_t)(next(&rng) % 3), n = seeds[si].n, k, flips;

		memcpy(buf, seeds[si].p, n);
		/* Mutate: flip bytes, then maybe grow with junk or truncate. */
		flips = next(&rng) % 4;
		for (k = 0; k < flips; k++)
			buf[next(&rng) % n] ^= (uint8_t)(next(&rng) | 1);
		if (next(&rng) % 4 == 0) {
			size_t extra = next(&rng) % (sizeof(buf) - n);

			for (k = 0; k < extra; k++)
				buf[n + k] = (uint8_t)next(&rng);
			n += extra;
		} else if (next(&rng) % 4 == 0) {
			n = 1 + next(&rng) % n;
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("ok 1 - %ld mutated inputs without a crash or sanitizer report\n",
	    iterations);
	return (0);
}
