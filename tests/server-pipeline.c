/*
 * server-pipeline.c: kvd answers thousands of pipelined requests on one
 * connection, each in its place, and a read after a write on the same
 * connection sees that write.
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

#include "harness.h"
#include "wire.h"

#define NREQ	10000

/* Request i of the mix: put key i, get key i, ping, get of a missing key. */
static void
queue_request(struct wire *w, size_t i)
{
	char key[32], val[48];
	int klen, vlen;

	klen = snprintf(key, sizeof(key), "pipe-%06zu", i / 4);
	vlen = snprintf(val, sizeof(val), "value-%zu", i / 4);
	switch (i % 4) {
	case 0:
		assert_int_equal(wire_put(w, i + 1, key, (size_t)klen, val,
		    (size_t)vlen), 0);
		break;
	case 1:
		assert_int_equal(wire_get(w, i + 1, key, (size_t)klen), 0);
		break;
	case 2:
		assert_int_equal(wire_ping(w, i + 1, val, (size_t)vlen), 0);
		break;
	default:
		assert_int_equal(wire_get(w, i + 1, "missing", 7), 0);
		break;
	}
}

struct order {
	size_t	next;		/* index of the response expected next */
};

static int
check_response(void *arg, Kv__Response *r)
{
	struct order *o = arg;
	size_t i = o->next++;
	char val[48];
	int vlen;

	vlen = snprintf(val, sizeof(val), "value-%zu", i / 4);
	if (r->id != i + 1) {
		fprintf(stderr, "response %zu has id %llu, expected %zu\n", i,
		    (unsigned long long)r->id, i + 1);
		return (1);
	}
	switch (i % 4) {
	case 0:
		assert_int_equal(r->status, KV__STATUS__OK);
		assert_int_equal(r->result_case, KV__RESPONSE__RESULT_PUT);
		assert_true(r->put->seq > 0);
		break;
	case 1:
		assert_int_equal(r->status, KV__STATUS__OK);
		assert_int_equal(r->result_case, KV__RESPONSE__RESULT_GET);
		assert_int_equal(r->get->value.len, (size_t)vlen);
		assert_memory_equal(r->get->value.data, val, (size_t)vlen);
		break;
	case 2:
		assert_int_equal(r->status, KV__STATUS__OK);
		assert_int_equal(r->result_case, KV__RESPONSE__RESULT_PING);
		assert_int_equal(r->ping->payload.len, (size_t)vlen);
		assert_memory_equal(r->ping->payload.data, val, (size_t)vlen);
		break;
	default:
		assert_int_equal(r->status, KV__STATUS__NOT_FOUND);
		break;
	}
	return (0);
}

/* 10,000 requests queued before any reply is read, answered in order. */
static void
pipelined_10000_in_order(void **state)
{
	struct harness *h = *state;
	struct order o = { 0 };
	struct wire *w;
	size_t i;

	assert_non_null(w = wire_connect(harness_port(h)));
	for (i = 0; i < NREQ; i++)
		queue_request(w, i);
	assert_int_equal(wire_exchange(w, NREQ, check_response, &o,
	    WIRE_TIMEOUT_MS), 0);
	assert_int_equal(o.next, NREQ);
	wire_free(w);
}

struct scan {
	size_t	seen;
	char	last[32];
	size_t	lastlen;
	int	more;
};

static int
check_page(void *arg, Kv__Response *r)
{
	struct scan *s = arg;
	char key[32];
	size_t i;
	int klen;

	assert_int_equal(r->status, KV__STATUS__OK);
	assert_int_equal(r->result_case, KV__RESPONSE__RESULT_ITER);
	for (i = 0; i < r->iter->n_entries; i++) {
		klen = snprintf(key, sizeof(key), "pipe-%06zu", s->seen);
		assert_int_equal(r->iter->entries[i]->key.len, (size_t)klen);
		assert_memory_equal(r->iter->entries[i]->key.data, key,
		    (size_t)klen);
		s->seen++;
	}
	if (r->iter->n_entries > 0) {
		s->lastlen = r->iter->entries[r->iter->n_entries - 1]->key.len;
		memcpy(s->last, r->iter->entries[r->iter->n_entries - 1]->key.data,
		    s->lastlen);
	}
	s->more = r->iter->more;
	return (0);
}

/* The keys written above come back once each, in order, over pages of 300. */
static void
iter_pages_in_order(void **state)
{
	struct harness *h = *state;
	struct scan s;
	struct wire *w;
	int pages = 0;

	memset(&s, 0, sizeof(s));
	assert_non_null(w = wire_connect(harness_port(h)));
	do {
		assert_int_equal(wire_iter(w, (uint64_t)pages + 1, "pipe-", 5,
		    s.last, s.lastlen, s.lastlen > 0, 300), 0);
		assert_int_equal(wire_exchange(w, 1, check_page, &s,
		    WIRE_TIMEOUT_MS), 0);
		pages++;
	} while (s.more && pages < 100);
	assert_int_equal(s.seen, NREQ / 4);
	wire_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pipelined_10000_in_order),
		cmocka_unit_test(iter_pages_in_order),
	};

	return (cmocka_run_group_tests_name("server-pipeline", tests,
	    harness_setup_started, harness_teardown));
}
