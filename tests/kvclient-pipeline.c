/*
 * kvclient-pipeline.c: pipelined requests go out together and their
 * answers come back one by one in request order, each with its own status;
 * the synchronous calls wait until the pipeline is drained; a large batch
 * cannot deadlock against a server that answers while the client writes.
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
in_order(void **state)
{
	struct fake_conn *x = *state;
	const kv_reply *r;
	const void *v;
	size_t vl;
	uint64_t last = 0;

	assert_int_equal(kv_pipe_put(x->c, "a", 1, "1", 1), KV_OK);
	assert_int_equal(kv_pipe_get(x->c, "a", 1), KV_OK);
	assert_int_equal(kv_pipe_get(x->c, "missing", 7), KV_OK);
	assert_int_equal(kv_pipe_ping(x->c), KV_OK);
	assert_int_equal(kv_pipe_delete(x->c, "a", 1), KV_OK);
	assert_int_equal(kv_pipe_delete(x->c, "a", 1), KV_OK);
	assert_int_equal(kv_pipe_pending(x->c), 6);
	/* Nothing is sent before kv_pipe_send() or kv_pipe_recv(). */
	assert_int_equal(fake_requests(x->f), 0);
	/* A synchronous call must wait for the pipeline. */
	assert_int_equal(kv_ping(x->c), KV_ERR_STATE);
	assert_int_equal(kv_pipe_send(x->c), KV_OK);

	assert_int_equal(kv_pipe_recv(x->c, &r), KV_OK);
	last = kv_reply_seq(r);
	assert_true(last > 0);
	assert_int_equal(kv_pipe_recv(x->c, &r), KV_OK);
	v = kv_reply_value(r, &vl);
	assert_int_equal(vl, 1);
	assert_memory_equal(v, "1", 1);
	assert_int_equal(kv_reply_seq(r), last);
	assert_int_equal(kv_pipe_recv(x->c, &r), KV_NOT_FOUND);
	assert_int_equal(kv_reply_status(r), KV_NOT_FOUND);
	assert_string_equal(kv_reply_message(r), "key not found");
	assert_null(kv_reply_value(r, &vl));
	assert_int_equal(kv_pipe_recv(x->c, &r), KV_OK);
	assert_null(kv_reply_stats(r));
	assert_int_equal(kv_pipe_recv(x->c, &r), KV_OK);
	assert_true(kv_reply_seq(r) > last);
	assert_int_equal(kv_pipe_recv(x->c, &r), KV_NOT_FOUND);
	assert_int_equal(kv_pipe_pending(x->c), 0);
	assert_int_equal(kv_pipe_recv(x->c, &r), KV_ERR_STATE);
	assert_null(r);
	assert_int_equal(kv_ping(x->c), KV_OK);
}

static void
recv_sends(void **state)
{
	struct fake_conn *x = *state;
	const kv_reply *r;

	/* kv_pipe_recv() sends what is queued if nobody did. */
	assert_int_equal(kv_pipe_ping(x->c), KV_OK);
	assert_int_equal(kv_pipe_recv(x->c, &r), KV_OK);
	assert_int_equal(fake_requests(x->f), 1);
	assert_int_equal(kv_pipe_put(x->c, "", 0, "v", 1), KV_ERR_ARG);
	assert_int_equal(kv_pipe_pending(x->c), 0);
}

static void
big_batch(void **state)
{
	struct fake_conn *x = *state;
	enum { N = 20000 };
	const kv_reply *r;
	char k[32], v[64];
	const void *got;
	size_t gl;
	int i;

	/* Large enough that the answers fill the socket before the send ends. */
	memset(v, 'v', sizeof(v));
	for (i = 0; i < N; i++) {
		(void)snprintf(k, sizeof(k), "key%06d", i);
		assert_int_equal(kv_pipe_put(x->c, k, strlen(k), v, sizeof(v)),
		    KV_OK);
		assert_int_equal(kv_pipe_get(x->c, k, strlen(k)), KV_OK);
	}
	assert_int_equal(kv_pipe_send(x->c), KV_OK);
	for (i = 0; i < N; i++) {
		assert_int_equal(kv_pipe_recv(x->c, &r), KV_OK);
		assert_int_equal(kv_pipe_recv(x->c, &r), KV_OK);
		got = kv_reply_value(r, &gl);
		assert_int_equal(gl, sizeof(v));
		assert_memory_equal(got, v, gl);
	}
	assert_int_equal(fake_requests(x->f), 2 * N);
	assert_int_equal(kv_pipe_pending(x->c), 0);
}

static void
stats_reply(void **state)
{
	kv_conn *c = ((struct fake_conn *)*state)->c;
	kv_statlist *st;

	assert_int_equal(kv_stats(c, &st), KV_OK);
	assert_int_equal(kv_stats_count(st), 2);
	kv_stats_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(in_order, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(recv_sends, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(big_batch, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(stats_reply, fake_setup,
		    fake_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
