/*
 * kvbench-histogram.c: the latency histogram counts exactly what it is
 * given, keeps every value within 1/128 of itself, and merges losslessly.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "histogram.h"

static int
setup(void **state)
{
	struct histogram *h = histogram_new();

	*state = h;
	return (h == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	histogram_free(*state);
	return (0);
}

static void
empty_says_zero(void **state)
{
	struct histogram *h = *state;

	assert_int_equal(histogram_count(h), 0);
	assert_int_equal(histogram_min(h), 0);
	assert_int_equal(histogram_max(h), 0);
	assert_true(histogram_mean(h) == 0.0);
	assert_int_equal(histogram_percentile(h, 50.0), 0);
	assert_int_equal(histogram_percentile(h, 100.0), 0);
	histogram_free(NULL);
}

/* Below 256 every value has a bucket of its own. */
static void
small_values_are_exact(void **state)
{
	struct histogram *h = *state;
	uint64_t v;

	for (v = 1; v <= 100; v++)
		histogram_record(h, v);
	assert_int_equal(histogram_count(h), 100);
	assert_int_equal(histogram_min(h), 1);
	assert_int_equal(histogram_max(h), 100);
	assert_true(fabs(histogram_mean(h) - 50.5) < 1e-9);
	assert_int_equal(histogram_percentile(h, 50.0), 50);
	assert_int_equal(histogram_percentile(h, 99.0), 99);
	assert_int_equal(histogram_percentile(h, 99.9), 100);
	assert_int_equal(histogram_percentile(h, 100.0), 100);
	assert_int_equal(histogram_percentile(h, 1.0), 1);
}

/*
 * The lower of two far apart values, read back as the median, lies within
 * 1/128 above itself, at every magnitude.
 */
static void
relative_error_is_bounded(void **state)
{
	struct histogram *h = *state;
	uint64_t v, got;
	int shift, k;

	for (shift = 0; shift < 52; shift++)
		for (k = 0; k < 7; k++) {
			v = ((uint64_t)1 << shift) + (uint64_t)k * 37 *
			    ((uint64_t)1 << (shift / 2)) + (uint64_t)k;
			histogram_reset(h);
			histogram_record(h, v);
			histogram_record(h, v * 1000);
			got = histogram_percentile(h, 50.0);
			assert_true(got >= v);
			assert_true(got - v <= v / 128);
		}
}

static void
extremes_fit(void **state)
{
	struct histogram *h = *state;

	histogram_record(h, 0);
	histogram_record(h, UINT64_MAX);
	histogram_record(h, UINT64_MAX - 1);
	histogram_record(h, (uint64_t)1 << 63);
	assert_int_equal(histogram_count(h), 4);
	assert_int_equal(histogram_min(h), 0);
	assert_true(histogram_max(h) == UINT64_MAX);
	assert_int_equal(histogram_percentile(h, 25.0), 0);
	assert_true(histogram_percentile(h, 100.0) == UINT64_MAX);
	assert_true(histogram_percentile(h, 50.0) >= (uint64_t)1 << 63);
}

/* Out-of-range percentiles are clamped, NaN included. */
static void
percentile_arguments_are_clamped(void **state)
{
	struct histogram *h = *state;

	histogram_record(h, 500);
	histogram_record(h, 70000);
	assert_int_equal(histogram_percentile(h, -5.0), 500);
	assert_int_equal(histogram_percentile(h, 0.0), 500);
	assert_int_equal(histogram_percentile(h, 150.0), 70000);
	assert_int_equal(histogram_percentile(h, NAN), 500);
}

static void
percentiles_do_not_decrease(void **state)
{
	struct histogram *h = *state;
	uint64_t x = 88172645463325252ULL, prev = 0, cur;
	double p;
	int i;

	for (i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		histogram_record(h, x % 10000000);
	}
	for (p = 0.0; p <= 100.0; p += 0.5) {
		cur = histogram_percentile(h, p);
		assert_true(cur >= prev);
		prev = cur;
	}
	assert_int_equal(prev, histogram_max(h));
}

static void
add_equals_recording_in_one(void **state)
{
	struct histogram *h = *state, *a, *b;
	uint64_t v;
	double p;

	a = histogram_new();
	b = histogram_new();
	assert_non_null(a);
	assert_non_null(b);
	for (v = 1; v < 2000000; v += 997) {
		histogram_record(h, v);
		histogram_record((v / 997) % 3 == 0 ? a : b, v);
	}
	histogram_add(a, b);
	assert_int_equal(histogram_count(a), histogram_count(h));
	assert_int_equal(histogram_min(a), histogram_min(h));
	assert_int_equal(histogram_max(a), histogram_max(h));
	assert_true(fabs(histogram_mean(a) - histogram_mean(h)) < 1e-6);
	for (p = 1.0; p <= 100.0; p += 1.0)
		assert_int_equal(histogram_percentile(a, p),
		    histogram_percentile(h, p));
	/* Adding an empty histogram changes nothing, its min included. */
	histogram_reset(b);
	histogram_add(a, b);
	assert_int_equal(histogram_min(a), histogram_min(h));
	assert_int_equal(histogram_count(a), histogram_count(h));
	histogram_free(a);
	histogram_free(b);
}

static void
reset_forgets(void **state)
{
	struct histogram *h = *state;

	histogram_record(h, 12345);
	histogram_reset(h);
	assert_int_equal(histogram_count(h), 0);
	assert_int_equal(histogram_max(h), 0);
	histogram_record(h, 7);
	assert_int_equal(histogram_min(h), 7);
	assert_int_equal(histogram_percentile(h, 50.0), 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(empty_says_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(small_values_are_exact, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(relative_error_is_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(extremes_fit, setup, teardown),
		cmocka_unit_test_setup_teardown(percentile_arguments_are_clamped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(percentiles_do_not_decrease,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(add_equals_recording_in_one,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(reset_forgets, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
