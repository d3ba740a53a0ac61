/*
 * kvclient-iter.c: the iterator hides iter paging: every key in range comes
 * back exactly once and in order whatever the page size (1, sizes that
 * divide the key count exactly, sizes that do not, larger than the count),
 * with limits, prefixes, bounds and long shared prefixes; and a server that
 * would make it loop or repeat keys is caught.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fakekvd.h"
#include "kvclient.h"

#define NKEYS	60

/* Key i: a 300-byte shared prefix then a number, so keys differ only late. */
static size_t
long_key(char *buf, size_t cap, int i)
{
	size_t n = 300;

	memset(buf, 'p', n);
	n += (size_t)snprintf(buf + n, cap - n, "%04d", i);
	return (n);
}

/* A connected fake holding NKEYS short and NKEYS long "k" keys and "other". */
static int
setup_mode(void **state, enum fake_mode mode)
{
	struct fake_conn *x;
	char k[400], v[32];
	size_t kl;
	int i;

	if (fake_setup_mode(state, mode) != 0)
		return (-1);
	x = *state;
	for (i = 0; i < NKEYS; i++) {
		(void)snprintf(k, sizeof(k), "k%04d", i);
		(void)snprintf(v, sizeof(v), "v%d", i);
		if (kv_put(x->c, k, strlen(k), v, strlen(v), NULL) != KV_OK)
			goto fail;
		kl = long_key(k, sizeof(k), i);
		if (kv_put(x->c, k, kl, v, strlen(v), NULL) != KV_OK)
			goto fail;
	}
	if (kv_put(x->c, "other", 5, "o", 1, NULL) != KV_OK)
		goto fail;
	return (0);
fail:
	(void)fake_teardown(state);
	return (-1);
}

static int
setup(void **state)
{
	return (setup_mode(state, FAKE_NORMAL));
}

/* Walk "k" keys with page size page and limit; check each is k<first+i>. */
static int
walk_k(kv_conn *c, uint32_t page, uint64_t limit, int first)
{
	kv_iter *it;
	const void *k, *v;
	size_t kl, vl;
	char want[16], wantv[16];
	int n = 0, r;

	assert_int_equal(kv_iter_new(c, &it), KV_OK);
	assert_int_equal(kv_iter_set_prefix(it, "k", 1), KV_OK);
	assert_int_equal(kv_iter_set_page_size(it, page), KV_OK);
	assert_int_equal(kv_iter_set_limit(it, limit), KV_OK);
	if (first > 0) {
		(void)snprintf(want, sizeof(want), "k%04d", first);
		assert_int_equal(kv_iter_set_start(it, want, strlen(want)), KV_OK);
	}
	while ((r = kv_iter_next(it, &k, &kl, &v, &vl)) == KV_OK) {
		(void)snprintf(want, sizeof(want), "k%04d", first + n);
		(void)snprintf(wantv, sizeof(wantv), "v%d", first + n);
		assert_int_equal(kl, strlen(want));
		assert_memory_equal(k, want, kl);
		assert_int_equal(vl, strlen(wantv));
		assert_memory_equal(v, wantv, vl);
		n++;
	}
	assert_int_equal(r, KV_NOT_FOUND);
	/* Exhausted stays exhausted. */
	assert_int_equal(kv_iter_next(it, NULL, NULL, NULL, NULL), KV_NOT_FOUND);
	kv_iter_free(it);
	return (n);
}

static void
page_sizes(void **state)
{
	struct fake_conn *x = *state;
	static const uint32_t pages[] = { 1, 2, 3, 7, 10, 12, 20, 30, 59, 60,
	    61, 1000, 0 };
	size_t i;

	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		assert_int_equal(walk_k(x->c, pages[i], 0, 0), NKEYS);
}

static void
limits(void **state)
{
	struct fake_conn *x = *state;

	assert_int_equal(walk_k(x->c, 0, 1, 0), 1);
	assert_int_equal(walk_k(x->c, 1, 1, 0), 1);
	assert_int_equal(walk_k(x->c, 7, 10, 0), 10);
	assert_int_equal(walk_k(x->c, 5, 10, 0), 10);
	assert_int_equal(walk_k(x->c, 0, NKEYS, 0), NKEYS);
	assert_int_equal(walk_k(x->c, 4, NKEYS + 5, 0), NKEYS);
	assert_int_equal(walk_k(x->c, 3, 0, 50), NKEYS - 50);
}

static void
long_prefixes(void **state)
{
	struct fake_conn *x = *state;
	static const uint32_t pages[] = { 1, 6, 60, 0 };
	char want[400], pfx[300];
	kv_iter *it;
	const void *k;
	size_t kl, wl, i;
	int n, r;

	memset(pfx, 'p', sizeof(pfx));
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		assert_int_equal(kv_iter_new(x->c, &it), KV_OK);
		assert_int_equal(kv_iter_set_prefix(it, pfx, sizeof(pfx)), KV_OK);
		assert_int_equal(kv_iter_set_page_size(it, pages[i]), KV_OK);
		assert_int_equal(kv_iter_set_keys_only(it, 1), KV_OK);
		n = 0;
		while ((r = kv_iter_next(it, &k, &kl, NULL, NULL)) == KV_OK) {
			wl = long_key(want, sizeof(want), n);
			assert_int_equal(kl, wl);
			assert_memory_equal(k, want, wl);
			n++;
		}
		assert_int_equal(r, KV_NOT_FOUND);
		assert_int_equal(n, NKEYS);
		kv_iter_free(it);
	}
}

static void
bounds(void **state)
{
	struct fake_conn *x = *state;
	kv_iter *it;
	const void *k, *v;
	size_t kl, vl;
	int n = 0;

	/* [k0010, k0020): ten keys, the end excluded. */
	assert_int_equal(kv_iter_new(x->c, &it), KV_OK);
	assert_int_equal(kv_iter_set_start(it, "k0010", 5), KV_OK);
	assert_int_equal(kv_iter_set_end(it, "k0020", 5), KV_OK);
	assert_int_equal(kv_iter_set_page_size(it, 3), KV_OK);
	assert_int_equal(kv_iter_set_keys_only(it, 1), KV_OK);
	while (kv_iter_next(it, &k, &kl, &v, &vl) == KV_OK) {
		assert_int_equal(vl, 0);	/* keys only */
		n++;
	}
	assert_int_equal(n, 10);
	/* Setters are refused once the walk has begun. */
	assert_int_equal(kv_iter_set_limit(it, 3), KV_ERR_STATE);
	assert_int_equal(kv_iter_set_prefix(it, "x", 1), KV_ERR_STATE);
	kv_iter_free(it);

	/* An empty range. */
	assert_int_equal(kv_iter_new(x->c, &it), KV_OK);
	assert_int_equal(kv_iter_set_prefix(it, "zzz", 3), KV_OK);
	assert_int_equal(kv_iter_next(it, &k, &kl, NULL, NULL), KV_NOT_FOUND);
	kv_iter_free(it);

	/* Everything: both families and "other". */
	assert_int_equal(kv_iter_new(x->c, &it), KV_OK);
	n = 0;
	while (kv_iter_next(it, NULL, NULL, NULL, NULL) == KV_OK)
		n++;
	assert_int_equal(n, 2 * NKEYS + 1);
	/* Between pages the connection serves other calls. */
	assert_int_equal(kv_ping(x->c), KV_OK);
	kv_iter_free(it);
	kv_iter_free(NULL);
	assert_int_equal(kv_iter_new(x->c, NULL), KV_ERR_ARG);
}

static void
interleaved(void **state)
{
	struct fake_conn *x = *state;
	kv_iter *it;
	const void *k;
	size_t kl;
	int n = 0;

	/* Deleting keys ahead of the iterator between pages: never repeated. */
	assert_int_equal(kv_iter_new(x->c, &it), KV_OK);
	assert_int_equal(kv_iter_set_prefix(it, "k", 1), KV_OK);
	assert_int_equal(kv_iter_set_page_size(it, 4), KV_OK);
	while (kv_iter_next(it, &k, &kl, NULL, NULL) == KV_OK) {
		if (n == 5)
			assert_int_equal(kv_delete(x->c, "k0030", 5, NULL), KV_OK);
		n++;
	}
	assert_int_equal(n, NKEYS - 1);
	kv_iter_free(it);
}

static int
setup_empty_more(void **state)
{
	return (setup_mode(state, FAKE_EMPTY_MORE));
}

static int
setup_disorder(void **state)
{
	return (setup_mode(state, FAKE_DISORDER));
}

static void
empty_page_with_more(void **state)
{
	struct fake_conn *x = *state;
	kv_iter *it;

	assert_int_equal(kv_iter_new(x->c, &it), KV_OK);
	assert_int_equal(kv_iter_next(it, NULL, NULL, NULL, NULL),
	    KV_ERR_PROTOCOL);
	assert_non_null(strstr(kv_errmsg(x->c), "empty page"));
	assert_int_equal(kv_iter_next(it, NULL, NULL, NULL, NULL),
	    KV_ERR_PROTOCOL);
	kv_iter_free(it);
}

static void
repeated_keys(void **state)
{
	struct fake_conn *x = *state;
	kv_iter *it;
	int r, n = 0;

	assert_int_equal(kv_iter_new(x->c, &it), KV_OK);
	assert_int_equal(kv_iter_set_page_size(it, 1), KV_OK);
	while ((r = kv_iter_next(it, NULL, NULL, NULL, NULL)) == KV_OK)
		n++;
	assert_int_equal(r, KV_ERR_PROTOCOL);
	assert_int_equal(n, 1);
	assert_non_null(strstr(kv_errmsg(x->c), "out of order"));
	kv_iter_free(it);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(page_sizes, setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(limits, setup, fake_teardown),
		cmocka_unit_test_setup_teardown(long_prefixes, setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(bounds, setup, fake_teardown),
		cmocka_unit_test_setup_teardown(interleaved, setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(empty_page_with_more,
		    setup_empty_more, fake_teardown),
		cmocka_unit_test_setup_teardown(repeated_keys, setup_disorder,
		    fake_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
