/*
 * kvclient-hostile.c: a server that breaks the protocol, stalls or hangs
 * up gets an error from the library, never a crash, a hang past the
 * timeout, a wrong answer, a SIGPIPE or a silently repeated write.
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fakekvd.h"
#include "kvclient.h"

/* Connect a fresh handle to a fake server in mode; request timeout ms. */
static kv_conn *
open_mode(struct fake **fp, enum fake_mode mode, unsigned int ms)
{
	kv_options *o = kv_options_new();
	kv_conn *c;

	assert_non_null(o);
	assert_int_equal(kv_options_set_request_timeout(o, ms), KV_OK);
	assert_non_null(*fp = fake_start(mode));
	assert_non_null(c = kv_conn_new(o));
	kv_options_free(o);
	assert_int_equal(kv_connect(c, fake_endpoint(*fp)), KV_OK);
	return (c);
}

static void
close_mode(struct fake *f, kv_conn *c)
{
	kv_conn_free(c);
	fake_stop(f);
}

static void
wrong_id(void **state)
{
	struct fake *f;
	kv_conn *c = open_mode(&f, FAKE_WRONG_ID, 0);

	(void)state;
	assert_int_equal(kv_ping(c), KV_ERR_PROTOCOL);
	assert_non_null(strstr(kv_errmsg(c), "answered request 101 when 1 was due"));
	/* The connection is closed, and says so. */
	assert_int_equal(kv_ping(c), KV_ERR_CLOSED);
	close_mode(f, c);
}

static void
garbage(void **state)
{
	struct fake *f;
	kv_conn *c = open_mode(&f, FAKE_GARBAGE, 0);
	void *v;
	size_t vl;

	(void)state;
	assert_int_equal(kv_get(c, "k", 1, &v, &vl, NULL), KV_ERR_PROTOCOL);
	assert_null(v);
	assert_non_null(strstr(kv_errmsg(c), "does not parse"));
	close_mode(f, c);
}

static void
unknown_status(void **state)
{
	struct fake *f;
	kv_conn *c = open_mode(&f, FAKE_UNKNOWN_STATUS, 0);

	(void)state;
	assert_int_equal(kv_put(c, "k", 1, "v", 1, NULL), KV_ERR_STATUS);
	assert_non_null(strstr(kv_errmsg(c), "unknown status 42"));
	/* The frames are still in step: the connection stays usable. */
	assert_int_equal(kv_put(c, "k", 1, "v", 1, NULL), KV_ERR_STATUS);
	close_mode(f, c);
}

static void
huge_frame(void **state)
{
	struct fake *f;
	kv_conn *c = open_mode(&f, FAKE_HUGE, 0);

	(void)state;
	/* Refused on the 4 length bytes: nothing of 2 GiB is allocated. */
	assert_int_equal(kv_ping(c), KV_ERR_PROTOCOL);
	assert_non_null(strstr(kv_errmsg(c), "2147483648 bytes"));
	close_mode(f, c);
}

static void
silent_times_out(void **state)
{
	struct fake *f;
	kv_conn *c = open_mode(&f, FAKE_SILENT, 200);
	const kv_reply *r;

	(void)state;
	assert_int_equal(kv_put(c, "k", 1, "v", 1, NULL), KV_ERR_TIMEOUT);
	assert_int_equal(kv_ping(c), KV_ERR_CLOSED);
	assert_int_equal(kv_connect(c, fake_endpoint(f)), KV_OK);
	assert_int_equal(kv_pipe_ping(c), KV_OK);
	assert_int_equal(kv_pipe_recv(c, &r), KV_ERR_TIMEOUT);
	assert_int_equal(kv_reply_status(r), KV_ERR_TIMEOUT);
	assert_int_equal(kv_pipe_pending(c), 0);
	close_mode(f, c);
}

static void
hangup_is_not_retried(void **state)
{
	struct fake *f;
	kv_conn *c = open_mode(&f, FAKE_CLOSE, 0);
	const kv_reply *r;
	int i;

	(void)state;
	assert_int_equal(kv_put(c, "k", 1, "v", 1, NULL), KV_ERR_IO);
	assert_non_null(strstr(kv_errmsg(c), "closed the connection"));
	assert_int_equal(kv_put(c, "k", 1, "v", 1, NULL), KV_ERR_CLOSED);
	/* The write reached the server once, and was not sent again. */
	assert_int_equal(fake_requests(f), 1);
	assert_int_equal(fake_connections(f), 1);

	/* Writing into a connection the server has closed: no SIGPIPE. */
	assert_int_equal(kv_connect(c, fake_endpoint(f)), KV_OK);
	for (i = 0; i < 3; i++)
		assert_int_equal(kv_pipe_ping(c), KV_OK);
	assert_true(kv_pipe_recv(c, &r) < 0);
	assert_int_equal(kv_pipe_pending(c), 0);
	for (i = 0; i < 50; i++) {
		if (kv_connect(c, fake_endpoint(f)) != KV_OK)
			break;
		(void)kv_put(c, "k", 1, "v", 1, NULL);
		(void)kv_put(c, "k", 1, "v", 1, NULL);
	}
	close_mode(f, c);
}

static void
bad_ping(void **state)
{
	struct fake *f;
	kv_conn *c = open_mode(&f, FAKE_BAD_PING, 0);

	(void)state;
	assert_int_equal(kv_ping(c), KV_ERR_PROTOCOL);
	assert_non_null(strstr(kv_errmsg(c), "echo"));
	close_mode(f, c);
}

static void
refusal_with_id_zero(void **state)
{
	struct fake *f;
	kv_conn *c = open_mode(&f, FAKE_ID_ZERO, 0);

	(void)state;
	/* An error answer with id 0 stands in the request's place. */
	assert_int_equal(kv_ping(c), KV_UNAVAILABLE);
	assert_string_equal(kv_errmsg(c), "too many clients");
	close_mode(f, c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wrong_id),
		cmocka_unit_test(garbage),
		cmocka_unit_test(unknown_status),
		cmocka_unit_test(huge_frame),
		cmocka_unit_test(silent_times_out),
		cmocka_unit_test(hangup_is_not_retried),
		cmocka_unit_test(bad_ping),
		cmocka_unit_test(refusal_with_id_zero),
	};

	/* SIGPIPE stays at its default, so that one would end the test. */
	(void)signal(SIGPIPE, SIG_DFL);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
