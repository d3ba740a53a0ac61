/*
 * server-get-runs.c: kvd looks up a run of pipelined gets together
 * (engine_get_many), and every reply is still what one get at a time
 * would give, in order: a get after a put or delete in the same burst
 * sees it, a get before does not; absent keys, empty and oversized keys
 * get their usual statuses; runs end at 16 gets; and a run whose values
 * outgrow the client's output limit stops where one get at a time would,
 * so that backpressure holds and the hard limit is never crossed.
 *
 * Each burst is written in one write, so that kvd reads it in one piece
 * and runs form; the stats figure gets_batched says how many gets were
 * looked up in runs.
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

/* What a reply must be. */
struct expect {
	uint64_t	 id;
	Kv__Status	 status;
	int		 result;	/* Kv__Response result case, 0: none checked */
	const uint8_t	*value;		/* for an OK get */
	size_t		 vlen;
};

struct expected {
	struct expect	*e;
	size_t		 n;
	size_t		 cap;
	size_t		 next;		/* the reply being checked */
};

static struct expect *
want_reply(struct expected *x, uint64_t id, Kv__Status status)
{
	struct expect *e;

	if (x->n == x->cap) {
		x->cap = x->cap == 0 ? 64 : x->cap * 2;
		assert_non_null(x->e = realloc(x->e, x->cap * sizeof(*x->e)));
	}
	e = &x->e[x->n++];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->status = status;
	return (e);
}

static void
want_value(struct expected *x, uint64_t id, const void *value, size_t vlen)
{
	struct expect *e = want_reply(x, id, KV__STATUS__OK);

	e->result = KV__RESPONSE__RESULT_GET;
	e->value = value;
	e->vlen = vlen;
}

static int
check_reply(void *arg, Kv__Response *r)
{
	struct expected *x = arg;
	const struct expect *e;

	assert_true(x->next < x->n);
	e = &x->e[x->next++];
	if (r->id != e->id || r->status != e->status)
		fprintf(stderr, "reply %zu: id %llu status %d (%s), expected "
		    "id %llu status %d\n", x->next - 1,
		    (unsigned long long)r->id, r->status,
		    r->message != NULL ? r->message : "",
		    (unsigned long long)e->id, e->status);
	assert_int_equal(r->id, e->id);
	assert_int_equal(r->status, e->status);
	if (e->status != KV__STATUS__OK)
		assert_true(r->message != NULL && r->message[0] != '\0');
	if (e->result != 0)
		assert_int_equal(r->result_case, e->result);
	if (e->result == KV__RESPONSE__RESULT_GET) {
		assert_int_equal(r->get->value.len, e->vlen);
		if (e->vlen > 0)
			assert_memory_equal(r->get->value.data, e->value,
			    e->vlen);
		assert_true(r->get->seq > 0);
	}
	return (0);
}

/* Send what w has queued and check every reply x expects, in order. */
static void
exchange(struct wire *w, struct expected *x)
{
	x->next = 0;
	assert_int_equal(wire_exchange(w, x->n, check_reply, x,
	    WIRE_TIMEOUT_MS), 0);
	assert_int_equal(x->next, x->n);
	x->n = 0;
}

static uint64_t
stat_of(uint16_t port, const char *name)
{
	struct wire *w;
	Kv__Response *r;
	uint64_t v = 0;

	assert_non_null(w = wire_connect(port));
	assert_int_equal(wire_stats(w, 1), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(wire_stat(r, name, &v), 0);
	kv__response__free_unpacked(r, NULL);
	wire_free(w);
	return (v);
}

static void
put_ok(struct wire *w, const char *key, const void *val, size_t vlen)
{
	Kv__Response *r;

	assert_int_equal(wire_put(w, 1, key, strlen(key), val, vlen), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(r->status, KV__STATUS__OK);
	kv__response__free_unpacked(r, NULL);
}

#define S(x)	(x), strlen(x)

/*
 * Sixteen frames in one burst: runs of 4, 5 and 2 gets around a put, a
 * delete, a lone get and a ping.
 */
static void
mixed_burst_sees_writes_in_order(void **state)
{
	struct harness *h = *state;
	struct expected x = { 0 };
	struct wire *w;
	char bigkey[5000];
	uint64_t batched, errors;

	assert_non_null(w = wire_connect(harness_port(h)));
	put_ok(w, "a", S("A0"));
	put_ok(w, "b", S("B0"));
	put_ok(w, "c", S("C0"));
	batched = stat_of(harness_port(h), "gets_batched");
	errors = stat_of(harness_port(h), "errors_get");
	memset(bigkey, 'k', sizeof(bigkey));

	/* Run of 4: the state before the burst. */
	assert_int_equal(wire_get(w, 1, S("a")), 0);
	want_value(&x, 1, S("A0"));
	assert_int_equal(wire_get(w, 2, S("d")), 0);
	want_reply(&x, 2, KV__STATUS__NOT_FOUND);
	assert_int_equal(wire_get(w, 3, "", 0), 0);
	want_reply(&x, 3, KV__STATUS__INVALID_ARGUMENT);
	assert_int_equal(wire_get(w, 4, S("b")), 0);
	want_value(&x, 4, S("B0"));
	assert_int_equal(wire_put(w, 5, S("d"), S("D1")), 0);
	want_reply(&x, 5, KV__STATUS__OK)->result = KV__RESPONSE__RESULT_PUT;
	assert_int_equal(wire_delete(w, 6, S("a")), 0);
	want_reply(&x, 6, KV__STATUS__OK)->result =
	    KV__RESPONSE__RESULT_DELETE;
	/* Run of 5: the put and the delete just before are seen. */
	assert_int_equal(wire_get(w, 7, S("a")), 0);
	want_reply(&x, 7, KV__STATUS__NOT_FOUND);
	assert_int_equal(wire_get(w, 8, S("d")), 0);
	want_value(&x, 8, S("D1"));
	assert_int_equal(wire_get(w, 9, bigkey, sizeof(bigkey)), 0);
	want_reply(&x, 9, KV__STATUS__TOO_LARGE);
	assert_int_equal(wire_get(w, 10, S("c")), 0);
	want_value(&x, 10, S("C0"));
	assert_int_equal(wire_get(w, 11, S("e")), 0);
	want_reply(&x, 11, KV__STATUS__NOT_FOUND);
	assert_int_equal(wire_put(w, 12, S("c"), S("C1")), 0);
	want_reply(&x, 12, KV__STATUS__OK);
	/* A lone get, then a run of 2 after a ping. */
	assert_int_equal(wire_get(w, 13, S("c")), 0);
	want_value(&x, 13, S("C1"));
	assert_int_equal(wire_ping(w, 14, S("p")), 0);
	want_reply(&x, 14, KV__STATUS__OK)->result = KV__RESPONSE__RESULT_PING;
	assert_int_equal(wire_get(w, 15, S("b")), 0);
	want_value(&x, 15, S("B0"));
	assert_int_equal(wire_get(w, 16, S("c")), 0);
	want_value(&x, 16, S("C1"));
	exchange(w, &x);

	assert_int_equal(stat_of(harness_port(h), "gets_batched") - batched,
	    4 + 5 + 2);
	assert_int_equal(stat_of(harness_port(h), "errors_get") - errors, 2);
	free(x.e);
	wire_free(w);
}

#define MODEL_KEYS	8
#define MODEL_BURSTS	4
#define MODEL_REQS	400

/* A tiny deterministic generator, so that a failure can be replayed. */
static uint32_t
next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 8);
}

/*
 * Bursts of runs of gets of random length between random writes, over a
 * few keys, each reply checked against a model of the store.
 */
static void
random_bursts_match_model(void **state)
{
	struct harness *h = *state;
	struct expected x = { 0 };
	struct wire *w;
	char vals[MODEL_BURSTS * MODEL_REQS][16];
	const char *model[MODEL_KEYS] = { NULL };
	char key[8];
	uint32_t seed = 20261125;
	uint64_t id = 0, batched;
	size_t burst, i, k, run, nv = 0;
	int vlen;

	batched = stat_of(harness_port(h), "gets_batched");
	assert_non_null(w = wire_connect(harness_port(h)));
	for (burst = 0; burst < MODEL_BURSTS; burst++) {
		for (i = 0; i < MODEL_REQS; ) {
			/* A run of 0 to 20 gets, then one other request. */
			run = next_rand(&seed) % 21;
			for (; run > 0 && i < MODEL_REQS; run--, i++) {
				k = next_rand(&seed) % MODEL_KEYS;
				snprintf(key, sizeof(key), "m%zu", k);
				assert_int_equal(wire_get(w, ++id, S(key)), 0);
				if (model[k] != NULL)
					want_value(&x, id, S(model[k]));
				else
					want_reply(&x, id,
					    KV__STATUS__NOT_FOUND);
			}
			if (i++ >= MODEL_REQS)
				break;
			k = next_rand(&seed) % MODEL_KEYS;
			snprintf(key, sizeof(key), "m%zu", k);
			switch (next_rand(&seed) % 3) {
			case 0:
			case 1:
				vlen = snprintf(vals[nv], sizeof(vals[nv]),
				    "v%llu", (unsigned long long)(id + 1));
				assert_int_equal(wire_put(w, ++id, S(key),
				    vals[nv], (size_t)vlen), 0);
				want_reply(&x, id, KV__STATUS__OK);
				model[k] = vals[nv++];
				break;
			default:
				assert_int_equal(wire_delete(w, ++id, S(key)),
				    0);
				want_reply(&x, id, model[k] != NULL ?
				    KV__STATUS__OK : KV__STATUS__NOT_FOUND);
				model[k] = NULL;
				break;
			}
		}
		exchange(w, &x);
	}
	print_message("%llu gets looked up in runs\n", (unsigned long long)
	    (stat_of(harness_port(h), "gets_batched") - batched));
	assert_true(stat_of(harness_port(h), "gets_batched") > batched);
	free(x.e);
	wire_free(w);
}

/* A burst of n gets of r0, r1, ...: the even ones exist. */
static void
burst_of_gets(struct harness *h, struct wire *w, size_t n, uint64_t batched)
{
	struct expected x = { 0 };
	char vals[64][16];
	char key[16];
	size_t i;
	uint64_t before = stat_of(harness_port(h), "gets_batched");
	int vlen;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "r%zu", i);
		assert_int_equal(wire_get(w, 100 + i, S(key)), 0);
		if (i % 2 == 0) {
			vlen = snprintf(vals[i], sizeof(vals[i]), "value %zu",
			    i);
			want_value(&x, 100 + i, vals[i], (size_t)vlen);
		} else
			want_reply(&x, 100 + i, KV__STATUS__NOT_FOUND);
	}
	exchange(w, &x);
	assert_int_equal(stat_of(harness_port(h), "gets_batched") - before,
	    batched);
	free(x.e);
}

/* A run ends at 16 gets: 16 make one run, 17 a run and a lone get. */
static void
runs_of_16_17_33_gets(void **state)
{
	struct harness *h = *state;
	struct wire *w;
	char key[16], val[16];
	size_t i;
	int vlen;

	assert_non_null(w = wire_connect(harness_port(h)));
	for (i = 0; i < 40; i += 2) {
		snprintf(key, sizeof(key), "r%zu", i);
		vlen = snprintf(val, sizeof(val), "value %zu", i);
		put_ok(w, key, val, (size_t)vlen);
	}
	burst_of_gets(h, w, 16, 16);
	burst_of_gets(h, w, 17, 16);
	burst_of_gets(h, w, 33, 32);
	burst_of_gets(h, w, 2, 2);
	wire_free(w);
}

#define BIG	(1u << 20)
#define NBIG	4

static int
setup_backpressure(void **state)
{
	static const char *const args[] = { "--client-output-limit", "256K",
	    "--client-output-hard-limit", "2M", "--fsync", "never", NULL };

	return (harness_setup_args(state, args));
}

/*
 * Sixteen gets in one burst, eight of them of 1 MiB values: 8 MiB of
 * replies against an output limit of 256 KiB and a hard limit of 2 MiB.
 * One get at a time, kvd stops reading after each large reply until the
 * client has taken enough, so replies pending never pass 256 KiB plus one
 * value; a run answered past the output limit would pass the hard limit
 * and be dropped.  A put and a get after the run see each other.
 */
static void
large_values_in_a_run_keep_backpressure(void **state)
{
	struct harness *h = *state;
	struct expected x = { 0 };
	struct wire *w;
	uint8_t *big[NBIG];
	char key[16];
	uint64_t batched;
	size_t i, b;

	assert_non_null(w = wire_connect(harness_port(h)));
	for (b = 0; b < NBIG; b++) {
		assert_non_null(big[b] = malloc(BIG));
		for (i = 0; i < BIG; i++)
			big[b][i] = (uint8_t)(i * 7 + b * 31 + i / 4096);
		snprintf(key, sizeof(key), "big%zu", b);
		put_ok(w, key, big[b], BIG);
	}
	put_ok(w, "small", S("s"));
	batched = stat_of(harness_port(h), "gets_batched");

	for (i = 0; i < 16; i++) {
		if (i % 2 == 1) {
			b = (i / 2) % NBIG;
			snprintf(key, sizeof(key), "big%zu", b);
			assert_int_equal(wire_get(w, i + 1, S(key)), 0);
			want_value(&x, i + 1, big[b], BIG);
		} else if (i % 6 == 4) {
			assert_int_equal(wire_get(w, i + 1, S("absent")), 0);
			want_reply(&x, i + 1, KV__STATUS__NOT_FOUND);
		} else {
			assert_int_equal(wire_get(w, i + 1, S("small")), 0);
			want_value(&x, i + 1, S("s"));
		}
	}
	assert_int_equal(wire_put(w, 17, S("after"), S("run")), 0);
	want_reply(&x, 17, KV__STATUS__OK);
	assert_int_equal(wire_get(w, 18, S("after")), 0);
	want_value(&x, 18, S("run"));
	exchange(w, &x);

	assert_int_equal(stat_of(harness_port(h), "connections_dropped"), 0);
	/* At least the first small get and the first large one went together. */
	assert_true(stat_of(harness_port(h), "gets_batched") - batched >= 2);
	for (b = 0; b < NBIG; b++)
		free(big[b]);
	free(x.e);
	wire_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    mixed_burst_sees_writes_in_order, harness_setup_started,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(random_bursts_match_model,
		    harness_setup_started, harness_teardown),
		cmocka_unit_test_setup_teardown(runs_of_16_17_33_gets,
		    harness_setup_started, harness_teardown),
		cmocka_unit_test_setup_teardown(
		    large_values_in_a_run_keep_backpressure,
		    setup_backpressure, harness_teardown),
	};

	return (cmocka_run_group_tests_name("server-get-runs", tests, NULL,
	    NULL));
}
