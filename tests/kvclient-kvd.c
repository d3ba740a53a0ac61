/*
 * kvclient-kvd.c: libkvclient against a real kvd: put/get/delete statuses
 * and sequence numbers, iterator paging at its edges (page 1, page sizes
 * that divide the key count exactly, keys that share a 1000-byte prefix,
 * limits), pipelining, the limits the server enforces (TOO_LARGE, leaving
 * the connection usable), the asynchronous API driving 1,000 requests
 * on an event_base, and whole scans done page by page with kv_async_iter()
 * on an event_base and with kv_pipe_iter() (every key exactly once, in
 * order, with and without a prefix and values).
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

#include "asyncdrive.h"
#include "harness.h"
#include "kvclient.h"
#include "pagescan.h"

#define NKEYS	24
#define PFX	1000

struct fixture {
	struct harness	*h;
	kv_conn		*c;
	char		 ep[64];
};

static int
setup_args(void **state, const char *const *args)
{
	struct fixture *x = calloc(1, sizeof(*x));

	if (x == NULL || (x->h = harness_new_started(args)) == NULL)
		goto fail;
	(void)snprintf(x->ep, sizeof(x->ep), "127.0.0.1:%u",
	    (unsigned)harness_port(x->h));
	if ((x->c = kv_conn_new(NULL)) == NULL ||
	    kv_connect(x->c, x->ep) != KV_OK)
		goto fail;
	*state = x;
	return (0);
fail:
	if (x != NULL) {
		kv_conn_free(x->c);
		harness_free(x->h);
	}
	free(x);
	return (-1);
}

static int
setup(void **state)
{
	return (setup_args(state, NULL));
}

static int
setup_small(void **state)
{
	static const char *const args[] = { "--max-value", "1000",
	    "--max-key", "100", NULL };

	return (setup_args(state, args));
}

static int
teardown(void **state)
{
	struct fixture *x = *state;

	kv_conn_free(x->c);
	harness_free(x->h);
	free(x);
	return (0);
}

static void
basics(void **state)
{
	struct fixture *x = *state;
	uint64_t s1 = 0, s2 = 0, gs = 0, ds = 0;
	kv_statlist *st;
	void *v;
	size_t vl;

	assert_int_equal(kv_ping(x->c), KV_OK);
	assert_int_equal(kv_put(x->c, "a", 1, "1", 1, &s1), KV_OK);
	assert_int_equal(kv_put(x->c, "a", 1, "22", 2, &s2), KV_OK);
	assert_true(s2 > s1);
	assert_int_equal(kv_get(x->c, "a", 1, &v, &vl, &gs), KV_OK);
	assert_int_equal(vl, 2);
	assert_memory_equal(v, "22", 2);
	assert_int_equal(gs, s2);
	kv_free(v);
	assert_int_equal(kv_put(x->c, "e", 1, NULL, 0, NULL), KV_OK);
	assert_int_equal(kv_get(x->c, "e", 1, &v, &vl, NULL), KV_OK);
	assert_int_equal(vl, 0);
	kv_free(v);
	assert_int_equal(kv_delete(x->c, "a", 1, &ds), KV_OK);
	assert_true(ds > s2);
	assert_int_equal(kv_delete(x->c, "a", 1, NULL), KV_NOT_FOUND);
	assert_int_equal(kv_get(x->c, "a", 1, &v, &vl, NULL), KV_NOT_FOUND);
	assert_true(strlen(kv_errmsg(x->c)) > 0);
	assert_int_equal(kv_stats(x->c, &st), KV_OK);
	assert_true(kv_stats_count(st) > 0);
	kv_stats_free(st);
}

static size_t
pkey(char *buf, int i)
{
	memset(buf, 'q', PFX);
	return (PFX + (size_t)sprintf(buf + PFX, "%03d", i));
}

static void
paging(void **state)
{
	struct fixture *x = *state;
	static const uint32_t pages[] = { 1, 2, 3, 4, 6, 8, 12, 24, 5, 7, 25,
	    0 };
	char k[PFX + 16], want[PFX + 16];
	const void *gk, *gv;
	size_t kl, wl, gkl, gvl, i;
	kv_iter *it;
	int n, r;

	for (n = 0; n < NKEYS; n++) {
		kl = pkey(k, n);
		assert_int_equal(kv_put(x->c, k, kl, k + PFX, 3, NULL), KV_OK);
	}
	/* Neighbours that must stay out of the prefix scan. */
	assert_int_equal(kv_put(x->c, k, PFX - 1, "short", 5, NULL), KV_OK);
	assert_int_equal(kv_put(x->c, "r", 1, "after", 5, NULL), KV_OK);

	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		assert_int_equal(kv_iter_new(x->c, &it), KV_OK);
		assert_int_equal(kv_iter_set_prefix(it, k, PFX), KV_OK);
		assert_int_equal(kv_iter_set_page_size(it, pages[i]), KV_OK);
		n = 0;
		while ((r = kv_iter_next(it, &gk, &gkl, &gv, &gvl)) == KV_OK) {
			wl = pkey(want, n);
			assert_int_equal(gkl, wl);
			assert_memory_equal(gk, want, wl);
			assert_int_equal(gvl, 3);
			assert_memory_equal(gv, want + PFX, 3);
			n++;
		}
		if (r != KV_NOT_FOUND)
			fail_msg("page %u: %s: %s", pages[i], kv_strerror(r),
			    kv_errmsg(x->c));
		assert_int_equal(n, NKEYS);
		kv_iter_free(it);
	}

	/* Limits: 1, one that divides the count, one past it. */
	{
		static const uint64_t limits[] = { 1, 6, 24, 30 };
		static const uint32_t lpages[] = { 0, 3, 8, 1 };

		for (i = 0; i < 4; i++) {
			assert_int_equal(kv_iter_new(x->c, &it), KV_OK);
			assert_int_equal(kv_iter_set_prefix(it, k, PFX), KV_OK);
			assert_int_equal(kv_iter_set_limit(it, limits[i]), KV_OK);
			assert_int_equal(kv_iter_set_page_size(it, lpages[i]),
			    KV_OK);
			assert_int_equal(kv_iter_set_keys_only(it, 1), KV_OK);
			n = 0;
			while ((r = kv_iter_next(it, &gk, &gkl, &gv, &gvl)) ==
			    KV_OK) {
				assert_int_equal(gvl, 0);
				n++;
			}
			assert_int_equal(r, KV_NOT_FOUND);
			assert_int_equal(n, limits[i] < NKEYS ? (int)limits[i] :
			    NKEYS);
			kv_iter_free(it);
		}
	}

	/* A range, end excluded, and the whole key space. */
	assert_int_equal(kv_iter_new(x->c, &it), KV_OK);
	wl = pkey(want, 5);
	assert_int_equal(kv_iter_set_start(it, want, wl), KV_OK);
	wl = pkey(want, 9);
	assert_int_equal(kv_iter_set_end(it, want, wl), KV_OK);
	assert_int_equal(kv_iter_set_page_size(it, 2), KV_OK);
	n = 0;
	while (kv_iter_next(it, NULL, NULL, NULL, NULL) == KV_OK)
		n++;
	assert_int_equal(n, 4);
	kv_iter_free(it);
	assert_int_equal(kv_iter_new(x->c, &it), KV_OK);
	assert_int_equal(kv_iter_set_page_size(it, 5), KV_OK);
	n = 0;
	while (kv_iter_next(it, NULL, NULL, NULL, NULL) == KV_OK)
		n++;
	assert_int_equal(n, NKEYS + 2);
	kv_iter_free(it);
}

static void
pipelined(void **state)
{
	struct fixture *x = *state;
	enum { N = 2000 };
	const kv_reply *r;
	const void *v;
	size_t vl;
	char k[32];
	int i;

	for (i = 0; i < N; i++) {
		(void)snprintf(k, sizeof(k), "pipe%05d", i);
		assert_int_equal(kv_pipe_put(x->c, k, strlen(k), k, strlen(k)),
		    KV_OK);
	}
	for (i = 0; i < N; i++) {
		(void)snprintf(k, sizeof(k), "pipe%05d", i);
		assert_int_equal(kv_pipe_get(x->c, k, strlen(k)), KV_OK);
	}
	assert_int_equal(kv_pipe_get(x->c, "nope", 4), KV_OK);
	assert_int_equal(kv_pipe_ping(x->c), KV_OK);
	assert_int_equal(kv_pipe_send(x->c), KV_OK);
	for (i = 0; i < N; i++)
		assert_int_equal(kv_pipe_recv(x->c, &r), KV_OK);
	for (i = 0; i < N; i++) {
		(void)snprintf(k, sizeof(k), "pipe%05d", i);
		assert_int_equal(kv_pipe_recv(x->c, &r), KV_OK);
		v = kv_reply_value(r, &vl);
		assert_int_equal(vl, strlen(k));
		assert_memory_equal(v, k, vl);
	}
	assert_int_equal(kv_pipe_recv(x->c, &r), KV_NOT_FOUND);
	assert_int_equal(kv_pipe_recv(x->c, &r), KV_OK);
	assert_int_equal(kv_pipe_pending(x->c), 0);
}

static void
limits(void **state)
{
	struct fixture *x = *state;
	char big[2000], key[200];

	memset(big, 'b', sizeof(big));
	memset(key, 'k', sizeof(key));
	assert_int_equal(kv_put(x->c, "v", 1, big, sizeof(big), NULL),
	    KV_TOO_LARGE);
	/* The message names the limit. */
	assert_non_null(strstr(kv_errmsg(x->c), "1000"));
	assert_int_equal(kv_put(x->c, key, sizeof(key), "v", 1, NULL),
	    KV_TOO_LARGE);
	/* The connection goes on. */
	assert_int_equal(kv_put(x->c, "v", 1, big, 1000, NULL), KV_OK);
	assert_int_equal(kv_ping(x->c), KV_OK);
}

static void
async_thousand(void **state)
{
	struct fixture *x = *state;
	void *v;
	size_t vl;

	async_drive_thousand(x->ep);
	/* The writes are there for a synchronous reader too. */
	assert_int_equal(kv_get(x->c, "async-key-0499", 14, &v, &vl, NULL),
	    KV_OK);
	kv_free(v);
}

#define NSCAN	500

/* Key n of the page scans; its value is "val-" and the same digits. */
static void
scan_key(char *k, size_t size, int n)
{
	(void)snprintf(k, size, "scan/%04d", n);
}

/*
 * ps holds exactly the NSCAN scan keys in order (from index off), with
 * their values unless keys_only.
 */
static void
assert_scan_keys(const struct pagescan *ps, size_t off, int keys_only)
{
	char k[32], v[32];
	int n;

	for (n = 0; n < NSCAN; n++) {
		scan_key(k, sizeof(k), n);
		(void)snprintf(v, sizeof(v), "val-%04d", n);
		assert_string_equal(ps->keys[off + (size_t)n], k);
		assert_string_equal(ps->vals[off + (size_t)n], keys_only ? "" : v);
	}
}

static void
page_scans(void **state)
{
	static const char *const others[] = { "sca", "scan", "scan0", "t" };
	struct fixture *x = *state;
	const kv_reply *p;
	struct pagescan ps;
	kv_range *r;
	char k[32], v[32];
	size_t i;
	int n;

	for (n = 0; n < NSCAN; n++) {
		scan_key(k, sizeof(k), n);
		(void)snprintf(v, sizeof(v), "val-%04d", n);
		assert_int_equal(kv_pipe_put(x->c, k, strlen(k), v, strlen(v)),
		    KV_OK);
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(kv_pipe_put(x->c, others[i], strlen(others[i]),
		    "o", 1), KV_OK);
	while (kv_pipe_pending(x->c) > 0)
		assert_int_equal(kv_pipe_recv(x->c, &p), KV_OK);

	/* Everything, 7 to a page, on an event_base. */
	assert_non_null(r = kv_range_new());
	assert_int_equal(kv_range_set_limit(r, 7), KV_OK);
	if (pagescan_async(x->ep, r, &ps) != KV_OK)
		fail_msg("async scan: %s: %s", kv_strerror(ps.status), ps.message);
	assert_int_equal(ps.n, NSCAN + 4);
	assert_true(ps.pages >= (NSCAN + 4) / 7);
	assert_string_equal(ps.keys[0], "sca");
	assert_string_equal(ps.keys[1], "scan");
	assert_scan_keys(&ps, 2, 0);
	assert_string_equal(ps.keys[NSCAN + 2], "scan0");
	assert_string_equal(ps.keys[NSCAN + 3], "t");
	pagescan_free(&ps);
	kv_range_free(r);

	/* The prefix, keys only, pages that divide the count exactly. */
	assert_non_null(r = kv_range_new());
	assert_int_equal(kv_range_set_prefix(r, "scan/", 5), KV_OK);
	assert_int_equal(kv_range_set_keys_only(r, 1), KV_OK);
	assert_int_equal(kv_range_set_limit(r, 50), KV_OK);
	if (pagescan_async(x->ep, r, &ps) != KV_OK)
		fail_msg("async prefix scan: %s: %s", kv_strerror(ps.status),
		    ps.message);
	assert_int_equal(ps.n, NSCAN);
	assert_true(ps.pages >= NSCAN / 50);
	assert_scan_keys(&ps, 0, 1);
	pagescan_free(&ps);
	kv_range_free(r);

	/* The same prefix with kv_pipe_iter(), values included, and keys only. */
	assert_non_null(r = kv_range_new());
	assert_int_equal(kv_range_set_prefix(r, "scan/", 5), KV_OK);
	assert_int_equal(kv_range_set_limit(r, 13), KV_OK);
	if (pagescan_pipe(x->c, r, &ps) != KV_OK)
		fail_msg("pipe prefix scan: %s: %s", kv_strerror(ps.status),
		    ps.message);
	assert_int_equal(ps.n, NSCAN);
	assert_true(ps.pages >= NSCAN / 13 + 1);
	assert_scan_keys(&ps, 0, 0);
	pagescan_free(&ps);
	kv_range_free(r);

	assert_non_null(r = kv_range_new());
	assert_int_equal(kv_range_set_prefix(r, "scan/", 5), KV_OK);
	assert_int_equal(kv_range_set_keys_only(r, 1), KV_OK);
	assert_int_equal(kv_range_set_limit(r, 1), KV_OK);
	if (pagescan_pipe(x->c, r, &ps) != KV_OK)
		fail_msg("pipe scan by 1: %s: %s", kv_strerror(ps.status),
		    ps.message);
	assert_int_equal(ps.n, NSCAN);
	assert_scan_keys(&ps, 0, 1);
	pagescan_free(&ps);
	kv_range_free(r);

	/* One default page holds them all and says it is the last. */
	assert_int_equal(kv_pipe_iter(x->c, NULL), KV_OK);
	assert_int_equal(kv_pipe_recv(x->c, &p), KV_OK);
	assert_int_equal(kv_reply_entries(p), NSCAN + 4);
	assert_int_equal(kv_reply_more(p), 0);
	/* The connection is still good for synchronous calls. */
	assert_int_equal(kv_ping(x->c), KV_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(basics, setup, teardown),
		cmocka_unit_test_setup_teardown(paging, setup, teardown),
		cmocka_unit_test_setup_teardown(pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(limits, setup_small, teardown),
		cmocka_unit_test_setup_teardown(async_thousand, setup, teardown),
		cmocka_unit_test_setup_teardown(page_scans, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
