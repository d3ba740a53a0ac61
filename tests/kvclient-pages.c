/*
 * kvclient-pages.c: the page-level iter calls, kv_pipe_iter() and
 * kv_async_iter(), against the stand-in server: a page's entries, the more
 * flag and kv_range_continue() across page sizes (an exactly full last
 * page leaves an empty page after it), start, start_exclusive, end, prefix
 * and keys_only, an empty range, pages queued between other requests, the
 * reply accessors on replies that are not pages, and hostile pages (empty
 * with "more", keys out of order, an empty key) failing with
 * KV_ERR_PROTOCOL in both APIs.
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
#include "pagescan.h"

/* Keys in the order the server must return them. */
static const char *const keys[] = {
	"a1", "a2", "b", "b1", "b2", "b3", "c1", "c2", "c3", "d"
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

static void
put_keys(kv_conn *c)
{
	char v[16];
	size_t i;

	/* Stored backwards, so that order comes from the server. */
	for (i = NKEYS; i-- > 0;) {
		(void)snprintf(v, sizeof(v), "v-%s", keys[i]);
		assert_int_equal(kv_put(c, keys[i], strlen(keys[i]), v,
		    strlen(v), NULL), KV_OK);
	}
}

/* ps holds keys[from..to) with their values, or empty ones if keys_only. */
static void
assert_scan(const struct pagescan *ps, size_t from, size_t to, int keys_only)
{
	char v[16];
	size_t i;

	assert_int_equal(ps->status, KV_OK);
	assert_int_equal(ps->n, to - from);
	for (i = 0; i < ps->n; i++) {
		assert_string_equal(ps->keys[i], keys[from + i]);
		assert_int_equal(ps->keylens[i], strlen(keys[from + i]));
		(void)snprintf(v, sizeof(v), "v-%s", keys[from + i]);
		assert_string_equal(ps->vals[i], keys_only ? "" : v);
	}
}

static void
pipe_page_sizes(void **state)
{
	struct fake_conn *x = *state;
	struct pagescan ps;
	kv_range *r;
	uint32_t limit;

	put_keys(x->c);
	for (limit = 0; limit <= NKEYS + 1; limit++) {
		assert_non_null(r = kv_range_new());
		assert_int_equal(kv_range_set_limit(r, limit), KV_OK);
		assert_int_equal(pagescan_pipe(x->c, r, &ps), KV_OK);
		assert_scan(&ps, 0, NKEYS, 0);
		if (limit == 0 || limit > NKEYS)
			assert_int_equal(ps.pages, 1);
		else
			/* A full page says "more": an exact fit ends empty. */
			assert_int_equal(ps.pages, NKEYS / limit + 1);
		assert_int_equal(ps.empty_pages,
		    limit != 0 && NKEYS % limit == 0 ? 1 : 0);
		pagescan_free(&ps);
		kv_range_free(r);
	}
}

static void
async_page_sizes(void **state)
{
	struct fake_conn *x = *state;
	struct pagescan ps;
	kv_range *r;
	uint32_t limit;

	put_keys(x->c);
	/* The fake serves one connection at a time. */
	kv_close(x->c);
	for (limit = 0; limit <= NKEYS + 1; limit += 3) {
		assert_non_null(r = kv_range_new());
		assert_int_equal(kv_range_set_limit(r, limit), KV_OK);
		assert_int_equal(pagescan_async(fake_endpoint(x->f), r, &ps),
		    KV_OK);
		assert_scan(&ps, 0, NKEYS, 0);
		pagescan_free(&ps);
		kv_range_free(r);
	}
}

static void
bounds(void **state)
{
	struct fake_conn *x = *state;
	struct pagescan ps;
	kv_range *r;

	put_keys(x->c);
	assert_non_null(r = kv_range_new());
	/* Prefix "b" takes "b" itself, and keys_only leaves values out. */
	assert_int_equal(kv_range_set_prefix(r, "b", 1), KV_OK);
	assert_int_equal(kv_range_set_keys_only(r, 1), KV_OK);
	assert_int_equal(kv_range_set_limit(r, 2), KV_OK);
	assert_int_equal(pagescan_pipe(x->c, r, &ps), KV_OK);
	assert_scan(&ps, 2, 6, 1);
	pagescan_free(&ps);
	kv_range_free(r);

	assert_non_null(r = kv_range_new());
	assert_int_equal(kv_range_set_start(r, "a2", 2), KV_OK);
	assert_int_equal(kv_range_set_end(r, "c2", 2), KV_OK);
	assert_int_equal(pagescan_pipe(x->c, r, &ps), KV_OK);
	assert_scan(&ps, 1, 7, 0);
	pagescan_free(&ps);
	kv_range_free(r);

	assert_non_null(r = kv_range_new());
	assert_int_equal(kv_range_set_start(r, "a2", 2), KV_OK);
	assert_int_equal(kv_range_set_start_exclusive(r, 1), KV_OK);
	assert_int_equal(kv_range_set_end(r, "c2", 2), KV_OK);
	assert_int_equal(kv_range_set_limit(r, 1), KV_OK);
	assert_int_equal(pagescan_pipe(x->c, r, &ps), KV_OK);
	assert_scan(&ps, 2, 7, 0);
	pagescan_free(&ps);
	/* Removing bounds: len 0 means none. */
	assert_int_equal(kv_range_set_start(r, NULL, 0), KV_OK);
	assert_int_equal(kv_range_set_start_exclusive(r, 0), KV_OK);
	assert_int_equal(kv_range_set_end(r, NULL, 0), KV_OK);
	assert_int_equal(pagescan_pipe(x->c, r, &ps), KV_OK);
	assert_scan(&ps, 0, NKEYS, 0);
	pagescan_free(&ps);
	kv_range_free(r);

	/* A NULL range is every key, the server's default page. */
	assert_int_equal(kv_pipe_iter(x->c, NULL), KV_OK);
	{
		const kv_reply *p;

		assert_int_equal(kv_pipe_recv(x->c, &p), KV_OK);
		assert_int_equal(kv_reply_entries(p), NKEYS);
		assert_int_equal(kv_reply_more(p), 0);
	}
}

static void
empty_range(void **state)
{
	struct fake_conn *x = *state;
	const kv_reply *p;
	const void *k = "x", *v = "x";
	size_t kl = 1, vl = 1;
	kv_range *r;

	put_keys(x->c);
	assert_non_null(r = kv_range_new());
	assert_int_equal(kv_range_set_prefix(r, "zz", 2), KV_OK);
	assert_int_equal(kv_pipe_iter(x->c, r), KV_OK);
	assert_int_equal(kv_pipe_recv(x->c, &p), KV_OK);
	assert_int_equal(kv_reply_entries(p), 0);
	assert_int_equal(kv_reply_more(p), 0);
	assert_int_equal(kv_reply_entry(p, 0, &k, &kl, &v, &vl), KV_ERR_ARG);
	assert_null(k);
	assert_null(v);
	assert_int_equal(kl, 0);
	assert_int_equal(vl, 0);
	assert_int_equal(kv_range_continue(r, p), KV_NOT_FOUND);
	kv_range_free(r);
}

static void
mixed_pipeline(void **state)
{
	struct fake_conn *x = *state;
	const kv_reply *p;
	const void *k, *v;
	size_t kl, vl;
	kv_range *r1, *r2;

	put_keys(x->c);
	assert_non_null(r1 = kv_range_new());
	assert_non_null(r2 = kv_range_new());
	assert_int_equal(kv_range_set_prefix(r1, "c", 1), KV_OK);
	assert_int_equal(kv_range_set_limit(r1, 2), KV_OK);
	assert_int_equal(kv_range_set_start(r2, "d", 1), KV_OK);
	assert_int_equal(kv_pipe_iter(x->c, r1), KV_OK);
	assert_int_equal(kv_pipe_get(x->c, "b", 1), KV_OK);
	assert_int_equal(kv_pipe_iter(x->c, r2), KV_OK);
	/* The ranges are copied: changing or freeing them now is harmless. */
	assert_int_equal(kv_range_set_prefix(r1, "a", 1), KV_OK);
	kv_range_free(r2);
	assert_int_equal(kv_pipe_pending(x->c), 3);
	assert_int_equal(kv_ping(x->c), KV_ERR_STATE);

	assert_int_equal(kv_pipe_recv(x->c, &p), KV_OK);
	assert_int_equal(kv_reply_entries(p), 2);
	assert_int_equal(kv_reply_more(p), 1);
	assert_int_equal(kv_reply_entry(p, 1, &k, &kl, &v, &vl), KV_OK);
	assert_int_equal(kl, 2);
	assert_memory_equal(k, "c2", 2);
	assert_int_equal(vl, 4);
	assert_memory_equal(v, "v-c2", 4);
	assert_int_equal(kv_reply_seq(p), 0);
	assert_null(kv_reply_value(p, &vl));

	assert_int_equal(kv_pipe_recv(x->c, &p), KV_OK);
	/* A get is no page. */
	assert_int_equal(kv_reply_entries(p), 0);
	assert_int_equal(kv_reply_more(p), 0);
	assert_int_equal(kv_reply_entry(p, 0, &k, &kl, NULL, NULL),
	    KV_ERR_ARG);
	assert_int_equal(kv_range_continue(r1, p), KV_ERR_ARG);

	assert_int_equal(kv_pipe_recv(x->c, &p), KV_OK);
	assert_int_equal(kv_reply_entries(p), 1);
	assert_int_equal(kv_reply_entry(p, 0, &k, &kl, NULL, NULL), KV_OK);
	assert_memory_equal(k, "d", 1);
	assert_int_equal(kv_reply_more(p), 0);
	assert_int_equal(kv_pipe_pending(x->c), 0);
	kv_range_free(r1);
}

static void
bad_arguments(void **state)
{
	struct fake_conn *x = *state;
	kv_range *r;

	assert_non_null(r = kv_range_new());
	assert_int_equal(kv_range_set_start(NULL, "a", 1), KV_ERR_ARG);
	assert_int_equal(kv_range_set_start(r, NULL, 1), KV_ERR_ARG);
	assert_int_equal(kv_range_set_end(r, NULL, 3), KV_ERR_ARG);
	assert_int_equal(kv_range_set_prefix(r, NULL, 2), KV_ERR_ARG);
	assert_int_equal(kv_range_set_limit(NULL, 1), KV_ERR_ARG);
	assert_int_equal(kv_range_set_keys_only(NULL, 1), KV_ERR_ARG);
	assert_int_equal(kv_range_set_start_exclusive(NULL, 1), KV_ERR_ARG);
	assert_int_equal(kv_range_continue(r, NULL), KV_ERR_ARG);
	assert_int_equal(kv_reply_entries(NULL), 0);
	assert_int_equal(kv_reply_more(NULL), 0);
	assert_int_equal(kv_reply_entry(NULL, 0, NULL, NULL, NULL, NULL),
	    KV_ERR_ARG);
	assert_int_equal(kv_pipe_iter(NULL, r), KV_ERR_ARG);
	assert_int_equal(kv_async_iter(NULL, r, NULL, NULL), KV_ERR_ARG);
	kv_close(x->c);
	assert_int_equal(kv_pipe_iter(x->c, r), KV_ERR_CLOSED);
	kv_range_free(r);
	kv_range_free(NULL);
}

/* A hostile page fails with KV_ERR_PROTOCOL, naming the problem. */
static void
hostile(enum fake_mode mode, const char *what)
{
	struct fake *f;
	struct pagescan ps;
	const kv_reply *p;
	kv_conn *c;
	kv_range *r;

	assert_non_null(f = fake_start(mode));
	assert_non_null(c = kv_conn_new(NULL));
	assert_int_equal(kv_connect(c, fake_endpoint(f)), KV_OK);
	/* Only the iter modes answer puts properly. */
	if (mode != FAKE_GARBAGE)
		put_keys(c);
	assert_non_null(r = kv_range_new());
	assert_int_equal(kv_range_set_limit(r, 4), KV_OK);
	assert_int_equal(kv_pipe_iter(c, r), KV_OK);
	assert_int_equal(kv_pipe_ping(c), KV_OK);
	assert_int_equal(kv_pipe_recv(c, &p), KV_ERR_PROTOCOL);
	assert_non_null(strstr(kv_reply_message(p), what));
	assert_int_equal(kv_reply_entries(p), 0);
	/* The connection is closed and the queued ping dropped with it. */
	assert_int_equal(kv_pipe_pending(c), 0);
	assert_int_equal(kv_pipe_iter(c, r), KV_ERR_CLOSED);
	kv_conn_free(c);

	assert_int_equal(pagescan_async(fake_endpoint(f), r, &ps),
	    KV_ERR_PROTOCOL);
	assert_non_null(strstr(ps.message, what));
	assert_int_equal(ps.pages, 0);
	pagescan_free(&ps);
	kv_range_free(r);
	fake_stop(f);
}

static void
empty_page_with_more(void **state)
{
	(void)state;
	hostile(FAKE_EMPTY_MORE, "empty page that says more");
}

static void
keys_out_of_order(void **state)
{
	(void)state;
	hostile(FAKE_PAGE_DISORDER, "out of order in entries 0 and 1");
}

static void
empty_key(void **state)
{
	(void)state;
	hostile(FAKE_EMPTY_KEY, "empty key in entry 0");
}

static void
unparsable_page(void **state)
{
	(void)state;
	hostile(FAKE_GARBAGE, "does not parse");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(pipe_page_sizes, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(async_page_sizes, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(bounds, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(empty_range, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(mixed_pipeline, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(bad_arguments, fake_setup,
		    fake_teardown),
		cmocka_unit_test(empty_page_with_more),
		cmocka_unit_test(keys_out_of_order),
		cmocka_unit_test(empty_key),
		cmocka_unit_test(unparsable_page),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
