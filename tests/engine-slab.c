/*
 * engine-slab.c: the index's node memory hands out blocks that keep their
 * contents, reuses what is released, survives growing past many chunks,
 * and refuses sizes it cannot serve.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/slab.h"

static void
test_sizes_refused(void **state)
{
	struct slab *s = slab_new();
	void *big, *small;

	(void)state;
	assert_non_null(s);
	assert_null(slab_alloc(s, 0));
	assert_null(slab_alloc(s, SLAB_MAX + 1));
	assert_non_null(big = slab_alloc(s, SLAB_MAX));
	assert_non_null(small = slab_alloc(s, 1));
	slab_release(s, big, SLAB_MAX);
	slab_release(s, small, 1);
	slab_destroy(s);
	slab_destroy(NULL);
}

static void
test_release_reuses(void **state)
{
	struct slab *s = slab_new();
	void *a, *b;

	(void)state;
	assert_non_null(s);
	a = slab_alloc(s, 300);
	assert_non_null(a);
	memset(a, 0xab, 300);
	slab_release(s, a, 300);
	b = slab_alloc(s, 320);	/* the same 5-unit size */
#ifndef SLAB_BLOCKS_FROM_MALLOC
	/* In sanitizer builds blocks are malloc's, which may not reuse. */
	assert_ptr_equal(a, b);
#endif
	slab_release(s, b, 320);
	slab_release(s, NULL, 64);
	slab_destroy(s);
}

/*
 * Many blocks of mixed sizes, each filled with its own byte, grown and
 * shrunk at random: every block keeps its bytes and none overlaps another.
 */
static void
test_many_blocks_keep_contents(void **state)
{
	enum { N = 20000 };
	struct slab *s = slab_new();
	uint8_t **p = calloc(N, sizeof(*p));
	size_t *sz = calloc(N, sizeof(*sz)), i, j, ns;
	uint64_t r = 88172645463325252ull;
	void *np;

	(void)state;
	assert_non_null(s);
	assert_non_null(p);
	assert_non_null(sz);
	for (i = 0; i < N; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		sz[i] = 1 + r % 8192;
		p[i] = slab_alloc(s, sz[i]);
		assert_non_null(p[i]);
		memset(p[i], (int)(i & 0xff), sz[i]);
	}
	/* 20000 blocks averaging 4 KiB: far past the first chunks. */
	assert_true(slab_mapped(s) == 0 || slab_mapped(s) >= (size_t)N * 4096);
	for (i = 0; i < N; i += 3) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		ns = 1 + r % 16384;
		np = slab_realloc(s, p[i], sz[i], ns);
		assert_non_null(np);
		p[i] = np;
		for (j = 0; j < (ns < sz[i] ? ns : sz[i]); j++)
			assert_int_equal(p[i][j], i & 0xff);
		memset(p[i], (int)(i & 0xff), ns);
		sz[i] = ns;
	}
	for (i = 0; i < N; i++) {
		for (j = 0; j < sz[i]; j++)
			if (p[i][j] != (i & 0xff))
				fail_msg("block %zu byte %zu overwritten", i, j);
		slab_release(s, p[i], sz[i]);
	}
	slab_destroy(s);
	free(p);
	free(sz);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_refused),
		cmocka_unit_test(test_release_reuses),
		cmocka_unit_test(test_many_blocks_keep_contents),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
