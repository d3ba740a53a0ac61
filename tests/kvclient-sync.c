/*
 * kvclient-sync.c: the synchronous calls of libkvclient keep their
 * documented contract (statuses, messages, ownership, arguments, endpoints)
 * against a well-behaved stand-in server.
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

static void
put_get_delete(void **state)
{
	struct fake_conn *x = *state;
	uint64_t s1 = 0, s2 = 0, s3 = 0, gs = 0;
	void *v;
	size_t vl;

	assert_int_equal(kv_put(x->c, "k", 1, "one", 3, &s1), KV_OK);
	assert_int_equal(kv_put(x->c, "k", 1, "two!", 4, &s2), KV_OK);
	assert_true(s2 > s1);
	assert_int_equal(kv_get(x->c, "k", 1, &v, &vl, &gs), KV_OK);
	assert_int_equal(vl, 4);
	assert_memory_equal(v, "two!", 4);
	assert_int_equal(gs, s2);
	kv_free(v);
	assert_int_equal(kv_delete(x->c, "k", 1, &s3), KV_OK);
	assert_true(s3 > s2);
	assert_int_equal(kv_get(x->c, "k", 1, &v, &vl, NULL), KV_NOT_FOUND);
	assert_null(v);
	assert_int_equal(vl, 0);
	assert_string_equal(kv_errmsg(x->c), "key not found");
	assert_int_equal(kv_delete(x->c, "k", 1, NULL), KV_NOT_FOUND);
	/* A server status leaves the connection usable. */
	assert_int_equal(kv_ping(x->c), KV_OK);
	assert_string_equal(kv_errmsg(x->c), "");
}

static void
empty_and_binary_values(void **state)
{
	struct fake_conn *x = *state;
	uint8_t key[3] = { 0, 0xff, '\n' }, val[256];
	void *v;
	size_t vl, i;

	for (i = 0; i < sizeof(val); i++)
		val[i] = (uint8_t)i;
	assert_int_equal(kv_put(x->c, "empty", 5, NULL, 0, NULL), KV_OK);
	assert_int_equal(kv_get(x->c, "empty", 5, &v, &vl, NULL), KV_OK);
	assert_non_null(v);	/* promised even for an empty value */
	assert_int_equal(vl, 0);
	kv_free(v);
	assert_int_equal(kv_put(x->c, key, sizeof(key), val, sizeof(val),
	    NULL), KV_OK);
	assert_int_equal(kv_get(x->c, key, sizeof(key), &v, &vl, NULL), KV_OK);
	assert_int_equal(vl, sizeof(val));
	assert_memory_equal(v, val, sizeof(val));
	kv_free(v);
}

static void
large_value(void **state)
{
	struct fake_conn *x = *state;
	size_t n = 10u * 1024 * 1024, vl, i;
	uint8_t *big = malloc(n);
	void *v;

	assert_non_null(big);
	for (i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 13));
	assert_int_equal(kv_put(x->c, "big", 3, big, n, NULL), KV_OK);
	assert_int_equal(kv_get(x->c, "big", 3, &v, &vl, NULL), KV_OK);
	assert_int_equal(vl, n);
	assert_memory_equal(v, big, n);
	kv_free(v);
	free(big);
}

static void
bad_arguments(void **state)
{
	struct fake_conn *x = *state;
	void *v;
	size_t vl;

	assert_int_equal(kv_put(x->c, "", 0, "v", 1, NULL), KV_ERR_ARG);
	assert_string_equal(kv_errmsg(x->c), "the key is empty");
	assert_int_equal(kv_put(x->c, NULL, 3, "v", 1, NULL), KV_ERR_ARG);
	assert_int_equal(kv_put(x->c, "k", 1, NULL, 1, NULL), KV_ERR_ARG);
	assert_int_equal(kv_get(x->c, "k", 1, NULL, &vl, NULL), KV_ERR_ARG);
	assert_int_equal(kv_get(x->c, "", 0, &v, &vl, NULL), KV_ERR_ARG);
	assert_null(v);
	assert_int_equal(kv_delete(x->c, "", 0, NULL), KV_ERR_ARG);
	assert_int_equal(kv_put(NULL, "k", 1, "v", 1, NULL), KV_ERR_ARG);
	assert_int_equal(kv_get(NULL, "k", 1, &v, &vl, NULL), KV_ERR_ARG);
	assert_int_equal(kv_ping(NULL), KV_ERR_ARG);
	assert_int_equal(kv_stats(x->c, NULL), KV_ERR_ARG);
	/* None of these reached the server or hurt the connection. */
	assert_int_equal(kv_ping(x->c), KV_OK);
}

static void
stats(void **state)
{
	struct fake_conn *x = *state;
	kv_statlist *st;
	uint64_t v = 0;

	assert_int_equal(kv_put(x->c, "a", 1, "1", 1, NULL), KV_OK);
	assert_int_equal(kv_stats(x->c, &st), KV_OK);
	assert_int_equal(kv_stats_count(st), 2);
	assert_string_equal(kv_stats_name(st, 0), "keys");
	assert_int_equal(kv_stats_value(st, 0), 1);
	assert_null(kv_stats_name(st, 2));
	assert_int_equal(kv_stats_value(st, 2), 0);
	assert_int_equal(kv_stats_find(st, "keys", &v), KV_OK);
	assert_int_equal(v, 1);
	assert_int_equal(kv_stats_find(st, "nope", &v), KV_NOT_FOUND);
	kv_stats_free(st);
	kv_stats_free(NULL);
}

static void
compact(void **state)
{
	struct fake_conn *x = *state;
	int pending = -1;

	assert_int_equal(kv_compact(NULL, &pending), KV_ERR_ARG);
	assert_int_equal(pending, 0);
	/* The stand-in says pending once it holds a key. */
	pending = -1;
	assert_int_equal(kv_compact(x->c, &pending), KV_OK);
	assert_int_equal(pending, 0);
	assert_int_equal(kv_put(x->c, "a", 1, "1", 1, NULL), KV_OK);
	assert_int_equal(kv_compact(x->c, &pending), KV_OK);
	assert_int_equal(pending, 1);
	assert_int_equal(kv_compact(x->c, NULL), KV_OK);
	assert_string_equal(kv_errmsg(x->c), "");
}

static void
not_connected(void **state)
{
	kv_conn *c = kv_conn_new(NULL);
	void *v;
	size_t vl;

	(void)state;
	assert_non_null(c);
	assert_int_equal(kv_ping(c), KV_ERR_CLOSED);
	assert_string_equal(kv_errmsg(c), "not connected");
	assert_int_equal(kv_get(c, "k", 1, &v, &vl, NULL), KV_ERR_CLOSED);
	assert_int_equal(kv_pipe_ping(c), KV_ERR_CLOSED);
	assert_int_equal(kv_compact(c, NULL), KV_ERR_CLOSED);
	kv_close(c);
	kv_close(NULL);
	kv_conn_free(c);
	kv_conn_free(NULL);
}

static void
endpoints(void **state)
{
	kv_options *o = kv_options_new();
	kv_conn *c;

	(void)state;
	assert_non_null(o);
	assert_int_equal(kv_options_set_connect_timeout(o, 2000), KV_OK);
	assert_int_equal(kv_options_set_max_response(o, 0), KV_ERR_ARG);
	assert_int_equal(kv_options_set_request_timeout(NULL, 1), KV_ERR_ARG);
	c = kv_conn_new(o);
	kv_options_free(o);	/* the handle keeps a copy */
	assert_non_null(c);

	assert_int_equal(kv_connect(c, "127.0.0.1:0"), KV_ERR_ARG);
	assert_non_null(strstr(kv_errmsg(c), "port \"0\""));
	assert_int_equal(kv_connect(c, "127.0.0.1:65536"), KV_ERR_ARG);
	assert_int_equal(kv_connect(c, "127.0.0.1:x"), KV_ERR_ARG);
	assert_int_equal(kv_connect(c, ":7878"), KV_ERR_ARG);
	assert_int_equal(kv_connect(c, "[::1"), KV_ERR_ARG);
	assert_int_equal(kv_connect(c, "[::1]x"), KV_ERR_ARG);
	assert_int_equal(kv_connect(c, "no-such-host.invalid:1"),
	    KV_ERR_RESOLVE);
	assert_non_null(strstr(kv_errmsg(c), "no-such-host.invalid"));
	kv_conn_free(c);
}

static void
refused(void **state)
{
	struct fake *f = fake_start(FAKE_NORMAL);
	char ep[64];
	kv_conn *c = kv_conn_new(NULL);

	(void)state;
	assert_non_null(f);
	assert_non_null(c);
	/* A port that was just listening and is now closed refuses. */
	(void)snprintf(ep, sizeof(ep), "%s", fake_endpoint(f));
	fake_stop(f);
	assert_int_equal(kv_connect(c, ep), KV_ERR_CONNECT);
	assert_non_null(strstr(kv_errmsg(c), "Connection refused"));
	assert_non_null(strstr(kv_errmsg(c), ep));
	kv_conn_free(c);
}

static void
reconnect(void **state)
{
	struct fake_conn *x = *state;
	void *v;
	size_t vl;

	assert_int_equal(kv_put(x->c, "r", 1, "x", 1, NULL), KV_OK);
	kv_close(x->c);
	assert_int_equal(kv_ping(x->c), KV_ERR_CLOSED);
	assert_int_equal(kv_connect(x->c, fake_endpoint(x->f)), KV_OK);
	assert_int_equal(kv_get(x->c, "r", 1, &v, &vl, NULL), KV_OK);
	kv_free(v);
	assert_int_equal(fake_connections(x->f), 2);
}

static void
names(void **state)
{
	(void)state;
	assert_string_equal(kv_strerror(KV_NOT_FOUND), "not found");
	assert_string_equal(kv_strerror(KV_ERR_TIMEOUT), "timed out");
	assert_string_equal(kv_strerror(12345), "unknown error");
	assert_string_equal(kv_status_name(KV_TOO_LARGE), "TOO_LARGE");
	assert_string_equal(kv_status_name(KV_UNAUTHENTICATED),
	    "UNAUTHENTICATED");
	assert_string_equal(kv_status_name(KV_ERR_PROTOCOL), "ERR_PROTOCOL");
	assert_null(kv_status_name(4));
	assert_string_equal(kv_version(), PACKAGE_VERSION);
	kv_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(put_get_delete, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(empty_and_binary_values,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(large_value, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(bad_arguments, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(compact, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(stats, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(reconnect, fake_setup,
		    fake_teardown),
		cmocka_unit_test(not_connected),
		cmocka_unit_test(endpoints),
		cmocka_unit_test(refused),
		cmocka_unit_test(names),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
