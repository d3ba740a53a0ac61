/*
 * server-sigterm.c: SIGTERM in the middle of a write load loses no
 * acknowledged write.  kvd stops reading, finishes and syncs what it
 * accepted, answers it, exits 0; restarted on the same directory it has
 * every key it acknowledged.
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

#include "harness.h"
#include "wire.h"

#define NCONN	4
#define BATCH	300
#define NBATCH	8	/* batches before the signal */
#define MAXKEYS	(NCONN * BATCH * (NBATCH + 1))

static int
key_of(char *buf, size_t len, int conn, int i)
{
	return (snprintf(buf, len, "sig-%d-%06d", conn, i));
}

static int
val_of(char *buf, size_t len, int conn, int i)
{
	return (snprintf(buf, len, "acked value %d/%d", conn, i));
}

static void
queue_batch(struct wire *w, int conn, int first)
{
	char key[32], val[48];
	int i, klen, vlen;

	for (i = first; i < first + BATCH; i++) {
		klen = key_of(key, sizeof(key), conn, i);
		vlen = val_of(val, sizeof(val), conn, i);
		assert_int_equal(wire_put(w, (uint64_t)i + 1, key, (size_t)klen,
		    val, (size_t)vlen), 0);
	}
}

static void
sigterm_loses_no_acked_write(void **state)
{
	struct harness *h = *state;
	struct wire *w[NCONN];
	uint8_t *acked;
	Kv__Response *r;
	char key[32], val[48];
	size_t nacked = 0, nchecked = 0;
	int c, b, i, klen, vlen, next[NCONN];

	assert_non_null(acked = calloc(MAXKEYS, 1));
	for (c = 0; c < NCONN; c++) {
		assert_non_null(w[c] = wire_connect(harness_port(h)));
		next[c] = 0;
	}
	/* A steady load: every connection keeps a batch of puts in flight. */
	for (b = 0; b <= NBATCH; b++) {
		for (c = 0; c < NCONN; c++) {
			queue_batch(w[c], c, b * BATCH);
			assert_int_equal(wire_flush(w[c]), 0);
		}
		if (b == NBATCH)
			break;
		for (c = 0; c < NCONN; c++) {
			for (i = 0; i < BATCH; i++) {
				assert_non_null(r = wire_recv(w[c],
				    WIRE_TIMEOUT_MS));
				assert_int_equal(r->id, (uint64_t)next[c] + 1);
				if (r->status == KV__STATUS__OK) {
					acked[c * BATCH * (NBATCH + 1) +
					    next[c]] = 1;
					nacked++;
				}
				next[c]++;
				kv__response__free_unpacked(r, NULL);
			}
		}
	}
	/* The last batch is in flight on every connection: stop kvd now. */
	assert_int_equal(harness_signal(h, SIGTERM), 0);
	for (c = 0; c < NCONN; c++) {
		/* Replies come in order until kvd closes the connection. */
		while ((r = wire_recv(w[c], WIRE_TIMEOUT_MS)) != NULL) {
			assert_int_equal(r->id, (uint64_t)next[c] + 1);
			if (r->status == KV__STATUS__OK) {
				acked[c * BATCH * (NBATCH + 1) + next[c]] = 1;
				nacked++;
			}
			next[c]++;
			kv__response__free_unpacked(r, NULL);
		}
		wire_free(w[c]);
	}
	assert_int_equal(harness_wait(h, 60000), 0);
	print_message("%zu writes acknowledged of %d sent\n", nacked,
	    MAXKEYS);
	assert_true(nacked >= (size_t)NCONN * BATCH * NBATCH);

	assert_int_equal(harness_start(h, NULL), 0);
	assert_non_null(w[0] = wire_connect(harness_port(h)));
	for (c = 0; c < NCONN; c++) {
		for (i = 0; i < BATCH * (NBATCH + 1); i++) {
			if (!acked[c * BATCH * (NBATCH + 1) + i])
				continue;
			klen = key_of(key, sizeof(key), c, i);
			vlen = val_of(val, sizeof(val), c, i);
			assert_int_equal(wire_get(w[0], (uint64_t)i, key,
			    (size_t)klen), 0);
			assert_non_null(r = wire_call(w[0]));
			if (r->status != KV__STATUS__OK)
				fail_msg("acknowledged key %s is gone", key);
			assert_int_equal(r->get->value.len, (size_t)vlen);
			assert_memory_equal(r->get->value.data, val,
			    (size_t)vlen);
			kv__response__free_unpacked(r, NULL);
			nchecked++;
		}
	}
	assert_int_equal(nchecked, nacked);
	wire_free(w[0]);
	free(acked);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sigterm_loses_no_acked_write,
		    harness_setup_started, harness_teardown_any),
	};

	return (cmocka_run_group_tests_name("server-sigterm", tests, NULL,
	    NULL));
}
