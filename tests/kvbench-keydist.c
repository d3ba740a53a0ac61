/*
 * kvbench-keydist.c: the random generator is reproducible and in range, and
 * the key distributions have the shapes YCSB defines: flat for uniform,
 * Zipf-shaped (hottest key about 1/zeta(n) of the draws) for zipfian, the
 * newest keys hottest for latest.  Seeds are fixed, so each run draws the
 * same numbers and the bounds below are not left to chance.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keydist.h"

#define DRAWS	200000

static double
zeta(uint64_t n, double theta)
{
	double z = 0.0;
	uint64_t i;

	for (i = 1; i <= n; i++)
		z += 1.0 / pow((double)i, theta);
	return (z);
}

static void
rng_is_reproducible(void **state)
{
	struct keydist_rng a, b, c;
	int i, same = 0;

	(void)state;
	keydist_rng_seed(&a, 42);
	keydist_rng_seed(&b, 42);
	keydist_rng_seed(&c, 43);
	for (i = 0; i < 1000; i++) {
		uint64_t x = keydist_rng_next(&a);

		assert_true(x == keydist_rng_next(&b));
		same += x == keydist_rng_next(&c);
	}
	assert_int_equal(same, 0);
}

static void
rng_stays_in_range(void **state)
{
	struct keydist_rng r;
	const uint64_t ns[] = { 1, 2, 7, 1000, (uint64_t)1 << 40, UINT64_MAX };
	double u, sum = 0.0;
	size_t k;
	int i;

	(void)state;
	keydist_rng_seed(&r, 7);
	assert_int_equal(keydist_rng_below(&r, 0), 0);
	for (k = 0; k < sizeof(ns) / sizeof(ns[0]); k++)
		for (i = 0; i < 10000; i++)
			assert_true(keydist_rng_below(&r, ns[k]) < ns[k]);
	for (i = 0; i < DRAWS; i++) {
		u = keydist_rng_unit(&r);
		assert_true(u >= 0.0 && u < 1.0);
		sum += u;
	}
	assert_true(fabs(sum / DRAWS - 0.5) < 0.01);
}

static void
bad_parameters_are_refused(void **state)
{
	struct keydist *d;

	(void)state;
	assert_null(keydist_new(KEYDIST_UNIFORM, 0, 0.99));
	assert_null(keydist_new(KEYDIST_ZIPFIAN, 0, 0.99));
	assert_null(keydist_new(KEYDIST_ZIPFIAN, 10, 1.0));
	assert_null(keydist_new(KEYDIST_ZIPFIAN, 10, 0.0));
	assert_null(keydist_new(KEYDIST_LATEST, 10, NAN));
	/* Uniform has no exponent to check. */
	d = keydist_new(KEYDIST_UNIFORM, 10, 5.0);
	assert_non_null(d);
	keydist_free(d);
	keydist_free(NULL);
	assert_string_equal(keydist_kind_name(KEYDIST_ZIPFIAN), "zipfian");
}

static void
uniform_is_flat(void **state)
{
	struct keydist *d = keydist_new(KEYDIST_UNIFORM, 10, 0.0);
	struct keydist_rng r;
	unsigned int count[10] = { 0 };
	uint64_t k;
	int i;

	(void)state;
	assert_non_null(d);
	keydist_rng_seed(&r, 1);
	for (i = 0; i < DRAWS; i++) {
		k = keydist_next(d, &r, 0);
		assert_true(k < 10);
		count[k]++;
	}
	for (i = 0; i < 10; i++)
		assert_true(fabs((double)count[i] - DRAWS / 10) < DRAWS / 10 * 0.05);
	keydist_free(d);
}

static int
by_count_desc(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return (x < y ? 1 : x > y ? -1 : 0);
}

/*
 * The two hottest keys carry the Zipf shares 1/zeta(n) and
 * 2^-theta/zeta(n) (the method is exact for those two ranks and close
 * beyond); the scramble spreads the hot keys apart, and being a
 * permutation it leaves no key out.
 */
static void
zipfian_has_zipf_shape(void **state)
{
	const uint64_t n = 1000;
	const double theta = 0.99;
	struct keydist *d = keydist_new(KEYDIST_ZIPFIAN, n, theta);
	struct keydist_rng r;
	unsigned int *count, sorted[1000];
	uint64_t k, hot1 = 0, hot2 = 0;
	double z = zeta(n, theta), share;
	int i, j;

	(void)state;
	assert_non_null(d);
	count = calloc(n, sizeof(*count));
	assert_non_null(count);
	keydist_rng_seed(&r, 2);
	for (i = 0; i < DRAWS; i++) {
		k = keydist_next(d, &r, 0);
		assert_true(k < n);
		count[k]++;
	}
	for (k = 0; k < n; k++) {
		if (count[k] > count[hot1])
			hot1 = k;
	}
	for (k = 0; k < n; k++)
		if (k != hot1 && count[k] > count[hot2])
			hot2 = k;
	memcpy(sorted, count, sizeof(sorted));
	qsort(sorted, n, sizeof(sorted[0]), by_count_desc);
	for (j = 1; j <= 4; j++) {
		share = (double)sorted[j - 1] / DRAWS;
		/* Sampling error is about 1%; Gray's method is off by up to 16% from rank 3. */
		assert_true(fabs(share - pow(j, -theta) / z) <
		    (j <= 2 ? 0.05 : 0.25) * pow(j, -theta) / z);
	}
	assert_true(hot1 + 1 != hot2 && hot2 + 1 != hot1);
	assert_true(sorted[n - 1] > 0);
	/* Far from flat: the hottest tenth of the keys takes most draws. */
	for (share = 0.0, i = 0; i < 100; i++)
		share += sorted[i];
	assert_true(share / DRAWS > 0.6);
	free(count);
	keydist_free(d);
}

static void
zipfian_tiny_key_spaces(void **state)
{
	struct keydist *one = keydist_new(KEYDIST_ZIPFIAN, 1, 0.99);
	struct keydist *two = keydist_new(KEYDIST_ZIPFIAN, 2, 0.99);
	struct keydist_rng r;
	unsigned int seen[2] = { 0, 0 };
	uint64_t k;
	int i;

	(void)state;
	assert_non_null(one);
	assert_non_null(two);
	keydist_rng_seed(&r, 3);
	for (i = 0; i < 10000; i++) {
		assert_int_equal(keydist_next(one, &r, 0), 0);
		k = keydist_next(two, &r, 0);
		assert_true(k < 2);
		seen[k]++;
	}
	assert_true(seen[0] > 0 && seen[1] > 0);
	keydist_free(one);
	keydist_free(two);
}

/* The newest key is the hottest, and draws never pass the current count. */
static void
latest_prefers_newest(void **state)
{
	struct keydist *d = keydist_new(KEYDIST_LATEST, 1000, 0.99);
	struct keydist_rng r;
	unsigned int *count;
	uint64_t k, cnt, hot = 0;
	int i;

	(void)state;
	assert_non_null(d);
	count = calloc(1100, sizeof(*count));
	assert_non_null(count);
	keydist_rng_seed(&r, 4);
	for (i = 0; i < DRAWS; i++) {
		cnt = 1000 + (uint64_t)(i % 100);
		k = keydist_next(d, &r, cnt);
		assert_true(k < cnt);
		if (cnt == 1050)
			count[k]++;
	}
	for (k = 0; k < 1100; k++)
		if (count[k] > count[hot])
			hot = k;
	assert_int_equal(hot, 1049);
	assert_true(count[1049] > count[1048] && count[1048] > count[1000]);
	/* A count of 1 leaves a single key; 0 has none and says 0. */
	assert_int_equal(keydist_next(d, &r, 1), 0);
	assert_int_equal(keydist_next(d, &r, 0), 0);
	free(count);
	keydist_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rng_is_reproducible),
		cmocka_unit_test(rng_stays_in_range),
		cmocka_unit_test(bad_parameters_are_refused),
		cmocka_unit_test(uniform_is_flat),
		cmocka_unit_test(zipfian_has_zipf_shape),
		cmocka_unit_test(zipfian_tiny_key_spaces),
		cmocka_unit_test(latest_prefers_newest),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
