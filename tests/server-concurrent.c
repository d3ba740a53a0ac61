/*
 * server-concurrent.c: 200 connections at once, each with requests in
 * flight, doing mixed work on their own keys; every one gets its own
 * answers, in order, and sees only its own keys.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "wire.h"

#define NCONN	200
#define NROUND	10
#define PER_ROUND	5

static int
key_of(char *buf, size_t len, int conn, int round)
{
	return (snprintf(buf, len, "c%03d-k%02d", conn, round));
}

static int
val_of(char *buf, size_t len, int conn, int round)
{
	return (snprintf(buf, len, "value of connection %d round %d", conn,
	    round));
}

struct expect {
	int	conn;
	int	round;
	int	next;		/* position within the round */
	uint64_t base;		/* id of the round's first request */
};

static int
check(void *arg, Kv__Response *r)
{
	struct expect *e = arg;
	char key[32], val[64];
	int pos = e->next++, klen, vlen;

	assert_int_equal(r->id, e->base + (uint64_t)pos);
	klen = key_of(key, sizeof(key), e->conn, e->round);
	vlen = val_of(val, sizeof(val), e->conn, e->round);
	switch (pos) {
	case 0:		/* put */
		assert_int_equal(r->status, KV__STATUS__OK);
		assert_int_equal(r->result_case, KV__RESPONSE__RESULT_PUT);
		break;
	case 1:		/* get */
		assert_int_equal(r->status, KV__STATUS__OK);
		assert_int_equal(r->get->value.len, (size_t)vlen);
		assert_memory_equal(r->get->value.data, val, (size_t)vlen);
		break;
	case 2:		/* delete of the previous round's key, or a ping */
		assert_int_equal(r->status, KV__STATUS__OK);
		assert_int_equal(r->result_case, e->round > 0 ?
		    KV__RESPONSE__RESULT_DELETE : KV__RESPONSE__RESULT_PING);
		break;
	case 3:		/* iter over this connection's prefix: only this round's key */
		assert_int_equal(r->status, KV__STATUS__OK);
		assert_int_equal(r->iter->n_entries, 1);
		assert_int_equal(r->iter->entries[0]->key.len, (size_t)klen);
		assert_memory_equal(r->iter->entries[0]->key.data, key,
		    (size_t)klen);
		assert_false(r->iter->more);
		break;
	default:	/* get of the deleted key */
		assert_int_equal(r->status, e->round > 0 ?
		    KV__STATUS__NOT_FOUND : KV__STATUS__OK);
		break;
	}
	return (0);
}

static void
queue_round(struct wire *w, int conn, int round, uint64_t base)
{
	char key[32], prev[32], val[64], prefix[8];
	int klen, plen, vlen, pfx;

	klen = key_of(key, sizeof(key), conn, round);
	plen = key_of(prev, sizeof(prev), conn, round > 0 ? round - 1 : 0);
	vlen = val_of(val, sizeof(val), conn, round);
	pfx = snprintf(prefix, sizeof(prefix), "c%03d-", conn);
	assert_int_equal(wire_put(w, base, key, (size_t)klen, val,
	    (size_t)vlen), 0);
	assert_int_equal(wire_get(w, base + 1, key, (size_t)klen), 0);
	if (round > 0)
		assert_int_equal(wire_delete(w, base + 2, prev, (size_t)plen), 0);
	else
		assert_int_equal(wire_ping(w, base + 2, "p", 1), 0);
	assert_int_equal(wire_iter(w, base + 3, prefix, (size_t)pfx, NULL, 0,
	    0, 0), 0);
	assert_int_equal(wire_get(w, base + 4, prev, (size_t)plen), 0);
}

/*
 * Every round, all 200 connections send their requests before any reply is
 * read, so the server has 200 connections with work in flight at once.
 */
static void
concurrent_200_mixed(void **state)
{
	struct harness *h = *state;
	struct wire **w;
	struct expect e;
	int c, round;

	assert_non_null(w = calloc(NCONN, sizeof(*w)));
	for (c = 0; c < NCONN; c++)
		assert_non_null(w[c] = wire_connect(harness_port(h)));
	for (round = 0; round < NROUND; round++) {
		for (c = 0; c < NCONN; c++) {
			queue_round(w[c], c, round,
			    (uint64_t)round * PER_ROUND + 1);
			assert_int_equal(wire_flush(w[c]), 0);
		}
		for (c = 0; c < NCONN; c++) {
			e.conn = c;
			e.round = round;
			e.next = 0;
			e.base = (uint64_t)round * PER_ROUND + 1;
			assert_int_equal(wire_exchange(w[c], PER_ROUND, check,
			    &e, WIRE_TIMEOUT_MS), 0);
		}
	}
	for (c = 0; c < NCONN; c++)
		wire_free(w[c]);
	free(w);
}

/* While 200 connections are open, stats counts them. */
static void
stats_counts_connections(void **state)
{
	struct harness *h = *state;
	struct wire **w;
	Kv__Response *r;
	uint64_t cur = 0;
	int c;

	assert_non_null(w = calloc(NCONN, sizeof(*w)));
	for (c = 0; c < NCONN; c++) {
		assert_non_null(w[c] = wire_connect(harness_port(h)));
		/* A round trip makes sure the server has accepted it. */
		assert_int_equal(wire_ping(w[c], 1, NULL, 0), 0);
		assert_non_null(r = wire_call(w[c]));
		kv__response__free_unpacked(r, NULL);
	}
	/* The previous test's connections may still be closing: poll, bounded. */
	for (c = 0; c < 200; c++) {
		assert_int_equal(wire_stats(w[0], 2), 0);
		assert_non_null(r = wire_call(w[0]));
		assert_int_equal(wire_stat(r, "connections_current", &cur), 0);
		if (cur == NCONN) {
			uint64_t puts = 0, syncs = 0;

			/* Information, not an assertion: group commit at work. */
			(void)wire_stat(r, "ops_put", &puts);
			(void)wire_stat(r, "fsyncs", &syncs);
			print_message("%llu puts made durable by "
			    "%llu fsyncs\n", (unsigned long long)puts,
			    (unsigned long long)syncs);
			kv__response__free_unpacked(r, NULL);
			break;
		}
		kv__response__free_unpacked(r, NULL);
		usleep(20000);
	}
	assert_int_equal(cur, NCONN);
	for (c = 0; c < NCONN; c++)
		wire_free(w[c]);
	free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(concurrent_200_mixed),
		cmocka_unit_test(stats_counts_connections),
	};

	return (cmocka_run_group_tests_name("server-concurrent", tests,
	    harness_setup_started, harness_teardown));
}
