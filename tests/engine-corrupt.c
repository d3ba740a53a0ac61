/*
 * engine-corrupt.c: a flipped bit in any field of a record is detected and
 * the record never served.  In a sealed segment, or in the middle of the
 * newest one, the engine refuses to open and names file and offset;
 * engine_check reports it; engine_repair keeps every other record, moves
 * the damaged file aside and leaves a directory that opens.  In the last
 * record of the newest segment it is a torn tail, cut and logged.  A value
 * damaged under a running engine is refused by get and iter.
 */
#include "config.h"

#include <sys/stat.h>

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
#include "daemon/record.h"
#include "daemon/segment.h"
#include "tests/engine-util.h"

#define NKEYS	80
#define KLEN	6		/* "key%03d" */
#define VLEN	16		/* "value-%03d......." */
#define RECSZ	(RECORD_HEADER_SIZE + KLEN + VLEN)

static void
kv(int i, char *k, char *v)
{
	snprintf(k, 16, "key%03d", i);
	snprintf(v, 32, "value-%03d.......", i);
}

/* Every key written once, in order: record i sits at a computable offset. */
static void
build(struct tenv *t, int *per_seg)
{
	char k[16], v[32];
	int i;

	t->cfg.segment_size = 1024;
	t->cfg.compact_ratio = 1.0;
	assert_int_equal(tenv_open(t), 0);
	for (i = 0; i < NKEYS; i++) {
		kv(i, k, v);
		assert_int_equal(strlen(k), KLEN);
		assert_int_equal(strlen(v), VLEN);
		tenv_put(t, k, v);
	}
	tenv_wait_idle(t);
	tenv_close(t);
	*per_seg = (int)((1024 - SEGMENT_HEADER_BASE) / RECSZ);
}

static void
check_all_but(struct tenv *t, int skip)
{
	char k[16], v[32];
	void *val;
	size_t vlen;
	uint64_t seq;
	int i;

	for (i = 0; i < NKEYS; i++) {
		kv(i, k, v);
		if (i == skip) {
			assert_int_equal(engine_get(t->e, k, KLEN, &val, &vlen,
			    &seq), ENGINE_ENOTFOUND);
			continue;
		}
		if (tenv_get_eq(t, k, v) != 0)
			fail_msg("%s lost", k);
	}
}

static const struct field {
	const char	*name;
	int		 off;
	int		 bit;
} fields[] = {
	{ "checksum", 0, 3 },
	{ "type", 4, 0 },
	{ "reserved", 5, 6 },
	{ "seq", 8, 2 },
	{ "seq (high)", 15, 7 },
	{ "key length", 16, 0 },
	{ "key length (high)", 19, 7 },
	{ "value length", 20, 4 },
	{ "value length (high)", 23, 7 },
	{ "key", RECORD_HEADER_SIZE + 2, 1 },
	{ "value", RECORD_HEADER_SIZE + KLEN + 9, 5 },
};

/*
 * Damage record idx (in segment seg, at offset off): reported and repaired.
 * Without a hint the open scans the segment and refuses; with one it opens
 * (hints spare reading records) and the record is refused when read.
 */
static void
damage_middle(struct tenv *t, const char *tmpl, const char *seg, int idx,
    uint64_t off, int hinted)
{
	struct tlines l;
	char want[128], p[512], hint[64], k[16], v[32];
	struct stat st;
	void *val;
	size_t f, vlen;
	uint64_t seq;
	int r;

	snprintf(hint, sizeof(hint), "%.16s.hint", seg);
	for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		rmtree(t->dir);
		tenv_copy_dir(tmpl, t->dir);
		if (!hinted)
			(void)unlink(tenv_path(t, hint, p, sizeof(p)));
		else
			assert_true(tenv_file_size(t, hint) > 0);
		tenv_flip_bit(t, seg, off + (uint64_t)fields[f].off,
		    fields[f].bit);
		snprintf(want, sizeof(want), "%s: offset %llu:", seg,
		    (unsigned long long)off);
		r = tenv_open(t);
		if (hinted) {
			if (r != 0)
				fail_msg("%s flipped: open: %s", fields[f].name,
				    t->err);
			kv(idx, k, v);
			r = engine_get(t->e, k, KLEN, &val, &vlen, &seq);
			if (r != ENGINE_ECORRUPT)
				fail_msg("%s flipped: get gave %d",
				    fields[f].name, r);
			tenv_close(t);
		} else if (r != ENGINE_ECORRUPT || strstr(t->err, want) == NULL)
			fail_msg("%s flipped: open gave %d \"%s\" (wanted \"%s\")",
			    fields[f].name, r, t->err, want);
		else
			assert_non_null(strstr(t->err, "--repair"));

		memset(&l, 0, sizeof(l));
		assert_int_equal(engine_check(t->dir, tlines_collect, &l), 1);
		if (strstr(l.text, want) == NULL)
			fail_msg("%s flipped: check said:\n%s", fields[f].name,
			    l.text);

		memset(&l, 0, sizeof(l));
		assert_int_equal(engine_repair(t->dir, tlines_collect, &l), 0);
		assert_non_null(strstr(l.text, "rewritten"));
		snprintf(p, sizeof(p), "%s/damaged", t->dir);
		assert_int_equal(stat(p, &st), 0);
		memset(&l, 0, sizeof(l));
		assert_int_equal(engine_check(t->dir, tlines_collect, &l), 0);
		if ((r = tenv_open(t)) != 0)
			fail_msg("%s flipped: open after repair: %s",
			    fields[f].name, t->err);
		check_all_but(t, idx);
		tenv_put(t, "after", "repair");
		tenv_reopen(t);
		check_all_but(t, idx);
		tenv_close(t);
	}
}

static void
test_flipped_bits(void **state)
{
	struct tenv t;
	char tmpl[512], first[64], newest[64];
	int per_seg, idx, last;
	long long size;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	build(&t, &per_seg);
	snprintf(tmpl, sizeof(tmpl), "%s/template", t.root);
	tenv_copy_dir(t.dir, tmpl);
	segment_filename(first, 1, SEGMENT_FILE_SEG);
	assert_true(tenv_newest_seg(&t, newest, sizeof(newest)));
	assert_true(strcmp(first, newest) != 0);
	size = tenv_file_size(&t, newest);

	/* The middle of a sealed segment, scanned at open or read through its hint. */
	idx = per_seg / 2;
	damage_middle(&t, tmpl, first, idx,
	    SEGMENT_HEADER_BASE + (uint64_t)idx * RECSZ, 0);
	damage_middle(&t, tmpl, first, idx,
	    SEGMENT_HEADER_BASE + (uint64_t)idx * RECSZ, 1);

	/* The middle of the newest segment: damage, not a torn tail. */
	last = NKEYS - 1;
	idx = last - 1;
	damage_middle(&t, tmpl, newest, idx, (uint64_t)size - 2 * RECSZ, 0);
	rmtree(tmpl);
	tenv_done(&t);
}

/* The last record of the newest segment is indistinguishable from a torn write. */
static void
test_flipped_last_record(void **state)
{
	struct tenv t;
	char tmpl[512], newest[64];
	size_t f;
	int per_seg;
	long long size;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	build(&t, &per_seg);
	snprintf(tmpl, sizeof(tmpl), "%s/template", t.root);
	tenv_copy_dir(t.dir, tmpl);
	assert_true(tenv_newest_seg(&t, newest, sizeof(newest)));
	size = tenv_file_size(&t, newest);
	for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		rmtree(t.dir);
		tenv_copy_dir(tmpl, t.dir);
		tenv_flip_bit(&t, newest, (uint64_t)size - RECSZ +
		    (uint64_t)fields[f].off, fields[f].bit);
		if (tenv_open(&t) != 0)
			fail_msg("%s flipped: %s", fields[f].name, t.err);
		assert_true(tenv_log_has(&t, "torn record"));
		check_all_but(&t, NKEYS - 1);
		tenv_close(&t);
	}
	rmtree(tmpl);
	tenv_done(&t);
}

static int
noop_cb(void *arg, const struct engine_entry *ent)
{
	(void)arg;
	(void)ent;
	return (0);
}

/*
 * Open an engine over build()'s data with one bit of record 3's value
 * flipped in the first segment, whose name goes to first; k gets the key.
 */
static void
open_damaged(struct tenv *t, char first[64], char k[16])
{
	char v[32];
	int per_seg;

	tenv_init(t, ENGINE_SYNC_NEVER);
	build(t, &per_seg);
	assert_int_equal(tenv_open(t), 0);
	segment_filename(first, 1, SEGMENT_FILE_SEG);
	tenv_flip_bit(t, first, SEGMENT_HEADER_BASE + 3 * RECSZ +
	    RECORD_HEADER_SIZE + KLEN + 1, 0);
	kv(3, k, v);
}

/* Damage under a running engine: the value is refused, never returned. */
static void
test_never_served(void **state)
{
	struct tenv t;
	char first[64], k[16], v[32];
	void *val = (void *)1;
	size_t vlen;
	uint64_t seq;
	int more;

	(void)state;
	open_damaged(&t, first, k);
	assert_int_equal(engine_get(t.e, k, KLEN, &val, &vlen, &seq),
	    ENGINE_ECORRUPT);
	assert_null(val);
	engine_service(t.e);
	assert_true(tenv_log_has(&t, "checksum mismatch"));
	assert_true(tenv_log_has(&t, first));
	assert_int_equal(engine_iter(t.e, NULL, 0, 0, NULL, 0, NULL, 0, 0, 0,
	    noop_cb, NULL, &more, &seq), ENGINE_ECORRUPT);
	/* Keys only reads no value, and the neighbours are fine. */
	assert_int_equal(engine_iter(t.e, NULL, 0, 0, NULL, 0, NULL, 0, 0, 1,
	    noop_cb, NULL, &more, &seq), 0);
	kv(4, k, v);
	assert_int_equal(tenv_get_eq(&t, k, v), 0);
	/* In a run of gets only the damaged one is refused. */
	{
		char k2[16], k3[16], k4[16], v2[32], v4[32];
		struct engine_read rd[3];

		kv(2, k2, v2);
		kv(3, k3, v);
		kv(4, k4, v4);
		rd[0].key = k2;
		rd[1].key = k3;
		rd[2].key = k4;
		rd[0].klen = rd[1].klen = rd[2].klen = KLEN;
		t.e->side_by_side_min = 0;	/* the walk for big indexes */
		assert_int_equal(engine_get_many(t.e, rd, 3), 0);
		assert_int_equal(rd[0].rc, 0);
		assert_int_equal(rd[1].rc, ENGINE_ECORRUPT);
		assert_null(rd[1].value);
		assert_int_equal(rd[2].rc, 0);
		assert_int_equal(rd[0].vlen, strlen(v2));
		assert_memory_equal(rd[0].value, v2, rd[0].vlen);
		assert_int_equal(rd[2].vlen, strlen(v4));
		assert_memory_equal(rd[2].value, v4, rd[2].vlen);
	}
	tenv_done(&t);
}

static void
test_check_clean_and_locked(void **state)
{
	struct tenv t;
	struct tlines l;
	int per_seg;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	build(&t, &per_seg);
	memset(&l, 0, sizeof(l));
	assert_int_equal(engine_check(t.dir, tlines_collect, &l), 0);
	assert_int_equal(l.n, 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(engine_repair(t.dir, tlines_collect, &l), 0);
	assert_non_null(strstr(l.text, "nothing to repair"));
	assert_int_equal(tenv_open(&t), 0);
	assert_int_equal(engine_check(t.dir, tlines_collect, &l), ENGINE_ELOCKED);
	assert_int_equal(engine_repair(t.dir, tlines_collect, &l), ENGINE_ELOCKED);
	assert_non_null(strstr(l.text, "in use"));
	tenv_done(&t);
	memset(&l, 0, sizeof(l));
	assert_true(engine_check("/nonexistent/kvd-dir", tlines_collect, &l) < 0);
	assert_non_null(strstr(l.text, "/nonexistent/kvd-dir"));
}

static int
log_count(const struct tenv *t, const char *needle)
{
	const char *p = t->log;
	int n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return (n);
}

/*
 * A client asking again and again for a damaged record gets an error each
 * time, but the log gets at most 10 lines a second and one saying the
 * rest are not logged (60 gets may straddle a second: at most twice that).
 */
static void
test_read_errors_not_flooding(void **state)
{
	struct tenv t;
	char first[64], k[16];
	void *val;
	size_t vlen;
	uint64_t seq;
	int i, n;

	(void)state;
	open_damaged(&t, first, k);
	for (i = 0; i < 60; i++)
		assert_int_equal(engine_get(t.e, k, KLEN, &val, &vlen, &seq),
		    ENGINE_ECORRUPT);
	n = log_count(&t, "checksum mismatch");
	assert_true(n >= 10);
	assert_true(n <= 20);
	assert_true(log_count(&t, "the rest are not logged") >= 1);
	tenv_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flipped_bits),
		cmocka_unit_test(test_flipped_last_record),
		cmocka_unit_test(test_never_served),
		cmocka_unit_test(test_read_errors_not_flooding),
		cmocka_unit_test(test_check_clean_and_locked),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
