/*
 * engine-compact.c: sealed segments get hint files, and compaction
 * reclaims dead records, automatically past the dead-bytes ratio and on
 * demand, without losing a live record, resurrecting a deleted key or
 * duplicating one, across reopens.
 */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/engine-int.h"
#include "daemon/segment.h"
#include "tests/engine-util.h"

static void
count_files(const struct tenv *t, int *segs, int *hints, int *tmps)
{
	DIR *d;
	struct dirent *de;
	uint64_t id;

	*segs = *hints = *tmps = 0;
	assert_non_null(d = opendir(t->dir));
	while ((de = readdir(d)) != NULL)
		switch (segment_parse_name(de->d_name, &id)) {
		case SEGMENT_FILE_SEG:
			(*segs)++;
			break;
		case SEGMENT_FILE_HINT:
			(*hints)++;
			break;
		case SEGMENT_FILE_TMP:
			(*tmps)++;
			break;
		default:
			break;
		}
	closedir(d);
}

struct counter {
	size_t	n;
	char	last[32];
	size_t	lastlen;
	int	order_ok;
};

static int
count_cb(void *arg, const struct engine_entry *ent)
{
	struct counter *c = arg;
	size_t m = ent->klen < c->lastlen ? ent->klen : c->lastlen;
	int cmp = memcmp(c->last, ent->key, m);

	if (c->n > 0 && (cmp > 0 || (cmp == 0 && c->lastlen >= ent->klen)))
		c->order_ok = 0;
	memcpy(c->last, ent->key, ent->klen < 32 ? ent->klen : 32);
	c->lastlen = ent->klen < 32 ? ent->klen : 32;
	c->n++;
	return (0);
}

/* Keys k000..k(n-1): value "v<i>.<round>", every third deleted in the last round. */
static void
check_state(struct tenv *t, int n, int round)
{
	struct counter c;
	char k[16], v[32];
	void *val;
	size_t vlen;
	uint64_t seq;
	int i, more, expect = 0;

	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "k%03d", i);
		if (i % 3 == 0) {
			if (engine_get(t->e, k, strlen(k), &val, &vlen, &seq) !=
			    ENGINE_ENOTFOUND)
				fail_msg("%s resurrected", k);
			continue;
		}
		expect++;
		snprintf(v, sizeof(v), "v%d.%d", i, round);
		if (tenv_get_eq(t, k, v) != 0)
			fail_msg("%s: wrong or missing value", k);
	}
	memset(&c, 0, sizeof(c));
	c.order_ok = 1;
	assert_int_equal(engine_iter(t->e, NULL, 0, 0, NULL, 0, "k", 1, 0, 1,
	    count_cb, &c, &more, &seq), 0);
	assert_int_equal(c.n, expect);	/* no duplicates */
	assert_true(c.order_ok);
}

static void
churn(struct tenv *t, int n, int rounds)
{
	char k[16], v[32];
	uint64_t seq;
	int i, r;

	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++) {
			snprintf(k, sizeof(k), "k%03d", i);
			snprintf(v, sizeof(v), "v%d.%d", i, r);
			tenv_put(t, k, v);
		}
	for (i = 0; i < n; i += 3) {
		snprintf(k, sizeof(k), "k%03d", i);
		assert_int_equal(engine_delete(t->e, k, strlen(k), &seq), 0);
	}
}

static void
test_hints_written_and_used(void **state)
{
	struct tenv t;
	int segs, hints, tmps;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.segment_size = 2048;
	t.cfg.compact_ratio = 1.0;	/* hints only */
	assert_int_equal(tenv_open(&t), 0);
	churn(&t, 200, 2);
	tenv_wait_idle(&t);
	count_files(&t, &segs, &hints, &tmps);
	assert_true(segs > 3);
	assert_int_equal(hints, segs - 1);	/* all but the active one */
	assert_int_equal(tmps, 0);
	tenv_reopen(&t);
	assert_true(tenv_log_has(&t, " 0 scanned"));
	check_state(&t, 200, 1);
	tenv_done(&t);
}

static void
test_automatic_compaction(void **state)
{
	struct tenv t;
	struct engine_stats before, after;
	int segs, hints, tmps;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_ALWAYS);
	t.cfg.segment_size = 2048;
	t.cfg.compact_ratio = 0.5;
	assert_int_equal(tenv_open(&t), 0);
	churn(&t, 100, 10);
	tenv_wait_idle(&t);
	engine_stats(t.e, &after);
	assert_true(after.compactions > 0);
	check_state(&t, 100, 9);
	count_files(&t, &segs, &hints, &tmps);
	assert_int_equal(tmps, 0);
	assert_int_equal((uint64_t)segs, after.segments);
	tenv_reopen(&t);
	check_state(&t, 100, 9);
	engine_stats(t.e, &before);
	assert_int_equal(before.keys, after.keys);
	tenv_done(&t);
}

static void
test_compaction_on_demand(void **state)
{
	struct tenv t;
	struct engine_stats st;
	int segs, hints, tmps;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.segment_size = 2048;
	t.cfg.compact_ratio = 1.0;	/* never automatic */
	assert_int_equal(tenv_open(&t), 0);
	churn(&t, 150, 4);
	/* Seal the segment holding the tombstones so they can be compacted too. */
	churn(&t, 0, 0);
	for (int i = 0; i < 60; i++) {
		char k[16];

		snprintf(k, sizeof(k), "pad%02d", i);
		tenv_put(&t, k, "padding-padding");
	}
	tenv_wait_idle(&t);
	engine_stats(t.e, &st);
	assert_int_equal(st.compactions, 0);
	assert_int_equal(st.compact_pending, 0);
	assert_int_equal(engine_compact(t.e), 0);
	/* Pending from the request until its last run is applied. */
	engine_stats(t.e, &st);
	assert_int_not_equal(st.compact_pending, 0);
	tenv_wait_idle(&t);
	engine_stats(t.e, &st);
	assert_true(st.compactions > 0);
	assert_int_equal(st.compact_pending, 0);
	assert_int_equal(st.compact_failures, 0);
	check_state(&t, 150, 3);
	count_files(&t, &segs, &hints, &tmps);
	assert_int_equal(tmps, 0);
	assert_int_equal(hints, segs - 1);
	tenv_reopen(&t);
	check_state(&t, 150, 3);
	/* A second request finds the old garbage gone. */
	engine_stats(t.e, &st);
	assert_true(st.dead_bytes < st.live_bytes);
	tenv_done(&t);
}

/* Bytes of overwritten or deleted puts in sealed segments. */
static uint64_t
sealed_garbage(const struct tenv *t)
{
	const struct segment *s;
	uint64_t g = 0;
	size_t i;

	for (i = 0; i < t->e->segs.n; i++) {
		s = t->e->segs.v[i];
		if (s != t->e->active && !s->active)
			g += s->total - s->live - s->tomb;
	}
	return (g);
}

/*
 * A request with no sealed segment holding dead records ends at once:
 * nothing pending, no run.  One made while a run goes on waits for it and
 * then covers what was sealed meanwhile.
 */
static void
test_compaction_request_lifetime(void **state)
{
	struct tenv t;
	struct engine_stats st;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.segment_size = 2048;
	t.cfg.compact_ratio = 1.0;
	assert_int_equal(tenv_open(&t), 0);
	assert_int_equal(engine_compact(t.e), 0);
	engine_stats(t.e, &st);
	assert_int_equal(st.compact_pending, 0);	/* an empty store */
	churn(&t, 20, 1);			/* all in the active segment */
	assert_int_equal(engine_compact(t.e), 0);
	engine_stats(t.e, &st);
	assert_int_equal(st.compact_pending, 0);
	tenv_wait_idle(&t);
	engine_stats(t.e, &st);
	assert_int_equal(st.compactions, 0);

	churn(&t, 150, 4);
	tenv_wait_idle(&t);
	assert_true(sealed_garbage(&t) > 0);	/* nothing compacts by itself */
	assert_int_equal(engine_compact(t.e), 0);
	/*
	 * A second request while the first is under way: when all is done,
	 * the segments sealed meanwhile are compacted too, and no sealed
	 * segment holds an overwritten or deleted put any more.
	 */
	churn(&t, 150, 2);
	assert_int_equal(engine_compact(t.e), 0);
	engine_stats(t.e, &st);
	assert_int_not_equal(st.compact_pending, 0);
	tenv_wait_idle(&t);
	engine_stats(t.e, &st);
	assert_int_equal(st.compact_pending, 0);
	assert_int_equal(st.compact_failures, 0);
	assert_true(st.compactions > 0);
	assert_int_equal(sealed_garbage(&t), 0);
	check_state(&t, 150, 1);

	/*
	 * Another request finds at most tombstones that must stay (and may
	 * rewrite them); it ends, and every key still reads back.
	 */
	assert_int_equal(engine_compact(t.e), 0);
	tenv_wait_idle(&t);
	engine_stats(t.e, &st);
	assert_int_equal(st.compact_pending, 0);
	assert_int_equal(st.compact_failures, 0);
	assert_int_equal(sealed_garbage(&t), 0);
	tenv_reopen(&t);
	check_state(&t, 150, 1);
	tenv_done(&t);
}

/* Writes that race with a compaction win over the copies it made. */
static void
test_writes_during_compaction(void **state)
{
	struct tenv t;
	char k[16], v[32];
	int i, round;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.segment_size = 1024;
	t.cfg.compact_ratio = 0.3;
	assert_int_equal(tenv_open(&t), 0);
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 60; i++) {
			snprintf(k, sizeof(k), "k%03d", i);
			snprintf(v, sizeof(v), "v%d.%d", i, round);
			tenv_put(&t, k, v);
			if (i % 7 == 0)
				engine_service(t.e);
		}
		if (round % 4 == 0)
			assert_int_equal(engine_compact(t.e), 0);
	}
	tenv_wait_idle(&t);
	for (i = 0; i < 60; i++) {
		snprintf(k, sizeof(k), "k%03d", i);
		snprintf(v, sizeof(v), "v%d.19", i);
		assert_int_equal(tenv_get_eq(&t, k, v), 0);
	}
	tenv_reopen(&t);
	for (i = 0; i < 60; i++) {
		snprintf(k, sizeof(k), "k%03d", i);
		snprintf(v, sizeof(v), "v%d.19", i);
		assert_int_equal(tenv_get_eq(&t, k, v), 0);
	}
	tenv_done(&t);
}

static void
drop_hints(const struct tenv *t)
{
	DIR *d;
	struct dirent *de;
	uint64_t id;
	char p[1024];

	assert_non_null(d = opendir(t->dir));
	while ((de = readdir(d)) != NULL)
		if (segment_parse_name(de->d_name, &id) == SEGMENT_FILE_HINT)
			assert_int_equal(unlink(tenv_path(t, de->d_name, p,
			    sizeof(p))), 0);
	closedir(d);
}

/*
 * Few keys, each written many times inside one segment, some deleted and
 * put again there: compaction keeps only each key's newest record of an
 * input, which must be the live one, and must still drop a key whose
 * newest record there is a tombstone.  The state holds after compaction,
 * after a reopen from hints, and after a reopen that has to scan the
 * outputs (their records are in key order, not in write order).
 */
static void
test_overwrites_within_a_segment(void **state)
{
	struct tenv t;
	struct engine_stats st;
	char k[16], v[32];
	void *val;
	size_t vlen;
	uint64_t seq;
	int i, r, pass;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.segment_size = 8192;
	t.cfg.compact_ratio = 1.0;	/* never automatic */
	assert_int_equal(tenv_open(&t), 0);
	for (r = 0; r < 120; r++)
		for (i = 0; i < 12; i++) {
			/* Backwards, so that file order is not key order. */
			snprintf(k, sizeof(k), "key%02d", 11 - i);
			snprintf(v, sizeof(v), "v%d.%d", 11 - i, r);
			if ((11 - i) % 4 == 0 && r % 2 == 1)
				assert_int_equal(engine_delete(t.e, k,
				    strlen(k), &seq), 0);
			else
				tenv_put(&t, k, v);
		}
	/* key00, key04 and key08 end deleted; the rest end at round 119. */
	for (i = 0; i < 200; i++) {
		snprintf(k, sizeof(k), "pad%03d", i);
		tenv_put(&t, k, "padding padding padding");
	}
	tenv_wait_idle(&t);
	engine_stats(t.e, &st);
	assert_true(st.segments > 4);
	assert_int_equal(engine_compact(t.e), 0);
	tenv_wait_idle(&t);
	engine_stats(t.e, &st);
	assert_true(st.compactions > 0);
	assert_int_equal(st.compact_failures, 0);
	for (pass = 0; pass < 3; pass++) {
		if (pass == 1)
			tenv_reopen(&t);
		if (pass == 2) {
			tenv_close(&t);
			drop_hints(&t);
			assert_int_equal(tenv_open(&t), 0);
		}
		for (i = 0; i < 12; i++) {
			snprintf(k, sizeof(k), "key%02d", i);
			snprintf(v, sizeof(v), "v%d.119", i);
			if (i % 4 == 0)
				assert_int_equal(engine_get(t.e, k, strlen(k),
				    &val, &vlen, &seq), ENGINE_ENOTFOUND);
			else
				assert_int_equal(tenv_get_eq(&t, k, v), 0);
		}
		for (i = 0; i < 200; i++) {
			snprintf(k, sizeof(k), "pad%03d", i);
			assert_int_equal(tenv_get_eq(&t, k,
			    "padding padding padding"), 0);
		}
	}
	engine_stats(t.e, &st);
	assert_int_equal(st.keys, 209);
	tenv_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hints_written_and_used),
		cmocka_unit_test(test_automatic_compaction),
		cmocka_unit_test(test_compaction_on_demand),
		cmocka_unit_test(test_compaction_request_lifetime),
		cmocka_unit_test(test_writes_during_compaction),
		cmocka_unit_test(test_overwrites_within_a_segment),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
