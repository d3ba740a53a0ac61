/*
 * asyncdrive.c: 1,000 asynchronous requests on an event_base.  See
 * asyncdrive.h.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "asyncdrive.h"
#include "kvclient.h"

#define DRIVE_PUTS	500

struct drive {
	kv_async	*a;
	int		 connected;
	int		 puts_done;
	int		 gets_done;
	int		 next_get;	/* the get whose answer is due */
	int		 failures;
	char		 why[256];
};

struct op {
	struct drive	*d;
	int		 i;
};

static void
drive_key(char *buf, size_t cap, int i)
{
	(void)snprintf(buf, cap, "async-key-%04d", i);
}

static void
drive_value(char *buf, size_t cap, int i)
{
	(void)snprintf(buf, cap, "value %d of the asynchronous drive", i);
}

static void
drive_fail(struct drive *d, const char *what, int i, const kv_reply *r)
{
	if (d->failures++ == 0)
		(void)snprintf(d->why, sizeof(d->why), "%s %d: %s (%s)", what, i,
		    kv_strerror(kv_reply_status(r)), kv_reply_message(r));
}

static void
get_cb(kv_async *a, const kv_reply *r, void *arg)
{
	struct op *o = arg;
	struct drive *d = o->d;
	char want[64];
	const void *v;
	size_t vl;

	(void)a;
	drive_value(want, sizeof(want), o->i);
	if (o->i != d->next_get++)
		drive_fail(d, "get answered out of order", o->i, r);
	else if (kv_reply_status(r) != KV_OK)
		drive_fail(d, "get", o->i, r);
	else if ((v = kv_reply_value(r, &vl)) == NULL || vl != strlen(want) ||
	    memcmp(v, want, vl) != 0)
		drive_fail(d, "get returned the wrong value for", o->i, r);
	if (++d->gets_done == DRIVE_PUTS) {
		/* The last answer: freeing the handle lets the loop end. */
		kv_async_free(d->a);
		d->a = NULL;
	}
}

static void
put_cb(kv_async *a, const kv_reply *r, void *arg)
{
	struct op *o = arg;
	struct drive *d = o->d;
	char key[64];

	if (o->i != d->puts_done++)
		drive_fail(d, "put answered out of order", o->i, r);
	if (kv_reply_status(r) != KV_OK || kv_reply_seq(r) == 0)
		drive_fail(d, "put", o->i, r);
	drive_key(key, sizeof(key), o->i);
	if (kv_async_get(a, key, strlen(key), get_cb, o) != KV_OK)
		drive_fail(d, "issue get", o->i, r);
}

static void
event_cb(kv_async *a, int code, const char *msg, void *arg)
{
	struct drive *d = arg;

	(void)a;
	if (code == KV_OK)
		d->connected++;
	else if (d->failures++ == 0)
		(void)snprintf(d->why, sizeof(d->why), "connection: %s", msg);
}

void
async_drive_thousand(const char *endpoint)
{
	struct op ops[DRIVE_PUTS];
	struct event_base *base;
	struct drive d;
	char key[64], val[64];
	int i;

	memset(&d, 0, sizeof(d));
	assert_non_null(base = event_base_new());
	assert_non_null(d.a = kv_async_new(base, NULL, event_cb, &d));
	assert_int_equal(kv_async_connect(d.a, endpoint), KV_OK);
	for (i = 0; i < DRIVE_PUTS; i++) {
		ops[i].d = &d;
		ops[i].i = i;
		drive_key(key, sizeof(key), i);
		drive_value(val, sizeof(val), i);
		assert_int_equal(kv_async_put(d.a, key, strlen(key), val,
		    strlen(val), put_cb, &ops[i]), KV_OK);
	}
	assert_int_equal(kv_async_pending(d.a), DRIVE_PUTS);
	assert_int_not_equal(event_base_dispatch(base), -1);
	if (d.failures > 0)
		fail_msg("%d failures; first: %s", d.failures, d.why);
	assert_int_equal(d.connected, 1);
	assert_int_equal(d.puts_done, DRIVE_PUTS);
	assert_int_equal(d.gets_done, DRIVE_PUTS);
	assert_null(d.a);
	event_base_free(base);
}
