/*
 * kvclient-async.c: the asynchronous API on the application's event_base:
 * callbacks in request order with the right replies (a compact's too),
 * connect and disconnect events, timeouts, freeing the handle from inside
 * a callback, and a broken connection failing every pending request
 * exactly once.
 *
 * The same checks against the real kvd are in kvclient-async-kvd.c.
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
#include <event2/event.h>

#include "asyncdrive.h"
#include "fakekvd.h"
#include "kvclient.h"

static void
thousand(void **state)
{
	struct fake *f = fake_start(FAKE_NORMAL);

	(void)state;
	assert_non_null(f);
	async_drive_thousand(fake_endpoint(f));
	fake_stop(f);
}

struct counts {
	int	calls;
	int	last_status;
	int	events;
	int	last_event;
	int	free_in_cb;
	kv_async *a;
	struct event_base *base;
};

static void
count_cb(kv_async *a, const kv_reply *r, void *arg)
{
	struct counts *n = arg;

	(void)a;
	n->calls++;
	n->last_status = kv_reply_status(r);
	if (n->free_in_cb && n->calls == 1) {
		kv_async_free(a);
		n->a = NULL;
	}
}

static void
count_event(kv_async *a, int code, const char *msg, void *arg)
{
	struct counts *n = arg;

	(void)a;
	(void)msg;
	n->events++;
	n->last_event = code;
	if (code != KV_OK)
		(void)event_base_loopbreak(n->base);
}

static void
connect_refused(void **state)
{
	struct counts n = { 0 };
	struct fake *f = fake_start(FAKE_NORMAL);
	char ep[64];

	(void)state;
	assert_non_null(f);
	(void)snprintf(ep, sizeof(ep), "%s", fake_endpoint(f));
	fake_stop(f);
	assert_non_null(n.base = event_base_new());
	assert_non_null(n.a = kv_async_new(n.base, NULL, count_event, &n));
	assert_int_equal(kv_async_connect(n.a, "bad:port"), KV_ERR_ARG);
	assert_int_equal(kv_async_ping(n.a, count_cb, &n), KV_ERR_CLOSED);
	assert_int_equal(kv_async_connect(n.a, ep), KV_OK);
	assert_int_equal(kv_async_connect(n.a, ep), KV_ERR_STATE);
	assert_int_equal(kv_async_ping(n.a, count_cb, &n), KV_OK);
	assert_int_equal(kv_async_pending(n.a), 1);
	assert_int_equal(n.calls, 0);	/* never from inside the issuing call */
	assert_int_not_equal(event_base_dispatch(n.base), -1);
	assert_int_equal(n.calls, 1);
	assert_int_equal(n.last_status, KV_ERR_CONNECT);
	assert_int_equal(n.events, 1);
	assert_int_equal(n.last_event, KV_ERR_CONNECT);
	assert_non_null(strstr(kv_async_errmsg(n.a), "refused"));
	kv_async_free(n.a);
	event_base_free(n.base);
}

static void
timeout_then_free(void **state)
{
	struct counts n = { 0 };
	struct fake *f = fake_start(FAKE_SILENT);
	kv_options *o = kv_options_new();
	int i;

	(void)state;
	assert_non_null(f);
	assert_non_null(o);
	assert_int_equal(kv_options_set_request_timeout(o, 150), KV_OK);
	assert_non_null(n.base = event_base_new());
	assert_non_null(n.a = kv_async_new(n.base, o, count_event, &n));
	kv_options_free(o);
	assert_int_equal(kv_async_connect(n.a, fake_endpoint(f)), KV_OK);
	for (i = 0; i < 5; i++)
		assert_int_equal(kv_async_put(n.a, "k", 1, "v", 1, count_cb, &n),
		    KV_OK);
	assert_int_not_equal(event_base_dispatch(n.base), -1);
	/* Connected once, then every request failed with the timeout. */
	assert_int_equal(n.calls, 5);
	assert_int_equal(n.last_status, KV_ERR_TIMEOUT);
	assert_int_equal(n.events, 2);
	assert_int_equal(n.last_event, KV_ERR_TIMEOUT);
	assert_int_equal(kv_async_pending(n.a), 0);
	kv_async_free(n.a);
	event_base_free(n.base);
	fake_stop(f);
}

static void
free_inside_callback(void **state)
{
	struct counts n = { 0 };
	struct fake *f = fake_start(FAKE_NORMAL);
	int i;

	(void)state;
	assert_non_null(f);
	n.free_in_cb = 1;
	assert_non_null(n.base = event_base_new());
	assert_non_null(n.a = kv_async_new(n.base, NULL, count_event, &n));
	assert_int_equal(kv_async_connect(n.a, fake_endpoint(f)), KV_OK);
	for (i = 0; i < 10; i++)
		assert_int_equal(kv_async_ping(n.a, count_cb, &n), KV_OK);
	assert_int_not_equal(event_base_dispatch(n.base), -1);
	/* The first answer freed the handle: the rest got KV_ERR_CLOSED. */
	assert_int_equal(n.calls, 10);
	assert_int_equal(n.last_status, KV_ERR_CLOSED);
	assert_null(n.a);
	event_base_free(n.base);
	fake_stop(f);
}

static void
free_with_pending(void **state)
{
	struct counts n = { 0 };
	struct fake *f = fake_start(FAKE_NORMAL);

	(void)state;
	assert_non_null(f);
	assert_non_null(n.base = event_base_new());
	assert_non_null(n.a = kv_async_new(n.base, NULL, NULL, NULL));
	assert_int_equal(kv_async_connect(n.a, fake_endpoint(f)), KV_OK);
	assert_int_equal(kv_async_get(n.a, "k", 1, count_cb, &n), KV_OK);
	assert_int_equal(kv_async_get(n.a, "", 0, count_cb, &n), KV_ERR_ARG);
	kv_async_free(n.a);
	assert_int_equal(n.calls, 1);
	assert_int_equal(n.last_status, KV_ERR_CLOSED);
	kv_async_free(NULL);
	assert_null(kv_async_new(NULL, NULL, NULL, NULL));
	event_base_free(n.base);
	fake_stop(f);
}

static void
hangup(void **state)
{
	struct counts n = { 0 };
	struct fake *f = fake_start(FAKE_CLOSE);
	int i;

	(void)state;
	assert_non_null(f);
	assert_non_null(n.base = event_base_new());
	assert_non_null(n.a = kv_async_new(n.base, NULL, count_event, &n));
	assert_int_equal(kv_async_connect(n.a, fake_endpoint(f)), KV_OK);
	for (i = 0; i < 3; i++)
		assert_int_equal(kv_async_put(n.a, "k", 1, "v", 1, count_cb, &n),
		    KV_OK);
	assert_int_not_equal(event_base_dispatch(n.base), -1);
	assert_int_equal(n.calls, 3);
	assert_int_equal(n.last_status, KV_ERR_IO);
	assert_int_equal(n.last_event, KV_ERR_IO);
	/* Not connected any more, and nothing was sent again. */
	assert_int_equal(kv_async_ping(n.a, count_cb, &n), KV_ERR_CLOSED);
	assert_true(fake_requests(f) <= 3);
	assert_int_equal(fake_connections(f), 1);
	kv_async_free(n.a);
	event_base_free(n.base);
	fake_stop(f);
}

struct compact_seen {
	int	calls;
	int	status[3];
	int	pending[3];	/* kv_reply_compact_pending() of each reply */
};

static void
compact_cb(kv_async *a, const kv_reply *r, void *arg)
{
	struct compact_seen *s = arg;

	if (s->calls < 3) {
		s->status[s->calls] = kv_reply_status(r);
		s->pending[s->calls] = kv_reply_compact_pending(r);
	}
	if (++s->calls == 3)
		kv_async_free(a);	/* ends the loop */
}

/* A compact's answer, and only a compact's, says whether it is pending. */
static void
compact(void **state)
{
	struct compact_seen s = { 0 };
	struct event_base *base;
	struct fake *f = fake_start(FAKE_NORMAL);
	kv_async *a;

	(void)state;
	assert_non_null(f);
	assert_non_null(base = event_base_new());
	assert_non_null(a = kv_async_new(base, NULL, NULL, NULL));
	assert_int_equal(kv_async_connect(a, fake_endpoint(f)), KV_OK);
	assert_int_equal(kv_async_compact(a, compact_cb, &s), KV_OK);
	assert_int_equal(kv_async_put(a, "k", 1, "v", 1, compact_cb, &s),
	    KV_OK);
	assert_int_equal(kv_async_compact(a, compact_cb, &s), KV_OK);
	assert_int_equal(kv_async_pending(a), 3);
	assert_int_not_equal(event_base_dispatch(base), -1);
	assert_int_equal(s.calls, 3);
	assert_int_equal(s.status[0], KV_OK);
	assert_int_equal(s.pending[0], 0);	/* the stand-in held no key */
	assert_int_equal(s.status[1], KV_OK);
	assert_int_equal(s.pending[1], 0);	/* a put's answer */
	assert_int_equal(s.status[2], KV_OK);
	assert_int_equal(s.pending[2], 1);
	assert_int_equal(kv_reply_compact_pending(NULL), 0);
	assert_int_equal(kv_async_compact(NULL, NULL, NULL), KV_ERR_ARG);
	event_base_free(base);
	fake_stop(f);
}

#define BURST_N		48
#define BURST_VLEN	(256 * 1024)

struct burst {
	int	 calls;
	int	 ping_ok;
	int	 ok;
	char	*value;
};

static void
burst_put_cb(kv_async *a, const kv_reply *r, void *arg)
{
	struct burst *b = arg;

	if (kv_reply_status(r) == KV_OK)
		b->ok++;
	if (++b->calls == BURST_N + 1)
		kv_async_free(a);	/* ends the loop */
}

static void
burst_ping_cb(kv_async *a, const kv_reply *r, void *arg)
{
	struct burst *b = arg;
	char key[16];
	int i;

	b->calls++;
	b->ping_ok = kv_reply_status(r) == KV_OK;
	/* 12 MiB in one pass: more than a loopback socket takes at once. */
	for (i = 0; i < BURST_N; i++) {
		snprintf(key, sizeof(key), "burst%02d", i);
		assert_int_equal(kv_async_put(a, key, strlen(key), b->value,
		    BURST_VLEN, burst_put_cb, b), KV_OK);
	}
}

/*
 * Requests issued during a pass leave at its end; what the socket does
 * not take then waits for it to become writable, and every request is
 * still sent, once, and answered.
 */
static void
burst_larger_than_the_socket(void **state)
{
	struct burst b = { 0 };
	struct event_base *base;
	struct fake *f = fake_start(FAKE_NORMAL);
	kv_async *a;

	(void)state;
	assert_non_null(f);
	assert_non_null(b.value = malloc(BURST_VLEN));
	memset(b.value, 'b', BURST_VLEN);
	assert_non_null(base = event_base_new());
	assert_non_null(a = kv_async_new(base, NULL, NULL, NULL));
	assert_int_equal(kv_async_connect(a, fake_endpoint(f)), KV_OK);
	assert_int_equal(kv_async_ping(a, burst_ping_cb, &b), KV_OK);
	/* A rest that is never sent would hang the loop: bound it. */
	assert_int_equal(event_base_loopexit(base,
	    &(struct timeval){ 30, 0 }), 0);
	assert_int_not_equal(event_base_dispatch(base), -1);
	assert_true(b.ping_ok);
	assert_int_equal(b.calls, BURST_N + 1);
	assert_int_equal(b.ok, BURST_N);
	event_base_free(base);
	free(b.value);
	fake_stop(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(thousand),
		cmocka_unit_test(connect_refused),
		cmocka_unit_test(timeout_then_free),
		cmocka_unit_test(free_inside_callback),
		cmocka_unit_test(free_with_pending),
		cmocka_unit_test(hangup),
		cmocka_unit_test(compact),
		cmocka_unit_test(burst_larger_than_the_socket),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
